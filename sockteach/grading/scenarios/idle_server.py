"""Exercise 8: an upper-case echo server that drops idle clients (a timeout on recv).

The server keeps running when no client comes for a while (a timeout on accept() must not
end it), answers messages, does not drop a client that pauses briefly, closes a connection
that stays silent (about 1 s), and then serves the next client. That client then leaves
normally (the server must not spin on b''), and one more leaves abruptly (a reset must not end
the server). Every wait is on an event — the program ending, a byte or an end of stream on the
grader's socket — with a deadline.
"""

from __future__ import annotations

import select
import time

from ...i18n import pick
from ..checks import LEAVE, REPLY, Context, connect, left_reaction, reply_problem, \
    reset_then_next, shown_output, start_server
from ..texts import sep
from ..trial import SPIN_LIMIT, Peer, Trial

QUIET = 2.0  # seconds with no client at all: the server must still be there
PAUSE = 0.4  # a short pause between two messages: the client must not be dropped
DROP = 3.0  # an idle client must be dropped within this (the task says about 1 s)

TEXTS: dict[str, dict[str, str]] = {
    "quiet.ok": {
        "en": "Nobody connected for {seconds} s, and the server kept waiting for clients.",
        "zh": "{seconds} 秒内没有任何客户端连接，服务端一直在等待客户端。",
    },
    "quiet.ended": {
        "en": "Nobody connected for a while, and the server ended: {how}. A timeout on the listening socket makes accept() raise TimeoutError — catch it and accept() again, or set the timeout on conn only.",
        "zh": "有一阵子没有客户端连接，服务端就结束了：{how}。监听套接字上的超时会让 accept() 抛出 TimeoutError——捕获它再次 accept()，或者只给 conn 设置超时。",
    },
    "patient.ok": {
        "en": "After a pause of {seconds} s the connection was still open, and {sent} was answered with {got}.",
        "zh": "停顿 {seconds} 秒之后连接仍然打开着，{sent} 得到了回复 {got}。",
    },
    "patient.dropped": {
        "en": "The client paused for only {seconds} s, and the server had already closed the connection ({how}). Drop a client only after about 1 second of silence — and not after each reply.",
        "zh": "客户端只停顿了 {seconds} 秒，服务端就已经关闭了连接（{how}）。要在大约 1 秒没有数据之后才断开客户端——而不是每回复一次就断开。",
    },
    "patient.after": {
        "en": "After a pause of {seconds} s:",
        "zh": "停顿 {seconds} 秒之后：",
    },
    "drops.ok": {
        "en": "The client then sent nothing, and the server closed the connection after {after:.1f} s of silence ({how}).",
        "zh": "之后客户端什么也不发，服务端在安静了 {after:.1f} 秒之后关闭了连接（{how}）。",
    },
    "drops.never": {
        "en": "The client then sent nothing for {seconds} s, and the connection stayed open: {doing}. Give conn a timeout — conn.settimeout(1) — and close the connection when recv() raises TimeoutError.",
        "zh": "之后客户端 {seconds} 秒什么也没发，连接却一直开着：{doing}。给 conn 设置超时——conn.settimeout(1)——recv() 抛出 TimeoutError 时关闭这个连接。",
    },
    "drops.data": {
        "en": "The client sent nothing, but the server sent {got} without being asked.",
        "zh": "客户端什么也没发，服务端却主动发来了 {got}。",
    },
    "how.eof": {
        "en": "the grader's recv() returned b''",
        "zh": "评分器的 recv() 返回了 b''",
    },
    "how.reset": {
        "en": "the connection was reset",
        "zh": "连接被重置了",
    },
    "next.ok": {
        "en": "After dropping the idle client, a new client was served:",
        "zh": "断开空闲的客户端之后，新的客户端得到了服务：",
    },
    "next.failed": {
        "en": "After dropping the idle client, a new client connected:",
        "zh": "断开空闲的客户端之后，新的客户端连了上来：",
    },
}


def _t(ctx: Context, key: str, **values: object) -> str:
    return pick(TEXTS[key], ctx.lang).format(**values)


def _closed_within(trial: Trial, peer: Peer, seconds: float) -> tuple[str | None, bytes]:
    """Wait up to ``seconds`` for the server to close the connection: ("eof" | "reset" | None,
    any bytes that came instead). Wakes on the socket becoming readable (an event)."""
    deadline = time.monotonic() + trial.budget.cap(seconds)
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, got
        try:
            ready, _, _ = select.select([peer.sock], [], [], min(left, 0.1))
        except (OSError, ValueError):
            return "eof", got
        if not ready:
            continue
        try:
            chunk = peer.sock.recv(4096)
        except ConnectionResetError:
            return "reset", got
        except OSError:
            return "eof", got
        if not chunk:
            return "eof", got
        got += chunk


def run(ctx: Context) -> None:
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)

    # No client for a while: a timeout on accept() must not end the server.
    trial.wait(lambda: trial.exited(), QUIET)
    if trial.exited():
        r.stop("quiet", _t(ctx, "quiet.ended", how=trial.ending()), shown_output(trial))
    r.ok("quiet", _t(ctx, "quiet.ok", seconds=f"{QUIET:g}"))

    peer = connect(ctx, trial, addr, "echo")
    reply = trial.exchange(peer, b"hello", b"HELLO", REPLY)
    if not reply.ok:
        r.stop("echo", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("echo", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)))

    # A short pause: still connected, still answered.
    how, _ = _closed_within(trial, peer, PAUSE)
    if how is not None:
        r.stop("patient", _t(ctx, "patient.dropped", seconds=f"{PAUSE:g}",
                             how=_t(ctx, f"how.{how}")), shown_output(trial))
    reply = trial.exchange(peer, b"after a pause", b"AFTER A PAUSE", REPLY)
    if not reply.ok:
        r.stop("patient", _t(ctx, "patient.after", seconds=f"{PAUSE:g}") + sep(ctx.lang)
               + reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("patient", _t(ctx, "patient.ok", seconds=f"{PAUSE:g}", sent=repr(reply.sent),
                       got=repr(reply.got)))

    # Silence: the server must close the connection.
    t_idle, t_mark = time.monotonic(), trial.now()
    how, extra = _closed_within(trial, peer, DROP)
    after = time.monotonic() - t_idle
    if extra:
        r.fail("drops_idle", _t(ctx, "drops.data", got=repr(extra[:40])), shown_output(trial))
    elif how is None:
        r.fail("drops_idle", _t(ctx, "drops.never", seconds=f"{DROP:g}", doing=trial.doing()),
               shown_output(trial))
    else:
        r.ok("drops_idle", _t(ctx, "drops.ok", after=after, how=_t(ctx, f"how.{how}")))
    peer.close()

    # And it goes on: the next client is served.
    trial.wait(lambda: trial.exited() or any(e.name == "accept" for e in trial.pending())
               or any(e.kind == "call" and e.name in ("close", "shutdown", "accept")
                      for e in trial.events(since=t_mark)), 1.0)
    ok, message, output = _next_then_leave(ctx, trial, addr)
    if not ok:
        r.fail("next_client", _t(ctx, "next.failed") + sep(ctx.lang) + message, output)
        return
    # And a client that leaves abruptly (a reset) must not end the server.
    ok2, message2, output2 = reset_then_next(ctx, trial, addr)
    reset_head = ctx.text("next.ok" if ok2 else "next.failed", how=ctx.text("how.reset"))
    if ok2:
        r.ok("next_client", _t(ctx, "next.ok") + sep(ctx.lang) + message + sep(ctx.lang)
             + reset_head + sep(ctx.lang) + message2)
    else:
        r.fail("next_client", reset_head + sep(ctx.lang) + message2, output2)


def _next_then_leave(ctx: Context, trial: Trial, addr: tuple) -> tuple[bool, str, str]:
    """A new client is served, then closes normally: the server's recv() returns b'', and it
    must leave the communication loop, not spin on b'': (passed, message, output)."""
    t0 = trial.now()
    peer, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        return False, ctx.text("connect.failed", addr=f"{addr[0]}:{addr[1]}", error=error,
                               doing=trial.doing()), shown_output(trial)
    reply = trial.exchange(peer, b"next client", b"NEXT CLIENT", REPLY)
    if not reply.ok:
        message = reply_problem(ctx, trial, reply, accepted_since=t0)
        peer.close()
        return False, message, shown_output(trial)
    served = ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got))
    t_left = trial.now()
    peer.close()
    trial.wait(lambda: left_reaction(trial, t_left), LEAVE)
    spins = trial.spin_count(t_left)
    if spins > SPIN_LIMIT:
        return False, served + sep(ctx.lang) + ctx.text(
            "no_spin.spin", count=f"{spins:,}", limit=SPIN_LIMIT), ""
    return True, served + sep(ctx.lang) + ctx.text("no_spin.ok", count=spins), ""
