"""The driver of exercise 9 (an AF_UNIX upper-case echo server that can be restarted over
its stale file). The server runs in the grader's fresh folder; the path it listens on comes
from the trace. The grader connects with its own AF_UNIX client; the first client half-closes
and waits for the server's end of the stream (AF_UNIX has no kernel table to read); another
closes with its answer unread (the server's next recv() raises ConnectionResetError on
Linux); then the server is stopped with Ctrl-C while a client is connected and started again
over the socket file. :mod:`.judge_unix_server` gives the verdicts."""

from __future__ import annotations

import os
import select
import socket
import time
from pathlib import Path

from ..events import Event
from .drive import LEAVE, REPLY, START, STOP, Drive, End, exchange, settle
from .facts import SPIN_LIMIT, listening_on
from .peers import Peer
from .plan import UNIX_MESSAGES, UNREAD
from .trial import Trial


class UnixPeer(Peer):
    """The grader's own AF_UNIX client (a :class:`Peer` with another kind of socket)."""

    def __init__(self, trial: Trial, path: str) -> None:  # noqa: D107 - see the class
        self.trial = trial
        self.address = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.closed = False
        trial._peers.append(self)


def settled(trial: Trial, since: float) -> bool:
    """After a client left: the server waits in accept() again, has ended, or spins."""
    return (trial.exited() or trial.spin_count(since) > SPIN_LIMIT
            or any(e.name == "accept" for e in trial.pending(since=since)))


def resolve(trial: Trial, path: str) -> str:
    """Where the grader finds the socket file: relative paths are in the program's folder;
    a Linux abstract name (starting with NUL) is used as it is."""
    if path.startswith("\0") or os.path.isabs(path):
        return path
    return str(trial.script.parent / path)


def unix_connect(trial: Trial, path: str, checkpoint: str) -> UnixPeer | None:
    """The grader's AF_UNIX client connects; None (after a checkpoint) when it could not."""
    peer = UnixPeer(trial, resolve(trial, path))
    if peer.connect(trial.budget.cap(2.0)) is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        trial.checkpoint(checkpoint)
        return None
    return peer


def serve_next(trial: Trial, path: str, data: bytes, checkpoint: str) -> bool:
    peer = unix_connect(trial, path, checkpoint)
    if peer is None:
        return False
    reply = trial.exchange(peer, data, data.upper(), REPLY)
    peer.close()
    if not reply.ok:
        settle(trial, reply)
    trial.checkpoint(checkpoint)
    return reply.ok


def start(trial: Trial, checkpoint: str):
    rec = trial.start()
    trial.wait(lambda: listening_on(trial.events(rec)) or trial.exited(rec)
               or trial.input_call(rec), START)
    where = listening_on(trial.events(rec))
    if isinstance(where, tuple):
        trial.kill(rec)
    trial.checkpoint(checkpoint)
    return where if isinstance(where, str) else None


def unix_server(d: Drive) -> None:
    trial = d.trial("server")
    path = start(trial, "listens")
    if path is None:
        return
    peer = unix_connect(trial, path, "echo")
    if peer is None:
        return
    for data in UNIX_MESSAGES:
        exchange(trial, peer, data, "echo")
    trial.checkpoint("echo")
    _leaves(trial, path, peer)

    # The restart: a client is connected, Ctrl-C, the socket file stays; start again at once.
    trial.checkpoint("restart:begin")
    client = unix_connect(trial, path, "restart")
    if client is None:
        return
    exchange(trial, client, b"before", "restart")
    trial.stop_side(interrupt=True, grace=STOP)
    client.close()
    full = resolve(trial, path)
    if path.startswith("\0"):
        stale = "none"  # an abstract name leaves no file: nothing stale to step over
    elif os.path.exists(full):
        stale = "left"
    else:
        _leave_stale_file(full)
        stale = "made"
    trial.session.add(Event(trial.now(), "grader", "mark", name="stale", text=stale))
    again = start(trial, "restart:again")
    if again is None:
        return
    serve_next(trial, again, b"after restart", "restart")


def _leave_stale_file(path: str) -> None:
    """A socket file with nobody listening: what a crashed AF_UNIX server leaves behind."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        s.bind(path)
    except OSError:
        pass
    finally:
        s.close()


def _end_of_stream(trial: Trial, peer: Peer, timeout: float) -> None:
    """Read (and drop) what comes until the server's end of the stream; recorded as a read
    that ends ``"eof"`` or, at the deadline, ``"timeout"``."""
    deadline = time.monotonic() + trial.budget.cap(timeout)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            peer.received(b"", "timeout")
            return
        try:
            ready, _, _ = select.select([peer.sock], [], [], min(left, 0.1))
            if ready and not peer.sock.recv(4096):
                peer.received(b"", "eof")
                return
        except OSError:
            peer.received(b"", "eof")  # reset: the server's end is gone too
            return


def _leaves(trial: Trial, path: str, peer: Peer) -> None:
    """The first client half-closes and waits for the server's end of the stream; a new
    client; one that closes with its answer unread; one more client."""
    t_left = trial.now()
    peer.shutdown_write()  # a FIN: the server's recv() returns b''
    _end_of_stream(trial, peer, LEAVE)
    if _ended(trial, peer) == "timeout":
        trial.checkpoint("leaves:shut")
        peer.close()
        return
    peer.close()
    trial.wait(lambda: settled(trial, t_left), LEAVE)
    if not serve_next(trial, path, b"next client", "leaves:next"):
        return
    unread = unix_connect(trial, path, "leaves:unread")
    if unread is None:
        return
    unread.send(UNREAD)
    deadline = time.monotonic() + trial.budget.cap(REPLY)
    while time.monotonic() < deadline and not trial.exited():
        try:  # the answer is waiting, unread, in the grader's socket
            if select.select([unread.sock], [], [], min(0.1, deadline - time.monotonic()))[0]:
                break
        except (OSError, ValueError):
            break
    t_gone = trial.now()
    unread.close()
    trial.wait(lambda: settled(trial, t_gone), LEAVE)
    serve_next(trial, path, b"after a reset", "next_client")


def _ended(trial: Trial, peer: Peer) -> str | None:
    for e in reversed(trial.session.snapshot()):
        if e.side == peer.side and e.kind == "return" and e.name == "recv":
            return e.text
    return None


DRIVERS = {"unix_server": unix_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
