"""The lesson's peer in ``watch --peer N:ROLE``, driven the way the lesson drives it.

The lesson's scenario (``lesson.toml`` steps, played by :mod:`sockteach.scenario`) types lines
into its programs and presses Ctrl-C in their terminals. For a watch, the peer gets what the
scenario does to the *first* program that runs the peer's script: its ``type``, ``interrupt``,
``stop`` and ``kill`` actions, in order, until the scenario starts that program again or stops
everything. The scenario's ``wait`` actions are not copied: the learner's program may answer
differently from the lesson's. Instead each action is done when the peer waits in ``input()``
— the point where the lesson's own program is ready for its next line.

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
                    return found  # the scenario starts it again: a new program
                continue
            if side is None:
                continue
            if action.get("stop") == "*":
                return found
            if any(action.get(act) == side for act in ACTS):
                found.append(dict(action))
    return found


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

    def ready(self) -> bool:
        """The peer waits in an ``input()`` call that no action has answered yet."""
        if self.finished:
            return False
        call = self.session.input_pending(self.side)
        return call is not None and call is not self._acted_at

    def step(self) -> bool:
        """Do the next action if the peer is ready for it; True if one was done."""
        if not self.ready():
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
