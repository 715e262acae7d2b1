"""Exercise 12: a server that closes its end when the client closes (no CLOSE_WAIT), and
closes first when the client says ``bye``.

Judged by behaviour: the grader half-closes (``shutdown(SHUT_WR)``: a FIN) and waits for the
server's FIN — the end of the stream on its own socket. On Linux the kernel's table, read for
the server's real port, says which state each end is in, for the messages. Before the next
client, one client leaves abruptly (a reset): the server must survive it.
"""

from __future__ import annotations

import socket

from ... import kernel
from ..checks import (LEAVE, REPLY, Context, connect, reply_problem, reset_then_next, serve_next,
                      shown_output, start_server)
from ..texts import sep
from ..trial import Peer

TEXTS = {
    "en": {
        "closed_ok": "The grader closed its side (a FIN) and the server's recv() returned b''; the server closed its end at once (its FIN came back){state}.",
        "closed_state": ": the grader's end went to TIME_WAIT, nothing stayed in CLOSE_WAIT",
        "not_closed": "The grader closed its side (a FIN); {saw}within {seconds} s the server did not close its end: it stays in CLOSE_WAIT{state}, and {doing}.",
        "saw_empty": "the server's recv() returned b'', but ",
        "close_wait_seen": " (the kernel's table shows {row})",
        "sent_more": "The grader closed its side (a FIN); instead of closing, the server sent {got}.",
        "reset": "The grader closed its side (a FIN); the server answered with a reset (RST) instead of closing normally: {doing}.",
        "next_head": "After the first client left, a new client connected:",
        "bye_ok": "Sent b'bye', got b'BYE', then the server closed the connection first{state}; the next client was served: {next}",
        "bye_state": " (the kernel's table shows the server's end in TIME_WAIT: the side that closes first keeps it)",
        "bye_not_closed": "Sent b'bye' and got {got}, but within {seconds} s the server did not close the connection: {doing}. After answering BYE the server must close first.",
        "bye_more": "Sent b'bye' and got {got}; then, instead of closing, the server sent {more}.",
        "bye_head": "After the bye, the next client connected:",
    },
    "zh": {
        "closed_ok": "评分器关闭了自己的发送方向（发出 FIN），服务端的 recv() 返回 b''；服务端马上关闭了自己这一端（它的 FIN 回来了）{state}。",
        "closed_state": "：评分器这一端进入了 TIME_WAIT，没有留下 CLOSE_WAIT",
        "not_closed": "评分器关闭了自己的发送方向（发出 FIN）；{saw}{seconds} 秒内服务端没有关闭自己这一端：它一直停在 CLOSE_WAIT{state}，而且{doing}。",
        "saw_empty": "服务端的 recv() 返回了 b''，但 ",
        "close_wait_seen": "（内核的表里是 {row}）",
        "sent_more": "评分器关闭了自己的发送方向（发出 FIN）；服务端没有关闭，而是发来了 {got}。",
        "reset": "评分器关闭了自己的发送方向（发出 FIN）；服务端没有正常关闭，而是回了一个重置（RST）：{doing}。",
        "next_head": "第一个客户端离开后，一个新的客户端连了上来：",
        "bye_ok": "发送 b'bye'，收到 b'BYE'，然后服务端先关闭了连接{state}；下一个客户端也得到了服务：{next}",
        "bye_state": "（内核的表里服务端这一端处于 TIME_WAIT：先关闭的一方保留它）",
        "bye_not_closed": "发送 b'bye'，收到 {got}，但 {seconds} 秒内服务端没有关闭连接：{doing}。回复 BYE 之后，服务端必须先关闭。",
        "bye_more": "发送 b'bye'，收到 {got}；然后服务端没有关闭，而是又发来了 {more}。",
        "bye_head": "bye 之后，下一个客户端连了上来：",
    },
}


def say(ctx: Context, key: str, **values: object) -> str:
    table = TEXTS.get(ctx.lang) or TEXTS["en"]
    return (table.get(key) or TEXTS["en"][key]).format(**values)


def row(server_port: int, peer_port: int, *, server_side: bool) -> kernel.Row | None:
    """Linux: the kernel's row of this connection, the server's end or the grader's."""
    if not kernel.available():
        return None
    for r in kernel.read_rows():
        if server_side and r.local_port == server_port and r.remote_port == peer_port:
            return r
        if not server_side and r.local_port == peer_port and r.remote_port == server_port:
            return r
    return None


def wait_state(ctx: Context, server_port: int, peer_port: int, state: str, server_side: bool,
               timeout: float) -> bool:
    """Linux: poll the kernel's table (it sends no events) until the row shows ``state``."""
    if not kernel.available():
        return False

    def shows() -> bool:
        found = row(server_port, peer_port, server_side=server_side)
        return found is not None and found.state == state

    return bool(ctx.budget.poll(shows, timeout))


def local_port(peer: Peer) -> int:
    try:
        return peer.sock.getsockname()[1]
    except OSError:
        return 0


def half_close(peer: Peer) -> None:
    """Send a FIN but keep reading: the server's FIN shows as the end of the stream."""
    try:
        peer.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def settled(trial, since: float) -> bool:
    """After a client left: the server waits in accept() again, or has ended."""
    return trial.exited() or any(e.name == "accept" for e in trial.pending(since=since))


def saw_empty(trial, since: float) -> bool:
    """The server's recv() returned b'' (it saw the FIN) since ``since``."""
    return any(e.name in ("recv", "recv_into") and e.result in ("b''", "0")
               and e.kind in ("return", "repeat") for e in trial.events(since=since))


def run(ctx: Context) -> None:
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    port = addr[1]
    a = connect(ctx, trial, addr, "echo")
    reply = trial.exchange(a, b"hello", b"HELLO", REPLY)
    if not reply.ok:
        r.stop("echo", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("echo", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)))

    # The client closes first: the server must answer with its own FIN.
    a_port = local_port(a)
    t_fin = trial.now()
    half_close(a)
    got, end = a.read(1, trial.budget.cap(LEAVE))
    if end == "eof" and not got:
        a.close()
        state = ""
        if wait_state(ctx, port, a_port, "TIME_WAIT", server_side=False, timeout=0.5):
            state = say(ctx, "closed_state")
        r.ok("closes_after_client", say(ctx, "closed_ok", state=state))
    elif got:
        a.close()
        r.fail("closes_after_client", say(ctx, "sent_more", got=repr(got + a.drain())),
               shown_output(trial))
    elif end == "reset":
        a.close()
        r.fail("closes_after_client", say(ctx, "reset", doing=trial.doing()),
               shown_output(trial))
    else:
        seen = row(port, a_port, server_side=True)
        state = ""
        if seen is not None:
            state = say(ctx, "close_wait_seen",
                        row=f"{seen.local_ip}:{seen.local_port} ↔ {seen.remote_ip}:"
                            f"{seen.remote_port} {seen.state}")
        doing = trial.doing()
        a.close()
        saw = say(ctx, "saw_empty") if saw_empty(trial, t_fin) else ""
        r.fail("closes_after_client", say(ctx, "not_closed", saw=saw, seconds=f"{LEAVE:g}",
                                          state=state, doing=doing), shown_output(trial))

    # The next client, once the server is back in accept() (or has ended); first a client that
    # leaves abruptly (a reset: the server's recv() raises ConnectionResetError).
    trial.wait(lambda: settled(trial, t_fin), LEAVE)
    ok, reset_message, output = reset_then_next(ctx, trial, addr)
    reset_head = ctx.text("next.ok" if ok else "next.failed", how=ctx.text("how.reset"))
    if not ok:
        r.stop("next_client", reset_head + sep(ctx.lang) + reset_message, output)
    t0 = trial.now()
    b, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        r.stop("next_client", say(ctx, "next_head") + sep(ctx.lang)
               + ctx.text("connect.failed", addr=f"{addr[0]}:{addr[1]}", error=error,
                          doing=trial.doing()), shown_output(trial))
    reply = trial.exchange(b, b"next client", b"NEXT CLIENT", REPLY)
    if not reply.ok:
        r.stop("next_client", say(ctx, "next_head") + sep(ctx.lang)
               + reply_problem(ctx, trial, reply, accepted_since=t0), shown_output(trial))
    r.ok("next_client", reset_head + sep(ctx.lang) + reset_message + sep(ctx.lang)
         + ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)))

    # bye: BYE back, then the server closes first.
    b_port = local_port(b)
    t_bye = trial.now()
    reply = trial.exchange(b, b"bye", b"BYE", REPLY)
    if not reply.ok:
        r.stop("closes_first", reply_problem(ctx, trial, reply), shown_output(trial))
    if reply.end != "eof":
        more, end = b.read(1, trial.budget.cap(REPLY))
        if more:
            r.stop("closes_first", say(ctx, "bye_more", got=repr(reply.got),
                                       more=repr(more + b.drain())), shown_output(trial))
        if end != "eof":
            r.stop("closes_first", say(ctx, "bye_not_closed", got=repr(reply.got),
                                       seconds=f"{REPLY:g}", doing=trial.doing()),
                   shown_output(trial))
    b.close()
    trial.wait(lambda: settled(trial, t_bye), LEAVE)
    state = ""
    if wait_state(ctx, port, b_port, "TIME_WAIT", server_side=True, timeout=0.5):
        state = say(ctx, "bye_state")
    ok, message, output = serve_next(ctx, trial, addr, b"after bye")
    if not ok:
        r.stop("closes_first", say(ctx, "bye_head") + sep(ctx.lang) + message, output)
    r.ok("closes_first", say(ctx, "bye_ok", state=state, next=message))
