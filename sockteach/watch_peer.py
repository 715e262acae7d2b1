"""The lesson's peer in ``watch --peer N:ROLE``, driven the way the lesson drives it.

The lesson's scenario (``lesson.toml`` steps, played by :mod:`sockteach.scenario`) types lines
into its programs and presses Ctrl-C in their terminals. For a watch, the peer gets what the
scenario does to the *first* program that runs the peer's script: its ``type``, ``interrupt``,
``stop`` and ``kill`` actions, in order, until the scenario starts that program again or stops
everything (a ``stop`` or ``kill`` at the end is left out: the watch stops the peer when it
ends). The scenario's ``wait`` actions are not copied: the learner's program may answer
differently from the lesson's. Instead each action is done when the peer waits in ``input()``
— the point where the lesson's own program is ready for its next line — and a Ctrl-C also
when nothing has happened for a while (see :meth:`PeerDriver.ready`).

The actions are played by the scenario's :class:`~sockteach.scenario.Player`, with the side
renamed to the watch's side of the peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .scenario import Player
from .session import SessionError

if TYPE_CHECKING:  # pragma: no cover
    from .events import Event
    from .lessons import Lesson
    from .session import Session

ACTS = ("type", "interrupt", "stop", "kill")  # what the scenario does to a running program


def scripted_actions(lesson: "Lesson", role: str) -> list[dict[str, Any]]:
    """What ``lesson``'s scenario does to its first program that runs ``lesson.code[role]``,
    in order (each action as in ``lesson.toml``, naming the scenario's side)."""
    script = lesson.code[role]
    side: str | None = None
    found: list[dict[str, Any]] = []
    for step in lesson.steps:
        for action in step.actions:
            if "start" in action:
                if side is None and action.get("script") == script:
                    side = action["start"]
                elif side is not None and action["start"] == side:
                    break  # the scenario starts it again: a new program
                continue
            if side is None:
                continue
            if action.get("stop") == "*":
                break
            if any(action.get(act) == side for act in ACTS):
                found.append(dict(action))
        else:
            continue
        break
    return _without_last_stops(found)


def _without_last_stops(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``stop``/``kill`` at the end is how the lesson ends its demo; the watch stops the
    peer at its own end (and a server that never waits in input() could not get it)."""
    while actions and ("stop" in actions[-1] or "kill" in actions[-1]):
        actions = actions[:-1]
    return actions


class PeerDriver:
    """Plays :func:`scripted_actions` into the watch's ``side``, one action each time that
    side waits in a new ``input()`` call."""

    def __init__(self, lesson: "Lesson", role: str, side: str, session: "Session",
                 lang: str = "en") -> None:
        self.lesson, self.role, self.side = lesson, role, side
        self.session = session
        self.actions = [self._rename(a, side) for a in scripted_actions(lesson, role)]
        self.done_count = 0
        self.player = Player(lesson, session, lang)
        self._acted_at: "Event | None" = None  # the input() call the last action answered
        self.answered: list["Event"] = []  # every input() call an action answered

    @staticmethod
    def _rename(action: dict[str, Any], side: str) -> dict[str, Any]:
        out = dict(action)
        for act in ACTS:
            if act in out:
                out[act] = side
        return out

    @property
    def finished(self) -> bool:
        """Every action done, or the peer has ended (nothing more can be done to it)."""
        record = self.session.sides.get(self.side)
        ended = record is not None and record.exit_code is not None
        return self.done_count >= len(self.actions) or ended

    @property
    def left(self) -> int:
        return len(self.actions) - self.done_count

    def ready(self, quiet: bool = False) -> bool:
        """Whether the next action can be done now: the peer waits in an ``input()`` call
        that no action has answered yet — or, for a Ctrl-C, nothing has happened for a while
        (``quiet``: the peer waits for something that will not come, e.g. a server in
        accept(); the lesson presses Ctrl-C once the exchange is over)."""
        if self.finished:
            return False
        call = self.session.input_pending(self.side)
        if call is not None and call is not self._acted_at:
            return True
        return quiet and "type" not in self.actions[self.done_count]

    def step(self, quiet: bool = False) -> bool:
        """Do the next action if the peer is ready for it; True if one was done."""
        if not self.ready(quiet):
            return False
        self._acted_at = self.session.input_pending(self.side)
        self.answered.append(self._acted_at)
        action = self.actions[self.done_count]
        self.done_count += 1
        try:
            self.player.perform({**action, "timeout": 1.0})
        except (SessionError, OSError, ValueError):
            pass  # the peer ended meanwhile: nothing more to do to it
        return True

    def types_into(self, call: "Event") -> bool:
        """Whether this ``input()`` call of the peer is (or will be) answered by the lesson."""
        return call.side == self.side and (not self.finished or call in self.answered)

    def waits_in(self) -> str | None:
        """The call the peer waits in now (for saying why it cannot go on)."""
        return self.session.waiting_in(self.side)
