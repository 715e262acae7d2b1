"""The judge of exercise 7 (the UDP server), from the events :mod:`.drive_udp_server`
recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import REPLY, START
from .texts import judge_text
from .plan import BURST, LONG
from .judging import Context, Run, Sheet, Stop, Trial, budget_of, trials
from .judge_servers import doing

SIDE = "server"



def _t(ctx: Context, key: str, **values: object) -> str:
    return judge_text("udp_server", ctx.lang, key, **values)


class Ops:
    """One UDP client's datagrams, in order, read back as the driver made them."""

    def __init__(self, evs: list[Event], side: str) -> None:
        self.ops = [e for e in evs if e.side == side and e.kind in ("call", "return")
                    and (e.name == "recvfrom" or (e.name == "sendto" and e.kind == "call"))]
        self.i = 0

    def send(self) -> None:
        if self.i < len(self.ops) and self.ops[self.i].kind == "call":
            self.i += 1

    def recv(self) -> bytes | None:
        if self.i < len(self.ops) and self.ops[self.i].kind == "return" \
                and self.ops[self.i].text not in ("drain", "drained"):
            e = self.ops[self.i]
            self.i += 1
            return None if e.text == "timeout" else (e.payload or b"")
        return None

    def drain(self) -> list[bytes]:
        out = []
        while self.i < len(self.ops) and self.ops[self.i].text == "drain":
            out.append(self.ops[self.i].payload or b"")
            self.i += 1
        if self.i < len(self.ops) and self.ops[self.i].text == "drained":
            self.i += 1
        return out


def _shown(data: bytes) -> str:
    return repr(data) if len(data) <= 40 else f"{data[:20]!r}… ({len(data):,} bytes)"


def _nothing(ctx: Context, run: Run, sent: bytes, addr: tuple) -> str:
    message = _t(ctx, "reply.nothing", sent=_shown(sent), addr=f"{addr[0]}:{addr[1]}",
                 seconds=f"{REPLY:g}", doing=doing(ctx, run))
    if any(e.name == "listen" for e in run.events):
        message += _t(ctx, "reply.tcp")
    return message


def udp_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    at = tr.at("binds")
    run = at.run(SIDE, 0)
    out = lambda r: facts.shown_output(r.events)  # noqa: E731
    stop = facts.violation(run.events)
    if stop is not None:
        sheet.stop("runs", facts.sentence(facts.violation_text(stop, ctx.lang)), out(run), at)
    found = facts.bound(run.events)
    if found is None:
        calls = facts.socket_calls(run.events)
        if run.exited:
            if run.code != 0 and calls == 0:
                sheet.stop("runs", ctx.text("runs.crashed",
                                            how=facts.ending(run.events, ctx.lang)), out(run), at)
            sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
            sheet.stop("binds", _t(ctx, "binds.ended", how=facts.ending(run.events, ctx.lang)),
                       out(run), at)
        call = facts.input_call(run.events)
        if call is not None and calls == 0:
            sheet.stop("runs", ctx.text("runs.input", prompt=facts.prompt(call)), out(run), at)
        sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
        sheet.stop("binds", _t(ctx, "binds.never", seconds=f"{START:g}", doing=doing(ctx, run)),
                   out(run), at)
    sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
    call, result = found
    addr = facts.bound_address(call)
    nominal = call.args[0] if call.args else "?"
    if result.kind == "raise" or addr is None:
        later = tr.at("binds:raised")
        sheet.stop("binds", _t(ctx, "binds.raised", addr=nominal, error=result.error or "?",
                               message=result.message or ""), out(later.run(SIDE, 0)), later)
    sheet.ok("binds", _t(ctx, "binds.ok", addr=nominal, real=f"{addr[0]}:{addr[1]}"), at, SIDE)

    a, b = Ops(tr.events, "peer"), Ops(tr.events, "peer2")
    at = tr.at("upper_reply")
    run = at.run(SIDE, 0)
    a.send()
    got = a.recv()
    if got is None:
        sheet.stop("upper_reply", _nothing(ctx, run, b"hello", addr), out(run), at)
    if got != b"HELLO":
        sheet.stop("upper_reply", _t(ctx, "reply.wrong", sent=repr(b"hello"),
                                     expected=repr(b"HELLO"), got=repr(got)), out(run), at)
    sheet.ok("upper_reply", _t(ctx, "reply.ok", sent=repr(b"hello"), got=repr(got)), at, SIDE)

    at = tr.at("several")
    run = at.run(SIDE, 0)
    a.drain()
    for _ in BURST:
        a.send()
    answers: list[bytes] = []
    while len(answers) < len(BURST):
        got = a.recv()
        if got is None:
            break
        answers.append(got)
    want = [d.upper() for d in BURST]
    if answers == want:
        sheet.ok("several", _t(ctx, "several.ok", n=len(BURST),
                               got=", ".join(map(repr, answers))), at, SIDE)
    else:
        message = _t(ctx, "several.failed", n=len(BURST), sent=", ".join(map(repr, BURST)),
                     expected=", ".join(map(repr, want)),
                     got=", ".join(map(repr, answers)) or "nothing", seconds=f"{REPLY:g}",
                     doing=doing(ctx, run))
        if run.exited:
            sheet.stop("several", message, out(run), at)
        sheet.fail("several", message, out(run), at)

    at = tr.at("each_sender")
    run = at.run(SIDE, 0)
    a.drain()
    b.drain()
    b.send()
    got_b = b.recv()
    stray = a.drain()
    if got_b == b"FROM B":
        a.send()
        got_a = a.recv()
        if got_a == b"FROM A":
            sheet.ok("each_sender", _t(ctx, "each.ok", a=repr(got_a), b=repr(got_b)), at, SIDE)
        elif got_a is None:
            sheet.fail("each_sender", _nothing(ctx, run, b"from a", addr), out(run), at)
        else:
            sheet.fail("each_sender", _t(ctx, "reply.wrong", sent=repr(b"from a"),
                                         expected=repr(b"FROM A"), got=repr(got_a)), "", at)
    elif got_b is None and stray:
        sheet.fail("each_sender", _t(ctx, "each.wrong_place", sent=repr(b"from b"),
                                     got=repr(stray[0])), "", at)
    elif got_b is None:
        sheet.fail("each_sender", _t(ctx, "each.nothing", sent=repr(b"from b"),
                                     seconds=f"{REPLY:g}", doing=doing(ctx, run)), out(run), at)
    else:
        sheet.fail("each_sender", _t(ctx, "reply.wrong", sent=repr(b"from b"),
                                     expected=repr(b"FROM B"), got=repr(got_b)), "", at)
    if run.exited:
        sheet.stop("empty_datagram", _t(ctx, "empty.gone", seconds=f"{REPLY:g}",
                                        doing=doing(ctx, run)), out(run), at)

    at = tr.at("empty_datagram")
    run = at.run(SIDE, 0)
    a.drain()
    a.send()
    got = a.recv()
    if got is None:
        a.send()
        after = a.recv()
        if after is not None:
            sheet.fail("empty_datagram", _t(ctx, "empty.skipped", seconds=f"{REPLY:g}"), "", at)
        else:
            sheet.stop("empty_datagram", _t(ctx, "empty.gone", seconds=f"{REPLY:g}",
                                            doing=doing(ctx, run)), out(run), at)
    elif got != b"":
        sheet.fail("empty_datagram", _t(ctx, "empty.wrong", got=repr(got)), "", at)
    else:
        a.send()
        after = a.recv()
        if after == b"STILL THERE":
            sheet.ok("empty_datagram", _t(ctx, "empty.ok"), at, SIDE)
        elif after is None:
            sheet.stop("empty_datagram", _nothing(ctx, run, b"still there", addr), out(run), at)
        else:
            sheet.fail("empty_datagram", _t(ctx, "reply.wrong", sent=repr(b"still there"),
                                            expected=repr(b"STILL THERE"), got=repr(after)),
                       "", at)

    at = tr.at("long_datagram")
    run = at.run(SIDE, 0)
    a.drain()
    a.send()
    got = a.recv()
    if got == LONG.upper():
        sheet.ok("long_datagram", _t(ctx, "long.ok", n=f"{len(LONG):,}"), at, SIDE)
    elif got is None:
        sheet.fail("long_datagram", _nothing(ctx, run, LONG, addr), out(run), at)
    elif LONG.upper().startswith(got):
        sheet.fail("long_datagram", _t(ctx, "long.short", n=f"{len(LONG):,}",
                                       got=f"{len(got):,}"), "", at)
    else:
        sheet.fail("long_datagram", _t(ctx, "long.wrong", n=f"{len(LONG):,}",
                                       got=_shown(got)), "", at)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 7."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            udp_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
