"""Events as they come, handed out in true order: what a printer that shows them live needs.

Events may *arrive* out of order (several processes, each with its own channel; batched
trace writes), see the ordering rule in :mod:`sockteach.events`. :class:`InOrder` holds them
back until every event stamped before them has arrived, then hands them out sorted by
:func:`~sockteach.events.order_key`:

- on a session with ``settled(t, timeout)`` (True once every event stamped before ``t`` has
  arrived, False when ``timeout`` passed first), up to the time it settled; when it does not
  settle in time (a process stopped half-way through a write), events older than
  :data:`PATIENCE` seconds are handed out anyway, so one stalled process hides nothing for ever;
- on a session without it, every event :data:`HOLD` seconds after its stamp.
"""

from __future__ import annotations

from typing import Callable, Protocol

from .events import Event, order_key

HOLD = 0.25  # seconds an event waits for earlier ones when the session cannot say it settled
PATIENCE = 1.0  # seconds after which an event is shown although the session has not settled
SETTLE_WAIT = 0.2  # seconds one call waits for the session to settle


class Clock(Protocol):
    def now(self) -> float: ...


class InOrder:
    """Pulls new events with ``pull()`` (in arrival order) and hands them out in true order."""

    def __init__(self, session: Clock, pull: Callable[[], list[Event]], *,
                 hold: float = HOLD, patience: float = PATIENCE,
                 settle_wait: float = SETTLE_WAIT) -> None:
        self.session = session
        self.pull = pull
        self.hold, self.patience, self.settle_wait = hold, patience, settle_wait
        self.held: list[Event] = []
        self.until = float("-inf")  # every event stamped up to this has been handed out

    def horizon(self) -> float:
        """The stamp up to which every event has arrived (or has waited long enough)."""
        now = self.session.now()
        settled = getattr(self.session, "settled", None)
        if settled is None:
            return now - self.hold
        return now if settled(now, self.settle_wait) else now - self.patience

    def ready(self) -> list[Event]:
        """The events that can be shown now, in order (those stamped up to the horizon)."""
        limit = self.horizon()
        self.held.extend(self.pull())  # after the horizon: what arrived while it settled
        self.held.sort(key=order_key)
        cut = 0
        while cut < len(self.held) and self.held[cut].t <= limit:
            cut += 1
        out, self.held = self.held[:cut], self.held[cut:]
        self.until = max(self.until, limit)
        return out

    def finish(self) -> list[Event]:
        """Every event still held, in order (the session has ended: nothing earlier can come)."""
        self.held.extend(self.pull())
        out = sorted(self.held, key=order_key)
        self.held = []
        self.until = float("inf")
        return out


class RepeatThrottle:
    """A spin sends a ``repeat`` event every few hundredths of a second: a few lines a second
    show its count climb, the rest are left out."""

    def __init__(self, every: float = 0.25) -> None:
        self.every = every
        self.last: dict[tuple, float] = {}

    def skip(self, e: Event) -> bool:
        if e.kind != "repeat":
            return False
        key = (e.side, e.pid, e.sock, e.name)
        if e.t - self.last.get(key, float("-inf")) < self.every:
            return True
        self.last[key] = e.t
        return False
