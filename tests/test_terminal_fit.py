"""Every lesson's every step, rendered at real terminal sizes: the step, its explanation and
the prompt are on screen, whole, and nothing is taller or wider than the terminal.

The lessons are played once (for real, over loopback, fast) per language; each step is then
rendered from the events as they stood when the step began and as they stood when it ended
(the spin of lesson 1 at its most crowded), with the prompt the learner would see.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from sockteach import lessons
from sockteach.i18n import msg, pick
from sockteach.model import Timeline
from sockteach.runner import lesson_title
from sockteach.scenario import Pace, play
from sockteach.screen_text import plain
from sockteach.view import LessonView

SIZES = [(80, 24), (100, 40), (160, 50)]
_PLAYED: dict[str, dict[int, list]] = {}


def played(lang: str) -> dict[int, list]:
    """Each lesson's events, played once per test run and language."""
    if lang not in _PLAYED:
        _PLAYED[lang] = {lesson.number: play(lesson, lang, Pace(fast=True))
                         for lesson in lessons.course()}
    return _PLAYED[lang]


def render(view: LessonView, width: int, height: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None,
                      legacy_windows=False)
    console.print(view)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def squeeze(text: str) -> str:
    """Text without spaces or the borders a panel draws around it."""
    return re.sub(r"[\s│|]", "", text)


def moments(events: list) -> list[tuple[int, list]]:
    """(step index, events so far) at each step's start and at its end."""
    starts = [i for i, e in enumerate(events) if e.kind == "step"]
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(events)
        out.append((k, events[:start + 1]))
        out.append((k, events[:end]))
    return out


def check_step(lesson, events: list, k: int, lang: str, width: int, height: int,
               safe: bool | None = None) -> None:
    step = lesson.steps[k]
    tl = Timeline.from_events(events, lang, lesson)
    ask = pick(step.ask, lang) if step.ask else ""
    enter = msg("pause.enter", lang)
    view = LessonView(tl, events[-1].t, title=lesson_title(lesson, lang), prompt=(ask, enter),
                      live=True, safe=safe)
    lines = render(view, width, height)
    where = f"lesson {lesson.number} step {k + 1} at {width}x{height} ({lang})"
    assert len(lines) <= height, f"{where}: {len(lines)} lines"
    for line in lines:
        assert cell_len(line) <= width, f"{where}: {line!r}"
    screen = squeeze("".join(lines))
    shown = plain if view.safe else str
    assert squeeze(shown(tl.step_text or "")) in screen, f"{where}: explanation cut"
    assert squeeze(shown(ask)) in screen, f"{where}: question cut"
    # "[Enter] to go on" is the screen's last line, whole on that line
    assert lines[-1].rstrip().endswith(shown(enter)), f"{where}: {lines[-1]!r}"


@pytest.mark.parametrize("width, height", SIZES)
def test_every_step_fits_in_english(width: int, height: int) -> None:
    for number, events in played("en").items():
        lesson = lessons.get(str(number))
        for k, so_far in moments(events):
            check_step(lesson, so_far, k, "en", width, height)


@pytest.mark.parametrize("safe", [True, False])
@pytest.mark.parametrize("width, height", SIZES)
def test_every_step_fits_in_chinese(width: int, height: int, safe: bool) -> None:
    for number, events in played("zh").items():
        lesson = lessons.get(str(number))
        for k, so_far in moments(events):
            check_step(lesson, so_far, k, "zh", width, height, safe)


def test_the_diagnosis_is_whole_at_80x24() -> None:
    """Lesson 1's spin at its end: the warning is there in full, not cut by an ellipsis."""
    events = played("en")[1]
    lesson = lessons.get("1")
    tl = Timeline.from_events(events, "en", lesson)
    view = LessonView(tl, events[-1].t, title="T", prompt=msg("pause.enter", "en"), live=True)
    screen = squeeze("".join(render(view, 80, 24)))
    from sockteach.view import diagnoses_at

    now = diagnoses_at(tl, events[-1].t)
    assert now and squeeze(now[0].text) in screen


@pytest.mark.parametrize("width, height", [(50, 15), (79, 40), (100, 23)])
def test_below_80x24_it_says_what_it_needs(width: int, height: int) -> None:
    events = played("en")[1]
    lesson = lessons.get("1")
    starts = [i for i, e in enumerate(events) if e.kind == "step"]
    tl = Timeline.from_events(events[:starts[2] + 1], "en", lesson)
    prompt = msg("pause.enter", "en")
    lines = render(LessonView(tl, 1.0, title="T", prompt=prompt, live=True), width, height)
    screen = squeeze("".join(lines))
    assert squeeze(f"This terminal is {width}×{height}") in screen
    assert squeeze("needs at least 80×24") in screen
    assert squeeze(prompt) in screen  # still: the learner knows to press Enter
    assert all(cell_len(line) <= width for line in lines)


ZH = ("第 3 课里，recv() 返回 b''，意思是对端关闭了连接；之后每次调用 gettimeout() 都立刻"
      "返回，“空转”的循环每秒几十万次（见第 3 课）。")


@pytest.mark.parametrize("width", range(12, 60))
def test_chinese_wraps_between_words(width: int) -> None:
    from rich.console import Group

    from sockteach.screen_text import Wrapped

    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(Group(Wrapped(ZH), Wrapped("▶ 服务端等待连接，客户端发送 hello")))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert all(cell_len(line) <= width for line in lines)
    assert "".join(line.strip() for line in lines).replace(" ", "") == \
        (ZH + "▶服务端等待连接，客户端发送hello").replace(" ", "")
    joined = "\n".join(lines)
    for word in ("recv()", "gettimeout()", "第 3 课", "b''，"):
        assert joined.count(word) == ZH.count(word), (word, lines)
    for line in lines:
        assert line.strip() != "▶" and not line.lstrip().startswith(("，", "。", "）", "；", "”"))
        assert not line.rstrip().endswith(("（", "“"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_at_50x15_every_step_ends_with_the_prompt(lang: str) -> None:
    enter = msg("pause.enter", lang)
    for number in (1, 3, 12):
        lesson = lessons.get(str(number))
        for k, so_far in moments(played(lang)[number]):
            tl = Timeline.from_events(so_far, lang, lesson)
            ask = pick(lesson.steps[k].ask, lang) if lesson.steps[k].ask else ""
            lines = render(LessonView(tl, 1.0, title="T", prompt=(ask, enter), live=True),
                           50, 15)
            assert len(lines) <= 15 and lines[-1].rstrip().endswith(enter), lines
            screen = squeeze("".join(lines))
            step = squeeze(tl.step_text or "")
            assert step in screen or squeeze(msg("view.cut", lang)) in screen


def test_a_line_may_break_after_a_full_width_mark_between_latin_words() -> None:
    from rich.console import Group

    from sockteach.screen_text import Wrapped

    text = "服务端的流程：bind、listen、accept、recv、send，以及 TimeoutError；setblocking(False)。"
    for width in range(22, 40):  # the longest word, setblocking(False)。, fits
        console = Console(file=io.StringIO(), width=width, color_system=None,
                          legacy_windows=False)
        console.print(Group(Wrapped(text)))
        lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
        for line in lines:
            assert not line.lstrip().startswith(("，", "、", "；", "。")), lines
        for word in ("listen", "accept", "TimeoutError", "setblocking(False)"):
            assert any(word in line for line in lines), (word, lines)


@pytest.mark.parametrize("text", ["──▶ b'HELLO'", "b'hi' ◀──", "--> b'HELLO'", "⚠ server: spins"])
def test_an_arrow_or_mark_stays_with_its_word(text: str) -> None:
    from rich.console import Group

    from sockteach.screen_text import Wrapped

    for width in range(12, 20):
        console = Console(file=io.StringIO(), width=width, color_system=None,
                          legacy_windows=False)
        console.print(Group(Wrapped(text)))
        lines = [line.strip() for line in console.file.getvalue().splitlines()]  # type: ignore
        assert not any(line in ("──▶", "◀──", "-->", "⚠") for line in lines), lines
