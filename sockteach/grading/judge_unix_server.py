"""The judge of exercise 9 (the AF_UNIX server), from the events :mod:`.drive_unix_server`
recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import LEAVE, START
from .plan import UNIX_MESSAGES as MESSAGES
from .plan import UNREAD
from .judge_servers import SIDE, doing, nth, reply_problem
from .judging import Context, Run, Sheet, Stop, Trial, budget_of, trials
from .exchanges import Connect, connects, replies
from .texts import judge_text, sep, t



def say(ctx: Context, key: str, **values: object) -> str:
    return judge_text("unix_server", ctx.lang, key, **values)


def judge_start(sheet: Sheet, tr: Trial) -> str:
    ctx = sheet.ctx
    at = tr.at("listens")
    run = at.run(SIDE, 0)
    where = facts.listening_on(run.events)
    out = facts.shown_output(run.events)
    stop = facts.violation(run.events)
    if stop is not None:
        sheet.stop("runs", facts.sentence(facts.violation_text(stop, ctx.lang)), out, at)
    if where is None:
        calls = facts.socket_calls(run.events)
        if run.exited:
            if run.code != 0 and calls == 0:
                sheet.stop("runs", ctx.text("runs.crashed",
                                            how=facts.ending(run.events, ctx.lang)), out, at)
            sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
            sheet.stop("listens", ctx.text("listens.ended",
                                           how=facts.ending(run.events, ctx.lang)), out, at)
        call = facts.input_call(run.events)
        if call is not None and calls == 0:
            sheet.stop("runs", ctx.text("runs.input", prompt=facts.prompt(call)), out, at)
        sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
        sheet.stop("listens", ctx.text("listens.never", seconds=f"{START:g}",
                                       doing=doing(ctx, run)), out, at)
    sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
    if isinstance(where, tuple):
        sheet.stop("listens", say(ctx, "listens_tcp", addr=f"{where[0]}:{where[1]}"), "", at)
    sheet.ok("listens", say(ctx, "listens_ok", path=repr(where)), at, SIDE)
    return where


def connect_failed(ctx: Context, run: Run, path: str, conn: Connect) -> str:
    return say(ctx, "connect_failed", path=repr(path), error=conn.error, doing=doing(ctx, run))


def serve_next(ctx: Context, tr: Trial, checkpoint: str, path: str, conn: Connect | None,
               data: bytes) -> tuple[bool, str, str]:
    """A new client connected and sent ``data``: (answered right, message, output)."""
    at = tr.at(checkpoint)
    run = at.run(SIDE)
    if conn is None:
        return False, ctx.text("not_reached"), ""
    if conn.error is not None:
        return False, connect_failed(ctx, run, path, conn), facts.shown_output(run.events)
    got = replies(at.events, conn.side)
    if not got:
        return False, ctx.text("not_reached"), ""
    if got[0].got == data.upper():
        return True, ctx.text("exchange.ok", sent=repr(data), got=repr(got[0].got)), ""
    return (False, reply_problem(ctx, run, got[0], data.upper(), accepted_since=conn.t),
            facts.shown_output(run.events))


def _leaves(ctx: Context, tr: Trial, path: str, first: Connect) -> tuple[bool, str, str]:
    lang = ctx.lang
    conns = connects(tr.events)
    if tr.mark("leaves:shut") is not None:
        at = tr.at("leaves:shut")
        run = at.run(SIDE)
        return False, t("unix_server.not_closed", lang, seconds=f"{LEAVE:g}",
                        doing=doing(ctx, run)), facts.shown_output(run.events)
    ok, message, output = serve_next(ctx, tr, "leaves:next", path, _nth(conns, 1), b"next client")
    head = ctx.text("next.ok" if ok else "next.failed", how=ctx.text("how.normal"))
    if not ok:
        return False, head + sep(lang) + message, output
    first_ok = t("unix_server.closed_ok", lang) + sep(lang) + head + sep(lang) + message
    unread = _nth(conns, 2)
    if unread is not None and unread.error is not None:
        at = tr.at("leaves:unread")
        run = at.run(SIDE)
        return False, connect_failed(ctx, run, path, unread), facts.shown_output(run.events)
    ok, message, output = serve_next(ctx, tr, "next_client", path, _nth(conns, 3),
                                     b"after a reset")
    if not ok:
        return False, t("unix_server.unread_head", lang, sent=repr(UNREAD)) + sep(lang) \
            + message, output
    return True, first_ok + sep(lang) + t("unix_server.unread_ok", lang, sent=repr(UNREAD)) \
        + sep(lang) + message, ""


def _nth(items: list, n: int):
    return items[n] if n < len(items) else None


def unix_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    path = judge_start(sheet, tr)
    at = tr.at("echo")
    run = at.run(SIDE)
    peer = nth(connects(at.events), 0, sheet, "echo", at)
    if peer.error is not None:
        sheet.stop("echo", connect_failed(ctx, run, path, peer), facts.shown_output(run.events),
                   at)
    got = replies(at.events, peer.side)
    for i, data in enumerate(MESSAGES):
        reply = nth(got, i, sheet, "echo", at)
        if reply.got != data.upper():
            sheet.stop("echo", reply_problem(ctx, run, reply, data.upper()),
                       facts.shown_output(run.events), at)
    sheet.ok("echo", say(ctx, "echo_ok", n=len(MESSAGES)), at, SIDE)

    ok, message, output = _leaves(ctx, tr, path, peer)
    begin = tr.mark("restart:begin")
    at = tr.at("restart:begin")
    if ok:
        sheet.ok("next_client", message, at, SIDE)
    else:
        sheet.fail("next_client", message, output, at)

    if begin is None:
        sheet.stopped_at = "restart"
        raise Stop("restart")
    at = tr.at("restart")
    later = [c for c in connects(at.events) if c.t >= begin.t]
    client = nth(later, 0, sheet, "restart", at)
    run = at.run(SIDE, 0)
    if client.error is not None:
        sheet.stop("restart", connect_failed(ctx, run, path, client),
                   facts.shown_output(run.events), at)
    reply = nth(replies(at.events, client.side), 0, sheet, "restart", at)
    if reply.got != b"BEFORE":
        sheet.stop("restart", reply_problem(ctx, run, reply, b"BEFORE"),
                   facts.shown_output(run.events), at)
    stale = next((e.text for e in tr.events if e.kind == "mark" and e.name == "stale"), "none")
    stale = {"left": say(ctx, "stale_left", path=repr(path)),
             "made": say(ctx, "stale_made", path=repr(path))}.get(stale, "")
    head = stale + sep(ctx.lang) if stale else ""
    again_at = tr.at("restart:again")
    again_run = again_at.run(SIDE, 1)
    again = facts.listening_on(again_run.events)
    if not isinstance(again, str):
        sheet.stop("restart", head + say(ctx, "restart_no_listen",
                                         how=doing(ctx, again_run)),
                   facts.shown_output(again_run.events), again_at)
    ok, message, output = serve_next(ctx, tr, "restart", again, _nth(later, 1), b"after restart")
    if ok:
        sheet.ok("restart", head + say(ctx, "restart_ok", path=repr(again)) + sep(ctx.lang)
                 + message, at, SIDE)
    else:
        sheet.fail("restart", head + say(ctx, "restart_no_serve") + sep(ctx.lang) + message,
                   output, at)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 9."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            unix_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
