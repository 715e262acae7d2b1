"""The judges of exercises 1, 3 and 4: from a grading run's events (recorded by
:mod:`.drive_servers`) to one verdict per check. Pure: no process, no socket, no clock.

Each reads the trial's events as they stood at the driver's checkpoints, so a verdict rests
on exactly what the grader had seen when it looked.
"""

from __future__ import annotations

from ..events import Event
from . import facts
from .plan import ACCEPT, REPLY, START, loopback
from .plan import MESSAGES
from .judging import Context, Run, Sheet, Stop, Trial, trials
from .exchanges import Connect, Reply, connects, replies
from .texts import judge_text, sep

# Wording of the checks added after the mutation run (docs/mutation.md), kept beside them.

SIDE = "server"


def text(lang: str, key: str, **values: object) -> str:
    return judge_text("servers", lang, key, **values)


def _addr(address) -> str:
    return f"{address[0]}:{address[1]}"


def doing(ctx: Context, run: Run, since: float = 0.0) -> str:
    return facts.doing(run.events, ctx.lang, run.started, since)


# ---------------------------------------------------------------- shared judgements


def judge_start(sheet: Sheet, tr: Trial) -> tuple:
    """``runs`` and ``listens``: the address it listens on, or a Stop that says why not."""
    ctx = sheet.ctx
    at = tr.at("listens")
    run = at.run(SIDE, 0)
    addr = facts.listen_address(run.events)
    if addr and not loopback(addr[0]):
        sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
        sheet.stop("listens", ctx.text("listens.not_loopback", addr=_addr(addr)), "", at)
    if addr:
        sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
        sheet.ok("listens", ctx.text("listens.ok", addr=facts.nominal_address(run.events),
                                     real=_addr(addr)), at, SIDE)
        return addr
    out = facts.shown_output(run.events)
    stop = facts.violation(run.events)
    if stop is not None:
        sheet.stop("runs", facts.sentence(facts.violation_text(stop, ctx.lang)), out, at)
    calls = facts.socket_calls(run.events)
    if run.exited:
        if run.code != 0 and calls == 0:
            sheet.stop("runs", ctx.text("runs.crashed", how=facts.ending(run.events, ctx.lang)),
                       out, at)
        sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
        sheet.stop("listens", ctx.text("listens.ended", how=facts.ending(run.events, ctx.lang)),
                   out, at)
    call = facts.input_call(run.events)
    if call is not None and calls == 0:
        sheet.stop("runs", ctx.text("runs.input", prompt=facts.prompt(call)), out, at)
    sheet.ok("runs", ctx.text("runs.ok"), at, SIDE)
    sheet.stop("listens", ctx.text("listens.never", seconds=f"{START:g}",
                                   doing=doing(ctx, run)), out, at)


def rerun_address(sheet: Sheet, tr: Trial, check: str) -> tuple:
    """A later trial's server: where it listens, or a Stop on ``check``."""
    at = tr.at("rerun")
    run = at.run(SIDE, 0)
    addr = facts.listen_address(run.events)
    if addr is None or not loopback(addr[0]):
        sheet.stop(check, sheet.ctx.text("rerun.no_listen", doing=doing(sheet.ctx, run)),
                   facts.shown_output(run.events), at)
    return addr


def nth(items: list, n: int, sheet: Sheet, check: str, at: Trial):
    """The ``n``-th connection or reply; a run that ended before it (the grader was
    stopped) leaves the check not checked."""
    if n < len(items):
        return items[n]
    sheet.stopped_at = check
    raise Stop(check)


def connect_failed(ctx: Context, run: Run, conn: Connect) -> str:
    return ctx.text("connect.failed", addr=_addr(conn.address), error=conn.error,
                    doing=doing(ctx, run))


def reply_problem(ctx: Context, run: Run, reply: Reply, expected: bytes,
                  accepted_since: float | None = None, seconds: float = REPLY) -> str:
    """Why ``reply`` is not right: sent, expected, what came back, and what the server did."""
    v = dict(sent=repr(reply.sent), expected=repr(expected), got=repr(reply.got),
             seconds=f"{seconds:g}")
    if reply.end is None:
        return ctx.text("exchange.wrong", **v)
    if reply.end in ("eof", "reset"):
        key = "exchange.closed" if reply.end == "eof" else "exchange.reset"
        if not reply.got:
            key += "_nothing"
        return ctx.text(key, doing=doing(ctx, run, reply.t_sent), **v)
    said = doing(ctx, run, reply.t_sent)
    if accepted_since is not None and not facts.accepted_since(run.events, accepted_since) \
            and not run.exited:
        said = ctx.text("doing.not_accepted") + sep(ctx.lang) + said
    key = "exchange.partial" if reply.got else "exchange.nothing"
    return ctx.text(key, doing=said, **v)


def new_client_reply(sheet: Sheet, at: Trial, check: str, n: int, expected: bytes,
                     head: str = "", stop=None) -> tuple[Connect, Reply]:
    """The ``n``-th client of the window connects and sends: its connection and reply, else
    a Stop on
    ``check`` that says (after ``head``) why it was not ``expected``; ``stop`` replaces
    ``sheet.stop`` (a judge that tidies its messages first)."""
    ctx, run, stop = sheet.ctx, at.run(SIDE), stop or sheet.stop
    conn = nth(connects(at.events), n, sheet, check, at)
    if conn.error is not None:
        stop(check, head + connect_failed(ctx, run, conn), facts.shown_output(run.events), at)
    reply = nth(replies(at.events, conn.side), 0, sheet, check, at)
    if reply.got != expected:
        stop(check, head + reply_problem(ctx, run, reply, expected, accepted_since=conn.t),
             facts.shown_output(run.events), at)
    return conn, reply


def first_echo(sheet: Sheet, at: Trial, message: bytes, check: str = "echo") -> Connect:
    """The window's first client connects, sends ``message`` and must get it back in upper
    case: ``check`` passes (or a Stop says why not); the connection, for what follows."""
    ctx = sheet.ctx
    conn = nth(connects(at.events), 0, sheet, check, at)
    if conn.error is not None:
        run = at.run(SIDE)
        sheet.stop(check, connect_failed(ctx, run, conn), facts.shown_output(run.events), at)
    reply = judge_exchanges(sheet, at, conn, (message,), check)[0]
    sheet.ok(check, ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)), at,
             SIDE)
    return conn


def judge_exchanges(sheet: Sheet, at: Trial, conn: Connect, messages, check: str,
                    numbered: bool = False, start: int = 0) -> list[Reply]:
    """The replies on ``conn`` to ``messages`` (from the ``start``-th): each must be the
    message in upper case, else a Stop on ``check`` that says what came back."""
    ctx = sheet.ctx
    run = at.run(SIDE)
    got = replies(at.events, conn.side)
    for i, data in enumerate(messages):
        reply = nth(got, start + i, sheet, check, at)
        if reply.got != data.upper():
            head = ctx.text("several.failed", n=start + i + 1) + sep(ctx.lang) if numbered \
                else ""
            sheet.stop(check, head + reply_problem(ctx, run, reply, data.upper()),
                       facts.shown_output(run.events), at)
    return got


def judge_next(ctx: Context, at: Trial, conn: Connect, data: bytes) -> tuple[bool, str, str]:
    """A new client connected and sent ``data``: (answered right, message, output)."""
    run = at.run(SIDE)
    if conn.error is not None:
        return False, connect_failed(ctx, run, conn), facts.shown_output(run.events)
    got = replies(at.events, conn.side)
    if not got:
        return False, ctx.text("not_reached"), ""
    reply = got[0]
    if reply.got == data.upper():
        return True, ctx.text("exchange.ok", sent=repr(data), got=repr(reply.got)), ""
    return (False, reply_problem(ctx, run, reply, data.upper(), accepted_since=conn.t),
            facts.shown_output(run.events))


def record_next(sheet: Sheet, at: Trial, name: str, how: str, ok: bool, message: str,
                output: str) -> None:
    """The verdict on serving a new client after the first left (``how``: normal / reset)."""
    ctx = sheet.ctx
    head = ctx.text("next.ok" if ok else "next.failed", how=ctx.text(f"how.{how}"))
    if ok:
        sheet.ok(name, head + sep(ctx.lang) + message, at, SIDE)
    else:
        sheet.fail(name, head + sep(ctx.lang) + message, output, at)


def _port(text: str) -> int | None:
    try:
        return int(text.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def window(tr: Trial, what: str) -> tuple[Event | None, list[Event]]:
    """The grader's look at the kernel's table called ``what``: its mark and the samples."""
    mark, samples = None, []
    for e in tr.events:
        if mark is None:
            if e.kind == "mark" and e.name == "window" and e.title == what:
                mark = e
            continue
        if e.kind == "tcp":
            samples.append(e)
        elif e.kind == "mark" or e.side.startswith("peer"):
            break
    return mark, samples


def lingered(tr: Trial, conn: Connect, what: str = "close_wait") -> float | None:
    """Linux: how long the server's end of ``conn`` stayed in CLOSE_WAIT when it still was
    when the grader stopped looking (the window ``what``); None once it was closed (or
    without the table)."""
    mark, samples = window(tr, what)
    if mark is None or not samples or conn.local is None:
        return None
    port, peer_port = conn.address[1], conn.local[1]
    still = any(_port(local) == port and _port(remote) == peer_port and state == "CLOSE_WAIT"
                for local, remote, state in samples[-1].states or ())
    return mark.seconds if still else None


def closed_too(ctx: Context, served: tuple[bool, str, str], waited: float | None,
               port: int) -> tuple[bool, str, str]:
    """A next client served, but the first one's connection left in CLOSE_WAIT: a failure."""
    ok, message, output = served
    if ok and waited is not None:
        said = text(ctx.lang, "close_wait", seconds=f"{waited:g}", port=port)
        return False, message + sep(ctx.lang) + said[:1].upper() + said[1:], output
    return served


def first_close(tr: Trial) -> float:
    """When the grader's first client closed (the moment it left)."""
    return next((e.t for e in tr.events if e.side == "peer" and e.kind == "call"
                 and e.name == "close"), tr.events[-1].t if tr.events else 0.0)


def judge_echo_part(sheet: Sheet, tr: Trial) -> tuple[tuple, Connect]:
    """Start, connect, two messages: ``runs``, ``listens``, ``echo``."""
    addr = judge_start(sheet, tr)
    at = tr.at("echo")
    conn = nth(connects(at.events), 0, sheet, "echo", at)
    if conn.error is not None:
        run = at.run(SIDE)
        sheet.stop("echo", connect_failed(sheet.ctx, run, conn), facts.shown_output(run.events),
                   at)
    judge_exchanges(sheet, at, conn, (b"hello", b"Second line"), "echo")
    sheet.ok("echo", sheet.ctx.text("echo.ok", n=2), at, SIDE)
    return addr, conn


# ---------------------------------------------------------------- the exercises


def echo_server(sheet: Sheet, runs: list[Trial]) -> None:
    ctx = sheet.ctx
    tr = runs[0]
    addr = judge_start(sheet, tr)
    at = tr.at("accepts")
    run = at.run(SIDE)
    conn = nth(connects(at.events), 0, sheet, "accepts", at)
    if conn.error is not None:
        sheet.stop("accepts", connect_failed(ctx, run, conn), facts.shown_output(run.events), at)
    if not facts.accepted_since(run.events, conn.t):
        sheet.stop("accepts", ctx.text("accepts.no", addr=_addr(addr), seconds=f"{ACCEPT:g}",
                                       doing=doing(ctx, run)), facts.shown_output(run.events), at)
    sheet.ok("accepts", ctx.text("accepts.ok"), at, SIDE)
    at = tr.at("upper_reply")
    reply = judge_exchanges(sheet, at, conn, (b"hello",), "upper_reply")[0]
    sheet.ok("upper_reply", ctx.text("exchange.ok", sent=repr(reply.sent), got=repr(reply.got)),
             at, SIDE)
    at = tr.at("several_messages")
    judge_exchanges(sheet, at, conn, MESSAGES, "several_messages", numbered=True, start=1)
    sheet.ok("several_messages", ctx.text("several.ok", n=len(MESSAGES) + 1), at, SIDE)


def loop_server(sheet: Sheet, runs: list[Trial]) -> None:
    ctx = sheet.ctx
    tr = runs[0]
    addr, first = judge_echo_part(sheet, tr)
    at = tr.at("next_after_close")
    conn = nth(connects(at.events), 1, sheet, "next_after_close", at)
    ok, message, output = closed_too(ctx, judge_next(ctx, at, conn, b"next client"),
                                     lingered(tr, first), addr[1])
    spins = facts.spin_count(at.run(SIDE).events, first_close(tr))
    if spins > facts.SPIN_LIMIT:
        sheet.fail("no_spin", ctx.text("no_spin.spin", count=f"{spins:,}",
                                       limit=facts.SPIN_LIMIT), "", at)
    else:
        sheet.ok("no_spin", ctx.text("no_spin.ok", count=spins), at, SIDE)
    record_next(sheet, at, "next_after_close", "normal", ok, message, output)

    tr2 = nth(runs, 1, sheet, "next_after_reset", tr)
    rerun_address(sheet, tr2, "next_after_reset")
    at = tr2.at("next_after_reset")
    run = at.run(SIDE)
    first = nth(connects(at.events), 0, sheet, "next_after_reset", at)
    if first.error is not None:
        sheet.stop("next_after_reset", connect_failed(ctx, run, first),
                   facts.shown_output(run.events), at)
    judge_exchanges(sheet, at, first, (b"one",), "next_after_reset")
    conn = nth(connects(at.events), 1, sheet, "next_after_reset", at)
    ok, message, output = judge_next(ctx, at, conn, b"after a reset")
    record_next(sheet, at, "next_after_reset", "reset", ok, message, output)


def reset_then_next(ctx: Context, at: Trial, first: int) -> tuple[bool, str, str]:
    """A client (the ``first``-th connection) exchanged one message and reset the
    connection; the next one must be served: (answered right, message, output)."""
    run = at.run(SIDE)
    conns = connects(at.events)
    if len(conns) <= first:
        return False, ctx.text("not_reached"), ""
    reset = conns[first]
    if reset.error is not None:
        return False, connect_failed(ctx, run, reset), facts.shown_output(run.events)
    got = replies(at.events, reset.side)
    if not got:
        return False, ctx.text("not_reached"), ""
    if got[0].got != b"ONE":
        return (False, reply_problem(ctx, run, got[0], b"ONE", accepted_since=reset.t),
                facts.shown_output(run.events))
    if len(conns) <= first + 1:
        return False, ctx.text("not_reached"), ""
    return judge_next(ctx, at, conns[first + 1], b"after a reset")


def restartable_server(sheet: Sheet, runs: list[Trial]) -> None:
    ctx = sheet.ctx
    tr = runs[0]
    addr, first = judge_echo_part(sheet, tr)
    at = tr.at("next_client")
    conn = nth(connects(at.events), 1, sheet, "next_client", at)
    ok, message, output = closed_too(ctx, judge_next(ctx, at, conn, b"next client"),
                                     lingered(tr, first), addr[1])
    if not ok:
        record_next(sheet, at, "next_client", "normal", ok, message, output)
    else:  # and after a client that leaves abruptly, as in lesson 3
        at = tr.at("next_client:reset")
        ok2, message2, output2 = reset_then_next(ctx, at, 2)
        if ok2:
            sheet.ok("next_client", ctx.text("next.ok", how=ctx.text("how.normal"))
                     + sep(ctx.lang) + message + sep(ctx.lang)
                     + ctx.text("next.ok", how=ctx.text("how.reset")) + sep(ctx.lang) + message2,
                     at, SIDE)
        else:
            record_next(sheet, at, "next_client", "reset", ok2, message2, output2)

    # The restart, on a fresh trial: stopped while a client was connected, started again.
    tr2 = nth(runs, 1, sheet, "restart", tr)
    addr2 = rerun_address(sheet, tr2, "restart")
    at = tr2.at("restart")
    run = at.run(SIDE, 0)
    client = nth(connects(at.events), 0, sheet, "restart", at)
    if client.error is not None:
        sheet.stop("restart", connect_failed(ctx, run, client), facts.shown_output(run.events),
                   at)
    judge_exchanges(sheet, at, client, (b"before",), "restart")
    mark, samples = window(tr2, "time_wait")
    in_time_wait = mark is not None and any(
        _port(local) == addr2[1] and state == "TIME_WAIT"
        for e in samples for local, _remote, state in e.states or ())
    state = ctx.text("restart.time_wait", port=addr2[1]) if in_time_wait else ""
    at = tr2.at("restart:again")
    again_run = at.run(SIDE, 1)
    again = facts.listen_address(again_run.events)
    if again is None:
        sheet.stop("restart", ctx.text("restart.no_listen", state=state,
                                       how=doing(ctx, again_run)),
                   facts.shown_output(again_run.events), at)
    if again[1] != addr2[1]:
        sheet.stop("restart", text(ctx.lang, "restart_port", state=state, now=again[1],
                                   before=addr2[1]), "", at)
    at = tr2.at("restart:copy")
    copy = facts.listen_address(at.run(f"{SIDE}-copy").events)
    if copy is not None and copy[1] == again[1]:
        sheet.stop("restart", text(ctx.lang, "second_copy", port=again[1]), "", at)
    at = tr2.at("restart")
    conns = connects(at.events)
    if len(conns) < 2:
        sheet.stopped_at = "restart"
        raise Stop("restart")
    ok, message, output = judge_next(ctx, at, conns[1], b"after restart")
    if ok:
        sheet.ok("restart", ctx.text("restart.ok", state=state) + sep(ctx.lang) + message, at,
                 SIDE)
    else:
        sheet.fail("restart", ctx.text("restart.no_serve", state=state) + sep(ctx.lang) + message,
                   output, at)


JUDGES = {"echo_server": echo_server, "loop_server": loop_server,
          "restartable_server": restartable_server}


def judge(events: list[Event], ctx: Context) -> Sheet:
    """Every check's verdict for a run of exercise 1, 3 or 4."""
    from .judging import budget_of

    sheet = Sheet(ctx)
    sheet.budget = budget_of(events)
    runs = trials(events)
    try:
        if runs:
            JUDGES[ctx.exercise.scenario](sheet, runs)
    except Stop:
        pass
    return sheet
