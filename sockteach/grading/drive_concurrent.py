"""The driver of exercise 11 (a server for several clients at once): client A connects and is
answered, then stays connected and idle; client B must be answered meanwhile; A speaks again;
both leave (the kernel's table is watched for their connections) and client C is served.
:mod:`.judge_concurrent` gives the verdicts."""

from __future__ import annotations

from . import facts
from .drive import (LEAVE, REPLY, Drive, End, connect, exchange, serve_next, settle,
                    start_server, watch_close_wait)
from .trial import Trial


def closes(trial: Trial, since: float) -> int:
    return sum(1 for e in trial.events(since=since) if e.kind == "call" and e.name == "close")


def _local_port(peer) -> int | None:
    try:
        return peer.sock.getsockname()[1]
    except OSError:
        return None


def concurrent_server(d: Drive) -> None:
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    a = connect(trial, addr, "echo")
    exchange(trial, a, b"hello from A", "echo")
    trial.checkpoint("echo")

    # A stays connected and says nothing; B must be served now.
    b = connect(trial, addr, "concurrent")
    reply = trial.exchange(b, b"hi from B", b"HI FROM B", REPLY)
    if not reply.ok:
        settle(trial, reply)
    trial.checkpoint("concurrent")
    if not reply.ok:
        return
    exchange(trial, a, b"A again", "first_again")
    trial.checkpoint("first_again")

    # Both leave; each connection must be closed (no spin), and a new client is served.
    ports = {"A": _local_port(a), "B": _local_port(b)}
    t_left = trial.now()
    a.close()
    b.close()
    trial.wait(lambda: trial.exited() or closes(trial, t_left) >= 2
               or trial.spin_count(t_left) > facts.SPIN_LIMIT, LEAVE)
    # before C connects: a new accept() may close what the last one left
    if trial.spin_count(t_left) <= facts.SPIN_LIMIT and not trial.exited():
        for who, peer_port in ports.items():
            if peer_port and watch_close_wait(trial, addr[1], peer_port, f"close_wait:{who}"):
                break
    serve_next(trial, addr, b"client C", "leaves_cleanly")


DRIVERS = {"concurrent_server": concurrent_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
