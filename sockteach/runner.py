"""Glue between a session and a console: plays a lesson live, or runs one side attached.

The session produces events; a :class:`Feed` moves them into the pure view model; the rich
``Live`` display (or, when stdout is not a terminal, a plain narration stream) renders it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .events import Event, dump_jsonl
from .i18n import msg, pick
from .lessons import Lesson
from .scenario import Pace, Player, ScenarioError
from .session import Session, signals_held

if TYPE_CHECKING:
    from rich.console import Console

    from .model import Timeline

EXIT_OK, EXIT_FAIL = 0, 1


class Feed:
    """Moves a session's new events into a timeline (from one thread at a time)."""

    def __init__(self, session: Session, lang: str, lesson: Lesson | None,
                 timeline: "Timeline | None" = None) -> None:
        from .model import Timeline

        self.session = session
        self.timeline = timeline if timeline is not None else Timeline(lang=lang, lesson=lesson)
        self.seen = 0
        self.lock = threading.Lock()

    def pull(self) -> list[Event]:
        with self.lock:
            new = self.session.snapshot(self.seen)
            self.seen += len(new)
            for e in new:
                self.timeline.apply(e)
            return new


def lesson_title(lesson: Lesson, lang: str) -> str:
    return msg("lesson.heading", lang, number=lesson.number, title=pick(lesson.title, lang))


def run_lesson(lesson: Lesson, lang: str, *, console: "Console", interactive: bool,
               pace: Pace = Pace(), record: str | None = None, svg: str | None = None) -> int:
    """Play ``lesson`` with a live view; returns the exit status (0 done, 1 failed)."""
    from .view import LessonView, lesson_end

    session = Session(lesson.ports, blocked_after=pace.blocked_after)
    feed = Feed(session, lang, lesson)
    title = lesson_title(lesson, lang)
    status = EXIT_OK
    failure = None
    try:
        if console.is_terminal:
            status, failure = _play_live(lesson, lang, session, feed, console, title,
                                         interactive, pace)
        else:
            status, failure = _play_stream(lesson, lang, session, feed, console, pace)
    finally:
        session.close()
        feed.pull()
        if record:
            with open(record, "w", encoding="utf-8") as f:
                dump_jsonl(session.sorted_events(), f)
    final = LessonView(feed.timeline, session.now(), title=title)
    console.print(final)
    if failure is None:
        console.print(lesson_end(lesson, lang))
    else:
        console.print(f"[bold red]{failure}[/]", markup=True, highlight=False)
    if svg:
        _save_svg(svg, [final, lesson_end(lesson, lang)], title)
    return status


def _play_live(lesson: Lesson, lang: str, session: Session, feed: Feed, console: "Console",
               title: str, interactive: bool, pace: Pace) -> tuple[int, str | None]:
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from .view import LessonView

    prompt = [""]

    def render():
        feed.pull()
        view = LessonView(feed.timeline, session.now(), title=title)
        if prompt[0]:
            return Group(view, Text(prompt[0], style="bold yellow"))
        return view

    def pause(question: str) -> None:
        prompt[0] = (question + "  " if question else "") + msg("pause.enter", lang)
        live.refresh()
        try:
            _wait_enter()
        finally:
            prompt[0] = ""

    # 6 frames a second keep the timers alive; each frame costs ~15 ms of rendering.
    live = Live(get_renderable=render, console=console, refresh_per_second=6, screen=True,
                redirect_stdout=False, redirect_stderr=False)
    live.start()
    try:
        try:
            Player(lesson, session, lang, pace, pause if interactive else None).run()
        except ScenarioError as exc:
            return EXIT_FAIL, str(exc)
        if interactive:
            pause(msg("pause.end", lang))
        else:
            session.hold(pace.hold(1.0))
    finally:
        with signals_held():  # the view closes whole: no frame drawn after the last line
            live.stop()
    return EXIT_OK, None


def _play_stream(lesson: Lesson, lang: str, session: Session, feed: Feed, console: "Console",
                 pace: Pace) -> tuple[int, str | None]:
    """Not a terminal: print the narration as it happens, one line each."""
    from .narrator import narrate

    done = threading.Event()
    last_repeat: dict[tuple, float] = {}
    told = [0]

    def printer() -> None:
        while True:
            finished = done.wait(0.1)
            new = sorted(feed.pull(), key=lambda e: e.t)
            for e in new:
                if e.kind == "repeat":  # a spin: a few lines a second show it climb
                    key = (e.side, e.name)
                    if e.t - last_repeat.get(key, -10.0) < 0.25:
                        continue
                    last_repeat[key] = e.t
                line = narrate(e, lang, lesson)
                if line:
                    console.print(line, markup=False, highlight=False)
            found = feed.timeline.diagnoses  # each diagnosis once, when it appears
            for d in found[told[0]:]:
                console.print("⚠ " + d.text, markup=False, highlight=False)
            told[0] = len(found)
            if finished:
                return

    thread = threading.Thread(target=printer, name="sockteach-narration", daemon=True)
    thread.start()
    try:
        Player(lesson, session, lang, pace, None).run()
        return EXIT_OK, None
    except ScenarioError as exc:
        return EXIT_FAIL, str(exc)
    finally:
        done.set()
        thread.join(timeout=5)


def _wait_enter() -> None:
    """Wait for Enter without echoing it (the live view owns the screen); Ctrl-C still works."""
    fd = sys.stdin.fileno()
    try:
        import termios
    except ImportError:  # pragma: no cover - not POSIX
        sys.stdin.readline()
        return
    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        sys.stdin.readline()
        return
    new = termios.tcgetattr(fd)
    new[3] &= ~(termios.ECHO | termios.ICANON)
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        while True:
            ch = os.read(fd, 1)
            if ch in (b"\n", b"\r", b""):
                return
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _save_svg(path: str, renderables: list, title: str) -> None:
    import io

    from rich.console import Console

    rec = Console(record=True, width=120, file=io.StringIO(), force_terminal=True,
                  color_system="truecolor")
    for r in renderables:
        rec.print(r)
    rec.save_svg(path, title=title)


def run_side(lesson: Lesson, role: str, lang: str, *, console: "Console",
             port: int | None = None) -> int:
    """Run one side of ``lesson`` on this terminal, narrated: with the lesson's own ports, so
    that a second terminal (or any client) can talk to it, or with ``port`` for the first."""
    from rich.text import Text

    from .narrator import narrate

    script = lesson.file(lesson.code[role])
    session = Session(lesson.ports, map_ports=False, blocked_after=0.5)
    if port is not None:
        session.port_map[lesson.ports[0]] = port
        session.all_real_ports[port] = lesson.ports[0]
    from .narrator import side_label

    console.print(msg("run.banner", lang, role=side_label(role, lang), file=script.name,
                      number=lesson.number,
                      ports=", ".join(str(session.port_map[p]) for p in lesson.ports)),
                  highlight=False)
    done = threading.Event()

    def printer() -> None:
        seen = 0
        while True:
            finished = done.wait(0.05)
            new = session.snapshot(seen)
            seen += len(new)
            for e in sorted(new, key=lambda e: e.t):
                if e.kind == "call" and e.name == "input":
                    continue  # the program's own prompt says it
                line = narrate(e, lang, lesson)
                if line:
                    console.print(Text("  · " + line, style="dim"))
            if finished:
                return

    thread = threading.Thread(target=printer, daemon=True)
    thread.start()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the program
    try:
        record = session.attach(role, script)
        session.wait_until(lambda: record.exit_code is not None, 24 * 3600, f"{role} to end")
        code = record.exit_code or 0
    finally:
        signal.signal(signal.SIGINT, previous)
        done.set()
        thread.join(timeout=2)
        session.close()
    if code in (-signal.SIGINT, 130):
        return 130
    return EXIT_OK if code == 0 else EXIT_FAIL
