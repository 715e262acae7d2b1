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
    from .screen_text import safe_glyphs

    console.print(LessonView(feed.timeline, session.now(), title=title))
    if failure is None:
        console.print(lesson_end(lesson, lang, safe_glyphs(lang, console.is_terminal)))
    else:
        console.print(f"[bold red]{failure}[/]", markup=True, highlight=False)
    if svg:  # a picture: no terminal's widths to fear
        _save_svg(svg, [LessonView(feed.timeline, session.now(), title=title, safe=False),
                        lesson_end(lesson, lang)], title)
    return status


def _play_live(lesson: Lesson, lang: str, session: Session, feed: Feed, console: "Console",
               title: str, interactive: bool, pace: Pace) -> tuple[int, str | None]:
    from rich.live import Live

    from .view import LessonView

    prompt: list[tuple[str, ...]] = [()]

    def render():
        feed.pull()
        return LessonView(feed.timeline, session.now(), title=title, prompt=prompt[0],
                          live=True)

    def pause(question: str) -> None:
        prompt[0] = (question, msg("pause.enter", lang))
        live.refresh()
        try:
            _wait_enter()
        finally:
            prompt[0] = ()

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
    """Not a terminal: print the narration as it happens, one line each, in true order."""
    from .inorder import InOrder, RepeatThrottle
    from .side_printer import narrator_for

    done = threading.Event()
    narrate = narrator_for(lang, lesson)
    throttle = RepeatThrottle()  # a spin: a few lines a second show it climb
    order = InOrder(session, feed.pull)
    told: set[tuple] = set()

    def diagnoses(up_to: float) -> list:
        """Diagnoses not yet printed that began by ``up_to``, in order (each once)."""
        found = [d for d in feed.timeline.diagnoses
                 if d.t <= up_to and (d.key, d.side, d.t) not in told]
        return sorted(found, key=lambda d: d.t)

    def say(d) -> None:
        told.add((d.key, d.side, d.t))
        console.print("⚠ " + d.text, markup=False, highlight=False)

    def show(events: list[Event]) -> None:
        waiting = diagnoses(order.until)  # in their place among the narration lines
        for e in events:
            while waiting and waiting[0].t <= e.t:
                say(waiting.pop(0))
            if throttle.skip(e):
                continue
            line = narrate(e)
            if line:
                console.print(line, markup=False, highlight=False)
        for d in waiting:
            say(d)

    def printer() -> None:
        while True:
            finished = done.wait(0.1)
            show(order.finish() if finished else order.ready())
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
    from . import kernel
    from .inorder import InOrder
    from .narrator import side_label
    from .side_printer import SidePrinter

    script = lesson.file(lesson.code[role])
    to_terminal = _is_terminal(sys.__stdout__)
    # Not a terminal (`> file`): the tracer folds a line printed again and again (a spin
    # printing b'' writes hundreds of megabytes a minute otherwise).
    session = Session(lesson.ports, map_ports=False, blocked_after=0.5,
                      env=None if to_terminal else {"SOCKTEACH_FOLD_OUTPUT": "1"})
    nominal = lesson.ports[0]
    if port is not None:
        session.port_map[nominal] = port
        session.all_real_ports[port] = nominal
    ctrl_c = threading.Event()  # the learner pressed Ctrl-C: it reached the program and us
    printer = SidePrinter(console, lang, lesson, ports=dict(session.port_map),
                          streams=_streams_on_stdout(), ctrl_c=ctrl_c.wait, now=session.now)
    console.print(msg("run.banner", lang, role=side_label(role, lang), file=script.name,
                      number=lesson.number,
                      ports=", ".join(str(session.port_map[p]) for p in lesson.ports)),
                  highlight=False)
    if port is not None and port != nominal:
        console.print(msg("run.port", lang, nominal=nominal, port=port), highlight=False)
    if not to_terminal:
        sys.stderr.write(msg("run.folded", lang) + "\n")
        sys.stderr.flush()
    seen = [0]

    def pull() -> list[Event]:
        new = session.snapshot(seen[0])
        seen[0] += len(new)
        printer.observe(new)  # the screen shows the program's output now, not in a moment
        return new

    order = InOrder(session, pull)
    done = threading.Event()

    def loop() -> None:
        while True:
            finished = done.wait(0.05)
            printer.show(order.finish() if finished else order.ready())
            if finished:
                return

    def on_ctrl_c(signum: int, frame: object) -> None:  # the program ends on it, not us
        ctrl_c.set()
        side = session.sides.get(role)
        if side is not None:
            side.signalled = True

    thread = threading.Thread(target=loop, name="sockteach-narration", daemon=True)
    thread.start()
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        record = session.attach(role, script)
        if ctrl_c.is_set():
            record.signalled = True
        session.wait_until(lambda: record.exit_code is not None, 24 * 3600, f"{role} to end")
        code = record.exit_code or 0
    finally:
        try:
            session.close()  # its exit event is in; no event comes after this
            done.set()
            thread.join(timeout=5)
            if kernel.available():  # the table now, after the exit: what the kernel still has
                current = {real: nom for nom, real in session.port_map.items()}
                printer.last_states = None  # said again as the last word, even if unchanged
                printer.show([Event(session.now(), "kernel", "tcp",
                                    states=kernel.connections(current))])
        finally:
            signal.signal(signal.SIGINT, previous)
    if code in (-signal.SIGINT, 130):
        return 130
    return EXIT_OK if code == 0 else EXIT_FAIL


def _is_terminal(stream: object) -> bool:
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _streams_on_stdout() -> tuple[str, ...]:
    """The program's streams that reach where the narration goes (fd 1): its stdout, and its
    stderr when fd 2 is the same terminal or file."""
    try:
        if os.path.samestat(os.fstat(1), os.fstat(2)):
            return ("stdout", "stderr")
    except OSError:
        pass
    return ("stdout",)
