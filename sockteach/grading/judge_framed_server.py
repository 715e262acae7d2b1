"""The judge of exercise 6 (the framed server), from the events :mod:`.drive_framed_server`
recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import IN_PIECES, PART, PAYLOADS, SIZE, frame, pieces_of
from .judge_servers import (SIDE, Run, closed_too, connect_failed, doing, judge_start,
                            lingered, nth, reply_problem)
from .judging import Context, Sheet, Stop, Trial, budget_of, trials
from .exchanges import Reply, connects, replies
from .texts import judge_text, sep



def _t(ctx: Context, key: str, **values: object) -> str:
    return judge_text("framed_server", ctx.lang, key, **values)


def _problem(ctx: Context, run: Run, reply: Reply, want: bytes) -> str:
    message = reply_problem(ctx, run, reply, want)
    got = reply.got
    if got and not got.startswith(want[:4]) and want[4:].startswith(got[:len(want) - 4]):
        message += _t(ctx, "frame.no_prefix")  # the bare payload came back
    return message


def _in_pieces(ctx: Context, tr: Trial, side: str) -> tuple[bool, str, str]:
    """The frame sent in three pieces: (answered right, message, output)."""
    data = frame(IN_PIECES)
    pieces = pieces_of(data)
    sizes = " + ".join(str(len(p)) for p in pieces)
    expected = frame(IN_PIECES.upper())
    head = _t(ctx, "pieces.head", n=len(pieces), sizes=sizes)
    at = tr.at("frame_in_pieces")
    sent_so_far = b""
    for i in range(1, len(pieces) + 1):
        step = tr.at(f"piece:{i}") if i < len(pieces) else at
        run = step.run(SIDE)
        got = replies(step.events, side)
        if len(got) < 2 + i:
            return False, ctx.text("not_reached"), ""
        piece = got[1 + i]
        sent_so_far += piece.sent
        if piece.send_failed:
            reply = Reply(sent_so_far, expected, b"", piece.end, piece.t_sent)
            return (False, head + sep(ctx.lang) + _problem(ctx, run, reply, expected),
                    facts.shown_output(run.events))
        if i == len(pieces):
            reply = Reply(data, expected, piece.got, piece.end, piece.t_sent)
            if reply.got == expected:
                return True, _t(ctx, "pieces.ok", n=len(pieces), sizes=sizes), ""
            return (False, head + sep(ctx.lang) + _problem(ctx, run, reply, expected),
                    facts.shown_output(run.events))
        so_far = f"{len(sent_so_far)}/{len(data)}"
        if piece.got:
            return False, head + sep(ctx.lang) + _t(ctx, "pieces.early", i=i, n=len(pieces),
                                                     got=so_far, reply=repr(piece.got)), ""
        if run.exited:
            return (False, head + sep(ctx.lang) + _t(ctx, "pieces.ended", i=i, n=len(pieces),
                                                      got=so_far, doing=doing(ctx, run)),
                    facts.shown_output(run.events))
    return False, ctx.text("not_reached"), ""


def framed_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    addr = judge_start(sheet, tr)
    at = tr.at("one_frame")
    run = at.run(SIDE)
    peer = nth(connects(at.events), 0, sheet, "one_frame", at)
    if peer.error is not None:
        sheet.stop("one_frame", connect_failed(ctx, run, peer), facts.shown_output(run.events),
                   at)
    reply = nth(replies(at.events, peer.side), 0, sheet, "one_frame", at)
    if reply.got != frame(b"HELLO"):
        sheet.stop("one_frame", _problem(ctx, run, reply, frame(b"HELLO")),
                   facts.shown_output(run.events), at)
    sheet.ok("one_frame", _t(ctx, "frame.ok", sent=repr(reply.sent), got=repr(reply.got)), at,
             SIDE)

    at = tr.at("frames_together")
    run = at.run(SIDE)
    want = b"".join(frame(p.upper()) for p in PAYLOADS)
    reply = nth(replies(at.events, peer.side), 1, sheet, "frames_together", at)
    if reply.got != want:
        sheet.stop("frames_together", _t(ctx, "together.head", n=len(PAYLOADS)) + sep(ctx.lang)
                   + _problem(ctx, run, reply, want), facts.shown_output(run.events), at)
    sheet.ok("frames_together", _t(ctx, "together.ok", n=len(PAYLOADS)), at, SIDE)

    ok, message, output = _in_pieces(ctx, tr, peer.side)
    at = tr.at("frame_in_pieces")
    if not ok:
        sheet.stop("frame_in_pieces", message, output, at)
    sheet.ok("frame_in_pieces", message, at, SIDE)

    at = tr.at("next_client")
    run = at.run(SIDE)
    conns = connects(at.events)
    second = nth(conns, 1, sheet, "next_client", at)
    if second.error is not None:
        sheet.stop("next_client", _t(ctx, "next.failed") + sep(ctx.lang)
                   + connect_failed(ctx, run, second), facts.shown_output(run.events), at)
    reply = nth(replies(at.events, second.side), 0, sheet, "next_client", at)
    if reply.got != frame(b"NEXT CLIENT"):
        sheet.stop("next_client", _t(ctx, "next.failed") + sep(ctx.lang)
                   + _problem(ctx, run, reply, frame(b"NEXT CLIENT")),
                   facts.shown_output(run.events), at)
    served = _t(ctx, "next.ok", detail=_t(ctx, "frame.ok", sent=repr(reply.sent),
                                           got=repr(reply.got)))
    ok, message, _ = closed_too(ctx, (True, served, ""), lingered(tr, peer), addr[1])
    if not ok:
        sheet.stop("next_client", message, "", at)

    head = ctx.text("framed_server.midframe_head", size=SIZE, part=PART) + sep(ctx.lang)
    third = nth(conns, 2, sheet, "next_client", at)
    if third.error is not None:
        message = head + connect_failed(ctx, run, third)
        if run.exited:
            message += sep(ctx.lang) + ctx.text("framed_server.midframe_hint")
        sheet.fail("next_client", message, facts.shown_output(run.events), at)
        return
    want = frame(b"AFTER A HALF FRAME")
    reply = nth(replies(at.events, third.side), 0, sheet, "next_client", at)
    if reply.got == want:
        sheet.ok("next_client", served + sep(ctx.lang) + ctx.text(
            "framed_server.midframe_ok", size=SIZE, part=PART, sent=repr(reply.sent),
            got=repr(reply.got)), at, SIDE)
    else:
        sheet.fail("next_client", head + _problem(ctx, run, reply, want),
                   facts.shown_output(run.events), at)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 6."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            framed_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
