"""Languages: which one to use, and the message catalogs (``sockteach/messages/*.toml``).

Wording lives in the catalogs, not in code. A key missing in Chinese falls back to English.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, Mapping

LANGS = ("en", "zh")
_CATALOGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "messages")


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file (tomllib is imported only when needed: start-up stays fast)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


def pick_lang(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--lang``, else ``SOCKTEACH_LANG``, else the locale (``zh_*`` → zh), else English."""
    env = os.environ if environ is None else environ
    for value in (option, env.get("SOCKTEACH_LANG")):
        if value:
            value = value.strip().lower()
            if value.startswith("zh") or value.startswith("cn"):
                return "zh"
            if value.startswith("en"):
                return "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """The flat ``key → template`` catalog of one language (dotted keys for TOML tables),
    merged from ``messages/{lang}.toml`` and every ``messages/*.{lang}.toml``."""
    flat: dict[str, str] = {}
    import glob

    paths = [os.path.join(_CATALOGS, f"{lang}.toml"),
             *sorted(glob.glob(os.path.join(_CATALOGS, f"*.{lang}.toml")))]
    for path in paths:
        if os.path.exists(path):
            flatten(load_toml(path), flat)
    return flat


def flatten(data: dict, flat: dict[str, str]) -> None:
    """Put a TOML table's leaves into ``flat`` under dotted keys."""
    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat[prefix] = str(node)

    walk("", data)


def msg(key: str, lang: str = "en", **values: object) -> str:
    """The message ``key`` in ``lang`` (English fallback), formatted with ``values``."""
    template = catalog(lang).get(key) or catalog("en").get(key)
    if template is None:
        raise KeyError(f"no message {key!r} in the catalogs")
    return template.format(**values) if values else template


def pick(texts: Mapping[str, str] | str | None, lang: str) -> str:
    """One language out of a ``{en: …, zh: …}`` table from lesson data (English fallback)."""
    if texts is None:
        return ""
    if isinstance(texts, str):
        return texts
    return texts.get(lang) or texts.get("en") or ""


def __getattr__(name: str) -> Any:
    """``i18n.tomllib``: the TOML reader, imported on first use."""
    if name == "tomllib":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        return tomllib
    raise AttributeError(name)
