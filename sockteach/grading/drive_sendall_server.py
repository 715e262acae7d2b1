"""The driver of exercise 5 (a server that delivers a large payload completely): the grader
connects, does not read until the server's first sending call has returned (or blocked, or
raised), then reads everything until the server closes; a second client must get the same;
then a client stops reading in the middle of the transfer and resets the connection, and a new
client must still get every byte. :mod:`.judge_sendall_server` gives the verdicts.

A download is recorded small: a ``recv`` return of the peer with ``nbytes`` (how many bytes
came), ``data`` (the first 16) and ``text`` (how the reading ended: ``"eof"``, ``"reset"``,
``"idle"``), then a ``difference`` mark: ``count`` = the first offset where the bytes differ
from the payload (the shorter length when they do not), ``data`` = the bytes around it (from
``nbytes``, 16 before, to 32 after).
"""

from __future__ import annotations

import select
import socket
import time

from .drive import ACCEPT, LEAVE, Drive, End, connect, start_server
from .facts import SEND_NAMES
from .peers import Peer
from .plan import (FIRST_SEND, IDLE, PAYLOAD, STALL_RCVBUF, blocked_send, first_difference,
                   has_deadline)
from .trial import Trial


def _sent_something(trial: Trial, since: float) -> bool:
    """The server's first sending call has returned or raised, or it waits in some call (a
    sendall() into the full buffer, or a recv() that no request will answer), or it ended."""
    if trial.exited():
        return True
    return any((e.name in SEND_NAMES and e.kind in ("return", "raise")) or e.kind == "blocked"
               for e in trial.events(since=since))


def _download(trial: Trial, sock: socket.socket, limit: int) -> tuple[bytes, str]:
    """Read until the server closes, resets, or sends nothing new for IDLE seconds."""
    buf = bytearray()
    last = time.monotonic()
    while True:
        left = min(IDLE - (time.monotonic() - last), trial.budget.left())
        if left <= 0:
            return bytes(buf), "idle"
        try:
            ready, _, _ = select.select([sock], [], [], min(left, 0.1))
        except (OSError, ValueError):
            return bytes(buf), "eof"
        if not ready:
            continue
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return bytes(buf), "reset"
        except OSError:
            return bytes(buf), "eof"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk
        last = time.monotonic()
        if len(buf) > limit:
            return bytes(buf), "idle"


def fetch(trial: Trial, peer: Peer) -> bool:
    """Wait for the server's first sending call, download, record it (small); True when the
    download is the payload exactly."""
    t0 = trial.now()
    trial.wait(lambda: _sent_something(trial, t0), FIRST_SEND)
    data, end = _download(trial, peer.sock, 3 * len(PAYLOAD))
    at = first_difference(data)
    start = max(0, at - 16)
    peer._add("return", "recv", nbytes=len(data), data=data[:16].hex(), text=end,
              result=f"{len(data)} bytes, {end}")
    peer._add("mark", "difference", count=at, nbytes=start, data=data[start:at + 32].hex())
    return data == PAYLOAD


def sendall_server(d: Drive) -> None:
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    t0 = trial.now()
    peer = connect(trial, addr, "accepts")
    trial.wait(lambda: trial.accepted_since(t0) or trial.exited() or trial.input_call(), ACCEPT)
    trial.checkpoint("accepts")
    if not trial.accepted_since(t0):
        return
    fetch(trial, peer)
    trial.checkpoint("download")
    got = _last_download(trial, peer)
    if not got:
        trial.wait(lambda: trial.exited(), 0.3)
        trial.checkpoint("sends")
        return
    if got < len(PAYLOAD):
        return

    # A second client, after the first has gone.
    t_left = trial.now()
    peer.close()
    trial.wait(lambda: trial.exited() or any(e.name == "accept" for e in trial.pending())
               or any(e.kind == "call" and e.name in ("accept", "close")
                      for e in trial.events(since=t_left)), LEAVE)
    second = connect(trial, addr, "next_client")
    whole = fetch(trial, second)
    second.close()
    trial.checkpoint("download:2")
    if whole:  # whether it then closes is the "closes" check's business
        _stalled_then_reset(trial, addr)


def _last_download(trial: Trial, peer: Peer) -> int:
    for e in reversed(trial.session.snapshot()):
        if e.side == peer.side and e.kind == "return" and e.name == "recv":
            return e.nbytes or 0
    return 0


def _moved_on(trial: Trial, since: float) -> bool:
    """After the reset: the server's call raised, it closed, it waits in accept(), or ended."""
    return trial.exited() or any(e.name == "accept" for e in trial.pending(since=since)) or any(
        e.kind == "raise" or (e.kind == "call" and e.name in ("close", "accept"))
        for e in trial.events(since=since))


def _stalled_then_reset(trial: Trial, addr: tuple) -> None:
    """A client connects and reads nothing (its small receive buffer fills at once); the
    server must have given the connection a timeout. The client then resets the connection,
    and a new client must still get every byte."""
    t0 = trial.now()
    stalled = Peer(trial, addr)
    try:
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALL_RCVBUF)
    except OSError:
        pass
    if stalled.connect(trial.budget.cap(2.0)) is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        trial.checkpoint("next_client")
        return
    trial.wait(lambda: blocked_send(trial.events(), t0) or trial.exited()
               or trial.raised(since=t0), FIRST_SEND)
    trial.checkpoint("stall")
    blocked = blocked_send(trial.events(), t0)
    if blocked is not None and not has_deadline(trial.events(), t0, blocked):
        stalled.reset()  # it would wait for this client for ever: that is the verdict
        return
    t_reset = trial.now()
    stalled.reset()
    trial.wait(lambda: _moved_on(trial, t_reset), LEAVE)
    third = connect(trial, addr, "next_client")
    fetch(trial, third)
    third.close()
    trial.checkpoint("next_client")


DRIVERS = {"sendall_server": sendall_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
