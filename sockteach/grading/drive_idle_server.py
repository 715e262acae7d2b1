"""The driver of exercise 8 (a server that drops idle clients: a timeout on recv): no client
for a while; a message; a short pause; silence until the server closes; the next client, who
leaves normally; one who leaves abruptly. Every wait is on an event — the program ending, a
byte or an end of stream on the grader's socket — with a deadline. :mod:`.judge_idle_server`
gives the verdicts."""

from __future__ import annotations

import select
import time

from ..events import Event
from .drive import (LEAVE, REPLY, Drive, End, connect, exchange, left_reaction,
                    reset_then_next, settle, start_server)
from .facts import SPIN_LIMIT
from .peers import Peer
from .plan import DROP, PAUSE, QUIET
from .trial import Trial


def closed_within(trial: Trial, peer: Peer, seconds: float) -> None:
    """Wait up to ``seconds`` for the server to close the connection; recorded as one read:
    any bytes that came, and how it ended — ``"eof"``, ``"reset"``, or ``"open"`` (still
    open at the deadline). Wakes on the socket becoming readable (an event)."""
    deadline = time.monotonic() + trial.budget.cap(seconds)
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            how = "open"
            break
        try:
            ready, _, _ = select.select([peer.sock], [], [], min(left, 0.1))
        except (OSError, ValueError):
            how = "eof"
            break
        if not ready:
            continue
        try:
            chunk = peer.sock.recv(4096)
        except ConnectionResetError:
            how = "reset"
            break
        except OSError:
            how = "eof"
            break
        if not chunk:
            how = "eof"
            break
        got += chunk
    peer.received(got, how)


def idle_server(d: Drive) -> None:
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return

    # No client for a while: a timeout on accept() must not end the server.
    trial.wait(lambda: trial.exited(), QUIET)
    trial.checkpoint("quiet")
    if trial.exited():
        return
    peer = connect(trial, addr, "echo")
    exchange(trial, peer, b"hello", "echo")
    trial.checkpoint("echo")

    # A short pause: still connected, still answered.
    closed_within(trial, peer, PAUSE)
    if _last_read_end(trial, peer) != "open":
        trial.checkpoint("patient")
        return
    exchange(trial, peer, b"after a pause", "patient")
    trial.checkpoint("patient")

    # Silence: the server must close the connection.
    trial.session.add(Event(trial.now(), "grader", "mark", name="window", title="idle",
                            seconds=DROP))
    t_mark = trial.now()
    closed_within(trial, peer, DROP)
    trial.checkpoint("drops_idle")
    peer.close()

    # And it goes on: the next client is served, then leaves normally.
    trial.wait(lambda: trial.exited() or any(e.name == "accept" for e in trial.pending())
               or any(e.kind == "call" and e.name in ("close", "shutdown", "accept")
                      for e in trial.events(since=t_mark)), 1.0)
    second = connect(trial, addr, "next_client")
    reply = trial.exchange(second, b"next client", b"NEXT CLIENT", REPLY)
    if not reply.ok:
        settle(trial, reply)
        trial.checkpoint("next_client")
        second.close()
        return
    t_left = trial.now()
    second.close()
    trial.wait(lambda: left_reaction(trial, t_left), LEAVE)
    trial.checkpoint("next_client:left")
    if trial.spin_count(t_left) > SPIN_LIMIT:
        return
    # And a client that leaves abruptly (a reset) must not end the server.
    reset_then_next(trial, addr, "next_client")


def _last_read_end(trial: Trial, peer: Peer) -> str | None:
    for e in reversed(trial.session.snapshot()):
        if e.side == peer.side and e.kind == "return" and e.name == "recv":
            return e.text
    return None


DRIVERS = {"idle_server": idle_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
