"""The judge of exercise 11 (several clients at once), from the events
:mod:`.drive_concurrent` recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .judge_servers import (SIDE, connect_failed, judge_exchanges, judge_next, judge_start,
                            lingered, nth, reply_problem)
from .judging import Context, Sheet, Stop, Trial, budget_of, trials
from .exchanges import connects, replies
from .texts import sep

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


def concurrent_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    addr = judge_start(sheet, tr)
    at = tr.at("echo")
    a = nth(connects(at.events), 0, sheet, "echo", at)
    if a.error is not None:
        run = at.run(SIDE)
        sheet.stop("echo", connect_failed(ctx, run, a), facts.shown_output(run.events), at)
    reply = judge_exchanges(sheet, at, a, (b"hello from A",), "echo")[0]
    sheet.ok("echo", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)), at,
             SIDE)

    at = tr.at("concurrent")
    run = at.run(SIDE)
    head = say(ctx, "concurrent_head") + sep(ctx.lang)
    b = nth(connects(at.events), 1, sheet, "concurrent", at)
    if b.error is not None:
        sheet.stop("concurrent", head + connect_failed(ctx, run, b),
                   facts.shown_output(run.events), at)
    reply = nth(replies(at.events, b.side), 0, sheet, "concurrent", at)
    if reply.got != b"HI FROM B":
        sheet.stop("concurrent", head + reply_problem(ctx, run, reply, b"HI FROM B",
                                                      accepted_since=b.t),
                   facts.shown_output(run.events), at)
    sheet.ok("concurrent", say(ctx, "concurrent_ok", sent=repr(reply.sent),
                               got=repr(reply.got)), at, SIDE)

    at = tr.at("first_again")
    run = at.run(SIDE)
    reply = nth(replies(at.events, a.side), 1, sheet, "first_again", at)
    if reply.got != b"A AGAIN":
        sheet.stop("first_again", say(ctx, "first_head") + sep(ctx.lang)
                   + reply_problem(ctx, run, reply, b"A AGAIN"), facts.shown_output(run.events),
                   at)
    sheet.ok("first_again", say(ctx, "first_ok", sent=repr(reply.sent), got=repr(reply.got)),
             at, SIDE)

    at = tr.at("leaves_cleanly")
    run = at.run(SIDE)
    t_left = next(e.t for e in tr.events if e.side == a.side and e.kind == "call"
                  and e.name == "close")
    stayed = None
    for who, peer in (("A", a), ("B", b)):
        seconds = lingered(tr, peer, f"close_wait:{who}")
        if seconds is not None:
            stayed = (who, seconds)
            break
    c = nth(connects(at.events), 2, sheet, "leaves_cleanly", at)
    ok, message, output = judge_next(ctx, at, c, b"client C")
    spins = facts.spin_count(run.events, t_left)
    if spins > facts.SPIN_LIMIT:
        sheet.fail("leaves_cleanly", ctx.text("no_spin.spin", count=f"{spins:,}",
                                              limit=facts.SPIN_LIMIT), "", at)
    elif stayed is not None:
        sheet.fail("leaves_cleanly", ctx.text("concurrent_server.close_wait", who=stayed[0],
                                              seconds=f"{stayed[1]:g}", port=addr[1]), "", at)
    elif not ok:
        sheet.fail("leaves_cleanly", say(ctx, "leaves_head") + sep(ctx.lang) + message, output,
                   at)
    else:
        sheet.ok("leaves_cleanly", say(ctx, "leaves_ok", count=spins, message=message), at,
                 SIDE)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 11."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            concurrent_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
