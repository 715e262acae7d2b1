"""``sockteach replay``: a recorded lesson replays to the live run's final screen; stepping in a
terminal; the run as a sequence diagram (SVG, HTML)."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from conftest import ROOT, run_cli
from sockteach import diagram, lessons
from sockteach.events import Event, dump_jsonl, load_jsonl
from sockteach.i18n import pick
from sockteach.model import Timeline
from sockteach.replay import Replay, load
from sockteach.view import LessonView


def replay_cli(*args: str, columns: int = 100) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS", "LINES")}
    env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "sockteach.cli_watch", "replay", *args],
                          capture_output=True, text=True, timeout=60, env=env, cwd=str(ROOT))


@pytest.fixture(scope="module")
def lesson2(tmp_path_factory) -> tuple[Path, str]:
    """Lesson 2 played for real (no tty, 100 columns) with --record: the file and stdout."""
    record = tmp_path_factory.mktemp("rec") / "lesson2.jsonl"
    result = run_cli("lesson", "2", "--auto", "--fast", "--record", str(record),
                     env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stdout + result.stderr
    return record, result.stdout


def render(renderable, width: int = 80, height: int = 60) -> str:
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None,
                      force_terminal=False, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_replayed_final_screen_is_the_live_runs(lesson2):
    record, live = lesson2
    result = replay_cli(str(record))
    assert result.returncode == 0, result.stderr
    screen = result.stdout
    assert screen.startswith("Lesson 2 · ")
    assert "Step: " in screen and "Kernel TCP states" in screen
    assert screen in live  # the very screen the lesson printed at its end


def test_a_timeline_fed_out_of_order_live_renders_like_the_record(lesson2):
    record, _ = lesson2
    events = load(record)
    arrival = list(events)
    rng = random.Random(7)
    for i in range(0, len(arrival) - 1, 3):  # events of different sides arrive late
        if rng.random() < 0.5 and arrival[i].side != arrival[i + 1].side:
            arrival[i], arrival[i + 1] = arrival[i + 1], arrival[i]
    live = Timeline(lang="en", lesson=lessons.get(2))
    for e in arrival:
        live.apply(e)
    buf = io.StringIO()
    dump_jsonl(arrival, buf)
    buf.seek(0)
    replayed = Replay(list(load_jsonl(buf)))
    assert replayed.lesson is not None and replayed.lesson.number == 2
    now = events[-1].t
    title = replayed.title
    for width in (80, 120):
        assert render(LessonView(live, now, title=title), width) == \
            render(replayed.final(), width)


def test_a_record_is_recognised_by_its_step_titles_in_either_language():
    lesson = lessons.get(3)
    events = [Event(float(i), "lesson", "step", title=pick(step.title, "zh"), text="…")
              for i, step in enumerate(lesson.steps)]
    run = Replay(events)
    assert run.lesson is lesson and run.lang == "zh"
    assert run.title == "第 3 课 · " + pick(lesson.title, "zh")
    assert Replay(events[:3]).lesson is lesson  # stopped early: still lesson 3, not 1
    anonymous = Replay([Event(0.1, "server", "call", name="accept", args=(), sock=3, pid=1)],
                       name="mine.jsonl")
    assert anonymous.lesson is None and anonymous.title == "Replay · mine.jsonl"


def test_svg_and_html_export(lesson2, tmp_path):
    record, _ = lesson2
    svg, page = tmp_path / "run.svg", tmp_path / "run.html"
    result = replay_cli(str(record), "--svg", str(svg), "--html", str(page))
    assert result.returncode == 0, result.stderr
    assert f"Wrote {svg}" in result.stdout
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith(("text", "tspan")))
    for expected in ("server", "wire", "client", "send(b'hello')", "b'hello'", "b'HELLO'",
                     "nothing crosses", "▶ Both sides wait",
                     "⚠ server and client are both blocked in recv()"):
        assert expected in texts, expected
    assert root.findall(".//{http://www.w3.org/2000/svg}path")  # arrow heads
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html
    assert "Narration" in html and "Diagnosis" in html


def test_diagram_is_a_pure_function_of_the_events(lesson2):
    events = load(lesson2[0])
    assert diagram.svg(events, "en") == diagram.svg(list(reversed(events)), "en")
    zh = diagram.svg(events, "zh", lessons.get(2), "第 2 课")
    assert "服务端" in zh and "线路" in zh


def test_step_through_a_replay_with_the_arrow_keys(lesson2):
    pexpect = pytest.importorskip("pexpect")
    record, _ = lesson2
    n = len(load(record))
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    child = pexpect.spawn(sys.executable, ["-m", "sockteach.cli_watch", "replay", str(record),
                                           "--speed", "0.05"],
                          encoding="utf-8", timeout=15, dimensions=(40, 110), cwd=str(ROOT),
                          env=env)
    try:
        child.expect("playing")
        child.send("\x1b[F")  # End: the last event
        child.expect(f"event {n} of {n}")
        child.send("\x1b[D")  # ←
        child.expect(f"event {n - 1} of {n}")
        child.send("\x1b[H")  # Home, then → twice
        child.expect(f"event 0 of {n}")
        child.send("\x1b[C")
        child.send("\x1b[C")
        child.expect(f"event 2 of {n}")
        child.expect("paused")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before


@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    ("not json\n", "is not a --record file"),
    ("", "holds no events"),
])
def test_bad_files_are_one_line_and_exit_2(tmp_path, content, words):
    path = tmp_path / "x.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = replay_cli(str(path))
    assert result.returncode == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
