"""The judge of exercise 2 (the line client): from the events :mod:`.drive_client` recorded
to one verdict per check. Pure: no process, no socket, no clock."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Event
from . import facts
from .plan import INPUT, PRINT, REPLY, START
from .plan import WIDE_LINE, printed_forms
from .judging import Context, Run, Sheet, Stop, Trial, budget_of, trials
from .exchanges import peer_received
from .texts import sep

SIDE = "client"


@dataclass
class Line:
    sent_ok: bool
    send_message: str
    printed_ok: bool
    print_message: str


def _doing(ctx: Context, run: Run) -> str:
    return facts.doing(run.events, ctx.lang, run.started)


def _typed(run: Run, text: str) -> Event | None:
    return next((e for e in run.events if e.kind == "mark" and e.name == "typed"
                 and e.text == text), None)


def judge_line(ctx: Context, tr: Trial, text: str, name: str) -> Line | None:
    """What reached the grader's server when ``text`` was typed, and what the client
    printed; None when the grader never typed it."""
    end = tr.at(f"line:{name}:end")
    run = end.run(SIDE)
    mark = _typed(run, text)
    if mark is None:
        return None
    if mark.code != 0:
        message = ctx.text("empty.gone", how=_doing(ctx, run))
        return Line(False, message, False, message)
    sent = tr.at(f"line:{name}:sent")
    want = text.encode()
    got = peer_received(sent.events, mark.t)
    typed = repr(text)
    if got.rstrip(b"\r\n") == want:
        sent_ok, send_message = True, ctx.text("sends.ok", typed=typed, got=repr(got))
    elif not got:
        sent_ok, send_message = False, ctx.text("sends.nothing", typed=typed,
                                                seconds=f"{REPLY:g}",
                                                doing=_doing(ctx, sent.run(SIDE)))
    else:
        sent_ok, send_message = False, ctx.text("sends.wrong", typed=typed,
                                                expected=repr(want), got=repr(got))
    if not got:
        return Line(sent_ok, send_message, False, ctx.text("prints.no_reply"))
    reply = got.upper()
    forms = printed_forms(got)
    out = facts.output(run.events)[mark.count or 0:]
    if any(form in out for form in forms):
        return Line(sent_ok, send_message, True, ctx.text("prints.ok", reply=repr(reply)))
    return Line(sent_ok, send_message, False,
                ctx.text("prints.no", reply=repr(reply), text=repr(forms[0]),
                         seconds=f"{PRINT:g}", doing=_doing(ctx, run)))


def _both(ctx: Context, first: Line, second: Line) -> Line:
    """Two typed lines judged together: the first failure of each kind, else both messages."""
    def pick(ok1: bool, m1: str, ok2: bool, m2: str) -> tuple[bool, str]:
        if not ok1:
            return False, m1
        if not ok2:
            return False, m2
        return True, m1 + sep(ctx.lang) + m2

    sent_ok, send_message = pick(first.sent_ok, first.send_message, second.sent_ok,
                                 second.send_message)
    printed_ok, print_message = pick(first.printed_ok, first.print_message, second.printed_ok,
                                     second.print_message)
    return Line(sent_ok, send_message, printed_ok, print_message)


def _missing(sheet: Sheet, check: str) -> None:
    """The run ended before the grader got there (it was stopped): not checked."""
    sheet.stopped_at = check
    raise Stop(check)


def line_client(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    at = tr.at("connects")
    run = at.run(SIDE, 0)
    out = lambda r: facts.shown_output(r.events)  # noqa: E731
    stop = facts.violation(run.events)
    if stop is not None:
        sheet.stop("runs", facts.sentence(facts.violation_text(stop, ctx.lang)), out(run), at)
    outcome = facts.connect_outcome(run.events)
    calls = facts.socket_calls(run.events)
    if run.exited and run.code != 0 and calls == 0:
        sheet.stop("runs", ctx.text("runs.crashed", how=facts.ending(run.events, ctx.lang)),
                   out(run), at)
    sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
    deferred = False
    if outcome and outcome != "ok":
        later = tr.at("connects:failed")
        sheet.stop("connects", ctx.text("connects.failed", error=outcome),
                   out(later.run(SIDE, 0)), later)
    elif outcome == "ok":
        sheet.ok("connects", ctx.text("connects.ok", addr=facts.connect_target(run.events)),
                 at, SIDE)
    elif run.exited:
        sheet.stop("connects", ctx.text("connects.ended", how=facts.ending(run.events, ctx.lang)),
                   out(run), at)
    elif facts.input_call(run.events) is not None:
        deferred = True  # it asks first and connects later: judged after the first line
    else:
        sheet.stop("connects", ctx.text("connects.never", seconds=f"{START:g}",
                                        doing=_doing(ctx, run)), out(run), at)

    at = tr.at("asks_input")
    run = at.run(SIDE, 0)
    call = facts.input_call(run.events)
    if call is None:
        sheet.stop("asks_input", ctx.text("asks.never", seconds=f"{INPUT:g}",
                                          doing=_doing(ctx, run)), out(run), at)
    sheet.ok("asks_input", ctx.text("asks.ok", prompt=facts.prompt(call)), at, SIDE)

    line = judge_line(ctx, tr, "ping 1", "ping")
    if line is None:
        _missing(sheet, "sends_line")
    at = tr.at("line:ping:end")
    run = at.run(SIDE, 0)
    if deferred:
        outcome = facts.connect_outcome(run.events)
        if outcome == "ok":
            sheet.ok("connects", ctx.text("connects.ok", addr=facts.connect_target(run.events)),
                     at, SIDE)
        elif outcome:
            sheet.stop("connects", ctx.text("connects.failed", error=outcome), out(run), at)
        else:
            sheet.stop("connects", ctx.text("connects.never", seconds=f"{START:g}",
                                            doing=_doing(ctx, run)), out(run), at)
    if line.sent_ok and line.printed_ok and not run.exited:
        wide = tr.at("wide")
        if facts.input_call(wide.run(SIDE, 0).events) is not None:
            second = judge_line(ctx, tr, WIDE_LINE, "wide")
            if second is not None:
                line = _both(ctx, line, second)
    at = tr.at("sends_line")
    run = at.run(SIDE, 0)
    if line.sent_ok:
        sheet.ok("sends_line", line.send_message, at, SIDE)
    else:
        sheet.fail("sends_line", line.send_message, out(run), at)
    if line.printed_ok:
        sheet.ok("prints_reply", line.print_message, at, SIDE)
    else:
        sheet.fail("prints_reply", line.print_message,
                   facts.shown_output(run.events, always=True) if line.sent_ok else "", at)
    if run.exited:
        sheet.stop("empty_line", ctx.text("empty.gone", how=facts.ending(run.events, ctx.lang)),
                   "", at)
    judge_empty(sheet, tr)

    line = judge_line(ctx, tr, "again", "again")
    if line is None:
        _missing(sheet, "after_empty")
    at = tr.at("after_empty")
    run = at.run(SIDE, 0)
    if line.sent_ok and line.printed_ok:
        sheet.ok("after_empty", line.send_message + sep(ctx.lang) + line.print_message, at,
                 SIDE)
    else:
        sheet.fail("after_empty", (line.send_message if not line.sent_ok
                                   else line.print_message),
                   facts.shown_output(run.events, always=line.sent_ok), at)


def judge_empty(sheet: Sheet, tr: Trial) -> None:
    """The empty line: not sent (send(b'') sends nothing, and the client then waits for a
    reply that cannot come), and the client asks again."""
    ctx = sheet.ctx
    at = tr.at("empty:ask")
    run = at.run(SIDE, 0)
    out = lambda r: facts.shown_output(r.events)  # noqa: E731
    if facts.input_call(run.events) is None:
        sheet.stop("empty_line", ctx.text("empty.not_asking", doing=_doing(ctx, run)), out(run),
                   at)
    at = tr.at("empty_line")
    run = at.run(SIDE, 0)
    mark = _typed(run, "")
    if mark is None:
        _missing(sheet, "empty_line")
    if mark.code != 0:
        sheet.stop("empty_line", ctx.text("empty.gone", how=_doing(ctx, run)), "", at)
    t2 = mark.t
    received = peer_received(at.events, t2)
    sends = facts.empty_sends(run.events, t2)
    asks = facts.asks_since(run.events, t2)
    if run.exited:
        sheet.stop("empty_line", ctx.text("empty.exited", how=facts.ending(run.events, ctx.lang)),
                   out(run), at)
    if received:
        message = ctx.text("empty.sent_data", got=repr(received))
        if not asks:
            sheet.stop("empty_line", message + sep(ctx.lang) + _doing(ctx, run), out(run), at)
        sheet.fail("empty_line", message, "", at)
    elif sends and not asks:
        sheet.stop("empty_line", ctx.text("empty.hangs", call=f"{sends[0].name}(b'')",
                                          doing=_doing(ctx, run)), out(run), at)
    elif sends:
        sheet.fail("empty_line", ctx.text("empty.sent_empty", call=f"{sends[0].name}(b'')"), "",
                   at)
    elif asks:
        sheet.ok("empty_line", ctx.text("empty.ok"), at, SIDE)
    else:
        sheet.stop("empty_line", ctx.text("empty.no_prompt", seconds=f"{REPLY:g}",
                                          doing=_doing(ctx, run)), out(run), at)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 2."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            line_client(sheet, runs[0])
    except Stop:
        pass
    return sheet
