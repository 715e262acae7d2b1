"""The driver of exercise 6 (a framed upper-case echo server, 4-byte big-endian length
prefix): one frame; several frames in one write; one frame in pieces (waiting, between the
pieces, until the server is back in recv — an event, not a sleep); the first client leaves (the
kernel's table is watched for its connection); a new client; one that leaves in the middle of a
frame. :mod:`.judge_framed_server` gives the verdicts."""

from __future__ import annotations

import socket
import struct

from .drive import (LEAVE, REPLY, Drive, End, connect, exchange, leave_normally, left_reaction,
                    settle, start_server)
from .facts import RECV_NAMES
from .plan import IN_PIECES, PART, PAYLOADS, PIECE_WAIT, SIZE, frame, pieces_of
from .trial import Trial


def _nodelay(peer) -> None:
    try:  # each piece leaves at once as its own segment
        peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _back_in_recv(trial: Trial, since: float) -> bool:
    """The server has reacted to a piece: it called recv() again, answered, or ended."""
    if trial.exited():
        return True
    return any(e.kind == "call" and (e.name in RECV_NAMES or e.name in ("send", "sendall"))
               for e in trial.events(since=since)) or any(
        e.kind == "raise" for e in trial.events(since=since))


def _in_pieces(trial: Trial, peer) -> None:
    """Send frame(IN_PIECES) in three pieces, the server back in recv() between them; what
    came early (after each but the last) and the reply are recorded as reads."""
    data = frame(IN_PIECES)
    pieces = pieces_of(data)
    expected = frame(IN_PIECES.upper())
    for i, piece in enumerate(pieces, start=1):
        t_piece = trial.now()
        problem = peer.send(piece)
        if problem is not None:
            from .exchanges import Reply

            settle(trial, Reply(piece, expected, b"", "reset" if problem == "reset" else "eof",
                                t_piece))
            trial.checkpoint("frame_in_pieces")
            raise End("frame_in_pieces")
        if i == len(pieces):
            break
        trial.wait(lambda: _back_in_recv(trial, t_piece), PIECE_WAIT)
        early = peer.drain()
        peer.received(early, None)
        trial.checkpoint(f"piece:{i}")
        if early or trial.exited():
            raise End("frame_in_pieces")
    got, end = peer.read(len(expected), trial.budget.cap(REPLY),
                         give_up=lambda: trial.violation or trial.input_call())
    if end is None:
        trial.wait(lambda: trial.exited() or any(
            e.name in RECV_NAMES for e in trial.pending(since=t_piece)), 0.5)
        got += peer.drain()
    peer.received(got, end)
    if got != expected:
        from .exchanges import Reply

        settle(trial, Reply(data, expected, got, end, t_piece))
    trial.checkpoint("frame_in_pieces")
    if got != expected:
        raise End("frame_in_pieces")


def framed_server(d: Drive) -> None:
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    peer = connect(trial, addr, "one_frame")
    _nodelay(peer)
    exchange(trial, peer, frame(b"hello"), "one_frame", frame(b"HELLO"))
    trial.checkpoint("one_frame")
    exchange(trial, peer, b"".join(frame(p) for p in PAYLOADS), "frames_together",
             b"".join(frame(p.upper()) for p in PAYLOADS))
    trial.checkpoint("frames_together")
    _in_pieces(trial, peer)

    lingered = leave_normally(trial, peer)  # the first client's end must close at once
    second = connect(trial, addr, "next_client")
    _nodelay(second)
    reply = trial.exchange(second, frame(b"next client"), frame(b"NEXT CLIENT"), REPLY)
    if not reply.ok or lingered:
        second.close()
        settle(trial, reply)
        trial.checkpoint("next_client")
        return

    # The second client leaves in the middle of a frame: recv_exactly() meets b''.
    t_left = trial.now()
    second.send(struct.pack(">I", SIZE) + b"x" * PART)
    second.close()
    trial.wait(lambda: left_reaction(trial, t_left), LEAVE)
    third = connect(trial, addr, "next_client")
    reply = trial.exchange(third, frame(b"after a half frame"), frame(b"AFTER A HALF FRAME"),
                           REPLY)
    third.close()
    if not reply.ok:
        settle(trial, reply)
    trial.checkpoint("next_client")


DRIVERS = {"framed_server": framed_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
