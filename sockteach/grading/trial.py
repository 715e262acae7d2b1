"""One run of a submission: a :class:`Session`, a watchdog, the grader's peers.

A :class:`Trial` starts the learner's program under the tracer (a real process in a pty, with
rlimits) and keeps a watchdog on it (a flood of output, other processes, connections beyond
loopback). What the watchdog and the grader see goes into the session's stream as events
(``resource`` samples, ``watchdog`` stops, ``mark`` events: see :mod:`.facts`), so the judges need
nothing else. The fact questions (where does it listen, what is it waiting in) are
:mod:`.facts` asked of the live stream. Every wait has a deadline, capped by the whole run's
:class:`Budget`.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path
from typing import Callable

from ..events import Event
from ..session import Session, Side, WaitTimeout, descendants
from . import facts
from .facts import (FILE_LIMIT, FLOOD_CHARS, FORK_BOMB, MEMORY_LIMIT, RECV_NAMES, SEND_NAMES,
                    SPIN_LIMIT, last_error, tail)
from .exchanges import Reply
from .peers import Budget, Peer, UpperServer

__all__ = ["Trial", "Budget", "Peer", "Reply", "UpperServer", "rlimits", "RECV_NAMES",
           "SEND_NAMES", "SPIN_LIMIT", "last_error", "tail"]

# Nominal ports mapped to ports the grader owns (the exercises say 8081; learners try others).
NOMINAL_PORTS = (8081, 8080, 8000, 8082, 8888, 9000, 9090, 9999, 5000, 12345)
CPU_LIMIT = 10  # seconds of CPU time (RLIMIT_CPU; SIGKILL 2 s later)
NET_PERIOD = 0.2  # how often the watchdog looks for connections to other machines
WATCH_PERIOD = 0.05

# Pre-import what the child's preexec hook uses (forking from a threaded process).
import ctypes  # noqa: E402,F401


def rlimits() -> dict[int, tuple[int, int]]:
    """CPU time, memory, file size and process-count limits for a submission."""
    limits = {
        resource.RLIMIT_CPU: (CPU_LIMIT, CPU_LIMIT + 2),
        resource.RLIMIT_AS: (MEMORY_LIMIT, MEMORY_LIMIT),
        resource.RLIMIT_FSIZE: (FILE_LIMIT, FILE_LIMIT),
        resource.RLIMIT_CORE: (0, 0),
    }
    nproc = getattr(resource, "RLIMIT_NPROC", None)
    if nproc is not None:
        # It counts every process and thread of the user, so leave room above what runs now.
        # The kernel does not enforce it for root (uid 0, whatever the capabilities): there
        # only the watchdog (it stops a program that starts any process) holds a fork bomb.
        limits[nproc] = (_user_tasks() + 128,) * 2
    return limits


def _user_tasks() -> int:
    """Processes and threads of this user now (what RLIMIT_NPROC counts)."""
    try:
        import psutil

        uid = os.getuid()
        return sum(p.info["num_threads"] or 1 for p in psutil.process_iter(["uids", "num_threads"])
                   if p.info["uids"] is not None and p.info["uids"].real == uid)
    except Exception:
        return 4096


class Trial:
    """One run of the submission (possibly started more than once, e.g. for a restart)."""

    def __init__(self, script: Path, side: str, lang: str, budget: Budget) -> None:
        self.script = script
        self.side = side
        self.lang = lang
        self.budget = budget
        self.session = Session(NOMINAL_PORTS, blocked_after=0.2, poll_tcp=False, limits=rlimits())
        self.record: Side | None = None
        self.violation: str | None = None
        self.violation_kind: str | None = None
        self.closed = False
        self._peers: list[Peer] = []
        self._closers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, name="sockteach-watchdog",
                                       daemon=True)
        self._watch.start()

    # ----- processes --------------------------------------------------------------------

    def start(self, side: str | None = None) -> Side:
        """Start the program (as ``side``, default the trial's); a ``start`` mark says so."""
        if side is None:
            self.violation = self.violation_kind = None
        rec = self.session.start(side or self.side, self.script, cwd=self.script.parent)
        self.session.add(Event(rec.started, rec.name, "mark", name="start", text=rec.name,
                               pid=rec.pid))
        if side is None:
            self.record = rec
        return rec

    def now(self) -> float:
        return self.session.now()

    def wait(self, predicate: Callable[[], object], timeout: float) -> object:
        """Wait until ``predicate()`` is true, the watchdog stopped the program, or the
        deadline (capped by the budget). Returns the predicate's value, or None."""
        timeout = self.budget.cap(timeout)
        try:
            return self.session.wait_until(
                lambda: predicate() or self.violation is not None
                or self.budget.cancelled.is_set(), timeout, "grading")
        except WaitTimeout:
            return None

    def exited(self, rec: Side | None = None) -> bool:
        """The process ended *and* its last trace events are in (its channel was read to the
        end), so what it did before it ended can be judged."""
        rec = rec or self.record
        if rec is None or rec.exit_code is None:
            return False
        if rec.exit_code < 0:
            return True  # killed: no last words from the tracer to wait for
        return self.session.trace_done(rec.pid)

    def stop_side(self, interrupt: bool = True, grace: float = 1.0) -> None:
        """Ctrl-C, then SIGKILL if it does not end within ``grace``; wait for the exit."""
        rec = self.record
        if rec is None or rec.exit_code is not None:
            return
        if interrupt:
            try:
                self.session.interrupt(self.side)
            except Exception:
                pass
            if self.wait(lambda: rec.exit_code is not None, grace):
                return
            rec.forced = True
            self.session.add(Event(self.now(), rec.name, "mark", name="forced", text=rec.name,
                                   pid=rec.pid))
        self.kill(rec)
        deadline = time.monotonic() + 3
        with self.session.cond:
            while rec.exit_code is None and time.monotonic() < deadline:
                self.session.cond.wait(0.05)

    def kill(self, rec: Side | None = None) -> None:
        """SIGKILL the side's process group and every process it started, until none is left
        (see :meth:`Session.sweep`: a setsid, a double fork, a fork bomb)."""
        rec = rec or self.record
        if rec is None:
            return
        self.session.sweep(rec, timeout=3.0)

    def on_close(self, fn: Callable[[], None]) -> None:
        self._closers.append(fn)

    def close(self) -> None:
        """End its processes and peers. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        for peer in self._peers:
            peer.close()
        for fn in self._closers:
            try:
                fn()
            except Exception:
                pass
        self.session.close()
        self._watch.join(timeout=2)
        for rec in self.session.history:  # the teardown's SIGKILL after an ignored SIGTERM
            if rec.forced and not facts.forced(self.events(rec), rec.name):
                self.session.add(Event(self.now(), rec.name, "mark", name="forced",
                                       text=rec.name, pid=rec.pid))

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def police(self, network: bool = True) -> str | None:
        """Check the running side now: a flood of output, other processes, or (with
        ``network``) a connection to another machine made around the tracer (``_socket``).
        Stops it, records a ``watchdog`` event and returns the problem (also kept in
        ``violation``); the watchdog calls this every ``WATCH_PERIOD`` (looking at connections
        every ``NET_PERIOD``), and the driver at every checkpoint."""
        rec = self.record
        if self.violation is not None:
            return self.violation
        if rec is None or rec.exit_code is not None:
            return None
        stop = None
        if rec.output_chars > FLOOD_CHARS:
            stop = Event(self.now(), rec.name, "watchdog", name="flood", pid=rec.pid)
        else:
            others = (set(rec.pids) | descendants(rec.pid)) - {rec.pid}
            if len(others) > FORK_BOMB:
                stop = Event(self.now(), rec.name, "watchdog", name="fork_bomb",
                             count=len(others), pid=rec.pid)
            elif others:
                stop = Event(self.now(), rec.name, "watchdog", name="fork", count=len(others),
                             pid=rec.pid)
            elif network:
                far = outside_connection(rec.pid)
                if far:
                    stop = Event(self.now(), rec.name, "watchdog", name="network", text=far,
                                 pid=rec.pid)
        if stop is None:
            return None
        problem = facts.violation_text(stop, self.lang)
        with self.session.cond:
            first = self.violation is None
            if first:
                self.violation = problem
                self.violation_kind = "fork" if stop.name == "fork_bomb" else stop.name
        if first:
            self.session.add(stop)
        self.kill(rec)
        with self.session.cond:
            self.session.cond.notify_all()
        return problem

    def _watchdog(self) -> None:
        every = max(1, round(NET_PERIOD / WATCH_PERIOD))
        tick = 0
        while not self._stop.wait(WATCH_PERIOD):
            tick += 1
            try:
                self.police(network=tick % every == 0)
            except Exception:
                pass

    # ----- what the grader sees, as events ----------------------------------------------

    def sample(self, rec: Side | None = None) -> None:
        """A ``resource`` event: the running program's CPU seconds, memory and state now."""
        rec = rec or self.record
        if rec is None or rec.exit_code is not None:
            return
        cpu = rss = vms = None
        try:
            import psutil

            proc = psutil.Process(rec.pid)
            with proc.oneshot():
                state = proc.status()
                # the kernel's word: runnable (on a CPU, or waiting for one) or waiting in a
                # call — a busy machine slows a busy loop's CPU seconds, not its state
                status = ("zombie" if state == psutil.STATUS_ZOMBIE else
                          "runnable" if state == psutil.STATUS_RUNNING else "waiting")
                times = proc.cpu_times()
                cpu = round(times.user + times.system, 3)
                memory = proc.memory_info()
                rss, vms = memory.rss, memory.vms
        except Exception:
            status = "gone"
        self.session.add(Event(self.now(), rec.name, "resource", seconds=cpu, count=rss,
                               vms=vms, text=status, pid=rec.pid))

    def checkpoint(self, name: str, *runs: Side) -> None:
        """The evidence for check ``name`` is complete: police and sample the running program
        (and the other ``runs``), then mark the moment for the judges."""
        if self.closed:
            return
        self.police()
        for rec in (self.record, *runs):
            self.sample(rec)
        self.session.add(Event(self.now(), "grader", "mark", name="checkpoint", title=name,
                               seconds=round(self.budget.left(), 3)))

    def connect(self, address: tuple, timeout: float = 2.0) -> tuple[Peer, str | None]:
        peer = Peer(self, address)
        return peer, peer.connect(self.budget.cap(timeout))

    def exchange(self, peer: Peer, data: bytes, expected: bytes, timeout: float = 2.0) -> Reply:
        """Send ``data``, read the reply: at least as many bytes as ``expected``; then, once the
        server waits in a call again (it has finished replying), whatever else it sent."""
        rec = self.record
        t_sent = self.now()
        problem = peer.send(data)
        if problem is not None:
            return Reply(data, expected, b"", "reset" if problem == "reset" else "eof", t_sent)
        got, end = peer.read(len(expected), self.budget.cap(timeout),
                             give_up=lambda: self.violation or self.input_call(rec))
        if end is None:
            self.wait(lambda: self.exited(rec) or any(
                e.name not in SEND_NAMES for e in self.pending(rec, since=t_sent)), 0.5)
            got += peer.drain()
        peer.received(got, end)
        return Reply(data, expected, got, end, t_sent)

    # ----- facts, asked of the live stream ----------------------------------------------

    def events(self, rec: Side | None = None, since: float = 0.0) -> list[Event]:
        """The side's events (this start of it, forks included), in arrival order."""
        rec = rec or self.record
        if rec is None:
            return []
        pids = set(rec.pids) | {rec.pid}
        return [e for e in self.session.snapshot() if e.pid in pids and e.t >= since]

    def pending(self, rec: Side | None = None, since: float = 0.0) -> list[Event]:
        return facts.pending(self.events(rec), since)

    def input_call(self, rec: Side | None = None) -> Event | None:
        return facts.input_call(self.events(rec))

    def listen_address(self, rec: Side | None = None) -> tuple | None:
        return facts.listen_address(self.events(rec))

    def nominal_address(self, rec: Side | None = None) -> str:
        return facts.nominal_address(self.events(rec))

    def accepted_since(self, since: float, rec: Side | None = None) -> bool:
        return facts.accepted_since(self.events(rec), since)

    def socket_calls(self, rec: Side | None = None) -> int:
        return facts.socket_calls(self.events(rec))

    def raised(self, rec: Side | None = None, since: float = 0.0) -> list[Event]:
        return [e for e in self.events(rec, since) if e.kind == "raise"]

    def spin_count(self, since: float, rec: Side | None = None) -> int:
        return facts.spin_count(self.events(rec), since)

    def output(self, rec: Side | None = None) -> str:
        return facts.output(self.events(rec))

    def cpu_seconds(self, rec: Side | None = None) -> float | None:
        """The CPU seconds the running program has used (None once it ended)."""
        rec = rec or self.record
        if rec is None or rec.exit_code is not None:
            return None
        try:
            import psutil

            times = psutil.Process(rec.pid).cpu_times()
            return times.user + times.system
        except Exception:
            return None

    def ending_now(self, rec: Side | None = None) -> bool:
        """The program is gone or a zombie, but its exit is not reported yet (a big process
        takes a while to give its memory back)."""
        rec = rec or self.record
        if rec is None or rec.exit_code is not None:
            return False
        try:
            import psutil

            return psutil.Process(rec.pid).status() == psutil.STATUS_ZOMBIE
        except Exception:
            return True

    def doing(self, rec: Side | None = None, since: float = 0.0) -> str:
        """One sentence: what the program is doing (or how it ended) right now."""
        rec = rec or self.record
        if rec is None:
            return ""
        self.sample(rec)
        return facts.doing(self.events(rec), self.lang, rec.started, since)

    def ending(self, rec: Side | None = None) -> str:
        rec = rec or self.record
        if rec is None:
            return ""
        return facts.ending(self.events(rec), self.lang)


def _loopback_ip(ip: str) -> bool:
    ip = ip.lower()
    if ip.startswith("::ffff:"):
        ip = ip[7:]
    return ip.startswith("127.") or ip in ("::1", "0:0:0:0:0:0:0:1")


def outside_connection(pid: int) -> str | None:
    """A connection of process ``pid`` to (or toward) an address that is not loopback, as
    "host:port" — made around the tracer's loopback rule, e.g. with ``_socket``."""
    try:
        import psutil

        proc = psutil.Process(pid)
        conns = (proc.net_connections(kind="inet") if hasattr(proc, "net_connections")
                 else proc.connections(kind="inet"))
    except Exception:
        return None
    for c in conns:
        if c.raddr and not _loopback_ip(c.raddr.ip):
            host = f"[{c.raddr.ip}]" if ":" in c.raddr.ip else c.raddr.ip
            return f"{host}:{c.raddr.port}"
    return None


