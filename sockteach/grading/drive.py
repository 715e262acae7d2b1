"""The driver's shared steps: run a submission against the grader's peers and record
everything in the stream — and decide nothing. Each step waits (with a deadline) for what
would end it, then marks a ``checkpoint``: the evidence for a check is complete there. Where a
step cannot go on (no listening socket, a reply that is not the expected one) the driver ends
the run; the judges (:mod:`.judge_servers`, :mod:`.judge_client`) find the same from the
events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import kernel
from ..events import Event
from ..exercises import Exercise
from . import facts
from .exchanges import Reply
from .peers import Budget, Peer
from .plan import (ACCEPT, CLOSE, INPUT, LEAVE, PRINT, REPLY, SECOND, START, STOP,  # noqa: F401
                   TIME_WAIT, loopback)
from .trial import Trial


class End(Exception):
    """The run cannot go on (the judges will say why)."""


@dataclass
class Drive:
    """One submission's run: its trials (each a fresh session), in order."""

    exercise: Exercise
    script: Path
    lang: str
    budget: Budget
    trials: list[Trial] = field(default_factory=list)

    def trial(self, side: str) -> Trial:
        trial = Trial(self.script, side, self.lang, self.budget)
        self.trials.append(trial)
        return trial


def start_server(trial: Trial, checkpoint: str) -> tuple | None:
    """Start the server, wait until it listens (or ends, or asks for input); a server that
    listens beyond loopback is stopped. Returns where it listens, or None."""
    rec = trial.start()
    trial.wait(lambda: trial.listen_address(rec) or trial.exited(rec)
               or trial.input_call(rec), START)
    addr = trial.listen_address(rec)
    if addr and not loopback(addr[0]):
        trial.kill(rec)
        addr = None
    trial.checkpoint(checkpoint)
    return addr


def connect(trial: Trial, addr: tuple, checkpoint: str) -> Peer:
    """The grader's client connects; a failed connection ends the run (after the server
    has had a moment to end, so its ending can be told)."""
    peer, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        trial.checkpoint(checkpoint)
        raise End(checkpoint)
    return peer


def settle(trial: Trial, reply: Reply) -> None:
    """After a reply that closed or reset: let the server's end come in (to say how)."""
    if reply.end in ("eof", "reset"):
        trial.wait(lambda: trial.exited(), 0.5)
        if trial.ending_now():
            trial.wait(lambda: trial.exited(), 2.0)


def exchange(trial: Trial, peer: Peer, data: bytes, checkpoint: str,
             expected: bytes | None = None) -> Reply:
    """One message and its reply (default: the message in upper case); a wrong one ends the
    run."""
    reply = trial.exchange(peer, data, data.upper() if expected is None else expected, REPLY)
    if not reply.ok:
        settle(trial, reply)
        trial.checkpoint(checkpoint)
        raise End(checkpoint)
    return reply


def left_reaction(trial: Trial, since: float) -> bool:
    """After a client left: has the server moved on (closed, accepted, raised, ended) or spun?"""
    if trial.exited() or trial.spin_count(since) > facts.SPIN_LIMIT:
        return True
    return any((e.kind == "call" and e.name in ("close", "accept", "shutdown"))
               or e.kind == "raise" for e in trial.events(since=since))


def serve_next(trial: Trial, addr: tuple, data: bytes, checkpoint: str) -> bool:
    """A new client connects and sends ``data``: was it answered right?"""
    peer, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        trial.checkpoint(checkpoint)
        return False
    reply = trial.exchange(peer, data, data.upper(), REPLY)
    if not reply.ok:
        settle(trial, reply)
    trial.checkpoint(checkpoint)
    peer.close()
    return reply.ok


def leave_normally(trial: Trial, peer: Peer) -> bool:
    """The grader's client closes normally; wait for the server to react; then watch the
    server's end of that connection in the kernel's table (Linux). True when it still was in
    CLOSE_WAIT when the grader stopped looking."""
    try:
        peer_port = peer.sock.getsockname()[1]
        port = peer.sock.getpeername()[1]
    except OSError:
        peer_port = port = None
    t_left = trial.now()
    peer.close()
    trial.wait(lambda: left_reaction(trial, t_left), LEAVE)
    if peer_port is None:
        return False
    return watch_close_wait(trial, port, peer_port, "close_wait")


def watch_close_wait(trial: Trial, port: int, peer_port: int, what: str) -> bool:
    """Watch the server's end (``port``) of the connection from ``peer_port`` in the kernel's
    table for :data:`CLOSE` seconds (a window called ``what``): True when it was still in
    CLOSE_WAIT at the end."""
    closed = watch_table(trial, what, port, CLOSE, lambda states: not any(
        _port(local) == port and _port(remote) == peer_port and state == "CLOSE_WAIT"
        for local, remote, state in states))
    return closed is False


def watch_table(trial: Trial, what: str, port: int, seconds: float, done) -> bool | None:
    """Sample the kernel's table for ``port`` as ``tcp`` events (when it changes) until
    ``done(states)`` or ``seconds``; a ``window`` mark says how long the grader looked.
    None where the table cannot be read (not Linux)."""
    if not kernel.available():
        return None
    timeout = trial.budget.cap(seconds)
    trial.session.add(Event(trial.now(), "grader", "mark", name="window", title=what,
                            seconds=timeout))
    last = [None]

    def look() -> bool:
        states = kernel.connections({port: port})
        if states != last[0]:
            last[0] = states
            trial.session.add(Event(trial.now(), "kernel", "tcp", states=states))
        return done(states)

    return bool(trial.budget.poll(look, timeout))


def _port(text: str) -> int | None:
    try:
        return int(text.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def reset_then_next(trial: Trial, addr: tuple, checkpoint: str) -> bool:
    """A client exchanges one message, then resets the connection; a new client must be
    served."""
    first, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        trial.checkpoint(checkpoint)
        return False
    reply = trial.exchange(first, b"one", b"ONE", REPLY)
    if not reply.ok:
        settle(trial, reply)
        trial.checkpoint(checkpoint)
        first.close()
        return False
    t_reset = trial.now()
    first.reset()
    trial.wait(lambda: left_reaction(trial, t_reset), LEAVE)
    return serve_next(trial, addr, b"after a reset", checkpoint)
