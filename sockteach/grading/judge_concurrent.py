"""The judge of exercise 11 (several clients at once), from the events
:mod:`.drive_concurrent` recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .judge_servers import (first_echo, judge_next, judge_start, lingered,
                            new_client_reply, nth, reply_problem, SIDE)
from .judging import Context, Sheet, Stop, Trial, budget_of, trials
from .exchanges import connects, replies
from .texts import judge_text, sep



def say(ctx: Context, key: str, **values: object) -> str:
    return judge_text("concurrent", ctx.lang, key, **values)


def concurrent_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    addr = judge_start(sheet, tr)
    at = tr.at("echo")
    a = first_echo(sheet, at, b"hello from A")

    at = tr.at("concurrent")
    b, reply = new_client_reply(sheet, at, "concurrent", 1, b"HI FROM B",
                             say(ctx, "concurrent_head") + sep(ctx.lang))
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
