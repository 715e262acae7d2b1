"""The grader's wording: ``texts.en.toml`` and ``texts.zh.toml`` next to this file,
read like the message catalogs; a key missing in Chinese falls back to English.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..i18n import flatten, load_toml

_HERE = Path(__file__).parent


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    path = _HERE / f"texts.{lang}.toml"
    if not path.is_file():
        return {}
    flat: dict[str, str] = {}
    flatten(load_toml(path), flat)
    return flat


def t(key: str, lang: str = "en", **values: object) -> str:
    """The grader text ``key`` in ``lang`` (English fallback), formatted with ``values``."""
    template = catalog(lang).get(key) or catalog("en").get(key)
    if template is None:
        raise KeyError(f"no grader text {key!r}")
    return template.format(**values) if values else template


def sep(lang: str) -> str:
    """What goes between two sentences: a space, or nothing in Chinese."""
    return "" if lang == "zh" else " "


def judge_text(judge: str, lang: str, key: str, **values: object) -> str:
    """A judge's own wording: ``[judge.NAME]`` in the grader's catalogs (English fallback)."""
    full = f"judge.{judge}.{key}"
    template = catalog(lang).get(full) or catalog("en").get(full)
    if template is None:
        raise KeyError(f"no grader text {full!r}")
    return template.format(**values)
