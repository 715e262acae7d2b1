"""The narration of ``sockteach run N ROLE``: one side attached to the learner's terminal.

The program writes to the terminal itself, as it happens; the narration comes a moment later
(in true order, see :mod:`sockteach.inorder`) and shares the terminal with it. So this
printer keeps track of what the *screen* shows now — from the newest events that have
arrived, whatever their order — and

- starts a narration line on a new line when the program's last output did not end with one
  (no ``b''  · server: recv()…``);
- prints the ``input()`` prompt again after narration that came while the program waits in
  ``input()``, so the prompt stays on the last line;
- shows the ports the program really uses: with ``--port P`` the kernel runs the lesson's
  nominal port on P, and a second terminal or another client must use P;
- words an exit by the learner's own Ctrl-C as that, not as a signal from outside.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import signal
from typing import TYPE_CHECKING, Any, Callable

from .events import Event
from .i18n import msg
from .inorder import RepeatThrottle

if TYPE_CHECKING:
    from rich.console import Console

    from .lessons import Lesson

CTRL_C_LAG = 0.5  # seconds the learner's Ctrl-C may take to reach sockteach's own handler
_REPR_ADDRESS = re.compile(r"(\(\s*'[^']*'\s*,\s*)(\d+)(?=\s*[,)])")


def narrator_for(lang: str, lesson: "Lesson | None") -> Callable[[Event], "str | None"]:
    """A narrator fed the whole stream in order (a stateful one where the narrator has it)."""
    from . import narrator

    stateful = getattr(narrator, "Narrator", None)
    if stateful is not None:
        return stateful(lang, lesson)
    return lambda e: narrator.narrate(e, lang, lesson)


def with_real_ports(e: Event, ports: dict[int, int]) -> Event:
    """``e`` with every nominal port in ``ports`` (nominal → real) written as the real one:
    in the call's and result's reprs, the structured addresses and the kernel's table."""
    if not ports:
        return e

    def port(p: Any) -> Any:
        return ports.get(p, p) if isinstance(p, int) else p

    def in_repr(text: str | None) -> str | None:
        if not text:
            return text
        return _REPR_ADDRESS.sub(lambda m: m.group(1) + str(port(int(m.group(2)))), text)

    def addr(value: Any) -> Any:
        if isinstance(value, (tuple, list)) and len(value) >= 2:
            return (value[0], port(value[1]), *value[2:])
        return value

    def entry(text: str) -> str:
        host, sep, number = text.rpartition(":")
        if sep and number.isdigit():
            return f"{host}:{port(int(number))}"
        return text

    changes: dict[str, Any] = {}
    if e.args:
        changes["args"] = tuple(in_repr(a) for a in e.args)
    if e.result:
        changes["result"] = in_repr(e.result)
    for name in ("addr", "local", "peer"):
        if getattr(e, name) is not None:
            changes[name] = addr(getattr(e, name))
    if e.states:
        changes["states"] = tuple((entry(a), entry(b), s) for a, b, s in e.states)
    return dataclasses.replace(e, **changes)


def prompt_of(call: Event) -> str:
    """The prompt an ``input`` call writes (its first argument is the prompt's repr)."""
    if not call.args:
        return ""
    try:
        value = ast.literal_eval(call.args[0])
    except (ValueError, SyntaxError):
        return ""
    return value if isinstance(value, str) else str(value)


class SidePrinter:
    """Narration lines for an attached side, on the terminal its output goes to as well.

    ``observe`` is given every event as soon as it arrives (it tracks the screen);
    ``show`` is given the events to narrate, in true order. ``ports`` maps nominal → real
    ports where they differ; ``streams`` are the program's streams that reach the terminal the
    narration is printed on; ``ctrl_c(timeout)`` says whether the learner pressed Ctrl-C,
    waiting up to ``timeout`` for it: Python runs a signal handler in the main thread, a moment
    after the signal reached the process — possibly after the program it also reached ended.
    """

    def __init__(self, console: "Console", lang: str, lesson: "Lesson | None", *,
                 ports: dict[int, int] | None = None, streams: tuple[str, ...] = ("stdout",),
                 ctrl_c: Callable[[float], bool] = lambda timeout: False,
                 now: Callable[[], float] = lambda: float("inf")) -> None:
        self.console, self.lang = console, lang
        self.narrate = narrator_for(lang, lesson)
        self.ports = {n: r for n, r in (ports or {}).items() if n != r}
        self.streams = streams
        self.ctrl_c = ctrl_c
        self.now = now  # the session's clock: when this printer itself wrote the prompt again
        self._reprinted_t = float("-inf")
        self._after_ctrl_c = False
        self.throttle = RepeatThrottle()
        self.at_line_start = True  # the program's last output ended with a newline
        self.prompt: str | None = None  # the prompt of the input() the program waits in
        self._screen_t = float("-inf")  # stamp of the newest event the screen state is from
        self.last_states: tuple | None = None  # the kernel table last shown

    # ----- what the screen shows ---------------------------------------------------------

    def observe(self, events: list[Event]) -> None:
        for e in sorted(events, key=lambda e: e.t):
            if e.t < self._screen_t:
                continue  # older than what the screen already shows
            if self._screen(e):
                self._screen_t = e.t

    def _screen(self, e: Event) -> bool:
        """Update the screen state from ``e``; whether ``e`` wrote to the screen."""
        if e.kind == "output" or (e.kind == "repeat" and e.name == "output"):
            if (e.stream or "stdout") in (*self.streams, "terminal") and e.text:
                self.at_line_start = e.text.endswith("\n")
                return True
            return False
        if e.name == "input" and e.kind == "call":
            self.prompt = prompt_of(e)
            if self.prompt:
                self.at_line_start = self.prompt.endswith("\n")
            return True
        if e.name == "input" and e.kind in ("return", "raise"):
            self.prompt = None
            # The Enter (or the traceback that follows) ends the line — unless this printer
            # wrote the prompt again after it: the news of the Enter came late.
            self.at_line_start = e.t >= self._reprinted_t
            return True
        if e.kind == "exit":
            self.prompt = None
            return True
        return False

    # ----- narration ---------------------------------------------------------------------

    def show(self, events: list[Event]) -> None:
        said = False
        for e in events:
            line = self.line(e)
            if line:
                self.say(line)
                said = True
        if said and self.prompt:  # the learner still types after the prompt: show it again
            self._write(self.prompt)
            self._reprinted_t = self.now()
            self.at_line_start = self.prompt.endswith("\n")

    def line(self, e: Event) -> str | None:
        """The narration line for ``e`` (ports as really used), or None."""
        if self.throttle.skip(e):
            return None
        e = with_real_ports(e, self.ports)
        text = self.narrate(e)  # every event: the narrator keeps its account of the stream
        if e.kind in ("output", "input") or (e.kind == "repeat" and e.name == "output"):
            return None  # the program's own text is on the screen already
        if e.name == "input" and e.kind in ("call", "blocked"):
            return None  # the program's own prompt says it
        if e.kind == "raise" and e.error == "KeyboardInterrupt":
            self.at_line_start = False  # a Ctrl-C: the terminal echoed ^C where the cursor was
        if e.kind == "tcp":
            if e.states == self.last_states:
                return None
            self.last_states = e.states
        if e.kind == "exit" and e.code == -signal.SIGINT and self.ctrl_c(CTRL_C_LAG):
            from .narrator import side_label

            self.at_line_start = False  # the terminal echoed ^C: this line starts a new one

            return msg("line", self.lang, side=side_label(e.side, self.lang),
                       text=msg("run.ctrl_c", self.lang))
        return text

    def say(self, line: str) -> None:
        from rich.text import Text

        if not self._after_ctrl_c and self.ctrl_c(0):
            self._after_ctrl_c = True
            self.at_line_start = False  # the terminal itself echoed ^C where the cursor was
        if not self.at_line_start:
            self._write("\n")
        self.console.print(Text("  · " + line, style="dim"))
        self.at_line_start = True

    def _write(self, text: str) -> None:
        self.console.file.write(text)
        self.console.file.flush()
