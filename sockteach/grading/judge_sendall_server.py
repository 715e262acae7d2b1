"""The judge of exercise 5 (delivering a large payload), from the events
:mod:`.drive_sendall_server` recorded. Pure: no process, no socket, no clock."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Event
from . import facts
from .plan import ACCEPT
from .plan import IDLE, PAYLOAD, blocked_send, has_deadline
from .judge_servers import SIDE, _addr, connect_failed, doing, judge_start, nth
from .judging import Context, Run, Sheet, Stop, Trial, budget_of, trials
from .exchanges import connects
from .texts import judge_text, sep



def _t(ctx: Context, key: str, **values: object) -> str:
    return judge_text("sendall_server", ctx.lang, key, **values)


@dataclass
class Download:
    nbytes: int
    head: bytes
    end: str
    differs_at: int
    window: bytes
    window_at: int

    @property
    def whole(self) -> bool:
        return self.nbytes == len(PAYLOAD) and self.differs_at == len(PAYLOAD)

    def part(self, a: int, b: int) -> bytes:
        return self.window[max(0, a - self.window_at):max(0, b - self.window_at)]


def downloads(evs: list[Event], side: str) -> list[Download]:
    out: list[Download] = []
    for e in evs:
        if e.side != side:
            continue
        if e.kind == "return" and e.name == "recv":
            out.append(Download(e.nbytes or 0, e.payload or b"", e.text or "", 0, b"", 0))
        elif e.kind == "mark" and e.name == "difference" and out:
            out[-1].differs_at, out[-1].window_at = e.count or 0, e.nbytes or 0
            out[-1].window = e.payload or b""
    return out


def _send_results(run: Run, since: float) -> str:
    """The server's sending calls and what they returned, shortened: send() → 32741, …"""
    out = []
    for e in run.since(since):
        if e.name in facts.SEND_NAMES and e.kind in ("return", "raise"):
            what = e.result if e.kind == "return" else e.error
            out.append(f"{e.name}() → {what}")
    if len(out) > 4:
        out = out[:3] + ["…", out[-1]]
    return ", ".join(out)


def _intact_problem(ctx: Context, d: Download) -> str | None:
    """Why the download (at least as long as the payload) is not exactly the payload."""
    at = d.differs_at
    if at < len(PAYLOAD):
        more = ""
        for k in range(at, max(0, at - 16), -1):  # where data starts over, if it does
            if d.part(k, k + 16) == PAYLOAD[:16]:
                at, more = k, _t(ctx, "intact.restart")
                break
        return _t(ctx, "intact.differs", at=at, expected=repr(PAYLOAD[at:at + 16]),
                  got=repr(d.part(at, at + 16)), more=more)
    if d.nbytes > len(PAYLOAD):
        return _t(ctx, "intact.extra", n=f"{len(PAYLOAD):,}", extra=d.nbytes - len(PAYLOAD),
                  head=repr(d.part(len(PAYLOAD), len(PAYLOAD) + 16)))
    return None


def _why(ctx: Context, run: Run, d: Download, since: float) -> str:
    n = f"{len(PAYLOAD):,}"
    if not d.nbytes:
        return _t(ctx, "sends.nothing", seconds=f"{IDLE:g}", doing=doing(ctx, run, since))
    if d.nbytes < len(PAYLOAD):
        key = {"eof": "complete.short_closed", "reset": "complete.short_reset"}.get(
            d.end, "complete.short_open")
        return _t(ctx, key, got=f"{d.nbytes:,}", n=n, seconds=f"{IDLE:g}",
                  doing=doing(ctx, run, since))
    return _intact_problem(ctx, d) or ""


def sendall_server(sheet: Sheet, tr: Trial) -> None:
    ctx = sheet.ctx
    n = f"{len(PAYLOAD):,}"
    addr = judge_start(sheet, tr)
    at = tr.at("accepts")
    run = at.run(SIDE)
    peer = nth(connects(at.events), 0, sheet, "accepts", at)
    if peer.error is not None:
        sheet.stop("accepts", connect_failed(ctx, run, peer), facts.shown_output(run.events), at)
    if not facts.accepted_since(run.events, peer.t):
        sheet.stop("accepts", ctx.text("accepts.no", addr=_addr(addr), seconds=f"{ACCEPT:g}",
                                       doing=doing(ctx, run)), facts.shown_output(run.events), at)
    sheet.ok("accepts", ctx.text("accepts.ok"), at, SIDE)

    at = tr.at("download")
    run = at.run(SIDE)
    got = nth(downloads(at.events, peer.side), 0, sheet, "sends", at)
    if not got.nbytes:
        later = tr.at("sends")
        run = later.run(SIDE)
        sheet.stop("sends", _t(ctx, "sends.nothing", seconds=f"{IDLE:g}", doing=doing(ctx, run)),
                   facts.shown_output(run.events), later)
    sheet.ok("sends", _t(ctx, "sends.ok", head=repr(got.head)), at, SIDE)
    if got.nbytes < len(PAYLOAD):
        message = _why(ctx, run, got, peer.t)
        calls = _send_results(run, peer.t)
        if calls:
            message += sep(ctx.lang) + _t(ctx, "complete.sends", calls=calls)
        sheet.stop("complete", message, facts.shown_output(run.events), at)
    sheet.ok("complete", _t(ctx, "complete.ok", n=n), at, SIDE)
    problem = _intact_problem(ctx, got)
    if problem:
        sheet.fail("intact", problem, "", at)
    else:
        sheet.ok("intact", _t(ctx, "intact.ok", n=n), at, SIDE)
    if got.end in ("eof", "reset"):
        sheet.ok("closes", _t(ctx, "closes.ok"), at, SIDE)
    else:
        sheet.fail("closes", _t(ctx, "closes.open", seconds=f"{IDLE:g}",
                                doing=doing(ctx, run, peer.t)), facts.shown_output(run.events),
                   at)

    at = tr.at("download:2") if tr.mark("download:2") else tr.at("next_client")
    run = at.run(SIDE)
    conns = connects(at.events)
    second = nth(conns, 1, sheet, "next_client", at)
    if second.error is not None:
        sheet.stop("next_client", _t(ctx, "next.connect", error=second.error,
                                     doing=doing(ctx, run)), facts.shown_output(run.events), at)
    got2 = nth(downloads(at.events, second.side), 0, sheet, "next_client", at)
    if got2.whole:
        ok, message, output = _stalled_then_reset(ctx, tr)
        at = tr.at("next_client")
        if ok:
            sheet.ok("next_client", _t(ctx, "next.ok", n=n) + sep(ctx.lang) + message, at, SIDE)
        else:
            sheet.fail("next_client", message, output, at)
        return
    since = _connected(at, second)
    sheet.fail("next_client", _t(ctx, "next.failed") + sep(ctx.lang)
               + _why(ctx, run, got2, since), facts.shown_output(run.events), at)


def _connected(at: Trial, conn) -> float:
    """When ``conn`` was connected (its connect returned)."""
    return next((e.t for e in at.events if e.side == conn.side and e.kind == "return"
                 and e.name == "connect"), conn.t)


def _crashed(ctx: Context, run: Run, message: str) -> str:
    """``message``, and what to do when the server ended (one client ended it)."""
    if run.exited:
        return message + sep(ctx.lang) + ctx.text("sendall_server.stall_try")
    return message


def _stalled_then_reset(ctx: Context, tr: Trial) -> tuple[bool, str, str]:
    n = f"{len(PAYLOAD):,}"
    at = tr.at("next_client")
    run = at.run(SIDE)
    conns = connects(at.events)
    if len(conns) < 3:
        return False, ctx.text("not_reached"), ""
    stalled = conns[2]
    if stalled.error is not None:
        return False, _t(ctx, "next.connect", error=stalled.error, doing=doing(ctx, run)), \
            facts.shown_output(run.events)
    stall = tr.at("stall")
    mark = stall.mark("stall")
    blocked = blocked_send(stall.run(SIDE).events, stalled.t)
    if blocked is not None and not has_deadline(stall.run(SIDE).events, stalled.t, blocked):
        waited = (mark.t if mark is not None else blocked.t) - stalled.t
        return False, ctx.text("sendall_server.stall_no_timeout", call=f"{blocked.name}()",
                               seconds=f"{waited:.1f}"), ""
    head = ctx.text("sendall_server.stall_head") + sep(ctx.lang)
    if len(conns) < 4:
        return False, ctx.text("not_reached"), ""
    third = conns[3]
    if third.error is not None:
        return False, _crashed(ctx, run, head + _t(ctx, "next.connect", error=third.error,
                                                   doing=doing(ctx, run))), \
            facts.shown_output(run.events)
    got = downloads(at.events, third.side)
    if not got:
        return False, ctx.text("not_reached"), ""
    if got[0].whole:
        return True, ctx.text("sendall_server.stall_ok", n=n), ""
    return False, _crashed(ctx, run, head + _why(ctx, run, got[0], _connected(at, third))), \
        facts.shown_output(run.events)


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 5."""
    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            sendall_server(sheet, runs[0])
    except Stop:
        pass
    return sheet
