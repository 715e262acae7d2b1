"""The judge of exercise 8 (dropping idle clients), from the events
:mod:`.drive_idle_server` recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import DROP, PAUSE, QUIET
from .judge_servers import (connect_failed, doing, first_echo, judge_start, nth,
                            reply_problem, reset_then_next, SIDE, window)
from .judging import Context, Sheet, Stop, Trial, budget_of, trials
from .exchanges import connects, reads, replies
from .texts import judge_text, sep



def _t(ctx: Context, key: str, **values: object) -> str:
    return judge_text("idle_server", ctx.lang, key, **values)


def _how(end: str | None) -> str | None:
    return end if end in ("eof", "reset") else None


def idle_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    addr = judge_start(sheet, tr)
    at = tr.at("quiet")
    run = at.run(SIDE)
    if run.exited:
        sheet.stop("quiet", _t(ctx, "quiet.ended", how=facts.ending(run.events, ctx.lang)),
                   facts.shown_output(run.events), at)
    sheet.ok("quiet", _t(ctx, "quiet.ok", seconds=f"{QUIET:g}"), at, SIDE)

    at = tr.at("echo")
    peer = first_echo(sheet, at, b"hello")

    at = tr.at("patient")
    run = at.run(SIDE)
    pause = nth(reads(at.events, peer.side), 1, sheet, "patient", at)
    if _how(pause.end) is not None:
        sheet.stop("patient", _t(ctx, "patient.dropped", seconds=f"{PAUSE:g}",
                                 how=_t(ctx, f"how.{pause.end}")),
                   facts.shown_output(run.events), at)
    reply = nth(replies(at.events, peer.side), 1, sheet, "patient", at)
    if reply.got != b"AFTER A PAUSE":
        sheet.stop("patient", _t(ctx, "patient.after", seconds=f"{PAUSE:g}") + sep(ctx.lang)
                   + reply_problem(ctx, run, reply, b"AFTER A PAUSE"),
                   facts.shown_output(run.events), at)
    sheet.ok("patient", _t(ctx, "patient.ok", seconds=f"{PAUSE:g}", sent=repr(reply.sent),
                           got=repr(reply.got)), at, SIDE)

    at = tr.at("drops_idle")
    run = at.run(SIDE)
    idle = nth(reads(at.events, peer.side), 3, sheet, "drops_idle", at)
    mark, _samples = window(tr, "idle")
    if idle.got:
        sheet.fail("drops_idle", _t(ctx, "drops.data", got=repr(idle.got[:40])),
                   facts.shown_output(run.events), at)
    elif _how(idle.end) is None:
        sheet.fail("drops_idle", _t(ctx, "drops.never", seconds=f"{DROP:g}",
                                    doing=doing(ctx, run)), facts.shown_output(run.events), at)
    else:
        after = idle.t - (mark.t if mark is not None else idle.t)
        sheet.ok("drops_idle", _t(ctx, "drops.ok", after=after, how=_t(ctx, f"how.{idle.end}")),
                 at, SIDE)

    at = tr.at("next_client")
    ok, message, output = _next_then_leave(ctx, tr)
    if not ok:
        sheet.fail("next_client", _t(ctx, "next.failed") + sep(ctx.lang) + message, output, at)
        return
    ok2, message2, output2 = reset_then_next(ctx, at, 2)
    reset_head = ctx.text("next.ok" if ok2 else "next.failed", how=ctx.text("how.reset"))
    if ok2:
        sheet.ok("next_client", _t(ctx, "next.ok") + sep(ctx.lang) + message + sep(ctx.lang)
                 + reset_head + sep(ctx.lang) + message2, at, SIDE)
    else:
        sheet.fail("next_client", reset_head + sep(ctx.lang) + message2, output2, at)


def _next_then_leave(ctx: Context, tr: Trial) -> tuple[bool, str, str]:
    """A new client was served, then closed normally: the server's recv() returned b'', and it
    must have left the communication loop, not spun on b'': (passed, message, output)."""
    at = tr.at("next_client")
    left = tr.mark("next_client:left") is not None
    if left:
        at = tr.at("next_client:left")
    run = at.run(SIDE)
    conns = connects(at.events)
    if len(conns) < 2:
        return False, ctx.text("not_reached"), ""
    second = conns[1]
    if second.error is not None:
        return False, connect_failed(ctx, run, second), facts.shown_output(run.events)
    got = replies(at.events, second.side)
    if not got:
        return False, ctx.text("not_reached"), ""
    reply = got[0]
    if reply.got != b"NEXT CLIENT":
        return (False, reply_problem(ctx, run, reply, b"NEXT CLIENT", accepted_since=second.t),
                facts.shown_output(run.events))
    served = ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got))
    t_left = next((e.t for e in at.events if e.side == second.side and e.kind == "call"
                   and e.name == "close"), reply.t_sent)
    spins = facts.spin_count(run.events, t_left)
    if spins > facts.SPIN_LIMIT:
        return False, served + sep(ctx.lang) + ctx.text(
            "no_spin.spin", count=f"{spins:,}", limit=facts.SPIN_LIMIT), ""
    return True, served + sep(ctx.lang) + ctx.text("no_spin.ok", count=spins), ""


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 8."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            idle_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
