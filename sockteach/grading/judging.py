"""What every judge needs: a grading run's events split into trials and runs, the moments the
grader looked (checkpoints), and a verdict sheet. Pure: events in, verdicts out.

A recorded grading run is one stream (see :func:`stream`): for each trial (a fresh session) a
``mark`` event ``name="trial"``, then that trial's events in the order they arrived, their
``t`` moved onto the first trial's clock. Judging it again gives the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, NoReturn

from ..events import Event
from ..exercises import Exercise
from . import facts
from .texts import sep, t


class Stop(Exception):
    """The judge cannot go on; the remaining checks are not checked."""


@dataclass
class Verdict:
    passed: bool
    message: str
    output: str = ""
    seconds: float = 0.0


@dataclass
class Run:
    """One start of a program: its side, pid, when it began, its events in arrival order."""

    side: str
    pid: int | None
    started: float
    events: list[Event] = field(default_factory=list)

    @property
    def exited(self) -> bool:
        return facts.exit_event(self.events) is not None

    @property
    def code(self) -> int | None:
        return facts.exit_code(self.events)

    def since(self, t0: float) -> list[Event]:
        return [e for e in self.events if e.t >= t0]


class Trial:
    """One trial's events (a prefix of them, when cut at a checkpoint)."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def at(self, checkpoint: str) -> "Trial":
        """The events that had arrived when the grader completed ``checkpoint`` (all of them
        when it never got there)."""
        for i, e in enumerate(self.events):
            if e.kind == "mark" and e.name == "checkpoint" and e.title == checkpoint:
                return Trial(self.events[: i + 1])
        return self

    def mark(self, checkpoint: str) -> Event | None:
        return next((e for e in self.events if e.kind == "mark" and e.name == "checkpoint"
                     and e.title == checkpoint), None)

    @property
    def last_checkpoint(self) -> Event | None:
        return next((e for e in reversed(self.events) if e.kind == "mark"
                     and e.name == "checkpoint"), None)

    def runs(self, side: str) -> list[Run]:
        """Every start of ``side``, each with its events: those of its pid (the tracer's first
        events may arrive before the ``start`` mark), and a fork's, to the run it forked from."""
        out = [Run(side, e.pid, e.t) for e in self.events
               if e.kind == "mark" and e.name == "start" and e.text == side]
        by_pid = {run.pid: run for run in out}
        current = out[0] if out else None
        for e in self.events:
            if e.kind == "mark" and e.name == "start" and e.text == side:
                current = by_pid[e.pid]
            if e.side != side or current is None:
                continue
            by_pid.get(e.pid, current).events.append(e)
        return out

    def run(self, side: str, n: int = -1) -> Run:
        runs = self.runs(side)
        if not runs:
            return Run(side, None, 0.0)
        return runs[n] if -len(runs) <= n < len(runs) else Run(side, None, 0.0)

    def after(self, t0: float) -> list[Event]:
        return [e for e in self.events if e.t >= t0]


def trials(events: Iterable[Event]) -> list[Trial]:
    """The stream split at its ``trial`` marks (in stream order)."""
    out: list[list[Event]] = []
    for e in events:
        if e.kind == "mark" and e.name == "trial":
            out.append([])
        elif out:
            out[-1].append(e)
    return [Trial(evs) for evs in out]


def stream(sessions: list, budget_seconds: float, exercise: int | None = None) -> list[Event]:
    """One grading run's events: the sessions' streams, one after another, each behind its
    ``trial`` mark (``seconds``: the run's time budget, ``count``: the exercise), on the
    first session's clock."""
    out: list[Event] = []
    base = sessions[0].t0 if sessions else 0.0
    for session in sessions:
        shift = session.t0 - base
        out.append(Event(round(shift, 6), "grader", "mark", name="trial",
                         seconds=budget_seconds, count=exercise))
        for e in session.snapshot():
            out.append(replace(e, t=e.t + shift) if shift else e)
    return out


@dataclass
class Context:
    """What a judge knows besides the events: the exercise and the language to speak."""

    exercise: Exercise
    lang: str = "en"

    def text(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)


class Sheet:
    """The verdicts of one submission, check by check, as a judge finds them. The first
    verdict of a check stands; ``stop`` ends the judging (later checks are not checked)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.verdicts: dict[str, Verdict] = {}
        self.stopped_at: str | None = None
        self._last: float | None = None
        self.budget = 0.0

    def _put(self, name: str, verdict: Verdict, at: Trial) -> None:
        if name not in {c.name for c in self.ctx.exercise.checks}:
            raise KeyError(f"check {name!r} is not in exercise.toml of lesson "
                           f"{self.ctx.exercise.number}")
        if name in self.verdicts:
            return
        mark = at.last_checkpoint
        if mark is not None:
            if self._last is not None:
                verdict.seconds = round(max(0.0, mark.t - self._last), 3)
            self._last = mark.t
        self.verdicts[name] = verdict

    def ok(self, name: str, message: str, at: Trial, side: str) -> None:
        """A pass — unless the watchdog had stopped the program by then (a flood, a fork)."""
        for run in at.runs(side)[-1:]:
            stop = facts.violation(run.events)
            if stop is not None:
                self.stop(name, facts.sentence(facts.violation_text(stop, self.ctx.lang)),
                          facts.tail(facts.output(run.events)), at)
        self._put(name, Verdict(True, message), at)

    def fail(self, name: str, message: str, output: str, at: Trial) -> None:
        mark = at.last_checkpoint
        if mark is not None and mark.seconds is not None and mark.seconds <= 0:
            message += sep(self.ctx.lang) + self.ctx.text("budget",
                                                          seconds=f"{self.budget:g}")
        self._put(name, Verdict(False, message, output), at)

    def stop(self, name: str, message: str, output: str, at: Trial) -> NoReturn:
        self.fail(name, message, output, at)
        self.stopped_at = name
        raise Stop(name)


def exercise_of(events: list[Event]) -> int | None:
    """The exercise a recorded grading run is of (its first ``trial`` mark says)."""
    return next((e.count for e in events if e.kind == "mark" and e.name == "trial"), None)


def budget_of(events: list[Event]) -> float:
    return next((e.seconds or 0.0 for e in events if e.kind == "mark" and e.name == "trial"),
                0.0)
