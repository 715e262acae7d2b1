"""The Chinese texts follow docs/chinese-style.md: the mechanical rules, checked on every text.

Every zh text of the course is loaded (message catalogs through sockteach.i18n, lessons through
sockteach.lessons, exercises and grading texts with the same TOML loader) and checked for
punctuation, spacing, the glossary's terms, and placeholders equal to the English ones.
Wording (calques, one sentence per fact) is the editor's job; only its forbidden forms are here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sockteach import i18n, lessons
from sockteach.i18n import flatten, load_toml

ROOT = Path(__file__).resolve().parent.parent
CJK = "\u3400-\u4dbf\u4e00-\u9fff"
HAN = f"[{CJK}]"


# ---------------------------------------------------------------- collecting the texts

def _pairs(node: object, where: str, out: list[tuple[str, str, str | None]]) -> None:
    """Every ``{en = …, zh = …}`` table below ``node`` (a zh without en gets en None)."""
    if isinstance(node, dict):
        if isinstance(node.get("zh"), str):
            en = node.get("en")
            out.append((where, node["zh"], en if isinstance(en, str) else None))
        for k, v in node.items():
            if k not in ("zh", "en"):
                _pairs(v, f"{where}.{k}", out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _pairs(v, f"{where}[{i}]", out)


def _flat(path: Path) -> dict[str, str]:
    flat: dict[str, str] = {}
    if path.exists():
        flatten(load_toml(path), flat)
    return flat


def zh_texts() -> list[tuple[str, str, str | None]]:
    """(where, zh text, en text or None) for every Chinese text the learner can see."""
    out: list[tuple[str, str, str | None]] = []
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    out += [(f"messages:{k}", v, en.get(k)) for k, v in sorted(zh.items())]
    grading = ROOT / "sockteach" / "grading"
    gzh, gen = _flat(grading / "texts.zh.toml"), _flat(grading / "texts.en.toml")
    out += [(f"grading:{k}", v, gen.get(k)) for k, v in sorted(gzh.items())]
    for lesson in lessons.course():
        name = lesson.path.name
        _pairs(lesson.data, name, out)
        if "zh" in lesson.explain:
            out.append((f"{name}/explain.zh.md", lesson.explain["zh"], None))
        ex = lesson.path / "exercise"
        if (ex / "exercise.toml").exists():
            _pairs(load_toml(ex / "exercise.toml"), f"{name}/exercise", out)
        for md in sorted(ex.glob("*.zh.md")) if ex.is_dir() else ():
            out.append((f"{name}/exercise/{md.name}", md.read_text(encoding="utf-8"), None))
    return out


TEXTS = zh_texts()


# ---------------------------------------------------------------- what counts as code

FENCE = re.compile(r"^ *```.*?^ *```", re.S | re.M)
SPAN = re.compile(r"`[^`\n]+`")
URL = re.compile(r"\]\([^)\s]*\)|https?://\S+")


def prose(text: str) -> str:
    """The text with code replaced: a fenced block by an empty line, a `span` by ``X`` (so a
    missing space next to a code span still shows as Chinese touching a Latin letter)."""
    text = FENCE.sub("\n", text)
    text = URL.sub("", text)
    return SPAN.sub("X", text)


def _problems(pattern: re.Pattern[str], texts=TEXTS, clean=prose) -> list[str]:
    found = []
    for where, zh, _ in texts:
        for m in pattern.finditer(clean(zh)):
            line = m.string[max(0, m.start() - 12):m.end() + 12].replace("\n", "⏎")
            found.append(f"{where}: …{line}…")
    return found


# ---------------------------------------------------------------- the rules

ASCII_PUNCT_AFTER_HAN = re.compile(rf"{HAN}[,;:?!]|{HAN}\.(?=\s|$)")
ASCII_QUOTES = re.compile(rf"\"[^\"\n]*{HAN}[^\"\n]*\"|{HAN}\"|\"{HAN}")
ASCII_PARENS = re.compile(rf"{HAN}\(|\({HAN}|{HAN}\)|\){HAN}"
                          rf"|(?<=[{CJK}A-Za-z0-9}}]) \([^(),\n]*\)")  # a note: word (NOTE)
NO_SPACE = re.compile(rf"{HAN}[A-Za-z0-9]|[A-Za-z0-9%]{HAN}")
SPACE_BY_FULLWIDTH = re.compile(  # one space; wider gaps and indents are layout, not prose
    r"(?<=\S) (?! )[，。：；？！、（）「」“”]|[（“「] |[）”」] (?=[^\s\-*#>|])|[，。：；？！、] (?! )")
DASH_SPACES = re.compile(r" ——|—— ")

# Glossary: the one term per idea (docs/chinese-style.md lists why). pattern → the term to use.
FORBIDDEN = {
    "复位": "重置",
    "套接字家族": "地址族",
    "缓存区": "缓冲区",
    "服务器端": "服务端",
    "对等端": "对端",
    "四次握手": "四次挥手",
    "杀死": "终止（信号写作“被 SIGTERM（信号 15）终止”）",
    "链接": "连接（教程的“链接循环”只在引用它时出现）",
}
# The tutorial's own word, quoted as its word: “链接循环” in full-width quotes, or its code.
TUTORIAL_QUOTE = re.compile(r"“(?:链接循环|链接|基于(?:文件|网络)类型的套接字家族)”")


def _in_prose(word: str) -> list[str]:
    def clean(text: str) -> str:
        return TUTORIAL_QUOTE.sub("", prose(text))
    return _problems(re.compile(re.escape(word)), clean=clean)


def test_there_are_chinese_texts_of_every_kind() -> None:
    kinds = {where.split(":")[0] if ":" in where else where.rsplit("/", 1)[-1].split(".")[0]
             for where, _, _ in TEXTS}
    assert {"messages", "grading", "explain", "README", "hints"} <= kinds
    assert any(".steps[" in where for where, _, _ in TEXTS)  # lesson.toml
    assert any("/exercise.checks[" in where for where, _, _ in TEXTS)  # exercise.toml
    assert len(TEXTS) > 500


RULES = [
    ("ASCII , ; : ? ! or a full stop right after a Chinese character", ASCII_PUNCT_AFTER_HAN),
    ("ASCII double quotes in Chinese (use “”)", ASCII_QUOTES),
    ("ASCII parentheses beside Chinese (use （）)", ASCII_PARENS),
    ("no space between Chinese and a Latin word, number or code", NO_SPACE),
    ("a space next to full-width punctuation", SPACE_BY_FULLWIDTH),
    ("spaces around ——", DASH_SPACES),
]


@pytest.mark.parametrize("rule, pattern", RULES, ids=[r for r, _ in RULES])
def test_punctuation_and_spacing(rule: str, pattern: re.Pattern[str]) -> None:
    found = _problems(pattern)
    assert not found, f"{rule}:\n" + "\n".join(found)


@pytest.mark.parametrize("word", sorted(FORBIDDEN))
def test_glossary_terms(word: str) -> None:
    found = _in_prose(word)
    assert not found, f"{word} → {FORBIDDEN[word]}:\n" + "\n".join(found)


LESSON = re.compile(r"\d\d-[a-z0-9-]+")
# The note a lesson gives once: the tutorial's 链接循环 is the connection loop, 连接循环.
TUTORIAL_NOTE = re.compile(r"“链接(?:循环)?”[^。\n]*连接")


# One wording for a process a signal ended: 被 SIGTERM（信号 15）终止 — never 结束/停掉/杀.
SIGNAL_VERB = re.compile(r"被[^，。；：\n]{0,24}SIG[A-Z]+[^，。；：\n]{0,14}?(?:结束|停掉|杀)"
                         r"|(?:结束|停掉|杀死?)了?[(（]SIG|SIG[A-Z]+ ?(?:结束|停掉|杀)"
                         r"|SIG[A-Z]+ ?[(（]\d+[)）]|信号 SIG")


def test_one_wording_for_signals() -> None:
    found = _problems(SIGNAL_VERB)
    assert not found, "write 被 SIGTERM（信号 15）终止:\n" + "\n".join(found)
    for bad in ("被信号 SIGKILL (9) 杀死", "被 Ctrl-C 结束（SIGINT）", "被 SIGTERM 停掉了",
                "SIGINT 结束了程序"):
        assert SIGNAL_VERB.search(bad), bad
    for good in ("被 SIGKILL（信号 9）终止", "被 Ctrl-C（SIGINT）终止", "被 SIGXFSZ 终止了"):
        assert not SIGNAL_VERB.search(good), good


def test_the_tutorials_word_is_explained_where_it_is_quoted() -> None:
    """A lesson whose code (quoted in its text) keeps the tutorial's ``#链接循环`` says, in
    its text, that 链接 there means 连接."""
    def lesson(where: str) -> str:
        m = LESSON.match(where)
        return m.group(0) if m else where
    quoting = {lesson(where) for where, zh, _ in TEXTS if "链接循环" in zh}
    explained = {lesson(where) for where, zh, _ in TEXTS if TUTORIAL_NOTE.search(prose(zh))}
    assert "03-connection-loop" in quoting
    assert quoting <= explained, sorted(quoting - explained)
    assert TUTORIAL_NOTE.search("叫作“链接循环”（X），这里的“链接”就是“连接”")
    assert not TUTORIAL_NOTE.search("外层是“链接循环”。连接……")


PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_.]*(?:![rsa])?(?::[^{}]*)?)\}(?!\})")


def test_placeholders_are_the_english_ones() -> None:
    wrong = []
    for where, zh, en in TEXTS:
        if en is not None and set(PLACEHOLDER.findall(zh)) != set(PLACEHOLDER.findall(en)):
            wrong.append(f"{where}: zh {sorted(set(PLACEHOLDER.findall(zh)))}"
                         f" ≠ en {sorted(set(PLACEHOLDER.findall(en)))}")
    assert not wrong, "\n".join(wrong)


def test_every_catalog_key_has_its_english_key() -> None:
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    assert not sorted(set(zh) - set(en))


def test_the_checks_catch_what_they_name() -> None:
    """Each rule fires on a bad sample and not on its corrected form (the rules can fail)."""
    bad_good = [
        (ASCII_PUNCT_AFTER_HAN, "连接关闭了,然后", "连接关闭了，然后"),
        (ASCII_QUOTES, '所谓"粘包"', "所谓“粘包”"),
        (ASCII_PARENS, "缓冲区(发送)", "缓冲区（发送）"),
        (ASCII_PARENS, "抛出 OSError (EPIPE)：", "抛出 OSError（EPIPE）：调用 f(a, b) 或 f(x)"),
        (NO_SPACE, "调用recv()", "调用 recv()"),
        (NO_SPACE, "等了`60`秒", "等了 `60` 秒"),
        (SPACE_BY_FULLWIDTH, "调用 recv() 。", "调用 recv()。"),
        (DASH_SPACES, "返回 b'' —— 对端", "返回 b''——对端"),
    ]
    for pattern, bad, good in bad_good:
        assert pattern.search(prose(bad)), bad
        assert not pattern.search(prose(good)), good
    assert prose("用 `a, b` 和\n```\nx=1;y:2\n```\n").split() == ["用", "X", "和"]
