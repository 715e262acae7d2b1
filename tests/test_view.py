"""Terminal renderables, rendered into memory at fixed widths with colour off."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax

import sockteach.lessons
from sockteach.events import Event
from sockteach.lessons import Lesson
from sockteach.model import Timeline
from sockteach.view import LessonView, code_view, course_table, lesson_end, tcp_table

TITLE = "Lesson 1 · Naive echo server"


def render(renderable: RenderableType, width: int = 80, height: int = 60,
           terminal: bool = False) -> str:
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None,
                      force_terminal=terminal, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def assert_fits(out: str, width: int) -> None:
    for line in out.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} cells > {width}: {line!r}"


def E(t: float, side: str, kind: str, **fields: object) -> Event:
    if "args" in fields:
        fields["args"] = tuple(fields["args"])  # type: ignore[arg-type]
    return Event(t=t, side=side, kind=kind, **fields)  # type: ignore[arg-type]


def echo_events() -> list[Event]:
    """The naive echo lesson in brief: one exchange, an empty send, a second client, a spin."""
    return [
        E(0.0, "lesson", "step", title="The client sends", text="Type hello."),
        E(0.1, "server", "call", name="accept", args=[]),
        E(0.2, "client", "call", name="connect", args=["('127.0.0.1', 8081)"]),
        E(0.21, "server", "return", name="accept", result="(<socket fd=4>, ('127.0.0.1', 51234))"),
        E(0.3, "client", "call", name="send", args=["b'hello'"]),
        E(0.31, "client", "return", name="send", result="5"),
        E(0.32, "server", "output", text="server===>\nb'hello'\n"),
        E(0.33, "server", "call", name="send", args=["b'HELLO'"]),
        E(0.34, "server", "return", name="send", result="5"),
        E(0.4, "client", "call", name="send", args=["b''"]),
        E(0.41, "client", "return", name="send", result="0"),
        E(0.5, "client2", "call", name="connect", args=["('127.0.0.1', 8081)"]),
        E(0.6, "server", "repeat", name="recv", result="b''", count=1200),
        E(0.7, "server", "repeat", name="recv", result="b''", count=412000),
        E(0.8, "client", "exit", code=1),
        E(1.0, "server", "call", name="recv", args=["1024"]),
        E(1.1, "kernel", "tcp", states=(("127.0.0.1:8081", "0.0.0.0:0", "LISTEN"),
                                        ("127.0.0.1:8081", "127.0.0.1:51234", "ESTABLISHED"))),
    ]


# ---------------------------------------------------------------- the lesson view


@pytest.mark.parametrize("width", [80, 120])
def test_lesson_view_english(width: int) -> None:
    tl = Timeline.from_events(echo_events(), lang="en")
    out = render(LessonView(tl, now=3.4, title=TITLE), width=width)
    assert_fits(out, width)
    lines = out.splitlines()
    assert lines[0].strip() == TITLE
    assert lines[1].startswith("╭─ Step: The client sends ─")  # the step and what it does
    assert lines[2].strip("│ ") == "Type hello."
    for expected in ["b'hello' ◀──", "──▶ b'HELLO'", "b'' — nothing crosses" if width > 80 else
                     "b'' — nothing", "recv() → b'' ×412,000", "client 2: connect(",
                     "client: exited (code 1)", "blocked in recv() 2.4 s", "server===>",
                     "What's happening", "Kernel TCP states", "ESTABLISHED"]:
        assert expected in out, expected
    # the server's rows on the left, the clients' on the right
    hello = next(line for line in lines if "send(b'hello')" in line)
    assert hello.index("send(b'hello')") > width // 2
    spin = next(line for line in lines if "×412,000" in line)
    assert spin.startswith("recv()")


@pytest.mark.parametrize("width", [80, 120])
def test_lesson_view_chinese_lines_up(width: int) -> None:
    tl = Timeline.from_events(echo_events(), lang="zh")
    out = render(LessonView(tl, now=3.4, title="第 1 课 · 最简单的回显服务端", safe=False),
                 width=width)
    assert_fits(out, width)
    for expected in ["第 1 课 · 最简单的回显服务端", "步骤：The client sends", "服务端", "线路",
                     "客户端2：connect(", "客户端：已退出（退出码 1）", "阻塞在 recv() 2.4 秒",
                     "讲解", "内核中的 TCP 状态", "本地", "状态"]:
        assert expected in out, expected
    assert "b''——线路上没有任何数据" in out.replace("\n", "").replace(" ", "")
    # rows of one table have the same width in cells, whatever their characters
    rule = [line for line in out.splitlines() if set(line.strip()) == {"─"}]
    assert rule and all(cell_len(line) == cell_len(rule[0]) for line in rule)


@pytest.mark.parametrize("width", [80, 120])
def test_chinese_view_draws_no_character_of_ambiguous_width(width: int) -> None:
    """A terminal set for East Asian text draws — … → ▶ and box lines two cells wide; the
    Chinese view uses none of them, so its borders line up whichever way they are drawn."""
    import unicodedata

    tl = Timeline.from_events(echo_events(), lang="zh")
    tl.apply(E(3.0, "server", "repeat", name="recv", result="b''", count=9))
    out = render(LessonView(tl, now=3.4, title="第 1 课 · 最简单的回显服务端",
                            prompt="服务端会怎样？  [回车] 继续，Ctrl-C 停止"), width=width,
                 terminal=True)
    assert_fits(out, width)
    ambiguous = {ch for ch in out if unicodedata.east_asian_width(ch) == "A"}
    assert not ambiguous, ambiguous
    # each bordered line ends in its panel's border (at 80 columns: at the last column)
    for line in out.splitlines():
        if line.startswith("|"):
            assert line.rstrip()[-1] in "|+", line
            assert width > 80 or cell_len(line.rstrip()) == width, line
    assert "第 1 课 ・ 最简单的回显服务端" in out and "--▶" not in out and "->" in out
    assert "b''－－线路上没有任何数据" in out.replace("\n", "").replace(" ", "")


def test_glyphs_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    en = Timeline.from_events(echo_events(), lang="en")
    zh = Timeline.from_events(echo_events(), lang="zh")
    assert "──▶ b'HELLO'" in render(LessonView(en, now=3.4, title=TITLE), 80, terminal=True)
    assert "--> b'HELLO'" in render(LessonView(zh, now=3.4, title=TITLE), 80, terminal=True)
    # not a terminal (a file, a notebook): nothing to fear from a terminal's widths
    assert "──▶ b'HELLO'" in render(LessonView(zh, now=3.4, title=TITLE), 80)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert "--> b'HELLO'" in render(LessonView(en, now=3.4, title=TITLE), 80, terminal=True)
    monkeypatch.setenv("SOCKTEACH_GLYPHS", "unicode")
    assert "──▶ b'HELLO'" in render(LessonView(zh, now=3.4, title=TITLE), 80, terminal=True)
    monkeypatch.setenv("SOCKTEACH_GLYPHS", "ascii")
    assert "--> b'HELLO'" in render(LessonView(en, now=3.4, title=TITLE), 80)


def test_course_and_lesson_end_without_ambiguous_widths(tmp_path: Path) -> None:
    import unicodedata

    lesson = make_lesson(tmp_path)
    for part in (course_table([lesson], "zh", progress={4: "✔ 已通过"}, safe=True),
                 lesson_end(lesson, "zh", safe=True)):
        out = render(part, width=80)
        assert not {ch for ch in out if unicodedata.east_asian_width(ch) == "A"}, out
    assert "代码改动：old.py -> server.py" in render(lesson_end(lesson, "zh", safe=True))


def test_wide_view_puts_narration_and_tcp_side_by_side() -> None:
    tl = Timeline.from_events(echo_events())
    wide = render(LessonView(tl, now=3.4, title=TITLE), width=120)
    assert any("What's happening" in line and "Kernel TCP states" in line
               for line in wide.splitlines())
    narrow = render(LessonView(tl, now=3.4, title=TITLE), width=80)
    assert not any("What's happening" in line and "Kernel TCP states" in line
                   for line in narrow.splitlines())


def test_lesson_view_fits_the_terminal_height() -> None:
    tl = Timeline.from_events(echo_events())
    out = render(LessonView(tl, now=3.4, title=TITLE), width=80, height=25)
    assert len(out.splitlines()) <= 25
    assert "earlier rows" in out
    assert "recv(1024)" in out  # the newest row is kept
    tall = render(LessonView(tl, now=3.4, title=TITLE), width=80, height=80)
    assert "earlier rows" not in tall and "accept()" in tall


def test_max_rows_keeps_the_newest() -> None:
    tl = Timeline.from_events(echo_events())
    out = render(LessonView(tl, now=3.4, title=TITLE, max_rows=2), width=80, height=80)
    assert "… 16 earlier rows" in out
    assert "recv(1024)" in out and "client: exited (code 1)" in out
    assert "send(b'hello')" not in out


def test_title_comes_from_the_lesson(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    tl = Timeline.from_events(echo_events()[:2], lang="zh", lesson=lesson)
    out = render(LessonView(tl, now=1.0, safe=False), width=80)
    assert out.splitlines()[0].strip() == "第 4 课 · 地址已被占用"


def test_small_view_exactly() -> None:
    events = [
        E(0.0, "server", "call", name="recv", args=["1024"]),
        E(0.5, "client", "call", name="send", args=["b'hi'"]),
        E(0.6, "client", "return", name="send", result="2"),
        E(0.7, "server", "return", name="recv", result="b'hi'"),
        E(0.8, "client", "call", name="input", args=["'>>: '"]),
        E(0.9, "kernel", "tcp", text="only Linux"),
    ]
    tl = Timeline.from_events(events)
    out = render(LessonView(tl, now=3.0, title="T", max_rows=10), width=80, height=40)
    assert out == EXPECTED_SMALL, "\n" + out


EXPECTED_SMALL = """\
T
server                                 wire          client                     
────────────────────────────────────────────────────────────────────────────────
recv(1024)                                                                      
                                                     send(b'hi')                
                                    b'hi' ◀──                                   
                                                     send() → 2                 
recv() → b'hi'                                                                  
                                                     input('>>: ')              
────────────────────────────────────────────────────────────────────────────────
running                                              waiting for input          
╭─ What's happening ───────────────────────────────────────────────────────────╮
│ client: send() returned 2: 2 bytes went into the send buffer                 │
│ server: recv() got b'hi' (2 bytes)                                           │
│ client: input('>>: ') waits for you to type a line                           │
│ the kernel's TCP table cannot be read here: only Linux                       │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ Kernel TCP states ──────────────────────────────────────────────────────────╮
│ cannot be read here: only Linux                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
"""


def test_tcp_panel_states() -> None:
    tl = Timeline.from_events([E(1.0, "kernel", "tcp", states=(
        ("127.0.0.1:8081", "127.0.0.1:51234", "TIME_WAIT"),))])
    out = render(tcp_table(tl, "en"), width=80)
    assert out.splitlines()[0].split() == ["local", "remote", "state"]
    assert out.splitlines()[2].split() == ["127.0.0.1:8081", "127.0.0.1:51234", "TIME_WAIT"]
    zh = render(tcp_table(tl, "zh"), width=80)
    assert zh.splitlines()[0].split() == ["本地", "远端", "状态"]


@pytest.mark.parametrize("lang, states, text, expected", [
    ("en", None, "only Linux", "cannot be read here: only Linux"),
    ("zh", None, "only Linux", "这里无法读取：only Linux"),
    ("en", (), None, "no connections on the lesson's ports"),
    ("zh", (), None, "本课的端口上没有连接"),
])
def test_tcp_panel_notes(lang: str, states: tuple | None, text: str | None, expected: str) -> None:
    tl = Timeline.from_events([E(1.0, "kernel", "tcp", states=states, text=text)], lang=lang)
    assert render(tcp_table(tl, lang)).strip() == expected
    assert expected in render(LessonView(tl, now=2.0, title="T"), width=80)


def test_tcp_panel_before_any_reading() -> None:
    assert render(tcp_table(Timeline(), "en")).strip() == "not read yet"


# ---------------------------------------------------------------- code, diffs, the course

OLD = "from socket import *\nphone=socket(AF_INET,SOCK_STREAM)\nphone.bind(('127.0.0.1',8081))\n"
NEW = ("from socket import *\nphone=socket(AF_INET,SOCK_STREAM)\n"
       "phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)\nphone.bind(('127.0.0.1',8081))\n")


def make_lesson(tmp_path: Path, diffs: tuple[tuple[str, str], ...] = (("old.py", "server.py"),)
                ) -> Lesson:
    folder = tmp_path / "04-address-in-use"
    folder.mkdir(exist_ok=True)
    (folder / "old.py").write_text(OLD, encoding="utf-8")
    (folder / "server.py").write_text(NEW, encoding="utf-8")
    return Lesson(
        number=4, slug="address-in-use", path=folder,
        title={"en": "Address already in use", "zh": "地址已被占用"},
        summary={"en": "Restart the server at once.", "zh": "立刻重启服务端。"},
        learned={"en": "Set SO_REUSEADDR before bind.", "zh": "在 bind 之前设置 SO_REUSEADDR。"},
        ports=(8081,), code={"server": "server.py", "old": "old.py"}, diffs=diffs, steps=(),
    )


def test_lesson_end(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    out = render(lesson_end(lesson, "en"), width=80)
    assert_fits(out, 80)
    assert "What you learned" in out and "Set SO_REUSEADDR before bind." in out
    assert "What changed: old.py → server.py" in out
    diff_lines = [line.strip("│ ") for line in out.splitlines()]
    assert "--- old.py" in diff_lines and "+++ server.py" in diff_lines
    assert "+phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)" in diff_lines
    zh = render(lesson_end(lesson, "zh"), width=80)
    assert_fits(zh, 80)
    assert "本课学到了什么" in zh and "在 bind 之前设置 SO_REUSEADDR。" in zh
    assert "代码改动：old.py → server.py" in zh


def test_lesson_end_with_a_missing_file(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path, diffs=(("gone.py", "server.py"),))
    assert "file not found: gone.py" in render(lesson_end(lesson, "en"))


def test_code_view(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    view = code_view(lesson, "server", "en")
    assert isinstance(view, Panel) and isinstance(view.renderable, Syntax)
    out = render(view, width=80)
    assert "server.py" in out.splitlines()[0]
    assert "│   3 phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)" in out
    assert "  5 " not in out  # no empty line after the last one


def test_code_view_diff(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    view = code_view(lesson, "server", "en", diff=True)
    assert isinstance(view, Panel) and isinstance(view.renderable, Syntax)
    assert view.renderable.lexer is not None and view.renderable.lexer.name == "Diff"
    out = render(view, width=80)
    assert "server.py: changes since the previous stage" in out
    assert "+phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)" in out
    assert render(code_view(lesson, "old", "en", diff=True)).strip() == (
        "old.py is the first stage: there is no previous stage to compare it with.")
    assert render(code_view(lesson, "old", "zh", diff=True)).strip() == (
        "old.py 是第一个版本：没有上一个版本可以比较。")


def test_code_view_diff_against_another_lesson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.setattr(sockteach.lessons, "lessons_root", lambda: tmp_path)
    earlier = tmp_path / "01-naive-echo"
    earlier.mkdir()
    (earlier / "server.py").write_text(OLD, encoding="utf-8")
    lesson = make_lesson(tmp_path, diffs=(("01-naive-echo/server.py", "server.py"),))
    out = render(code_view(lesson, "server", "en", diff=True), width=120)
    assert "--- 01-naive-echo/server.py" in out
    assert "+phone.setsockopt(SOL_SOCKET,SO_REUSEADDR,1)" in out


def test_code_view_unknown_role(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    with pytest.raises(LookupError, match="lesson 4 has no client code"):
        code_view(lesson, "client", "en")


@pytest.mark.parametrize("width", [80, 120])
def test_course_table(tmp_path: Path, width: int) -> None:
    lesson = make_lesson(tmp_path)
    out = render(course_table([lesson], "en"), width=width)
    assert_fits(out, width)
    assert out.splitlines()[0].split() == ["#", "Lesson", "Summary"]
    assert out.splitlines()[2].split()[:4] == ["4", "Address", "already", "in"]
    zh = render(course_table([lesson], "zh", progress={4: "✔"}), width=width)
    assert_fits(zh, width)
    assert zh.splitlines()[0].split() == ["#", "课", "简介", "进度"]
    assert zh.splitlines()[2].split() == ["4", "地址已被占用", "立刻重启服务端。", "✔"]


def test_empty_timeline_renders_headings_only() -> None:
    out = render(LessonView(Timeline(lang="zh"), now=0.0), width=40, height=10)
    assert_fits(out, 40)
    lines = out.splitlines()
    assert lines[0].split() == ["服务端", "线路", "客户端"]
    assert "还没有读取" in out
