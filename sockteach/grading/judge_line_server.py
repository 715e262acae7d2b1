"""The judge of exercise 10 (the line-based server), from the events
:mod:`.drive_line_server` recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import LEAVE
from .plan import FIRST, LINES, REST, answer
from .judge_servers import (SIDE, connect_failed, doing, judge_start, new_client_reply,
                            nth, reply_problem)
from .judging import Context, Sheet, Stop, Trial, budget_of, trials
from .exchanges import connects, reads, replies
from .texts import judge_text, sep, t



def say(ctx: Context, key: str, **values: object) -> str:
    return judge_text("line_server", ctx.lang, key, **values)


def tidy(events: list[Event], text: str, lang: str) -> str:
    """``recv_into(buffer)`` instead of the buffer's raw contents the trace shows as its
    argument (what a makefile() file's readline() waits in)."""
    for e in events:
        if e.kind == "call" and e.name in ("recv_into", "recvfrom_into") and e.args:
            text = text.replace(f"{e.name}({', '.join(e.args)})", f"{e.name}(buffer)")
        elif e.kind == "return" and e.name == "recv_into" and e.result and e.result.isdigit():
            # recv_into() returns a count, not the bytes: say so.
            n = int(e.result)
            count = f"{n} 字节" if lang == "zh" else f"{n} byte{'s' if n != 1 else ''}"
            text = text.replace(t("doing.no_reply", lang, data=e.result),
                                t("doing.no_reply", lang, data=count))
    return text


class _Tidy:
    """The sheet, with every message passed through :func:`tidy` (as the trial stood)."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    def ok(self, name: str, message: str, at: Trial) -> None:
        self.sheet.ok(name, tidy(at.events, message, self.sheet.ctx.lang), at, SIDE)

    def stop(self, name: str, message: str, output: str, at: Trial) -> None:
        self.sheet.stop(name, tidy(at.events, message, self.sheet.ctx.lang), output, at)


def line_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    r = _Tidy(sheet)
    addr = judge_start(sheet, tr)
    at = tr.at("one_line")
    run = at.run(SIDE)
    peer = nth(connects(at.events), 0, sheet, "one_line", at)
    if peer.error is not None:
        sheet.stop("one_line", connect_failed(ctx, run, peer), facts.shown_output(run.events),
                   at)
    reply = nth(replies(at.events, peer.side), 0, sheet, "one_line", at)
    if reply.got != b"1: HELLO\n":
        r.stop("one_line", reply_problem(ctx, run, reply, b"1: HELLO\n"),
               facts.shown_output(run.events), at)
    r.ok("one_line", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)), at)

    at = tr.at("lines_in_one_write")
    run = at.run(SIDE)
    reply = nth(replies(at.events, peer.side), 1, sheet, "lines_in_one_write", at)
    if reply.got != answer(LINES, 2):
        r.stop("lines_in_one_write", say(ctx, "several_head") + sep(ctx.lang)
               + reply_problem(ctx, run, reply, answer(LINES, 2)),
               facts.shown_output(run.events), at)
    r.ok("lines_in_one_write", say(ctx, "several_ok", sent=repr(reply.sent),
                                   got=repr(reply.got)), at)

    at = tr.at("line_in_pieces")
    run = at.run(SIDE)
    sent = replies(at.events, peer.side)
    half = nth(sent, 2, sheet, "line_in_pieces", at)
    if half.end not in ("reset", "eof") and half.got:
        r.stop("line_in_pieces", say(ctx, "pieces_early", sent=repr(FIRST), got=repr(half.got)),
               facts.shown_output(run.events), at)
    want = answer([FIRST + REST], 5)
    reply = nth(sent, 3, sheet, "line_in_pieces", at)
    if reply.got != want:
        r.stop("line_in_pieces", say(ctx, "pieces_head", first=repr(FIRST), rest=repr(REST))
               + sep(ctx.lang) + reply_problem(ctx, run, reply, want),
               facts.shown_output(run.events), at)
    r.ok("line_in_pieces", say(ctx, "pieces_ok", first=repr(FIRST), rest=repr(REST),
                               got=repr(reply.got)), at)

    at = tr.at("half_close")
    run = at.run(SIDE)
    problem = None
    shut = [e for e in at.events if e.side == peer.side and e.name == "shutdown"]
    if shut and shut[-1].kind == "return":
        end = reads(at.events, peer.side)[-1]
        if end.got:
            problem = ctx.text("line_server.after_eof", got=repr(end.got))
        elif end.end == "timeout":
            problem = ctx.text("line_server.not_closed", seconds=f"{LEAVE:g}",
                               doing=tidy(at.events, doing(ctx, run), ctx.lang))
    if problem:
        r.stop("next_client", problem, facts.shown_output(run.events), at)
    at = tr.at("next_client")
    second, reply = new_client_reply(sheet, at, "next_client", 1, b"1: AGAIN\n",
                             say(ctx, "next_head") + sep(ctx.lang), stop=r.stop)
    r.ok("next_client", say(ctx, "next_ok", sent=repr(reply.sent), got=repr(reply.got)), at)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 10."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            line_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
