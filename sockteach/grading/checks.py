"""Live judging, for the exercises whose scenarios are not yet a driver plus a pure judge
(lessons 5-12, ``grading/scenarios/*.py``): a scenario starts the learner's program in one or
more :class:`Trial`\\ s, plays the grader's peer against it, and records one verdict per check
with the :class:`Recorder` as it goes. When a failure makes the next checks impossible it
stops; those checks then say they were not checked, and why. Verdicts come from behaviour
(bytes on the wire) and the trace (calls, returns, exits), never from the source text.
Exercises 1-4 are judged from their recorded events instead (:mod:`.judge_servers`,
:mod:`.judge_client`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NoReturn

from .. import kernel
from ..exercises import Exercise
from .drive import (ACCEPT, CLOSE, INPUT, LEAVE, PRINT, REPLY, SECOND, START, STOP,  # noqa: F401
                    TIME_WAIT, left_reaction)
from .facts import sentence
from .judge_servers import text as _texts
from .texts import sep, t
from .trial import SPIN_LIMIT, Budget, Peer, Reply, Trial, tail  # noqa: F401


def _text(ctx: "Context", key: str, **values: object) -> str:
    return _texts(ctx.lang, key, **values)


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

