"""Exercise 11: an upper-case echo server that serves several clients at the same time.

Client A connects and is answered, then stays connected and idle; client B must be answered
meanwhile. A is answered again; then both leave (no spinning, and on Linux neither connection
left in CLOSE_WAIT in the kernel's table) and client C is served.
"""

from __future__ import annotations

from ..checks import (LEAVE, REPLY, SPIN_LIMIT, Context, close_wait, connect, reply_problem,
                      serve_next, shown_output, start_server)
from ..texts import sep
from ..trial import Trial

TEXTS = {
    "en": {
        "concurrent_ok": "Client A stayed connected and idle; client B connected, sent {sent} and got {got} back at once: two clients served at the same time.",
        "concurrent_head": "Client A stayed connected and idle; then client B connected:",
        "first_ok": "Client A, still connected, spoke again: sent {sent}, got {got} back.",
        "first_head": "After B was served, client A (still connected) spoke again:",
        "leaves_ok": "A and B left; the server closed their connections (recv() returned b'' {count} time(s) at most, no spin), and a new client C was served: {message}",
        "leaves_head": "A and B left, then client C connected:",
    },
    "zh": {
        "concurrent_ok": "客户端 A 一直连着、闲着；客户端 B 连上来，发送 {sent}，马上收到 {got}：两个客户端同时得到服务。",
        "concurrent_head": "客户端 A 一直连着、闲着；这时客户端 B 连了上来：",
        "first_ok": "一直连着的客户端 A 又说了一句：发送 {sent}，收到 {got}。",
        "first_head": "B 得到服务之后，一直连着的客户端 A 又说了一句：",
        "leaves_ok": "A 和 B 离开了；服务端关闭了它们的连接（recv() 最多返回了 {count} 次 b''，没有空转），新的客户端 C 也得到了服务：{message}",
        "leaves_head": "A 和 B 离开了，然后客户端 C 连了上来：",
    },
}


def say(ctx: Context, key: str, **values: object) -> str:
    table = TEXTS.get(ctx.lang) or TEXTS["en"]
    return (table.get(key) or TEXTS["en"][key]).format(**values)


def _local_port(peer) -> int | None:
    try:
        return peer.sock.getsockname()[1]
    except OSError:
        return None


def closes(trial: Trial, since: float) -> int:
    return sum(1 for e in trial.events(since=since) if e.kind == "call" and e.name == "close")


def run(ctx: Context) -> None:
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    a = connect(ctx, trial, addr, "echo")
    reply = trial.exchange(a, b"hello from A", b"HELLO FROM A", REPLY)
    if not reply.ok:
        r.stop("echo", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("echo", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)))

    # A stays connected and says nothing; B must be served now.
    t_b = trial.now()
    b, error = trial.connect(addr)
    head = say(ctx, "concurrent_head") + sep(ctx.lang)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        r.stop("concurrent", head + ctx.text("connect.failed", addr=f"{addr[0]}:{addr[1]}",
                                             error=error, doing=trial.doing()),
               shown_output(trial))
    reply = trial.exchange(b, b"hi from B", b"HI FROM B", REPLY)
    if not reply.ok:
        r.stop("concurrent", head + reply_problem(ctx, trial, reply, accepted_since=t_b),
               shown_output(trial))
    r.ok("concurrent", say(ctx, "concurrent_ok", sent=repr(reply.sent), got=repr(reply.got)))

    reply = trial.exchange(a, b"A again", b"A AGAIN", REPLY)
    if not reply.ok:
        r.stop("first_again", say(ctx, "first_head") + sep(ctx.lang)
               + reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("first_again", say(ctx, "first_ok", sent=repr(reply.sent), got=repr(reply.got)))

    # Both leave; each connection must be closed (no spin), and a new client is served.
    ports = {"A": _local_port(a), "B": _local_port(b)}
    t_left = trial.now()
    a.close()
    b.close()
    trial.wait(lambda: trial.exited() or closes(trial, t_left) >= 2
               or trial.spin_count(t_left) > SPIN_LIMIT, LEAVE)
    lingered = None  # before C connects: a new accept() may close what the last one left
    if trial.spin_count(t_left) <= SPIN_LIMIT and not trial.exited():
        for who, peer_port in ports.items():
            seconds = close_wait(ctx, addr[1], peer_port) if peer_port else None
            if seconds is not None:
                lingered = (who, seconds)
                break
    ok, message, output = serve_next(ctx, trial, addr, b"client C")
    spins = trial.spin_count(t_left)
    if spins > SPIN_LIMIT:
        r.fail("leaves_cleanly", ctx.text("no_spin.spin", count=f"{spins:,}", limit=SPIN_LIMIT))
    elif lingered is not None:
        r.fail("leaves_cleanly", ctx.text("concurrent_server.close_wait", who=lingered[0],
                                          seconds=f"{lingered[1]:g}", port=addr[1]))
    elif not ok:
        r.fail("leaves_cleanly", say(ctx, "leaves_head") + sep(ctx.lang) + message, output)
    else:
        r.ok("leaves_cleanly", say(ctx, "leaves_ok", count=spins, message=message))
