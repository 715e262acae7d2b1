"""Playing a lesson's scenario (``lesson.toml`` steps) against a :class:`Session`.

The actions are listed in ``docs/lesson-format.md``. Every wait has a deadline; a missed one
raises :class:`ScenarioError` naming the step and what did not happen.

A step's narration may name a value measured from the events seen so far (``{retry}``): the
lesson's ``[measure]`` table defines it, from events that earlier waits marked (``mark =``).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from typing import Any, Callable

from . import kernel
from .events import Event
from .i18n import msg, pick
from .lessons import Lesson
from .narrator import side_label
from .session import Session, SessionError, SideEnded

DEFAULT_TIMEOUT = 10.0


class ScenarioError(Exception):
    """The lesson could not go on; the message says at which step and why."""


@dataclass(frozen=True)
class Pace:
    """How fast a lesson plays: ``speed`` divides visible pauses; ``fast`` keeps them minimal."""

    speed: float = 1.0
    fast: bool = False

    def hold(self, seconds: float) -> float:
        if self.fast:
            return min(seconds, 0.15)
        return seconds / self.speed

    @property
    def blocked_after(self) -> float:
        """How long a call is pending before it counts as blocked (a visible while)."""
        return 0.1 if self.fast else min(0.6, 0.3 / self.speed)


class Player:
    """Runs one lesson's steps; ``pause(question)`` is called before a step's actions."""

    def __init__(self, lesson: Lesson, session: Session, lang: str = "en",
                 pace: Pace = Pace(), pause: Callable[[str], None] | None = None) -> None:
        self.lesson = lesson
        self.session = session
        self.lang = lang
        self.pace = pace
        self.pause = pause
        self.cursor: dict[str, int] = {}
        self.marks: dict[str, Event] = {}

    def run(self) -> None:
        for index, step in enumerate(self.lesson.steps, start=1):
            title = pick(step.title, self.lang)
            try:
                say = self.fill(pick(step.say, self.lang))
                ask = self.fill(pick(step.ask, self.lang)) if step.ask else ""
            except SessionError as exc:
                raise ScenarioError(msg("scenario.failed", self.lang, step=index,
                                        title=title, reason=str(exc))) from exc
            self.session.add(Event(self.session.now(), "lesson", "step", title=title, text=say))
            if self.pause is not None:
                self.pause(ask)
            for action in step.actions:
                try:
                    self.perform(action)
                except (SessionError, OSError) as exc:
                    raise ScenarioError(msg("scenario.failed", self.lang, step=index,
                                            title=title, reason=self._reason(exc))) from exc
        self.session.stop_all()

    def _reason(self, exc: Exception) -> str:
        if not isinstance(exc, SideEnded):
            return str(exc)
        side = side_label(exc.side, self.lang)
        code = exc.code if exc.code is not None else 0
        if code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            key = "scenario.killed_outside" if exc.outside else "scenario.killed"
            return msg(key, self.lang, side=side, signame=signame)
        return msg("scenario.ended", self.lang, side=side, code=code)

    # ----- actions -------------------------------------------------------------------------

    def perform(self, action: dict[str, Any]) -> None:
        s = self.session
        timeout = float(action.get("timeout", DEFAULT_TIMEOUT))
        if "start" in action:
            s.start(action["start"], self.lesson.file(action["script"]), copy=True)
            self.cursor.setdefault(action["start"], 0)
        elif "wait" in action:
            self.wait(action, timeout)
        elif "type" in action:
            s.type(action["type"], str(action.get("text", "")), timeout)
        elif "interrupt" in action:
            s.interrupt(action["interrupt"])
        elif "kill" in action:
            s.kill(action["kill"])
        elif "stop" in action:
            if action["stop"] == "*":
                s.stop_all()
            else:
                s.stop(action["stop"])
        elif "hold" in action:
            s.hold(self.pace.hold(float(action["hold"])))
        elif "tcp" in action:
            self.wait_tcp(action["tcp"], int(action.get("port", self.lesson.ports[0])), timeout)
        elif "new_ports" in action:
            s.new_ports()
        else:
            raise SessionError(f"unknown action {action!r}")

    def wait(self, action: dict[str, Any], timeout: float) -> Event | None:
        event = self._wait(action, timeout)
        if "mark" in action and event is not None:
            self.marks[str(action["mark"])] = event
        return event

    def _wait(self, action: dict[str, Any], timeout: float) -> Event | None:
        side = action["wait"]
        s = self.session
        if action.get("exit"):
            s.wait_exit(side, timeout)
            self._advance_to_exit(side)
            return None
        if "spin" in action:
            need = int(action["spin"])
            return self._match(side, lambda e: e.kind == "repeat" and (e.count or 0) >= need,
                               timeout, f"{side} to repeat an empty result {need} times")
        if "output" in action:
            text = str(action["output"])
            return self._match(side, lambda e: e.kind == "output" and text in (e.text or ""),
                               timeout, f"{side} to print {text!r}")
        name = action.get("call")
        until = action.get("until", "return")
        wanted = {k: action[k] for k in ("result", "error", "errno") if k in action}

        def matches(e: Event) -> bool:
            if e.kind != until or e.name != name:
                return False
            return all(getattr(e, k) == v for k, v in wanted.items())

        detail = f" with {wanted}" if wanted else ""
        return self._match(side, matches, timeout, f"{side}'s {name}() to {until}{detail}")

    def wait_tcp(self, state: str, port: int, timeout: float) -> None:
        s = self.session
        if not kernel.available():
            s.add(Event(s.now(), "kernel", "tcp", text=msg("kernel.unavailable", self.lang)))
            return

        def seen() -> bool:
            rows = kernel.connections({real: nominal for nominal, real in s.port_map.items()})
            return any(st == state and (loc.endswith(f":{port}") or rem.endswith(f":{port}"))
                       for loc, rem, st in rows)

        s.wait_until(seen, timeout, f"the kernel to show {state} on port {port}")

    # ----- measured values in the narration ----------------------------------------------------

    def fill(self, text: str) -> str:
        """``text`` with each ``{name}`` of the lesson's ``[measure]`` table replaced by its
        value, measured from the events seen so far; other braces are left alone."""
        measures = self.lesson.data.get("measure", {})
        if not measures or "{" not in text:
            return text

        def one(m: re.Match) -> str:
            name = m.group(1)
            return self.measure(name, measures[name]) if name in measures else m.group(0)

        return re.sub(r"\{(\w+)\}", one, text)

    def _mark(self, name: str, what: str) -> Event:
        if name not in self.marks:
            raise SessionError(f"{what} needs the event marked {name!r}, which no earlier "
                               "wait has seen")
        return self.marks[name]

    def measure(self, name: str, spec: dict[str, Any]) -> str:
        """One ``[measure]`` value: ``seconds = [A, B]`` is the time from mark A to mark B
        (one decimal); ``count = SIDE, call = NAME`` (``until``, default ``"return"``;
        ``since = MARK``) counts SIDE's events of that call (after the mark)."""
        what = f"the measured value {name!r}"
        if "seconds" in spec:
            first, last = (self._mark(m, what) for m in spec["seconds"])
            return f"{last.t - first.t:.{int(spec.get('digits', 1))}f}"
        if "count" in spec:
            side, call = spec["count"], spec.get("call")
            until = spec.get("until", "return")
            since = self._mark(spec["since"], what).t if "since" in spec else float("-inf")
            with self.session.cond:
                events = list(self.session.events)
            return str(sum(1 for e in events if e.side == side and e.kind == until
                           and e.name == call and e.t > since))
        raise SessionError(f"{what} is neither seconds = [...] nor count = SIDE")

    # ----- cursor matching -------------------------------------------------------------------

    def _match(self, side: str, pred: Callable[[Event], bool], timeout: float, what: str) -> Event:
        s = self.session
        found: list[tuple[int, Event]] = []

        def look() -> bool:
            start = self.cursor.get(side, 0)
            for i in range(start, len(s.events)):
                e = s.events[i]
                if e.side == side and pred(e):
                    found.append((i, e))
                    return True
            record = s.sides.get(side)
            if record is not None and record.exit_code is not None and not found:
                raise record.ended(what)
            return False

        try:
            s.wait_until(look, timeout, what)
        except SessionError:
            # One more look: the event may have come with the exit.
            with s.cond:
                start = self.cursor.get(side, 0)
                for i in range(start, len(s.events)):
                    e = s.events[i]
                    if e.side == side and pred(e):
                        found.append((i, e))
                        break
            if not found:
                raise
        index, event = found[0]
        self.cursor[side] = index + 1
        return event

    def _advance_to_exit(self, side: str) -> None:
        with self.session.cond:
            for i in range(len(self.session.events) - 1, -1, -1):
                e = self.session.events[i]
                if e.side == side and e.kind == "exit":
                    self.cursor[side] = i + 1
                    return


def play(lesson: Lesson, lang: str = "en", pace: Pace = Pace(),
         pause: Callable[[str], None] | None = None, session: Session | None = None) -> list[Event]:
    """Play ``lesson`` to the end in a new session (closed afterwards); return its events."""
    own = session is None
    s = session or Session(lesson.ports, blocked_after=pace.blocked_after)
    try:
        Player(lesson, s, lang, pace, pause).run()
    finally:
        if own:
            s.close()
    return s.sorted_events()
