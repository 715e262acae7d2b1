"""Exercise 6: a framed upper-case echo server (4-byte big-endian length prefix).

Each request frame is ``struct.pack('>I', len(payload)) + payload``; the answer is one frame
with the payload in upper case. The grader sends one frame, then several frames in one write,
then one frame in pieces (waiting, between the pieces, until the server is back in recv — an
event, not a sleep), then a new client after the first leaves. The first client's connection
must be closed at once (Linux: no CLOSE_WAIT in the kernel's table), and a client that leaves in
the middle of a frame must not end the server either.
"""

from __future__ import annotations

import socket
import struct

from ...events import Event
from ...i18n import pick
from ..checks import LEAVE, REPLY, Context, closed_too, connect, leave_normally, left_reaction, \
    reply_problem, shown_output, start_server
from ..texts import sep
from ..trial import RECV_NAMES, Reply, Trial

PIECE_WAIT = 1.0  # seconds for the server to go back to recv() after a piece arrived

TEXTS: dict[str, dict[str, str]] = {
    "frame.ok": {
        "en": "Sent the frame {sent}, got the frame {got} back.",
        "zh": "发送了一帧 {sent}，收回了一帧 {got}。",
    },
    "frame.no_prefix": {
        "en": " The answer has no length prefix: send struct.pack('>I',len(reply))+reply.",
        "zh": "回复没有长度前缀：应该发送 struct.pack('>I',len(reply))+reply。",
    },
    "together.ok": {
        "en": "{n} frames sent in one write, {n} frames answered, each whole and in order.",
        "zh": "一次写入发送了 {n} 帧，收回了 {n} 帧回复，每帧都完整，顺序正确。",
    },
    "together.head": {
        "en": "{n} frames in one write (the receive buffer holds them all at once):",
        "zh": "一次写入 {n} 帧（接收缓冲区里同时有这几帧）：",
    },
    "pieces.ok": {
        "en": "One frame sent in {n} pieces ({sizes} bytes), the server waiting in recv() between them: answered whole.",
        "zh": "一帧分 {n} 块发送（{sizes} 个字节），每块之间服务端都回到 recv() 里等待：得到了完整的回复。",
    },
    "pieces.head": {
        "en": "One frame sent in {n} pieces ({sizes} bytes), the server waiting in recv() between them:",
        "zh": "一帧分 {n} 块发送（{sizes} 个字节），每块之间服务端都回到 recv() 里等待：",
    },
    "pieces.early": {
        "en": "After piece {i} of {n} ({got} so far) the server already answered {reply} — it treated part of a frame as a whole one.",
        "zh": "在第 {i} 块（共 {n} 块，到目前为止 {got}）之后，服务端就已经回复了 {reply}——它把半帧当成了完整的一帧。",
    },
    "pieces.ended": {
        "en": "After piece {i} of {n} ({got} so far): {doing}.",
        "zh": "在第 {i} 块（共 {n} 块，到目前为止 {got}）之后：{doing}。",
    },
    "next.ok": {
        "en": "After the first client left, a new client was served: {detail}",
        "zh": "第一个客户端离开后，新的客户端得到了服务：{detail}",
    },
    "next.failed": {
        "en": "After the first client left, a new client connected:",
        "zh": "第一个客户端离开后，新的客户端连了上来：",
    },
}


def _t(ctx: Context, key: str, **values: object) -> str:
    return pick(TEXTS[key], ctx.lang).format(**values)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def _nodelay(peer) -> None:
    try:  # each piece leaves at once as its own segment
        peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _problem(ctx: Context, trial: Trial, reply: Reply) -> str:
    message = reply_problem(ctx, trial, reply)
    got, want = reply.got, reply.expected
    if got and not got.startswith(want[:4]) and want[4:].startswith(got[:len(want) - 4]):
        message += _t(ctx, "frame.no_prefix")  # the bare payload came back
    return message


def _back_in_recv(trial: Trial, since: float) -> bool:
    """The server has reacted to a piece: it called recv() again, answered, or ended."""
    if trial.exited():
        return True
    return any(e.kind == "call" and (e.name in RECV_NAMES or e.name in ("send", "sendall"))
               for e in trial.events(since=since)) or any(
        e.kind == "raise" for e in trial.events(since=since))


def _in_pieces(ctx: Context, trial: Trial, peer, payload: bytes) -> tuple[bool, str, str]:
    """Send frame(payload) in three pieces; (answered right, message, output)."""
    data = frame(payload)
    cuts = [0, 2, 4 + 10, len(data)]
    pieces = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    sizes = " + ".join(str(len(p)) for p in pieces)
    expected = frame(payload.upper())
    head = _t(ctx, "pieces.head", n=len(pieces), sizes=sizes)
    sent = b""
    for i, piece in enumerate(pieces, start=1):
        t_piece = trial.now()
        trial.session.add(Event(t_piece, "grader", "call", name="sendall", args=(repr(piece),)))
        problem = peer.send(piece)
        sent += piece
        if problem is not None:
            reply = Reply(sent, expected, b"", "reset" if problem == "reset" else "eof", t_piece)
            return False, head + sep(ctx.lang) + _problem(ctx, trial, reply), shown_output(trial)
        if i == len(pieces):
            break
        trial.wait(lambda: _back_in_recv(trial, t_piece), PIECE_WAIT)
        early = peer.drain()
        so_far = f"{len(sent)}/{len(data)}"
        if early:
            return False, head + sep(ctx.lang) + _t(ctx, "pieces.early", i=i, n=len(pieces),
                                                     got=so_far, reply=repr(early)), ""
        if trial.exited():
            return False, head + sep(ctx.lang) + _t(ctx, "pieces.ended", i=i, n=len(pieces),
                                                     got=so_far, doing=trial.doing()), \
                shown_output(trial)
    got, end = peer.read(len(expected), trial.budget.cap(REPLY),
                         give_up=lambda: trial.violation or trial.input_call())
    if end is None:
        trial.wait(lambda: trial.exited() or any(
            e.name in RECV_NAMES for e in trial.pending(since=t_piece)), 0.5)
        got += peer.drain()
    trial.session.add(Event(trial.now(), "grader", "return", name="recv", result=repr(got)))
    reply = Reply(data, expected, got, end, t_piece)
    if reply.ok:
        return True, _t(ctx, "pieces.ok", n=len(pieces), sizes=sizes), ""
    return False, head + sep(ctx.lang) + _problem(ctx, trial, reply), shown_output(trial)


def run(ctx: Context) -> None:
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    peer = connect(ctx, trial, addr, "one_frame")
    _nodelay(peer)

    reply = trial.exchange(peer, frame(b"hello"), frame(b"HELLO"), REPLY)
    if not reply.ok:
        r.stop("one_frame", _problem(ctx, trial, reply), shown_output(trial))
    r.ok("one_frame", _t(ctx, "frame.ok", sent=repr(reply.sent), got=repr(reply.got)))

    payloads = [b"one", b"two two", b"three three three"]
    reply = trial.exchange(peer, b"".join(frame(p) for p in payloads),
                           b"".join(frame(p.upper()) for p in payloads), REPLY)
    if not reply.ok:
        r.stop("frames_together", _t(ctx, "together.head", n=len(payloads)) + sep(ctx.lang)
               + _problem(ctx, trial, reply), shown_output(trial))
    r.ok("frames_together", _t(ctx, "together.ok", n=len(payloads)))

    ok, message, output = _in_pieces(ctx, trial, peer, b"sent in pieces: " + b"abc" * 400)
    if not ok:
        r.stop("frame_in_pieces", message, output)
    r.ok("frame_in_pieces", message)

    lingered = leave_normally(ctx, trial, peer)  # the first client's end must close at once
    second, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        r.stop("next_client", _t(ctx, "next.failed") + sep(ctx.lang)
               + ctx.text("connect.failed", addr=f"{addr[0]}:{addr[1]}", error=error,
                          doing=trial.doing()), shown_output(trial))
    _nodelay(second)
    reply = trial.exchange(second, frame(b"next client"), frame(b"NEXT CLIENT"), REPLY)
    if not reply.ok:
        second.close()
        r.stop("next_client", _t(ctx, "next.failed") + sep(ctx.lang)
               + _problem(ctx, trial, reply), shown_output(trial))
    served = _t(ctx, "next.ok", detail=_t(ctx, "frame.ok", sent=repr(reply.sent),
                                           got=repr(reply.got)))
    ok, message, _ = closed_too(ctx, (True, served, ""), lingered, addr[1])
    if not ok:
        second.close()
        r.stop("next_client", message)

    # The second client leaves in the middle of a frame: recv_exactly() meets b''.
    ok, message, output = _left_mid_frame(ctx, trial, second, addr)
    if ok:
        r.ok("next_client", served + sep(ctx.lang) + message)
    else:
        r.fail("next_client", message, output)


def _left_mid_frame(ctx: Context, trial: Trial, peer, addr: tuple) -> tuple[bool, str, str]:
    """``peer`` sends a header announcing SIZE bytes and only PART of them, then closes
    normally; a new client must be served: (passed, message, output)."""
    size, part = 20, 5
    t_left = trial.now()
    trial.session.add(Event(t_left, "grader", "call", name="sendall",
                            args=(repr(struct.pack(">I", size) + b"x" * part),)))
    peer.send(struct.pack(">I", size) + b"x" * part)
    peer.close()
    trial.wait(lambda: left_reaction(trial, t_left), LEAVE)
    head = ctx.text("framed_server.midframe_head", size=size, part=part) + sep(ctx.lang)
    third, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        message = head + ctx.text("connect.failed", addr=f"{addr[0]}:{addr[1]}", error=error,
                                  doing=trial.doing())
        if trial.exited():
            message += sep(ctx.lang) + ctx.text("framed_server.midframe_hint")
        return False, message, shown_output(trial)
    reply = trial.exchange(third, frame(b"after a half frame"), frame(b"AFTER A HALF FRAME"),
                           REPLY)
    third.close()
    if reply.ok:
        return True, ctx.text("framed_server.midframe_ok", size=size, part=part,
                              sent=repr(reply.sent), got=repr(reply.got)), ""
    return False, head + _problem(ctx, trial, reply), shown_output(trial)
