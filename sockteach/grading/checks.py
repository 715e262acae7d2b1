"""The checks: one scenario per kind of exercise, each a short script against real runs.

A scenario starts the learner's program in one or more :class:`Trial`\\ s, plays the grader's
peer against it, and records one verdict per check with the :class:`Recorder`. When a failure
makes the next checks impossible it stops; those checks then say they were not checked, and
why. Verdicts come from behaviour (bytes on the wire) and the trace (calls, returns, exits),
never from the source text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NoReturn

from .. import kernel
from ..exercises import Exercise
from ..session import SessionError
from .texts import sep, t
from .trial import SEND_NAMES, SPIN_LIMIT, Budget, Peer, Reply, Trial, UpperServer, tail

# Deadlines (seconds). A correct program meets each in milliseconds; only broken ones wait.
START = 3.0  # to listen (server) or connect (client)
ACCEPT = 2.0
REPLY = 2.0
INPUT = 2.0
PRINT = 1.0
LEAVE = 1.0  # for the server to react to a client that left
STOP = 1.0  # for Ctrl-C to end the server before SIGKILL
TIME_WAIT = 1.0
CLOSE = 2.0  # for the server to close its end after a client left (Linux: CLOSE_WAIT ends)
SECOND = 1.5  # for a second copy of a running server to fail (or listen)

# Wording of the checks added after the mutation run (docs/mutation.md). Kept here, like the
# later scenarios' texts, so the shared catalogues texts.*.toml stay as they are.
TEXTS = {
    "en": {
        "close_wait": "but the first client's connection was never closed: after that client "
                      "left, the server's end stayed in CLOSE_WAIT for {seconds} s (the kernel's "
                      "table, port {port}) — the server holds a dead connection until something "
                      "else happens. When the communication loop ends, conn.close().",
        "restart_port": "Stopped with Ctrl-C while a client was connected, then started again "
                        "at once{state}: it listens on port {now} now, not on port {before} as "
                        "before — restarted, a server must come back where its clients look for "
                        "it (bind the same port every time, not port 0).",
        "second_copy": "It restarts at once, but a second copy started while it was still "
                       "running listened on the same port {port} too: two live servers then "
                       "share the port and the kernel splits the clients between them "
                       "(SO_REUSEPORT allows that). SO_REUSEADDR allows the restart without "
                       "allowing two live listeners: a second copy must fail with errno 98.",
    },
    "zh": {
        "close_wait": "但第一个客户端的连接一直没有关闭：客户端离开之后，服务端这一端在 CLOSE_WAIT "
                      "状态停留了 {seconds} 秒（内核连接表，端口 {port}）—— 服务端一直占着一条已经"
                      "断开的连接。通信循环结束后，要 conn.close()。",
        "restart_port": "有客户端连着的时候用 Ctrl-C 停掉，然后立刻重新启动{state}：它现在监听的是端口 "
                        "{now}，而不是之前的端口 {before} —— 重启后的服务端必须回到客户端找它的那个"
                        "端口（每次都绑定同一个端口，不要用端口 0）。",
        "second_copy": "它可以立刻重启，但在它还在运行的时候再启动一份，第二份也在同一个端口 {port} 上"
                       "监听成功了：两个活着的服务端共享一个端口，内核会把客户端分给它们（SO_REUSEPORT "
                       "就允许这样）。SO_REUSEADDR 允许重启，但不允许两个活着的监听套接字：第二份"
                       "必须以 errno 98 失败。",
    },
}


def _text(ctx: "Context", key: str, **values: object) -> str:
    table = TEXTS.get(ctx.lang) or TEXTS["en"]
    return (table.get(key) or TEXTS["en"][key]).format(**values)


class Stop(Exception):
    """The scenario cannot go on; the remaining checks are not checked."""


@dataclass
class Verdict:
    passed: bool
    message: str
    output: str = ""
    seconds: float = 0.0


@dataclass
class Recorder:
    exercise: Exercise
    lang: str
    budget: Budget
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    stopped_at: str | None = None
    trials: list = field(default_factory=list)
    _last: float = field(default_factory=time.monotonic)

    def text(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def _put(self, name: str, verdict: Verdict) -> None:
        if name not in {c.name for c in self.exercise.checks}:
            raise KeyError(f"check {name!r} is not in exercise.toml of lesson "
                           f"{self.exercise.number}")
        if name in self.verdicts:
            return  # the first verdict of a check stands
        now = time.monotonic()
        verdict.seconds = round(now - self._last, 3)
        self._last = now
        self.verdicts[name] = verdict

    def ok(self, name: str, message: str) -> None:
        for trial in self.trials:  # a flood or a fork fails the check it happened in
            if trial.closed:
                continue
            problem = trial.police()
            if problem:
                self.stop(name, sentence(problem), tail(trial.output()))
        self._put(name, Verdict(True, message))

    def fail(self, name: str, message: str, output: str = "") -> None:
        if self.budget.expired:
            message += sep(self.lang) + self.text("budget", seconds=f"{self.budget.seconds:g}")
        self._put(name, Verdict(False, message, output))

    def stop(self, name: str, message: str, output: str = "") -> NoReturn:
        self.fail(name, message, output)
        self.stopped_at = name
        raise Stop(name)

    def passed(self, name: str) -> bool:
        v = self.verdicts.get(name)
        return v is not None and v.passed


@dataclass
class Context:
    exercise: Exercise
    script: Path
    lang: str
    budget: Budget
    rec: Recorder

    @property
    def trials(self) -> list[Trial]:
        return self.rec.trials

    def trial(self, side: str) -> Trial:
        trial = Trial(self.script, side, self.lang, self.budget)
        self.rec.trials.append(trial)
        return trial

    def text(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)


def _loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")


def shown_output(trial: Trial, rec=None, always: bool = False) -> str:
    """The end of the program's output, when it tells what happened: it crashed, printed a
    traceback, was stopped by the watchdog — or the check is about what it printed."""
    rec = rec or trial.record
    text = trial.output(rec)
    if always or trial.violation or "Traceback" in text or (
            rec is not None and rec.exit_code not in (None, 0)):
        return tail(text)
    return ""


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, final stop."""
    text = text[:1].upper() + text[1:]
    if text.endswith((".", "。", "?", "？")):
        return text
    return text + ("。" if _cjk(text) else ".")


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _b(data: bytes) -> str:
    return repr(data)


def _addr(address: tuple) -> str:
    return f"{address[0]}:{address[1]}"


# ---------------------------------------------------------------- shared steps


def start_server(ctx: Context, trial: Trial, judge: bool = True) -> tuple | None:
    """Start the server and wait until it listens. With ``judge``, record ``runs`` and
    ``listens`` (and stop on failure); otherwise return None when it does not listen."""
    rec = trial.start()
    trial.wait(lambda: trial.listen_address(rec) or trial.exited(rec)
               or trial.input_call(rec), START)
    addr = trial.listen_address(rec)
    if addr and not _loopback(addr[0]):
        trial.kill(rec)
        if judge:
            ctx.rec.ok("runs", ctx.text("runs.ok"))
            ctx.rec.stop("listens", ctx.text("listens.not_loopback", addr=_addr(addr)))
        return None
    if not judge or addr:
        if judge:
            ctx.rec.ok("runs", ctx.text("runs.ok"))
            ctx.rec.ok("listens", ctx.text("listens.ok", addr=trial.nominal_address(rec),
                                            real=_addr(addr)))
        return addr
    r = ctx.rec
    out = shown_output(trial, rec)
    if trial.violation:
        r.stop("runs", sentence(trial.violation), out)
    if trial.exited(rec):
        if rec.exit_code != 0 and trial.socket_calls(rec) == 0:
            r.stop("runs", ctx.text("runs.crashed", how=trial.ending(rec)), out)
        r.ok("runs", ctx.text("runs.ok"))
        r.stop("listens", ctx.text("listens.ended", how=trial.ending(rec)), out)
    call = trial.input_call(rec)
    if call is not None and trial.socket_calls(rec) == 0:
        r.stop("runs", ctx.text("runs.input", prompt=(call.args or ("''",))[0]), out)
    r.ok("runs", ctx.text("runs.ok"))
    r.stop("listens", ctx.text("listens.never", seconds=f"{START:g}", doing=trial.doing(rec)), out)


def connect(ctx: Context, trial: Trial, addr: tuple, check: str) -> Peer:
    """The grader's client connects; a refused connection fails ``check``."""
    peer, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        ctx.rec.stop(check, ctx.text("connect.failed", addr=_addr(addr), error=error,
                                     doing=trial.doing()), shown_output(trial))
    return peer


def reply_problem(ctx: Context, trial: Trial, reply: Reply, accepted_since: float | None = None,
                  seconds: float = REPLY) -> str:
    """Why ``reply`` is not right: sent, expected, what came back, and what the server does."""
    v = dict(sent=_b(reply.sent), expected=_b(reply.expected), got=_b(reply.got),
             seconds=f"{seconds:g}")
    if reply.end is None:
        return ctx.text("exchange.wrong", **v)
    if reply.end in ("eof", "reset"):
        trial.wait(lambda: trial.exited(), 0.5)
        if trial.ending_now():  # it died: say how, once its exit is in
            trial.wait(lambda: trial.exited(), 2.0)
        key = "exchange.closed" if reply.end == "eof" else "exchange.reset"
        if not reply.got:
            key += "_nothing"
        return ctx.text(key, doing=trial.doing(since=reply.t_sent), **v)
    doing = trial.doing(since=reply.t_sent)
    if accepted_since is not None and not trial.accepted_since(accepted_since) \
            and not trial.exited():
        doing = ctx.text("doing.not_accepted") + sep(ctx.lang) + doing
    key = "exchange.partial" if reply.got else "exchange.nothing"
    return ctx.text(key, doing=doing, **v)


def left_reaction(trial: Trial, since: float) -> bool:
    """After a client left: has the server moved on (closed, accepted, raised, ended) or spun?"""
    if trial.exited() or trial.spin_count(since) > SPIN_LIMIT:
        return True
    return any((e.kind == "call" and e.name in ("close", "accept", "shutdown"))
               or e.kind == "raise" for e in trial.events(since=since))


def record_next(ctx: Context, name: str, how: str, ok: bool, message: str, output: str) -> None:
    """The verdict on serving a new client after the first left (``how``: normal / reset)."""
    head = ctx.text("next.ok" if ok else "next.failed", how=ctx.text(f"how.{how}"))
    if ok:
        ctx.rec.ok(name, head + sep(ctx.lang) + message)
    else:
        ctx.rec.fail(name, head + sep(ctx.lang) + message, output)


def serve_next(ctx: Context, trial: Trial, addr: tuple, data: bytes) -> tuple[bool, str, str]:
    """A new client connects and sends ``data``: (answered right, message, output)."""
    t0 = trial.now()
    peer, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        return False, ctx.text("connect.failed", addr=_addr(addr), error=error,
                               doing=trial.doing()), shown_output(trial)
    reply = trial.exchange(peer, data, data.upper(), REPLY)
    if reply.ok:
        peer.close()
        return True, ctx.text("exchange.ok", sent=_b(data), got=_b(reply.got)), ""
    message = reply_problem(ctx, trial, reply, accepted_since=t0)
    peer.close()
    return False, message, shown_output(trial)


def leave_normally(ctx: Context, trial: Trial, peer: Peer) -> float | None:
    """The grader's client closes normally; wait for the server to react. Returns how long
    the server's end then stayed in CLOSE_WAIT when it never closed it (Linux), else None."""
    try:
        peer_port = peer.sock.getsockname()[1]
        port = peer.sock.getpeername()[1]
    except OSError:
        peer_port = port = None
    t_left = trial.now()
    peer.close()
    trial.wait(lambda: left_reaction(trial, t_left), LEAVE)
    if peer_port is None:
        return None
    return close_wait(ctx, port, peer_port)


def close_wait(ctx: Context, port: int, peer_port: int) -> float | None:
    """Linux: the seconds the server's end of the connection from ``peer_port`` to ``port``
    stayed in CLOSE_WAIT when it still is after :data:`CLOSE`; None once it is closed (or
    where the kernel's table cannot be read)."""
    if not kernel.available():
        return None
    timeout = ctx.budget.cap(CLOSE)
    closed = ctx.budget.poll(lambda: not any(
        row.local_port == port and row.remote_port == peer_port and row.state == "CLOSE_WAIT"
        for row in kernel.read_rows()), timeout)
    return None if closed or ctx.budget.cancelled.is_set() else timeout


def closed_too(ctx: Context, served: tuple[bool, str, str], lingered: float | None,
               port: int) -> tuple[bool, str, str]:
    """A next client served, but the first one's connection left in CLOSE_WAIT: a failure."""
    ok, message, output = served
    if ok and lingered is not None:
        text = _text(ctx, "close_wait", seconds=f"{lingered:g}", port=port)
        return False, message + sep(ctx.lang) + text[:1].upper() + text[1:], output
    return served


def reset_then_next(ctx: Context, trial: Trial, addr: tuple) -> tuple[bool, str, str]:
    """A client exchanges one message, then resets the connection; a new client must be
    served: (answered right, message, output)."""
    t0 = trial.now()
    first, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        return False, ctx.text("connect.failed", addr=_addr(addr), error=error,
                               doing=trial.doing()), shown_output(trial)
    reply = trial.exchange(first, b"one", b"ONE", REPLY)
    if not reply.ok:
        message = reply_problem(ctx, trial, reply, accepted_since=t0)
        first.close()
        return False, message, shown_output(trial)
    t_reset = trial.now()
    first.reset()
    trial.wait(lambda: left_reaction(trial, t_reset), LEAVE)
    return serve_next(ctx, trial, addr, b"after a reset")


def second_copy_listens(trial: Trial, port: int) -> bool:
    """While the program runs, start a second copy of it: does it listen on ``port`` too?
    (It should fail with errno 98; one that waits and retries does not listen either.)"""
    try:
        rec = trial.session.start(f"{trial.side}-copy", trial.script, cwd=trial.script.parent)
    except Exception:
        return False
    try:
        trial.wait(lambda: trial.listen_address(rec) or trial.exited(rec)
                   or trial.input_call(rec), SECOND)
        addr = trial.listen_address(rec)
        return addr is not None and addr[1] == port
    finally:
        trial.kill(rec)


# ---------------------------------------------------------------- exercise 1: echo server


def echo_server(ctx: Context) -> None:
    """Accepts one client and answers every message with its upper-case version."""
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    t0 = trial.now()
    peer = connect(ctx, trial, addr, "accepts")
    trial.wait(lambda: trial.accepted_since(t0) or trial.exited() or trial.input_call(), ACCEPT)
    if not trial.accepted_since(t0):
        r.stop("accepts", ctx.text("accepts.no", addr=_addr(addr), seconds=f"{ACCEPT:g}",
                                   doing=trial.doing()), shown_output(trial))
    r.ok("accepts", ctx.text("accepts.ok"))

    reply = trial.exchange(peer, b"hello", b"HELLO", REPLY)
    if not reply.ok:
        r.stop("upper_reply", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("upper_reply", ctx.text("exchange.ok", sent=_b(reply.sent), got=_b(reply.got)))

    messages = [b"second message", b"Mixed Case, 42!", b"the end of " + b"a longer line " * 20]
    for i, data in enumerate(messages, start=2):
        reply = trial.exchange(peer, data, data.upper(), REPLY)
        if not reply.ok:
            r.stop("several_messages", ctx.text("several.failed", n=i) + sep(ctx.lang)
                   + reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("several_messages", ctx.text("several.ok", n=len(messages) + 1))


# ---------------------------------------------------------------- exercise 3: connection loop


def loop_server(ctx: Context) -> None:
    """Upper-case echo; serves the next client after one leaves normally or abruptly; no spin."""
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    peer = connect(ctx, trial, addr, "echo")
    for data in (b"hello", b"Second line"):
        reply = trial.exchange(peer, data, data.upper(), REPLY)
        if not reply.ok:
            r.stop("echo", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("echo", ctx.text("echo.ok", n=2))

    t_left = trial.now()
    lingered = leave_normally(ctx, trial, peer)
    ok, message, output = closed_too(ctx, serve_next(ctx, trial, addr, b"next client"),
                                     lingered, addr[1])
    spins = trial.spin_count(t_left)
    if spins > SPIN_LIMIT:
        r.fail("no_spin", ctx.text("no_spin.spin", count=f"{spins:,}", limit=SPIN_LIMIT))
    else:
        r.ok("no_spin", ctx.text("no_spin.ok", count=spins))
    record_next(ctx, "next_after_close", "normal", ok, message, output)

    # A fresh run for the abrupt leave, so it does not depend on the normal one.
    trial.close()
    trial2 = ctx.trial("server")
    addr2 = start_server(ctx, trial2, judge=False)
    if addr2 is None:
        r.stop("next_after_reset", ctx.text("rerun.no_listen", doing=trial2.doing()),
               shown_output(trial2))
    first = connect(ctx, trial2, addr2, "next_after_reset")
    reply = trial2.exchange(first, b"one", b"ONE", REPLY)
    if not reply.ok:
        r.stop("next_after_reset", reply_problem(ctx, trial2, reply), shown_output(trial2))
    t_reset = trial2.now()
    first.reset()
    trial2.wait(lambda: left_reaction(trial2, t_reset), LEAVE)
    ok, message, output = serve_next(ctx, trial2, addr2, b"after a reset")
    record_next(ctx, "next_after_reset", "reset", ok, message, output)


# ---------------------------------------------------------------- exercise 4: restart at once


def restartable_server(ctx: Context) -> None:
    """The lesson 3 server that can be stopped while a client is connected and restarted at
    once on the same port (TIME_WAIT on the port)."""
    r = ctx.rec
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    peer = connect(ctx, trial, addr, "echo")
    for data in (b"hello", b"Second line"):  # two messages: a communication loop
        reply = trial.exchange(peer, data, data.upper(), REPLY)
        if not reply.ok:
            r.stop("echo", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("echo", ctx.text("echo.ok", n=2))
    lingered = leave_normally(ctx, trial, peer)
    ok, message, output = closed_too(ctx, serve_next(ctx, trial, addr, b"next client"),
                                     lingered, addr[1])
    if not ok:
        record_next(ctx, "next_client", "normal", ok, message, output)
    else:  # and after a client that leaves abruptly, as in lesson 3
        ok2, message2, output2 = reset_then_next(ctx, trial, addr)
        if ok2:
            r.ok("next_client", ctx.text("next.ok", how=ctx.text("how.normal")) + sep(ctx.lang)
                 + message + sep(ctx.lang) + ctx.text("next.ok", how=ctx.text("how.reset"))
                 + sep(ctx.lang) + message2)
        else:
            record_next(ctx, "next_client", "reset", ok2, message2, output2)

    # The restart: a fresh run on ports of its own; stop it while a client is connected.
    trial.close()
    trial2 = ctx.trial("server")
    addr2 = start_server(ctx, trial2, judge=False)
    if addr2 is None:
        r.stop("restart", ctx.text("rerun.no_listen", doing=trial2.doing()),
               shown_output(trial2))
    client = connect(ctx, trial2, addr2, "restart")
    reply = trial2.exchange(client, b"before", b"BEFORE", REPLY)
    if not reply.ok:
        r.stop("restart", reply_problem(ctx, trial2, reply), shown_output(trial2))
    trial2.stop_side(interrupt=True, grace=STOP)
    client.close()  # the server closed first: its port is now in TIME_WAIT
    in_time_wait = _wait_time_wait(ctx, addr2[1], TIME_WAIT)
    rec = trial2.start()
    trial2.wait(lambda: trial2.listen_address(rec) or trial2.exited(rec)
                or trial2.input_call(rec), START)
    again = trial2.listen_address(rec)
    state = ctx.text("restart.time_wait", port=addr2[1]) if in_time_wait else ""
    if again is None:
        how = trial2.doing(rec)
        r.stop("restart", ctx.text("restart.no_listen", state=state, how=how),
               shown_output(trial2, rec))
    if again[1] != addr2[1]:
        r.stop("restart", _text(ctx, "restart_port", state=state, now=again[1],
                                before=addr2[1]))
    if second_copy_listens(trial2, again[1]):
        r.stop("restart", _text(ctx, "second_copy", port=again[1]))
    ok, message, output = serve_next(ctx, trial2, again, b"after restart")
    if ok:
        r.ok("restart", ctx.text("restart.ok", state=state) + sep(ctx.lang) + message)
    else:
        r.fail("restart", ctx.text("restart.no_serve", state=state) + sep(ctx.lang) + message,
               output)


def _wait_time_wait(ctx: Context, port: int, timeout: float) -> bool:
    """Linux: poll the kernel's table until the port shows TIME_WAIT (True), or give up."""
    if not kernel.available():
        return False
    return bool(ctx.budget.poll(lambda: any(
        row.local_port == port and row.state == "TIME_WAIT" for row in kernel.read_rows()),
        timeout))


# ---------------------------------------------------------------- exercise 2: line client


def line_client(ctx: Context) -> None:
    """input() → send → print the reply; an empty line is not sent and the client asks again."""
    r = ctx.rec
    trial = ctx.trial("client")
    server = UpperServer(trial, 8081)
    rec = trial.start()
    trial.wait(lambda: _connect_outcome(trial) == "ok" or trial.exited(rec)
               or trial.input_call(rec), START)
    out = lambda: shown_output(trial, rec)  # noqa: E731
    if trial.violation:
        r.stop("runs", sentence(trial.violation), out())
    outcome = _connect_outcome(trial)
    if trial.exited(rec) and rec.exit_code != 0 and trial.socket_calls(rec) == 0:
        r.stop("runs", ctx.text("runs.crashed", how=trial.ending(rec)), out())
    r.ok("runs", ctx.text("runs.ok"))
    deferred = False
    if outcome and outcome != "ok":
        trial.wait(lambda: trial.exited(rec), 0.3)
        r.stop("connects", ctx.text("connects.failed", error=outcome), out())
    elif outcome == "ok":
        r.ok("connects", ctx.text("connects.ok", addr=_connect_target(trial)))
    elif trial.exited(rec):
        r.stop("connects", ctx.text("connects.ended", how=trial.ending(rec)), out())
    elif trial.input_call(rec) is not None:
        deferred = True  # it asks first and connects later: judged after the first line
    else:
        r.stop("connects", ctx.text("connects.never", seconds=f"{START:g}",
                                    doing=trial.doing(rec)), out())

    trial.wait(lambda: trial.input_call(rec) or trial.exited(rec), INPUT)
    call = trial.input_call(rec)
    if call is None:
        r.stop("asks_input", ctx.text("asks.never", seconds=f"{INPUT:g}", doing=trial.doing(rec)),
               out())
    r.ok("asks_input", ctx.text("asks.ok", prompt=(call.args or ("''",))[0]))

    line = _type_line(ctx, trial, server, "ping 1")
    if deferred:
        outcome = _connect_outcome(trial)
        if outcome == "ok":
            r.ok("connects", ctx.text("connects.ok", addr=_connect_target(trial)))
        elif outcome:
            r.stop("connects", ctx.text("connects.failed", error=outcome), out())
        else:
            r.stop("connects", ctx.text("connects.never", seconds=f"{START:g}",
                                        doing=trial.doing(rec)), out())
    if line.sent_ok and line.printed_ok and not trial.exited(rec):
        # A line that is not ASCII: the learners type Chinese too (encode('ascii') fails it).
        trial.wait(lambda: trial.input_call(rec) or trial.exited(rec), INPUT)
        if trial.input_call(rec) is not None:
            line = _both(ctx, line, _type_line(ctx, trial, server, WIDE_LINE))
    if line.sent_ok:
        r.ok("sends_line", line.send_message)
    else:
        r.fail("sends_line", line.send_message, out())
    if line.printed_ok:
        r.ok("prints_reply", line.print_message)
    else:
        r.fail("prints_reply", line.print_message,
               shown_output(trial, rec, always=line.sent_ok) if line.sent_ok else "")
    if trial.exited(rec):
        r.stop("empty_line", ctx.text("empty.gone", how=trial.ending(rec)))

    # The empty line.
    trial.wait(lambda: trial.input_call(rec) or trial.exited(rec), INPUT)
    if trial.input_call(rec) is None:
        r.stop("empty_line", ctx.text("empty.not_asking", doing=trial.doing(rec)), out())
    t2 = trial.now()
    if not _type(trial, ""):
        r.stop("empty_line", ctx.text("empty.gone", how=trial.doing(rec)))

    def settled() -> bool:
        return bool(_asks_since(trial, t2) or trial.exited(rec)
                    or server.received(t2) or _blocked_in_recv(trial, t2))

    trial.wait(settled, REPLY)
    trial.wait(lambda: _asks_since(trial, t2) or trial.exited(rec), 0.1)
    received = server.received(t2)
    empty_sends = [e for e in trial.events(since=t2)
                   if e.kind == "call" and e.name in SEND_NAMES
                   and e.args and e.args[0] in ("b''", "bytearray(b'')", "''")]
    asks = _asks_since(trial, t2)
    if trial.exited(rec):
        r.stop("empty_line", ctx.text("empty.exited", how=trial.ending(rec)), out())
    if received:
        message = ctx.text("empty.sent_data", got=_b(received))
        if not asks:
            r.stop("empty_line", message + sep(ctx.lang) + trial.doing(rec), out())
        r.fail("empty_line", message)
    elif empty_sends and not asks:
        r.stop("empty_line", ctx.text("empty.hangs", call=f"{empty_sends[0].name}(b'')",
                                      doing=trial.doing(rec)), out())
    elif empty_sends:
        r.fail("empty_line", ctx.text("empty.sent_empty", call=f"{empty_sends[0].name}(b'')"))
    elif asks:
        r.ok("empty_line", ctx.text("empty.ok"))
    else:
        r.stop("empty_line", ctx.text("empty.no_prompt", seconds=f"{REPLY:g}",
                                      doing=trial.doing(rec)), out())

    # And it keeps working.
    line = _type_line(ctx, trial, server, "again")
    if line.sent_ok and line.printed_ok:
        r.ok("after_empty", line.send_message + sep(ctx.lang) + line.print_message)
    else:
        r.fail("after_empty", (line.send_message if not line.sent_ok else line.print_message),
               shown_output(trial, rec, always=line.sent_ok))


@dataclass
class _Line:
    sent_ok: bool
    send_message: str
    printed_ok: bool
    print_message: str


WIDE_LINE = "你好 ping 2"  # not ASCII; and its reply differs from the echo of what was typed


def _both(ctx: Context, first: _Line, second: _Line) -> _Line:
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
    return _Line(sent_ok, send_message, printed_ok, print_message)


def _type_line(ctx: Context, trial: Trial, server: UpperServer, text: str) -> _Line:
    """Type ``text`` into the client; judge what reached the server and what it printed."""
    rec = trial.record
    want = text.encode()
    mark = len(trial.output(rec))
    t1 = trial.now()
    if not _type(trial, text):
        message = ctx.text("empty.gone", how=trial.doing(rec))
        return _Line(False, message, False, message)
    trial.wait(lambda: len(server.received(t1)) >= len(want) or trial.exited(rec)
               or _asks_since(trial, t1) or _blocked_in_recv(trial, t1), REPLY)
    # It has sent the line; let it finish (it waits for the reply, then asks again).
    trial.wait(lambda: _asks_since(trial, t1) or trial.exited(rec)
               or (server.received(t1) and _blocked_in_recv(trial, t1)), REPLY)
    got = server.received(t1)
    typed = repr(text)
    if got.rstrip(b"\r\n") == want:
        sent_ok, send_message = True, ctx.text("sends.ok", typed=typed, got=_b(got))
    elif not got:
        sent_ok, send_message = False, ctx.text("sends.nothing", typed=typed,
                                                seconds=f"{REPLY:g}", doing=trial.doing(rec))
    else:
        sent_ok, send_message = False, ctx.text("sends.wrong", typed=typed, expected=_b(want),
                                                got=_b(got))
    if not got:
        return _Line(sent_ok, send_message, False, ctx.text("prints.no_reply"))
    reply = got.upper()
    shown = reply.decode("utf-8", "replace").strip()
    as_bytes = repr(reply.strip())[2:-1]  # print(data) shows b'\xe4\xbd\xa0…'

    def printed() -> bool:
        text = trial.output(rec)[mark:]
        return shown in text or as_bytes in text

    trial.wait(lambda: printed() or trial.exited(rec), PRINT)
    if printed():
        return _Line(sent_ok, send_message, True, ctx.text("prints.ok", reply=_b(reply)))
    return _Line(sent_ok, send_message, False,
                 ctx.text("prints.no", reply=_b(reply), text=repr(shown), seconds=f"{PRINT:g}",
                          doing=trial.doing(rec)))


def _type(trial: Trial, text: str) -> bool:
    """Type a line into the client (it waits in input()); False if it is gone."""
    try:
        trial.session.type(trial.side, text, timeout=trial.budget.cap(1.0) or 0.01)
    except (SessionError, OSError, ValueError):
        return False
    return True


def _connect_outcome(trial: Trial) -> str | None:
    """"ok" once a connect returned; else the error of the last failed attempt; None before
    any. (create_connection may try ::1 before 127.0.0.1: a refused first try is fine.)"""
    error = None
    for e in trial.events():
        if e.name not in ("connect", "connect_ex"):
            continue
        if e.kind == "raise":
            error = f"{e.name}() → {e.error}: {e.message}"
        elif e.kind == "return":
            if e.name == "connect_ex" and e.result not in ("0", None):
                error = f"connect_ex() → {e.result}"
            else:
                return "ok"
    return error


def _connect_target(trial: Trial) -> str:
    """The address of the connect() that succeeded, as the program wrote it."""
    calls = {}
    for e in trial.events():
        if e.name in ("connect", "connect_ex") and e.kind == "call" and e.args:
            calls[(e.pid, e.sock)] = e.args[0]
        elif e.name in ("connect", "connect_ex") and e.kind == "return" and (
                e.name == "connect" or e.result == "0"):
            return calls.get((e.pid, e.sock), "?")
    return "?"


def _asks_since(trial: Trial, since: float) -> bool:
    return any(e.name == "input" for e in trial.pending(since=since))


def _blocked_in_recv(trial: Trial, since: float) -> bool:
    pend = {(e.sock, e.name) for e in trial.pending() if e.name in ("recv", "recv_into")}
    return any(e.kind == "blocked" and e.name in ("recv", "recv_into") and e.t >= since
               and (e.sock, e.name) in pend for e in trial.events(since=since))


SCENARIOS: dict[str, Callable[[Context], None]] = {
    "echo_server": echo_server,
    "line_client": line_client,
    "loop_server": loop_server,
    "restartable_server": restartable_server,
}
