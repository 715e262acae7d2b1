"""One run of a submission: a :class:`Session`, a watchdog, the grader's peers, and facts.

A :class:`Trial` starts the learner's program under the tracer (a real process in a pty, with
rlimits), keeps a watchdog on it (a flood of output, other processes, connections beyond
loopback), and answers questions from the event stream: where does it listen, what is it
waiting in, did it spin, did it crash and with what error. Every wait has a deadline, capped
by the whole run's :class:`Budget`.
"""

from __future__ import annotations

import ast
import os
import resource
import select
import signal
import socket
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..events import Event
from ..session import Session, Side, WaitTimeout, descendants
from .texts import sep, t

# Nominal ports mapped to ports the grader owns (the exercises say 8081; learners try others).
NOMINAL_PORTS = (8081, 8080, 8000, 8082, 8888, 9000, 9090, 9999, 5000, 12345)
FLOOD_CHARS = 1_000_000  # printed characters before the grader stops the program
MEMORY_LIMIT = 1 << 30  # bytes of address space (RLIMIT_AS)
FILE_LIMIT = 16 << 20  # bytes in one file (RLIMIT_FSIZE)
CPU_LIMIT = 10  # seconds of CPU time (RLIMIT_CPU; SIGKILL 2 s later)
FORK_BOMB = 10  # more processes than this at once: a fork bomb, not a stray fork
NET_PERIOD = 0.2  # how often the watchdog looks for connections to other machines
SPIN_LIMIT = 3  # b'' from recv more often than this on one connection: the server spins
WATCH_PERIOD = 0.05
RECV_NAMES = ("recv", "recv_into", "recvfrom", "recvfrom_into")
SEND_NAMES = ("send", "sendall", "sendto")

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


class Budget:
    """The whole run's deadline; ``cancel()`` ends every wait at once (Ctrl-C in ``grade``)."""

    def __init__(self, seconds: float, cancel: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.cancelled = cancel or threading.Event()

    def left(self) -> float:
        if self.cancelled.is_set():
            return 0.0
        return max(0.0, self.deadline - time.monotonic())

    def cap(self, seconds: float) -> float:
        return min(seconds, self.left())

    @property
    def expired(self) -> bool:
        return self.left() <= 0

    def poll(self, predicate: Callable[[], object], seconds: float) -> object:
        """Poll ``predicate`` (for what sends no events: the kernel's TCP table) until it is
        true, ``seconds`` pass (capped by the budget), or the run is cancelled; returns its
        last value."""
        deadline = time.monotonic() + self.cap(seconds)
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline or self.cancelled.is_set():
                return value
            time.sleep(0.01)  # a short poll, not a synchronisation


@dataclass
class Reply:
    """What one exchange with the learner's server gave."""

    sent: bytes
    expected: bytes
    got: bytes
    end: str | None  # None, "eof" (the server closed), "reset", "timeout", "refused"
    t_sent: float

    @property
    def ok(self) -> bool:
        return self.got == self.expected


class Peer:
    """The grader's own client: a plain socket in this process, with deadlines."""

    def __init__(self, trial: "Trial", address: tuple) -> None:
        self.trial = trial
        self.address = address
        family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.closed = False
        trial._peers.append(self)

    def connect(self, timeout: float) -> str | None:
        """Connect; None when connected, else the error text."""
        self.sock.settimeout(max(timeout, 0.05))
        try:
            self.sock.connect(self.address)
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def send(self, data: bytes) -> str | None:
        self.sock.settimeout(2.0)
        try:
            self.sock.sendall(data)
        except OSError as exc:
            return "reset" if isinstance(exc, (ConnectionResetError, BrokenPipeError)) else str(exc)
        return None

    def read(self, want: int, timeout: float,
             give_up: Callable[[], object] | None = None) -> tuple[bytes, str | None]:
        """Read until ``want`` bytes came, the server closed, the deadline, or ``give_up()``
        (e.g. the server waits for the keyboard: no reply can come)."""
        buf = b""
        deadline = time.monotonic() + timeout
        while len(buf) < want:
            left = min(deadline - time.monotonic(), self.trial.budget.left())
            if left <= 0 or (give_up is not None and give_up()):
                return buf, "timeout"
            self.sock.settimeout(min(left, 0.1))  # short slices: a cancelled run ends at once
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return buf, "reset"
            except OSError:
                return buf, "eof"
            if not chunk:
                return buf, "eof"
            buf += chunk
        return buf, None

    def drain(self) -> bytes:
        """Whatever already arrived beyond what was read (extra bytes of a reply)."""
        buf = b""
        while True:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0)
            except (OSError, ValueError):
                return buf
            if not ready:
                return buf
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return buf
            if not chunk:
                return buf
            buf += chunk

    def close(self) -> None:
        """A normal close: FIN, the server's recv returns b''."""
        if not self.closed:
            self.closed = True
            self.sock.close()

    def reset(self) -> None:
        """An abrupt close: SO_LINGER (1, 0), so close() sends RST (ConnectionResetError)."""
        if not self.closed:
            self.closed = True
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.sock.close()


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

    def start(self) -> Side:
        self.violation = self.violation_kind = None
        self.record = self.session.start(self.side, self.script, cwd=self.script.parent)
        return self.record

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

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def police(self, network: bool = True) -> str | None:
        """Check the running side now: a flood of output, other processes, or (with
        ``network``) a connection to another machine made around the tracer (``_socket``).
        Stops it and returns the problem (also kept in ``violation``); the watchdog calls this
        every ``WATCH_PERIOD`` (looking at connections every ``NET_PERIOD``), and the checks
        call it before a verdict."""
        rec = self.record
        if self.violation is not None:
            return self.violation
        if rec is None or rec.exit_code is not None:
            return None
        problem = kind = None
        if rec.output_chars > FLOOD_CHARS:
            problem, kind = t("doing.flood", self.lang, limit=f"{FLOOD_CHARS:,}"), "flood"
        else:
            others = (set(rec.pids) | descendants(rec.pid)) - {rec.pid}
            if len(others) > FORK_BOMB:
                problem, kind = t("doing.fork_bomb", self.lang, count=FORK_BOMB), "fork"
            elif others:
                problem, kind = t("doing.fork", self.lang, count=len(others)), "fork"
            elif network:
                far = outside_connection(rec.pid)
                if far:
                    problem, kind = t("doing.network", self.lang, addr=far), "network"
        if problem:
            with self.session.cond:
                if self.violation is None:
                    self.violation, self.violation_kind = problem, kind
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

    # ----- the grader's peers -----------------------------------------------------------

    def connect(self, address: tuple, timeout: float = 2.0) -> tuple[Peer, str | None]:
        peer = Peer(self, address)
        self.session.add(Event(self.now(), "grader", "call", name="connect",
                               args=(repr(tuple(address)),)))
        return peer, peer.connect(self.budget.cap(timeout))

    def exchange(self, peer: Peer, data: bytes, expected: bytes, timeout: float = 2.0) -> Reply:
        """Send ``data``, read the reply: at least as many bytes as ``expected``; then, once the
        server waits in a call again (it has finished replying), whatever else it sent."""
        rec = self.record
        t_sent = self.now()
        self.session.add(Event(t_sent, "grader", "call", name="sendall", args=(repr(data),)))
        problem = peer.send(data)
        if problem is not None:
            return Reply(data, expected, b"", "reset" if problem == "reset" else "eof", t_sent)
        got, end = peer.read(len(expected), self.budget.cap(timeout),
                             give_up=lambda: self.violation or self.input_call(rec))
        if end is None:
            self.wait(lambda: self.exited(rec) or any(
                e.name not in SEND_NAMES for e in self.pending(rec, since=t_sent)), 0.5)
            got += peer.drain()
        self.session.add(Event(self.now(), "grader", "return", name="recv", result=repr(got)))
        return Reply(data, expected, got, end, t_sent)

    # ----- facts from the trace ---------------------------------------------------------

    def events(self, rec: Side | None = None, since: float = 0.0) -> list[Event]:
        """The side's events (this start of it, forks included), in arrival order."""
        rec = rec or self.record
        if rec is None:
            return []
        pids = set(rec.pids) | {rec.pid}
        return [e for e in self.session.snapshot() if e.pid in pids and e.t >= since]

    def pending(self, rec: Side | None = None, since: float = 0.0) -> list[Event]:
        """Calls the program is in now (a call without its return yet), started after ``since``."""
        pend: dict[tuple, Event] = {}
        for e in self.events(rec):
            key = (e.pid, e.sock, e.name)
            if e.kind == "call":
                pend[key] = e
            elif e.kind in ("return", "raise"):
                pend.pop(key, None)
            elif e.kind == "exit":
                pend = {k: v for k, v in pend.items() if k[0] != e.pid}
        return sorted((e for e in pend.values() if e.t >= since), key=lambda e: e.t)

    def input_call(self, rec: Side | None = None) -> Event | None:
        rec = rec or self.record
        for e in self.pending(rec):
            if e.name == "input":
                return e
        return None

    def listen_address(self, rec: Side | None = None) -> tuple | None:
        """Where the program listens (real address), from the ``listen`` return event."""
        for e in reversed(self.events(rec)):
            if e.kind == "return" and e.name == "listen" and e.real:
                if isinstance(e.real, tuple):
                    return e.real  # the real address (the tracer made '' and 0.0.0.0 loopback)
                try:
                    addr = ast.literal_eval(e.real)
                except (ValueError, SyntaxError):
                    continue
                if isinstance(addr, tuple) and len(addr) >= 2:
                    return addr  # the real address (the tracer made '' and 0.0.0.0 loopback)
        return None

    def nominal_address(self, rec: Side | None = None) -> str:
        """The address the program asked for in bind(), as the learner wrote it."""
        for e in reversed(self.events(rec)):
            if e.kind == "call" and e.name == "bind" and e.args:
                return e.args[0]
        addr = self.listen_address(rec)
        return repr(addr) if addr else "?"

    def accepted_since(self, since: float, rec: Side | None = None) -> bool:
        return any(e.kind == "return" and e.name == "accept" and e.t >= since
                   for e in self.events(rec))

    def socket_calls(self, rec: Side | None = None) -> int:
        return sum(1 for e in self.events(rec) if e.kind == "call" and e.name != "input")

    def raised(self, rec: Side | None = None, since: float = 0.0) -> list[Event]:
        return [e for e in self.events(rec, since) if e.kind == "raise"]

    def spin_count(self, since: float, rec: Side | None = None) -> int:
        """The most times one socket's recv returned b'' (or 0 bytes) since ``since``."""
        totals: dict[tuple, int] = {}
        runs: dict[tuple, int] = {}
        for e in self.events(rec, since):
            if e.name not in RECV_NAMES:
                continue
            key = (e.pid, e.sock)
            if e.kind == "return" and e.result in ("b''", "0", "(b'', None)"):
                totals[key] = totals.get(key, 0) + 1
                runs[key] = 0
            elif e.kind == "repeat" and e.count is not None:
                totals[key] = totals.get(key, 0) + max(0, e.count - runs.get(key, 0))
                runs[key] = e.count
        return max(totals.values(), default=0)

    def spinning_now(self, rec: Side | None = None, window: float = 0.3) -> int:
        """The repeat count if the program is spinning right now (a fresh repeat event)."""
        now = self.now()
        for e in reversed(self.events(rec)):
            if e.kind == "repeat" and e.name in RECV_NAMES:
                return (e.count or 0) if now - e.t < window else 0
            if e.kind in ("call", "return") and now - e.t > window:
                break
        return 0

    def output(self, rec: Side | None = None) -> str:
        rec = rec or self.record
        if rec is None:
            return ""
        return "".join(e.text or "" for e in self.session.snapshot()
                       if e.kind == "output" and e.pid == rec.pid)

    def cpu_seconds(self, rec: Side | None = None) -> float | None:
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

    def rss(self, rec: Side | None = None) -> int | None:
        """The bytes of memory the running program holds now."""
        rec = rec or self.record
        if rec is None or rec.exit_code is not None:
            return None
        try:
            import psutil

            return psutil.Process(rec.pid).memory_info().rss
        except Exception:
            return None

    # ----- what is it doing? ------------------------------------------------------------

    def doing(self, rec: Side | None = None, since: float = 0.0) -> str:
        """One sentence: what the program is doing (or how it ended) right now."""
        rec = rec or self.record
        lang = self.lang
        if rec is None:
            return ""
        if self.violation:
            spin = self.spinning_now(rec, window=1.0)
            if spin and self.violation_kind == "flood":
                return t("doing.spin_flood", lang, count=f"{spin:,}")
            return self.violation
        if rec.exit_code is not None:
            return self.ending(rec)
        call = self.input_call(rec)
        if call is not None:
            return t("doing.input", lang, prompt=(call.args or ("''",))[0])
        spin = self.spinning_now(rec)
        if spin:
            return t("doing.spin", lang, count=f"{spin:,}")
        pend = [e for e in self.pending(rec) if e.name != "input"]
        if pend:
            call = pend[-1]
            text = t("doing.waiting", lang, call=_call_text(call))
            got = self._received_without_reply(rec, since)
            if got is not None:
                text = t("doing.no_reply", lang, data=got) + sep(lang) + text
            return text
        got = self._received_without_reply(rec, since)
        cpu = self.cpu_seconds(rec)
        alive = time.monotonic() - (self.session.t0 + rec.started)
        rss = self.rss(rec)
        if rss is not None and rss > MEMORY_LIMIT // 4:
            text = t("doing.memory_growing", lang, size=f"{rss >> 20:,} MiB",
                     limit=_size(MEMORY_LIMIT))
        elif cpu is not None and cpu > 0.5 and cpu > 0.3 * alive:
            text = t("doing.busy", lang, cpu=cpu)
        else:
            text = t("doing.idle", lang)
        if got is not None:
            text = t("doing.no_reply", lang, data=got) + sep(lang) + text
        return text

    def _received_without_reply(self, rec: Side, since: float) -> str | None:
        """The data the program received after ``since`` with no send after it, if any."""
        last_data = None
        for e in self.events(rec, since):
            if e.kind == "return" and e.name in RECV_NAMES and e.result not in ("b''", "0", None):
                last_data = e.result
            elif e.kind == "call" and e.name in SEND_NAMES:
                last_data = None
        return last_data

    def ending(self, rec: Side | None = None) -> str:
        rec = rec or self.record
        lang = self.lang
        code = rec.exit_code if rec else None
        if self.violation:
            return self.violation
        if code is None:
            return ""
        error = last_error(self.output(rec)) or self._raised_last(rec)
        if code < 0:
            sig = -code
            if sig == getattr(signal, "SIGXCPU", -1):
                return t("doing.cpu_limit", lang)
            if sig == getattr(signal, "SIGXFSZ", -1):
                return t("doing.file_killed", lang, limit=_size(FILE_LIMIT))
            if sig == signal.SIGKILL and rec.forced:
                return t("doing.term_ignored", lang)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            return t("doing.killed", lang, sig=name)
        if error and code != 0:
            if error.startswith("MemoryError"):
                return t("doing.memory", lang, limit=_size(MEMORY_LIMIT), error=error)
            if "[Errno 27]" in error:  # EFBIG: the file-size limit
                return t("doing.file_size", lang, limit=_size(FILE_LIMIT), error=error)
            return t("doing.crashed", lang, code=code, error=error)
        return t("doing.exited", lang, code=code)


    def _raised_last(self, rec: Side) -> str | None:
        """"OSError: [Errno 22] …" when the program's last socket call raised it — the error
        that most likely ended it, from the trace, when its printed traceback is missing (a
        pty can lose the last output of a process that exits at once)."""
        calls = [e for e in self.events(rec) if e.kind in ("call", "return", "raise")]
        if calls and calls[-1].kind == "raise" and calls[-1].error:
            last = calls[-1]
            return f"{last.error}: {last.message}" if last.message else last.error
        return None


def _size(n: int) -> str:
    """1073741824 → "1 GiB", 16777216 → "16 MiB"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


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


def _call_text(call: Event) -> str:
    args = ", ".join(call.args or ())
    return f"{call.name}({args})"


def last_error(output: str) -> str | None:
    """The exception line of a traceback in ``output`` ("ValueError: boom"), if any."""
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    seen_tb = any(ln.startswith("Traceback (most recent call last)") or
                  ln.lstrip().startswith("File ") for ln in lines)
    for ln in reversed(lines):
        if ln.startswith((" ", "\t", "^", "~")):
            continue
        head = ln.split(":", 1)[0]
        if head.replace(".", "").replace("_", "").isalnum() and head[:1].isupper() and (
                head.endswith(("Error", "Exception", "Interrupt", "Exit", "Warning")) or seen_tb):
            return ln
    return None


def tail(output: str, lines: int = 15, chars: int = 1500) -> str:
    """The end of what a program printed, short enough to show."""
    text = output.rstrip("\n")
    rows = text.splitlines()
    if len(rows) > lines:
        text = "…\n" + "\n".join(rows[-lines:])
    if len(text) > chars:
        text = "…" + text[-chars:]
    return text


class UpperServer:
    """The grader's server for a client exercise: in this process, listening on the real port
    that the nominal ``port`` maps to; it answers every chunk it receives with the chunk in
    upper case (like the lesson's server). What it receives, accepts and sends goes into the
    session's event stream as side ``"grader"``, so waits wake on it."""

    def __init__(self, trial: Trial, port: int = 8081) -> None:
        import selectors

        self.trial = trial
        self.listener = None
        for _ in range(5):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("127.0.0.1", trial.session.port_map[port]))
            except OSError:
                sock.close()
                trial.session.new_ports()
                continue
            self.listener = sock
            break
        if self.listener is None:
            raise OSError("no free loopback port for the grader's server")
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.closed = False
        self.log: list[tuple[float, str, bytes]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sockteach-peer", daemon=True)
        self._thread.start()
        trial.on_close(self.close)

    def _add(self, kind: str, name: str, **fields: object) -> None:
        self.trial.session.add(Event(self.trial.now(), "grader", kind, name=name, **fields))

    def _run(self) -> None:
        import selectors

        conns: list[socket.socket] = []
        try:
            while not self._stop.is_set():
                for key, _ in self.selector.select(0.05):
                    sock = key.fileobj
                    if sock is self.listener:
                        try:
                            conn, addr = self.listener.accept()
                        except OSError:
                            continue
                        conn.setblocking(False)
                        conns.append(conn)
                        self.selector.register(conn, selectors.EVENT_READ)
                        with self._lock:
                            self.log.append((self.trial.now(), "accept", b""))
                        self._add("return", "accept", result=repr(addr))
                        continue
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        with self._lock:
                            self.log.append((self.trial.now(), "recv", data))
                        self._add("return", "recv", result=repr(data))
                        try:
                            sock.settimeout(1.0)
                            sock.sendall(data.upper())
                            sock.setblocking(False)
                            self._add("return", "sendall", args=(repr(data.upper()),))
                        except OSError:
                            pass
                    else:
                        self.selector.unregister(sock)
                        sock.close()
                        self._add("return", "close")
        finally:
            for c in conns:
                try:
                    c.close()
                except OSError:
                    pass

    def received(self, since: float = 0.0) -> bytes:
        with self._lock:
            return b"".join(data for t, what, data in self.log if what == "recv" and t >= since)

    def accepted(self, since: float = 0.0) -> bool:
        with self._lock:
            return any(what == "accept" and t >= since for t, what, _ in self.log)

    def close(self) -> None:
        """End its processes and peers. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            self.selector.close()
        except Exception:
            pass
        self.listener.close()
