"""Exercise 10: a line-based server (makefile, readline) that numbers the lines it answers.

Each line ``b'...\\n'`` is answered by one line ``b'N: ...UPPER...\\n'``, N counting the lines of
the connection from 1. The grader sends one line; three lines in one write; half a line, checks
that nothing comes back yet, then the rest; and a line from a new client. The first client leaves
by half-closing (``shutdown(SHUT_WR)``: readline() returns b'') and reads until the server's end
of the stream: nothing more may come (no numbered line for the end of the stream), and the end
must come at once (a makefile() left open keeps the connection in CLOSE_WAIT).
"""

from __future__ import annotations

import select
import socket
import time

from ...events import Event
from ..checks import LEAVE, REPLY, Context, connect, reply_problem, shown_output, start_server
from ..texts import sep, t
from ..trial import RECV_NAMES, Peer, Trial

TEXTS = {
    "en": {
        "several_head": "Three lines in one write:",
        "several_ok": "Three lines in one write, {sent}: three answers, {got}.",
        "pieces_early": "Sent half a line, {sent} — no b'\\n' yet — and the server answered at once with {got}: it answers each piece it receives, not each line.",
        "pieces_head": "Half a line, {first}, then the rest, {rest}:",
        "pieces_ok": "Half a line, {first}: no answer while the line was unfinished. Then the rest, {rest}: {got}.",
        "next_ok": "A new client sent {sent} and got {got}: numbering starts at 1 again.",
        "next_head": "After the first client left, a new client connected:",
    },
    "zh": {
        "several_head": "用一次写入发出三行：",
        "several_ok": "用一次写入发出三行 {sent}：收到三个回复 {got}。",
        "pieces_early": "发出半行 {sent}——还没有 b'\\n'——服务端马上就回复了 {got}：它是收到一段就回复一段，而不是一行回复一次。",
        "pieces_head": "先发半行 {first}，再发剩下的 {rest}：",
        "pieces_ok": "先发半行 {first}：这一行没结束时没有回复。再发剩下的 {rest}：收到 {got}。",
        "next_ok": "新的客户端发送 {sent}，收到 {got}：行号重新从 1 开始。",
        "next_head": "第一个客户端离开后，一个新的客户端连了上来：",
    },
}


def say(ctx: Context, key: str, **values: object) -> str:
    table = TEXTS.get(ctx.lang) or TEXTS["en"]
    return (table.get(key) or TEXTS["en"][key]).format(**values)


def answer(lines: list[bytes], first: int) -> bytes:
    return b"".join(b"%d: " % (first + i) + line.upper() for i, line in enumerate(lines))


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


def tidy(trial: Trial, text: str) -> str:
    """``recv_into(buffer)`` instead of the buffer's raw contents the trace shows as its
    argument (what a makefile() file's readline() waits in)."""
    for e in trial.events():
        if e.kind == "call" and e.name in ("recv_into", "recvfrom_into") and e.args:
            text = text.replace(f"{e.name}({', '.join(e.args)})", f"{e.name}(buffer)")
        elif e.kind == "return" and e.name == "recv_into" and e.result and e.result.isdigit():
            # recv_into() returns a count, not the bytes: say so.
            n = int(e.result)
            count = f"{n} 字节" if trial.lang == "zh" else f"{n} byte{'s' if n != 1 else ''}"
            text = text.replace(t("doing.no_reply", trial.lang, data=e.result),
                                t("doing.no_reply", trial.lang, data=count))
    return text


class _Tidy:
    """The recorder, with every message passed through :func:`tidy`."""

    def __init__(self, rec, trial: Trial) -> None:
        self.rec, self.trial = rec, trial

    def ok(self, name: str, message: str) -> None:
        self.rec.ok(name, tidy(self.trial, message))

    def stop(self, name: str, message: str, output: str = "") -> None:
        self.rec.stop(name, tidy(self.trial, message), output)


def _half_close(ctx: Context, trial: Trial, peer: Peer) -> str | None:
    """The client sends its FIN (``shutdown(SHUT_WR)``) and reads until the server's end of
    the stream. Why that was wrong — bytes after the end of stream, or no end within LEAVE —
    or None."""
    trial.session.add(Event(trial.now(), "grader", "call", name="shutdown", args=("SHUT_WR",)))
    try:
        peer.sock.shutdown(socket.SHUT_WR)
    except OSError:
        return None  # the server is gone already: the next client will tell
    got = b""
    deadline = time.monotonic() + trial.budget.cap(LEAVE)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            doing = tidy(trial, trial.doing())
            if got:
                return ctx.text("line_server.after_eof", got=repr(got))
            return ctx.text("line_server.not_closed", seconds=f"{LEAVE:g}", doing=doing)
        try:
            ready = select.select([peer.sock], [], [], min(left, 0.1))[0]
            chunk = peer.sock.recv(4096) if ready else None
        except OSError:
            chunk = b""  # a reset: the server's end is gone
        if chunk is None:
            continue
        if not chunk:
            return ctx.text("line_server.after_eof", got=repr(got)) if got else None
        got += chunk


def run(ctx: Context) -> None:
    trial = ctx.trial("server")
    r = _Tidy(ctx.rec, trial)
    addr = start_server(ctx, trial)
    peer = connect(ctx, trial, addr, "one_line")

    reply = trial.exchange(peer, b"hello\n", b"1: HELLO\n", REPLY)
    if not reply.ok:
        r.stop("one_line", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("one_line", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)))

    lines = [b"one\n", b"two\n", b"three\n"]
    reply = trial.exchange(peer, b"".join(lines), answer(lines, 2), REPLY)
    if not reply.ok:
        r.stop("lines_in_one_write", say(ctx, "several_head") + sep(ctx.lang)
               + reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("lines_in_one_write", say(ctx, "several_ok", sent=repr(reply.sent), got=repr(reply.got)))

    # Half a line: the server takes it and asks for more; nothing may come back yet.
    first, rest = b"fo", b"ur\n"
    t_half = trial.now()
    problem = peer.send(first)
    if problem is None:
        trial.wait(lambda: waiting_for_more(trial, t_half) or readable(peer), REPLY)
        early = peer.drain()
        if early:
            r.stop("line_in_pieces", say(ctx, "pieces_early", sent=repr(first), got=repr(early)),
                   shown_output(trial))
    reply = trial.exchange(peer, rest, answer([first + rest], 5), REPLY)
    if not reply.ok:
        r.stop("line_in_pieces", say(ctx, "pieces_head", first=repr(first), rest=repr(rest))
               + sep(ctx.lang) + reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("line_in_pieces", say(ctx, "pieces_ok", first=repr(first), rest=repr(rest),
                               got=repr(reply.got)))

    # A new client, once the server is back in accept() (or has ended): numbering starts again.
    t_left = trial.now()
    problem = _half_close(ctx, trial, peer)
    peer.close()
    if problem:
        r.stop("next_client", problem, shown_output(trial))
    trial.wait(lambda: trial.exited() or any(e.name == "accept"
                                             for e in trial.pending(since=t_left)), LEAVE)
    t0 = trial.now()
    second, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        r.stop("next_client", say(ctx, "next_head") + sep(ctx.lang)
               + ctx.text("connect.failed", addr=f"{addr[0]}:{addr[1]}", error=error,
                          doing=trial.doing()), shown_output(trial))
    reply = trial.exchange(second, b"again\n", b"1: AGAIN\n", REPLY)
    second.close()
    if not reply.ok:
        r.stop("next_client", say(ctx, "next_head") + sep(ctx.lang)
               + reply_problem(ctx, trial, reply, accepted_since=t0), shown_output(trial))
    r.ok("next_client", say(ctx, "next_ok", sent=repr(reply.sent), got=repr(reply.got)))
