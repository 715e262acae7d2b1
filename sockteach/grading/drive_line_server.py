"""The driver of exercise 10 (a line-based server: makefile, readline, numbered lines): one
line; three lines in one write; half a line (nothing may come back yet), then the rest; the
first client half-closes and reads until the server's end of the stream; a new client's line is
numbered from 1 again. :mod:`.judge_line_server` gives the verdicts."""

from __future__ import annotations

import select
import time

from .drive import LEAVE, REPLY, Drive, End, connect, exchange, settle, start_server
from .facts import RECV_NAMES
from .peers import Peer
from .plan import FIRST, LINES, REST, answer
from .trial import Trial


def waiting_for_more(trial: Trial, since: float) -> bool:
    """The server is in a receive call it started after ``since`` (it took what came and asks
    for more), or it has ended."""
    return trial.exited() or any(e.name in RECV_NAMES for e in trial.pending(since=since))


def readable(peer: Peer) -> bool:
    """Bytes from the server are waiting in the grader's socket."""
    try:
        return bool(select.select([peer.sock], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def half_close(trial: Trial, peer: Peer) -> None:
    """The client sends its FIN (``shutdown(SHUT_WR)``) and reads until the server's end of
    the stream (recorded as one read: every byte, and ``"eof"`` or ``"timeout"``)."""
    if not peer.shutdown_write():
        return  # the server is gone already: the next client will tell
    got = b""
    deadline = time.monotonic() + trial.budget.cap(LEAVE)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            peer.received(got, "timeout")
            return
        try:
            ready = select.select([peer.sock], [], [], min(left, 0.1))[0]
            chunk = peer.sock.recv(4096) if ready else None
        except OSError:
            chunk = b""  # a reset: the server's end is gone
        if chunk is None:
            continue
        if not chunk:
            peer.received(got, "eof")
            return
        got += chunk


def line_server(d: Drive) -> None:
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    peer = connect(trial, addr, "one_line")
    exchange(trial, peer, b"hello\n", "one_line", b"1: HELLO\n")
    trial.checkpoint("one_line")
    exchange(trial, peer, b"".join(LINES), "lines_in_one_write", answer(LINES, 2))
    trial.checkpoint("lines_in_one_write")

    # Half a line: the server takes it and asks for more; nothing may come back yet.
    t_half = trial.now()
    if peer.send(FIRST) is None:
        trial.wait(lambda: waiting_for_more(trial, t_half) or readable(peer), REPLY)
        early = peer.drain()
        peer.received(early, None)
        if early:
            trial.checkpoint("line_in_pieces")
            return
    exchange(trial, peer, REST, "line_in_pieces", answer([FIRST + REST], 5))
    trial.checkpoint("line_in_pieces")

    # A new client, once the server is back in accept() (or has ended): numbering starts again.
    t_left = trial.now()
    half_close(trial, peer)
    trial.checkpoint("half_close")
    peer.close()
    trial.wait(lambda: trial.exited() or any(e.name == "accept"
                                             for e in trial.pending(since=t_left)), LEAVE)
    second = connect(trial, addr, "next_client")
    reply = trial.exchange(second, b"again\n", b"1: AGAIN\n", REPLY)
    second.close()
    if not reply.ok:
        settle(trial, reply)
    trial.checkpoint("next_client")


DRIVERS = {"line_server": line_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
