"""The timeline: what the views show, built from the event stream (pure, no I/O).

:class:`Timeline` takes events one by one (``apply``) in whatever order they arrive and keeps
them ordered by ``t``: per-side state (alive or exited, the call under way and since when,
``input()`` waits, the last lines printed, the spin counters), the rows of the sequence diagram,
the narration, the kernel's TCP table and the current step. Everything is bounded: old rows,
narration lines and events are dropped once their caps are reached.

Where a row goes (the true order, see the ordering rule in :mod:`sockteach.events`): every row
is drawn where its event's ``t`` puts it. A send's bytes are drawn as a wire row right after
the send *call* (that is when they leave: the receiver's ``recv() → b'hello'`` return always
comes later), not at the send's return, which may be stamped after the receiver's return;
the return only corrects the row if fewer bytes went (a partial send) or none did, and a send
that raised removes it. Output rows sit where the output's ``t`` says, since the tracer stamps
output where the program writes it. Version-1 events are upgraded first
(:func:`sockteach.legacy.upgrade`), so every consumer reads the same fields.
"""

from __future__ import annotations

import bisect
import copy
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from .diagnose import Diagnoser, Diagnosis, Rows
from .events import Event, show_address
from .i18n import msg
from .legacy import cut_size, upgrade
from .narrator import Narrator, call_text, short

if TYPE_CHECKING:  # pragma: no cover
    from .lessons import Lesson

BLOCKED_AFTER = 0.2  # a call under way longer than this shows as "blocked in …"
OUTPUT_LINES = 4  # printed lines kept on one output row (older ones are counted)
SIDE_OUTPUT_LINES = 5  # printed lines kept per side
TRACED = ("call", "return", "raise", "repeat")  # events that come from the traced process
SPEAKERS = TRACED + ("blocked", "output", "input", "exit")  # events that belong to a side


@dataclass
class Row:
    """One row of the sequence diagram.

    ``kind`` is call, return, raise, repeat, output, input, exit, start (a restart), step,
    wire (bytes crossed, drawn right after the send call) or nowire (a send of nothing).
    ``count`` is the spin count of a repeat row, or for an output row how many older lines
    were folded away. ``direction`` of a wire/nowire row: "right" (server → clients) or
    "left" (a client → server).
    """

    t: float
    side: str
    kind: str
    text: str
    count: int = 0
    direction: str | None = None


@dataclass
class Line:
    """One line of narration; ``side`` is None for steps and the kernel's table."""

    t: float
    side: str | None
    kind: str
    text: str


@dataclass
class Call:
    """A call under way: entered, not yet returned."""

    name: str
    t: float
    args: tuple[str, ...] = ()
    sock: int | None = None
    pid: int | None = None
    rfds: tuple[int, ...] | None = None  # select/poll/epoll: the fds it waits on
    wfds: tuple[int, ...] | None = None
    limit: float | None = None  # a timeout socket's (or select's) longest wait
    wire: "Row | None" = None  # a send's wire row, drawn at the call
    payload: bytes | None = None  # what a send offered (its preview)


@dataclass
class SideState:
    """What one side (one process, or its restarts) is doing now."""

    side: str
    alive: bool = True
    code: int | None = None
    outside: bool = False  # ended by a signal the lesson did not send
    runs: int = 1
    pid: int | None = None
    calls: list[Call] = field(default_factory=list)  # in the order they began
    output_tail: str = ""
    repeats: dict[tuple[str, str], int] = field(default_factory=dict)
    internal: dict[int, str] = field(default_factory=dict)  # fd → "asyncio": not the learner's

    @property
    def pending(self) -> Call | None:
        """The call the program is waiting in, if any: the outermost call under way (of the
        process that began one last, when a side has forked)."""
        outermost: dict[int | None, Call] = {}
        for call in self.calls:
            outermost.setdefault(call.pid, call)
        return max(outermost.values(), key=lambda c: c.t, default=None)

    @property
    def waiting_input(self) -> bool:
        return any(c.name == "input" for c in self.calls)

    @property
    def output(self) -> list[str]:
        """The last few lines this side printed."""
        lines = self.output_tail.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines[-SIDE_OUTPUT_LINES:]

    def finish(self, name: str, pid: int | None = None) -> Call | None:
        """Take the latest open call ``name`` of process ``pid`` off the list, with any call
        of that process that began after it (and never returned)."""
        for i in range(len(self.calls) - 1, -1, -1):
            call = self.calls[i]
            if call.name == name and _same(call.pid, pid):
                self.calls[i:] = [c for c in self.calls[i + 1:] if not _same(c.pid, pid)]
                return call
        return None

    def restart(self, pid: int | None) -> None:
        """A new process took this side's name."""
        self.alive, self.code, self.pid = True, None, pid
        self.outside = False
        self.runs += 1
        self.calls.clear()
        self.repeats.clear()
        self.internal.clear()
        self.output_tail = ""


def _wire_text(payload: bytes | None, raw: str | None, n: int | None, lang: str) -> str:
    """What crossed: ``b'hello'``; ``n`` bytes of a longer offer (a partial send); for bytes
    beyond the recorded preview, the start of the call's repr and how many went."""
    if payload is not None and (n is None or n <= len(payload)) and cut_size(raw) is None:
        return short(repr(payload if n is None else payload[:n]))
    start = raw if raw else repr(payload or b"")
    return short(start, 30) + (f" ({msg('bytes', lang, n=f'{n:,}')})" if n else "")


def _same(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def exit_text(code: int | None, lang: str, outside: bool = False) -> str:
    """"exited (code 1)", "killed by SIGKILL"… for a side's exit code (``outside``: by a
    signal the lesson did not send)."""
    if code is None:
        return msg("status.exited_unknown", lang)
    if code >= 0:
        return msg("status.exited", lang, code=code)
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = str(-code)
    return msg("status.killed_outside" if outside else "status.killed", lang, signame=name)


class _State:
    """Everything derived from events fed in time order."""

    def __init__(self, max_rows: int, max_lines: int, diagnoser: Diagnoser,
                 narrator: Narrator) -> None:
        self.max_rows, self.max_lines = max_rows, max_lines
        self.diagnoser = diagnoser
        self.narrator = narrator
        self.rows: list[Row] = []
        self.dropped_rows = 0
        self.narration: list[Line] = []
        self.sides: dict[str, SideState] = {}
        self.tcp_states: tuple[tuple[str, str, str], ...] | None = None
        self.tcp_note: str | None = None
        self.step_title: str | None = None
        self.step_text: str | None = None
        self._spins: dict[tuple[str, int, str, str], tuple[Row, Line | None]] = {}

    # -- adding rows and lines, within their caps

    def _row(self, row: Row) -> Row:
        self.rows.append(row)
        excess = len(self.rows) - self.max_rows
        if excess > 0:
            gone = {id(r) for r in self.rows[:excess]}
            del self.rows[:excess]
            self.dropped_rows += excess
            self._spins = {k: v for k, v in self._spins.items() if id(v[0]) not in gone}
        return row

    def _line(self, line: Line) -> Line:
        self.narration.append(line)
        if len(self.narration) > self.max_lines:
            del self.narration[: len(self.narration) - self.max_lines]
        return line

    # -- feeding one event

    def feed(self, e: Event, lang: str, lesson: "Lesson | None") -> None:
        e = upgrade(e)
        self.diagnoser.feed(e)
        text = self.narrator(e)
        if e.kind == "step":
            self.step_title, self.step_text = e.title, e.text
            if e.title:
                self._row(Row(e.t, e.side, "step", e.title))
        elif e.kind == "tcp":
            states, note = e.states, (e.text if e.states is None else None)
            if (states, note) == (self.tcp_states, self.tcp_note):
                return  # unchanged: not worth another narration line
            self.tcp_states, self.tcp_note = states, note
        elif e.kind in SPEAKERS:
            self._side_event(e, lang)
        if e.kind == "repeat" and e.internal:
            return
        if e.kind == "repeat":
            self._spin_line(e, text)
        elif text:
            side = e.side if e.kind in SPEAKERS else None
            self._line(Line(e.t, side, e.kind, text))

    def _side_event(self, e: Event, lang: str) -> None:
        state = self.sides.get(e.side)
        if state is None:
            state = self.sides[e.side] = SideState(e.side, pid=e.pid)
        elif e.kind in TRACED and not state.alive:
            state.restart(e.pid)
            self._row(Row(e.t, e.side, "start", msg("row.restarted", lang)))
        if state.pid is None:
            state.pid = e.pid
        private = bool(e.name and e.name.startswith("_"))
        name = e.name or "?"
        if e.internal and e.sock is not None:
            state.internal[e.sock] = e.internal

        if e.kind == "call":
            limit = e.timeout if e.mode == "timeout" or name in ("select", "poll", "epoll") \
                else None
            call = Call(name, e.t, tuple(e.args or ()), e.sock, e.pid, e.rfds, e.wfds, limit)
            if not e.internal:  # the event loop's own call is not what the program waits in
                state.calls.append(call)
            if not private:
                text = call_text(name, e.args)
                if e.internal:
                    text += f" [{msg(f'internal.{e.internal}', lang).strip()}]"
                self._row(Row(e.t, e.side, "call", text))
            if name in ("send", "sendall", "sendto") and not e.internal:
                self._wire_at_call(e, call, lang)
        elif e.kind == "return":
            call = state.finish(name, e.pid) if not e.internal else None
            if not private and e.result not in (None, "None") and not e.internal:
                if name == "accept" and e.conn is not None:
                    text = msg("row.accept", lang, fd=e.conn, addr=show_address(e.addr) or "?")
                else:
                    text = f"{name}() → {short(e.result or '')}"
                self._row(Row(e.t, e.side, "return", text))
            if name in ("send", "sendall", "sendto") and not e.internal:
                self._wire(e, call, lang)
        elif e.kind == "raise":
            call = state.finish(name, e.pid) if not e.internal else None
            if call is not None and call.wire is not None:  # nothing crossed
                self._unrow(call.wire)
            what = f"{e.error}: {e.message}" if e.message else f"{e.error}"
            if not e.internal:  # asyncio's own socket: not the learner's error
                self._row(Row(e.t, e.side, "raise", f"{name}() ✗ {what}"))
        elif e.kind == "repeat":
            key = (name, e.result or "")
            state.repeats[key] = max(state.repeats.get(key, 0), e.count or 0)
        elif e.kind == "blocked":
            if not any(c.name == name and _same(c.pid, e.pid) for c in state.calls):
                state.calls.append(Call(name, e.t - (e.seconds or 0.0), sock=e.sock, pid=e.pid))
        elif e.kind == "output":
            self._output(e, state)
        elif e.kind == "input":
            typed = repr((e.text or "").rstrip("\r\n"))
            self._row(Row(e.t, e.side, "input", msg("row.typed", lang, text=typed)))
        elif e.kind == "exit":
            state.alive, state.code = False, e.code
            state.outside = e.text == "outside"
            state.calls.clear()
            self._row(Row(e.t, e.side, "exit", exit_text(e.code, lang, state.outside)))

    def _unrow(self, row: Row) -> None:
        for i in range(len(self.rows) - 1, -1, -1):
            if self.rows[i] is row:
                del self.rows[i]
                return

    def _wire_at_call(self, e: Event, call: Call, lang: str) -> None:
        """The bytes a send offers, drawn right after its call row (they leave now)."""
        call.payload = e.payload
        if call.payload is None:
            return  # not recorded: the return says what it can
        direction = "right" if e.side == "server" else "left"
        if call.payload == b"" and e.name != "sendto":
            # an empty stream send puts nothing on the wire; an empty datagram does cross
            call.wire = self._row(Row(e.t, e.side, "nowire", msg("wire.nothing", lang),
                                      direction=direction))
            return
        text = _wire_text(call.payload, call.args[0] if call.args else None,
                          e.nbytes if e.name == "sendall" else None, lang)
        call.wire = self._row(Row(e.t, e.side, "wire", text, direction=direction))

    def _wire(self, e: Event, call: Call | None, lang: str) -> None:
        """A send's return: how many bytes really went corrects the row drawn at the call
        (a partial send, or none); a call that was not seen gets its row now."""
        n = e.nbytes
        if call is not None and call.wire is not None:
            row = call.wire
            if n == 0 and e.name != "sendto":
                row.kind, row.text = "nowire", msg("wire.nothing", lang)
            elif n is not None and row.kind == "wire":
                row.text = _wire_text(call.payload or b"", call.args[0] if call.args else None,
                                      n, lang)
            return
        if n is None:
            return  # nothing known about the bytes: nothing to show
        direction = "right" if e.side == "server" else "left"
        if n == 0 and e.name != "sendto":
            self._row(Row(e.t, e.side, "nowire", msg("wire.nothing", lang), direction=direction))
        elif call is not None and call.args:
            self._row(Row(e.t, e.side, "wire", _wire_text(None, call.args[0], n, lang),
                          direction=direction))

    def _output(self, e: Event, state: SideState) -> None:
        text = (e.text or "").replace("\r\n", "\n").replace("\r", "")
        if not text:
            return
        state.output_tail = (state.output_tail + text)[-2000:]
        last = self.rows[-1] if self.rows else None
        if last is not None and last.kind == "output" and last.side == e.side:
            row, combined = last, last.text + text
        else:
            row, combined = self._row(Row(e.t, e.side, "output", "")), text
        lines = combined.split("\n")
        keep = OUTPUT_LINES + 1 if lines[-1] == "" else OUTPUT_LINES
        row.count += max(0, len(lines) - keep)
        row.text = "\n".join(lines[-keep:])

    def _spin_line(self, e: Event, text: str | None) -> None:
        """A repeat updates one row and one narration line in place: the count climbs."""
        state = self.sides[e.side]
        key = (e.side, state.runs, e.name or "?", e.result or "")
        count = state.repeats.get(key[2:], e.count or 0)
        label = f"{e.name}() → {short(e.result or '')} ×{count:,}"
        if key in self._spins:
            row, line = self._spins[key]
            row.count, row.text = count, label
            if line is not None and text:
                line.text = text
            return
        row = self._row(Row(e.t, e.side, "repeat", label, count=count))
        line = self._line(Line(e.t, e.side, "repeat", text)) if text else None
        self._spins[key] = (row, line)


class Timeline:
    """The view model of one session, built from its events (see the module docstring)."""

    def __init__(self, lang: str = "en", lesson: "Lesson | None" = None, *,
                 max_rows: int = 500, max_lines: int = 200, max_events: int = 2000,
                 kernel_rows: Rows = None) -> None:
        self.lang, self.lesson = lang, lesson
        self.max_events = max_events
        # what the events that left the window gave; kernel_rows: see diagnose.diagnose
        self._base = _State(max_rows, max_lines, Diagnoser(lang, kernel_rows),
                            Narrator(lang, lesson))
        self._state = _State(max_rows, max_lines, Diagnoser(lang, kernel_rows),
                             Narrator(lang, lesson))
        self._window: list[tuple[float, int, Event]] = []
        self._seq = 0
        self._dirty = False

    @classmethod
    def from_events(cls, events: Iterable[Event], lang: str = "en",
                    lesson: "Lesson | None" = None, **caps: int) -> "Timeline":
        timeline = cls(lang, lesson, **caps)
        for event in events:
            timeline.apply(event)
        return timeline

    def apply(self, event: Event) -> None:
        """Add one event; a late one (older than the newest) is put in its place by ``t``."""
        item = (event.t, self._seq, event)
        self._seq += 1
        if not self._window or event.t >= self._window[-1][0]:
            self._window.append(item)
            if not self._dirty:
                self._state.feed(event, self.lang, self.lesson)
        else:
            bisect.insort(self._window, item)
            self._dirty = True
        while len(self._window) > self.max_events:
            self._base.feed(self._window.pop(0)[2], self.lang, self.lesson)

    @property
    def _now(self) -> _State:
        """The derived state, replayed from the window if a late event arrived."""
        if self._dirty:
            self._state = copy.deepcopy(self._base)
            for _, _, event in self._window:
                self._state.feed(event, self.lang, self.lesson)
            self._dirty = False
        return self._state

    # -- what the views read

    @property
    def events(self) -> list[Event]:
        """The most recent events (up to ``max_events``), ordered by ``t``."""
        return [e for _, _, e in self._window]

    @property
    def rows(self) -> list[Row]:
        return self._now.rows

    @property
    def dropped_rows(self) -> int:
        """How many old rows were dropped to keep memory bounded."""
        return self._now.dropped_rows

    @property
    def narration(self) -> list[Line]:
        return self._now.narration

    @property
    def sides(self) -> dict[str, SideState]:
        """Per-side state, in order of appearance."""
        return self._now.sides

    @property
    def side_order(self) -> list[str]:
        return list(self._now.sides)

    @property
    def tcp_states(self) -> tuple[tuple[str, str, str], ...] | None:
        """The kernel's latest table (empty: no connections; None: not read, see tcp_note)."""
        return self._now.tcp_states

    @property
    def tcp_note(self) -> str | None:
        """Why the kernel's table cannot be read here, if it cannot."""
        return self._now.tcp_note

    @property
    def step_title(self) -> str | None:
        return self._now.step_title

    @property
    def diagnoses(self) -> list[Diagnosis]:
        """What the diagnosis catalogue recognises in the events so far (``diagnose``)."""
        return self._now.diagnoser.diagnoses

    @property
    def step_text(self) -> str | None:
        return self._now.step_text

    def status(self, side: str, now: float) -> str:
        """One side's live status at ``now``: "blocked in recv() 2.4 s", "waiting for input"…"""
        state = self.sides.get(side)
        if state is None:
            return ""
        if not state.alive:
            return exit_text(state.code, self.lang, state.outside)
        if state.waiting_input:
            return msg("status.input", self.lang)
        call = state.pending
        if call is not None and now - call.t >= BLOCKED_AFTER:
            seconds = f"{now - call.t:.1f}"
            if call.rfds or call.wfds:  # select/poll/epoll: for which fds
                sep = msg("status.fds_sep", self.lang)

                def fd_text(fd: int) -> str:
                    if fd not in state.internal:
                        return str(fd)
                    what = msg(f"internal.{state.internal[fd]}", self.lang)
                    return msg("fds.internal", self.lang, fd=fd, what=what)

                what = sep.join(msg(f"status.fds_{key}", self.lang,
                                    fds=sep.join(fd_text(fd) for fd in fds))
                                for fds, key in ((call.rfds, "readable"), (call.wfds, "writable"))
                                if fds)
                text = msg("status.blocked_select", self.lang, name=call.name, what=what,
                           seconds=seconds)
            else:
                text = msg("status.blocked", self.lang, name=call.name, seconds=seconds)
            if call.limit is not None:
                text += msg("status.limit", self.lang, seconds=f"{call.limit:g}")
            return text
        return msg("status.running", self.lang)
