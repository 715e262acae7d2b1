"""The judge of exercise 12 (closing in order), from the events :mod:`.drive_closing`
recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import LEAVE, REPLY
from .judge_servers import (doing, first_echo, judge_next, judge_start, new_client_reply,
                            nth, reply_problem, reset_then_next, SIDE, window)
from .judging import Context, Sheet, Stop, Trial, budget_of, trials
from .exchanges import connects, reads, replies
from .texts import judge_text, sep



def say(ctx: Context, key: str, **values: object) -> str:
    return judge_text("closing", ctx.lang, key, **values)


def _rows(tr: Trial, what: str, local_port: int, remote_port: int) -> list[tuple]:
    """The rows from ``local_port`` to ``remote_port`` the window ``what`` sampled."""
    _mark, samples = window(tr, what)
    return [row for e in samples for row in e.states or ()
            if row[0].endswith(f":{local_port}") and row[1].endswith(f":{remote_port}")]


def saw_empty(events: list[Event], since: float) -> bool:
    """The server's recv() returned b'' (it saw the FIN) since ``since``."""
    return any(e.name in ("recv", "recv_into") and e.t >= since and (
        (e.kind == "return" and facts.empty_return(e))
        or (e.kind == "repeat" and e.result in ("b''", "0"))) for e in events)


def closing_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    addr = judge_start(sheet, tr)
    port = addr[1]
    at = tr.at("echo")
    a = first_echo(sheet, at, b"hello")

    a_port = a.local[1] if a.local else 0
    t_fin = next((e.t for e in tr.events if e.side == a.side and e.name == "shutdown"), 0.0)
    saw_at = tr.at("closes_after_client:saw")
    fin = nth(reads(saw_at.events, a.side), 1, sheet, "closes_after_client", saw_at)
    at = tr.at("closes_after_client") if tr.mark("closes_after_client") else saw_at
    run = at.run(SIDE)
    out = facts.shown_output(run.events)
    if fin.end == "eof" and not fin.got:
        state = ""
        if any(r[2] == "TIME_WAIT" for r in _rows(tr, "fin:time_wait", a_port, port)):
            state = say(ctx, "closed_state")
        sheet.ok("closes_after_client", say(ctx, "closed_ok", state=state), saw_at, SIDE)
    elif fin.got:
        sheet.fail("closes_after_client", say(ctx, "sent_more", got=repr(fin.got)), out, saw_at)
    elif fin.end == "reset":
        sheet.fail("closes_after_client", say(ctx, "reset", doing=doing(ctx, run)), out, saw_at)
    else:
        seen = _rows(tr, "close_wait_seen", port, a_port)
        state = ""
        if seen:
            local, remote, st = seen[0]
            state = say(ctx, "close_wait_seen", row=f"{local} ↔ {remote} {st}")
        saw = say(ctx, "saw_empty") if saw_empty(saw_at.run(SIDE).events, t_fin) else ""
        sheet.fail("closes_after_client", say(ctx, "not_closed", saw=saw, seconds=f"{LEAVE:g}",
                                              state=state, doing=doing(ctx, run)),
                   facts.shown_output(saw_at.run(SIDE).events), saw_at)

    at = tr.at("next_client:reset")
    ok, reset_message, output = reset_then_next(ctx, at, 1)
    reset_head = ctx.text("next.ok" if ok else "next.failed", how=ctx.text("how.reset"))
    if not ok:
        sheet.stop("next_client", reset_head + sep(ctx.lang) + reset_message, output, at)
    at = tr.at("next_client")
    b, reply = new_client_reply(sheet, at, "next_client", 3, b"NEXT CLIENT",
                             say(ctx, "next_head") + sep(ctx.lang))
    sheet.ok("next_client", reset_head + sep(ctx.lang) + reset_message + sep(ctx.lang)
             + ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)), at, SIDE)

    at = tr.at("closes_first")
    run = at.run(SIDE)
    bye = nth(replies(at.events, b.side), 1, sheet, "closes_first", at)
    if bye.got != b"BYE":
        sheet.stop("closes_first", reply_problem(ctx, run, bye, b"BYE"),
                   facts.shown_output(run.events), at)
    if bye.end != "eof":
        more = nth(reads(at.events, b.side), 2, sheet, "closes_first", at)
        if more.got:
            sheet.stop("closes_first", say(ctx, "bye_more", got=repr(bye.got),
                                           more=repr(more.got)), facts.shown_output(run.events),
                       at)
        if more.end != "eof":
            sheet.stop("closes_first", say(ctx, "bye_not_closed", got=repr(bye.got),
                                           seconds=f"{REPLY:g}", doing=doing(ctx, run)),
                       facts.shown_output(run.events), at)
    b_port = b.local[1] if b.local else 0
    state = ""
    if any(r[2] == "TIME_WAIT" for r in _rows(tr, "bye:time_wait", port, b_port)):
        state = say(ctx, "bye_state")
    c = nth(connects(at.events), 4, sheet, "closes_first", at)
    ok, message, output = judge_next(ctx, at, c, b"after bye")
    if not ok:
        sheet.stop("closes_first", say(ctx, "bye_head") + sep(ctx.lang) + message, output, at)
    sheet.ok("closes_first", say(ctx, "bye_ok", state=state, next=message), at, SIDE)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 12."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            closing_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
