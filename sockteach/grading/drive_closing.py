"""The driver of exercise 12 (a server that closes its end when the client closes, and closes
first when the client says ``bye``): the grader half-closes (``shutdown(SHUT_WR)``: a FIN) and
reads until the server's FIN; on Linux it samples the kernel's table for the states of both
ends. Before the next client, one client leaves abruptly (a reset). :mod:`.judge_closing`
gives the verdicts."""

from __future__ import annotations

from .drive import (LEAVE, REPLY, Drive, End, connect, exchange, reset_then_next, serve_next,
                    start_server, watch_table)
from .peers import Peer
from .trial import Trial


def local_port(peer: Peer) -> int:
    try:
        return peer.sock.getsockname()[1]
    except OSError:
        return 0


def settled(trial: Trial, since: float) -> bool:
    """After a client left: the server waits in accept() again, or has ended."""
    return trial.exited() or any(e.name == "accept" for e in trial.pending(since=since))


def row_is(local_port: int, remote_port: int, state: str | None):
    """A test of a table sample: the row from ``local_port`` to ``remote_port`` is there (in
    ``state``, unless None)."""
    def test(states) -> bool:
        return any(local.endswith(f":{local_port}") and remote.endswith(f":{remote_port}")
                   and (state is None or s == state) for local, remote, s in states)
    return test


def closing_server(d: Drive) -> None:
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    port = addr[1]
    a = connect(trial, addr, "echo")
    exchange(trial, a, b"hello", "echo")
    trial.checkpoint("echo")

    # The client closes first: the server must answer with its own FIN.
    a_port = local_port(a)
    t_fin = trial.now()
    a.shutdown_write()
    got, end = a.read(1, trial.budget.cap(LEAVE))
    if got:
        got += a.drain()
    a.received(got, end)
    if end == "eof" and not got:
        a.close()
        watch_table(trial, "fin:time_wait", port, 0.5, row_is(a_port, port, "TIME_WAIT"))
    elif got or end == "reset":
        a.close()
    else:
        watch_table(trial, "close_wait_seen", port, 0, lambda states: True)
        trial.checkpoint("closes_after_client")
        a.close()
    trial.checkpoint("closes_after_client:saw")

    # The next client, once the server is back in accept() (or has ended); first a client
    # that leaves abruptly (a reset: the server's recv() raises ConnectionResetError).
    trial.wait(lambda: settled(trial, t_fin), LEAVE)
    if not reset_then_next(trial, addr, "next_client:reset"):
        return
    b = connect(trial, addr, "next_client")
    exchange(trial, b, b"next client", "next_client")
    trial.checkpoint("next_client")

    # bye: BYE back, then the server closes first.
    b_port = local_port(b)
    t_bye = trial.now()
    reply = exchange(trial, b, b"bye", "closes_first")
    if reply.end != "eof":
        more, end = b.read(1, trial.budget.cap(REPLY))
        if more:
            more += b.drain()
        b.received(more, end)
        if more or end != "eof":
            trial.checkpoint("closes_first")
            return
    b.close()
    trial.wait(lambda: settled(trial, t_bye), LEAVE)
    watch_table(trial, "bye:time_wait", port, 0.5, row_is(port, b_port, "TIME_WAIT"))
    serve_next(trial, addr, b"after bye", "closes_first")


DRIVERS = {"closing_server": closing_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
