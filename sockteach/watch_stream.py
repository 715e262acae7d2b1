"""How a :class:`~sockteach.watch.Watch` runs: the live view in a terminal, the narration as
lines when stdout is not a terminal, and lines from stdin handed to the programs.

The line stream never prints a line per repeat: a spinning call's narration is printed when
the spin starts, at most every ``EVERY`` s while its count climbs, and once more when it ends;
a fold of repeated output the same way (:mod:`sockteach.watch_fold`).
"""

from __future__ import annotations

import queue
import re
import sys
import threading
from typing import TYPE_CHECKING

from .i18n import msg
from .narrator import narrate, side_label
from .watch_fold import Fold, Piece, fold_line
from .watch_terminal import Above, Keys

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from .events import Event
    from .watch import Item, Watch

EVERY = 5.0  # seconds between two lines of one climbing count
LINES_PER_TICK = 40  # of one side's output lines printed per tick (the rest are counted)
TICK = 0.1


def live(watch: "Watch", console: "Console", keys: bool) -> None:
    """The lesson's live view until the learner's programs end (or Ctrl-C); when they are
    idle it says so under the view and goes on waiting for Ctrl-C."""
    from rich.live import Live

    from .view import LessonView

    def render():  # type: ignore[no-untyped-def]
        watch.pull()
        view = LessonView(watch.timeline, watch.session.now(), title=watch.title)
        return Above(view, watch.prompt())

    lines = None if keys else LineFeeder(watch)
    with Live(get_renderable=render, console=console, refresh_per_second=6, screen=True,
              redirect_stdout=False, redirect_stderr=False) as view:
        if keys:
            with Keys(sys.stdin.fileno()) as reader:
                while not watch.finished():
                    tokens = reader.read(TICK)
                    for token in tokens:
                        watch.key(token)
                    if watch.drive() or tokens:
                        view.refresh()
        else:
            assert lines is not None
            while not watch.finished():
                lines.step()
                watch.drive()
                wait(watch, TICK)


def stream(watch: "Watch", console: "Console") -> None:
    """stdout is not a terminal: the narration as it happens, one line each, the programs'
    output (folded), and each diagnosis when it first appears. Ends when the learner's
    programs end, or when they are idle (:meth:`Watch.idle`)."""
    printer = Printer(watch, console)
    done = threading.Event()

    def run() -> None:
        while True:
            finished = done.wait(TICK)
            printer.show(watch.pull())
            if finished:
                printer.flush()
                return

    thread = threading.Thread(target=run, name="sockteach-watch-narration", daemon=True)
    thread.start()
    feeder = LineFeeder(watch)
    try:
        while not watch.finished():
            feeder.step()
            watch.drive(stdin_open=not feeder.ended)
            if watch.idle(stdin_open=not feeder.ended):
                watch.end_idle()
                break
            wait(watch, TICK)
    finally:
        # What the programs did up to now reaches the session before the last lines: a
        # process whose lines still wait in its tracer is asked for them (the order protocol).
        watch.session.settled(watch.session.now(), timeout=2.0)
        done.set()
        thread.join(timeout=5)


class Printer:
    """Prints what a watch shows, as lines (see the module doc for the counts)."""

    def __init__(self, watch: "Watch", console: "Console") -> None:
        self.watch, self.console, self.lang = watch, console, watch.lang
        self.told = 0  # diagnoses printed
        self.spins: dict[tuple, tuple[float, "Event", bool]] = {}  # key → (printed at, last, shown)
        self.folds: dict[int, tuple[float, int, Fold]] = {}  # id → (printed at, count, fold)

    def say(self, text: str, style: str | None = None) -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style or ""), markup=False, highlight=False)

    def show(self, items: "list[Item]") -> None:
        now = self.watch.session.now()
        lines: dict[str, int] = {}
        for item in items:
            if isinstance(item, Piece):
                self.piece(item, now, lines)
            else:
                self.event(item, now)
        for side, n in lines.items():
            if n > LINES_PER_TICK:
                self.say(msg("watch.more_lines", self.lang, side=side_label(side, self.lang),
                             n=f"{n - LINES_PER_TICK:,}"), "dim")
        for key, (at, last, shown) in list(self.spins.items()):
            if not shown and now - at >= EVERY:
                self._spin_line(key, last, now)
        for ident, (at, count, fold) in list(self.folds.items()):
            if fold.count != count and now - at >= EVERY:
                self._fold_line(fold, now)
        found = self.watch.timeline.diagnoses
        for d in found[self.told:]:
            self.say("⚠ " + d.text, "yellow")
            self.say(msg("diagnose.next", self.lang) + d.next_step)
        self.told = len(found)

    def flush(self) -> None:
        """The end: each climbing count's last value, if not printed yet."""
        now = self.watch.session.now()
        for key, (_at, last, shown) in list(self.spins.items()):
            if not shown:
                self._spin_line(key, last, now)
        for _at, count, fold in list(self.folds.values()):
            if fold.count != count:
                self._fold_line(fold, now)

    def piece(self, piece: Piece, now: float, lines: dict[str, int]) -> None:
        if piece.kind == "line":
            n = lines[piece.side] = lines.get(piece.side, 0) + 1
            if n <= LINES_PER_TICK:
                self.say(f"{side_label(piece.side, self.lang)} │ {piece.text}", "dim")
        elif piece.fold is not None:
            held = self.folds.pop(id(piece.fold), None)
            if piece.kind == "start" or held is None or held[1] != piece.fold.count:
                self._fold_line(piece.fold, now)
            if piece.kind == "end":
                self.folds.pop(id(piece.fold), None)

    def event(self, e: "Event", now: float) -> None:
        if e.kind == "repeat":
            key = (e.side, e.name, e.result, e.sock)
            if key not in self.spins:
                self._spin_line(key, e, now)
            else:
                at, _last, _shown = self.spins[key]
                self.spins[key] = (at, e, False)
            return
        for key, (_at, last, shown) in list(self.spins.items()):
            # the spin of that call ended (another result, or the program ended)
            if key[0] == e.side and (e.kind == "exit" or (e.name == key[1]
                                                          and e.kind in ("call", "raise"))):
                if not shown:
                    self._spin_line(key, last, now)
                del self.spins[key]
        if e.kind == "call" and e.name == "input" and any(
                d.types_into(e) for d in self.watch.drivers):
            line = msg("watch.peer_input", self.lang, side=side_label(e.side, self.lang),
                       prompt=(e.args or ("''",))[0])
        else:
            line = narrate(e, self.lang)
        if line:
            self.say(line)

    def _spin_line(self, key: tuple, e: "Event", now: float) -> None:
        line = narrate(e, self.lang)
        if line:
            self.say(line)
        self.spins[key] = (now, e, True)

    def _fold_line(self, fold: Fold, now: float) -> None:
        self.say(fold_line(fold, self.lang), "dim")
        self.folds[id(fold)] = (now, fold.count, fold)


def wait(watch: "Watch", seconds: float) -> None:
    """Until the next event or ``seconds``, whichever comes first."""
    with watch.session.cond:
        watch.session.cond.wait(seconds)


class LineFeeder:
    """Lines read from stdin (not a terminal), handed to the programs waiting in input()."""

    def __init__(self, watch: "Watch") -> None:
        self.watch = watch
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.held: str | None = None
        self.ended = False
        threading.Thread(target=self._read, name="sockteach-watch-stdin", daemon=True).start()

    def _read(self) -> None:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            self.lines.put(None)
            return
        try:
            for raw in iter(stream.readline, b""):
                self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        self.lines.put(None)

    def step(self) -> None:
        w = self.watch
        while True:
            if self.held is None:
                try:
                    item = self.lines.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.ended = True
                    break
                self.held = item
            text, side = self.held, None
            m = re.match(r"@(\w+) ?(.*)$", text)
            if m and m.group(1) in w.session.sides:
                side, text = m.group(1), m.group(2)
            waiting = w.waiting()
            if (side is None and not waiting) or (side is not None and side not in waiting):
                return  # hold the line until a program asks
            if not w.send(text, side or waiting[0]):
                return
            self.held = None
        if self.ended and self.held is None:
            for side in w.waiting():
                w.send_eof(side)
