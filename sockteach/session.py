"""The session: real processes under the tracer, their events, and their teardown.

A :class:`Session` owns everything it starts: each side runs in its own pty (pexpect), its
socket calls arrive on a trace channel, its printed output is read continuously, and
:meth:`Session.close` ends every process it started — grandchildren included — whatever
happened. Waits are on events, each with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import kernel, sandbox
from .events import Event, host_port, order_key

TRACER = Path(__file__).with_name("tracer.py")
OUTPUT_BATCH = 0.05  # seconds of terminal output read at once (fallback only, see _read_output)
OUTPUT_EVENT_MAX = 4000  # characters of one output event kept (the rest is counted)
MONITOR_PERIOD = 0.05
UNANSWERED = 1.0  # seconds a process may leave a sync unanswered before the kernel is asked
_TRACER_FIELDS = frozenset(
    ("name", "args", "result", "error", "errno", "errname", "message", "count", "text",
     "stream", "sock", "family", "socktype", "mode", "timeout", "addr", "real", "local", "peer",
     "conn", "size", "nbytes", "data", "wire", "unread", "linger", "held", "rfds", "wfds",
     "internal", "pid"))


class SessionError(Exception):
    """Something the session was asked to do could not be done; the message says what."""


class WaitTimeout(SessionError):
    """An awaited event did not come before its deadline."""


class SideEnded(SessionError):
    """A side ended while something was still expected of it."""

    def __init__(self, side: str, code: int | None, outside: bool, what: str) -> None:
        super().__init__(f"{side} ended (code {code}) while waiting for {what}")
        self.side, self.code, self.outside, self.what = side, code, outside, what


def _port_range() -> range:
    """Ports below the kernel's ephemeral range: connect() never picks one of these as its
    source port, so a client elsewhere cannot take a session's port between its runs."""
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return range(max(1024, low - 12000), max(2048, low))


_PORTS = _port_range()
_port_lock = threading.Lock()
_port_next = [int.from_bytes(os.urandom(2), "big") % len(_PORTS)]


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port free now (nothing bound to it, not in TIME_WAIT), from below the
    ephemeral range, and handed out once in this process before the range comes round again
    (about 12 000 ports): sessions grading at the same time never share one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with _port_lock:
        for _ in range(len(_PORTS)):
            port = _PORTS[_port_next[0]]
            _port_next[0] = (_port_next[0] + 1) % len(_PORTS)
            with socket.socket(family, socket.SOCK_STREAM) as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket(family, socket.SOCK_STREAM) as s:  # every one taken: the kernel's pick
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound now (nothing on it, not in TIME_WAIT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _child_setup(limits: dict[int, tuple[int, int]] | None) -> Callable[[], None]:
    def setup() -> None:
        # Ctrl-C must reach the program even when the runner itself ignores it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if sys.platform.startswith("linux"):
            try:  # die with the runner, even if it is killed with SIGKILL
                import ctypes

                ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
            except Exception:
                pass
        if limits:
            import resource

            for which, value in limits.items():
                try:
                    resource.setrlimit(which, value)
                except (ValueError, OSError):
                    pass

    return setup


@dataclass
class Side:
    """One running (or ended) process of the session."""

    name: str
    script: Path
    child: object  # pexpect.spawn
    pid: int
    started: float
    reader: threading.Thread | None = None
    exit_code: int | None = None
    output_chars: int = 0
    pids: set[int] = field(default_factory=set)
    wall_started: float = field(default_factory=time.time)
    forced: bool = False  # it did not end on SIGTERM within its grace: SIGKILL ended it
    signalled: bool = False  # the session itself interrupted, killed or stopped it

    def exit_event(self, t: float, code: int) -> Event:
        """The exit event; ``text="outside"`` when a signal the session did not send ended it."""
        outside = code < 0 and not self.signalled
        return Event(t, self.name, "exit", code=code, pid=self.pid,
                     text="outside" if outside else None)

    def ended(self, what: str) -> "SideEnded":
        code = self.exit_code
        return SideEnded(self.name, code, code is not None and code < 0 and not self.signalled,
                         what)


_LIVE: "set[Session]" = set()  # sessions not yet closed
_SCRATCH: set[Path] = set()  # temporary folders not yet removed


def scratch_dir(prefix: str) -> Path:
    """A new private temporary folder, known to :func:`cleanup` before it exists."""
    base = Path(tempfile.gettempdir())
    while True:
        path = base / f"{prefix}{os.urandom(5).hex()}"
        _SCRATCH.add(path)
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:
            _SCRATCH.discard(path)


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _SCRATCH.discard(path)


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block is done, then act as usual (main thread only;
    elsewhere the block runs as is). Around a fork, so that neither the parent's at-fork hooks
    nor the child before exec() are interrupted half-way; around closing a live view."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            handler = previous[held[0]]
            if callable(handler):
                handler(held[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), held[0])


def cleanup() -> None:
    """Close every session still open and remove every scratch folder: the last line of
    defence when Ctrl-C or SIGTERM cut a command short at any moment (the CLI calls it)."""
    for session in list(_LIVE):
        try:
            session.close()
        except Exception:
            pass
    for path in list(_SCRATCH):
        remove_scratch(path)


class Session:
    """Real processes, one event stream.

    ``ports`` are the nominal ports of the lesson (mapped to free ports), ``speed`` scales
    visible waits, ``blocked_after`` is how long a call must be pending to count as blocked.
    """

    def __init__(
        self,
        ports: Iterable[int] = (8081,),
        *,
        blocked_after: float = 0.25,
        loopback_only: bool | None = None,
        map_ports: bool | None = None,
        limits: dict[int, tuple[int, int]] | None = None,
        env: dict[str, str] | None = None,
        poll_tcp: bool = True,
    ) -> None:
        # In a network namespace of the run's own only loopback exists: the lessons' ports
        # are used as they are and no address needs rewriting (as far as the command allows:
        # see sandbox.enter); outside, ports are mapped to free ones and the tracer keeps
        # programs on loopback.
        if map_ports is None:
            map_ports = not sandbox.nominal_ports()
        if loopback_only is None:
            loopback_only = not sandbox.true_addresses()
        self.t0 = time.monotonic()
        self.nominal = tuple(ports)
        self.map_ports = map_ports
        self.port_map: dict[int, int] = {}
        self.all_real_ports: dict[int, int] = {}  # real → nominal, every mapping ever used
        self.new_ports()
        self.blocked_after = blocked_after
        self.loopback_only = loopback_only
        self.limits = limits
        self.extra_env = dict(env or {})
        self.sides: dict[str, Side] = {}
        self.history: list[Side] = []
        self.events: list[Event] = []  # in arrival order
        self.cond = threading.Condition()
        self._pending: dict[tuple, Event] = {}
        self._answered: dict[str, Event] = {}
        self._traced_pids: set[int] = set()
        self._drained: set[int] = set()
        self._unidentified = 0  # channels accepted whose first line has not been read yet
        # Processes start() spawned: each opens a channel, perhaps not yet accepted when it
        # ends (a short-lived one, a loaded machine); _read_output waits for it, up to a limit.
        self._spawned: set[int] = set()
        self._gave_up: set[int] = set()
        self._blocked_sent: set[tuple] = set()
        # The order protocol (see settled): per channel, the stamp of its newest line.
        self._channel_mono: dict[socket.socket, float] = {}
        self._exit_mono: dict[int, float] = {}  # pid → when its tracer wrote its last line
        self._pid_conn: dict[int, socket.socket] = {}  # pid → its trace channel
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._listener: socket.socket | None = None
        _LIVE.add(self)  # from here on, cleanup() can end it (Ctrl-C at any moment)
        self._dir = scratch_dir("sockteach-")
        self.channel_path = str(self._dir / "trace.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.channel_path)
        self._listener.listen(64)
        self._tcp_last: tuple | None = None
        self._poll_tcp = poll_tcp
        self._spawn(self._accept_loop, "sockteach-channel")
        self._spawn(self._monitor_loop, "sockteach-monitor")

    # ----- public API ------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.t0

    def new_ports(self) -> dict[int, int]:
        """Map every nominal port to a fresh free port (identity when mapping is off)."""
        if self.map_ports:
            self.port_map = {p: free_port() for p in self.nominal}
        elif self.port_map or sandbox.inside():
            # In the run's namespace (or asked again, away from a stage's TIME_WAIT): the
            # lesson's own port unless an earlier session or stage still holds it.
            self.port_map = {p: p if _port_free(p) else free_port() for p in self.nominal}
        else:
            self.port_map = {p: p for p in self.nominal}
        for nominal, real in self.port_map.items():
            self.all_real_ports[real] = nominal
        return self.port_map

    @property
    def tmpdir(self) -> Path:
        """The programs' temporary folder (their ``TMPDIR``), removed by :meth:`close`: what
        they write through ``tempfile`` does not outlive the session."""
        path = self._dir / "tmp"
        path.mkdir(exist_ok=True)
        return path

    @property
    def workdir(self) -> Path:
        """A private working folder, removed by :meth:`close` (files a lesson's programs
        create, such as an AF_UNIX socket file, land here and collide with nothing)."""
        path = self._dir / "work"
        path.mkdir(exist_ok=True)
        return path

    def start(self, side: str, script: str | os.PathLike, args: Iterable[str] = (),
              cwd: str | os.PathLike | None = None, copy: bool = False) -> Side:
        """Start ``script`` under the tracer as ``side`` in its own pty; with ``copy``, run a
        copy of it in :attr:`workdir` (its tracebacks then name just the file)."""
        import pexpect

        script = Path(script)
        if not script.is_file():
            raise SessionError(f"no such file: {script}")
        if copy:
            target = self.workdir / script.name
            shutil.copyfile(script, target)
            script, cwd = target, self.workdir
        old = self.sides.get(side)
        if old is not None and old.exit_code is None:
            raise SessionError(f"{side} is still running")
        env = self._env(side)
        workdir = Path(cwd) if cwd is not None else script.parent
        try:
            rel = os.path.relpath(script, workdir)
        except ValueError:
            rel = str(script)
        with signals_held():
            child = pexpect.spawn(
                sys.executable, [str(TRACER), rel, *args], cwd=str(workdir), env=env,
                encoding="utf-8", codec_errors="replace", echo=True, dimensions=(50, 200),
                preexec_fn=_child_setup(self.limits),
            )
            record = Side(side, script, child, child.pid, self.now(), pids={child.pid})
            with self.cond:
                self._spawned.add(child.pid)
            self.sides[side] = record
            self.history.append(record)  # known before a held Ctrl-C acts: close() ends it
        child.delaybeforesend = None
        child.delayafterclose = 0
        child.delayafterterminate = 0
        # pexpect does not pass these on: closing a pty would sleep 0.1 s per side
        child.ptyproc.delayafterclose = 0
        child.ptyproc.delayafterterminate = 0
        record.reader = self._spawn(lambda: self._read_output(record), f"sockteach-out-{side}")
        return record

    def attach(self, side: str, script: str | os.PathLike) -> Side:
        """Start ``script`` traced, on *this* terminal (stdin/stdout inherited): the learner
        types into it directly. Its exit is reported; its output is not read."""
        import subprocess

        script = Path(script)
        if not script.is_file():
            raise SessionError(f"no such file: {script}")
        with signals_held():
            child = subprocess.Popen(
                [sys.executable, str(TRACER), script.name], cwd=str(script.parent),
                env=self._env(side, terminal=True), preexec_fn=_child_setup(self.limits),
            )
            record = Side(side, script, child, child.pid, self.now(), pids={child.pid})
            self.sides[side] = record
            self.history.append(record)

        def watch() -> None:
            code = child.wait()
            record.exit_code = code
            self.add(record.exit_event(self.now(), code))

        record.reader = self._spawn(watch, f"sockteach-wait-{side}")
        return record

    def _env(self, side: str, terminal: bool = False) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SOCKTEACH_", "PYTHONSTARTUP", "PYTHONINSPECT"))}
        env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1")
        tmp = str(self.tmpdir)
        env.update(TMPDIR=tmp, TEMP=tmp, TMP=tmp)
        if not terminal:
            env.update(NO_COLOR="1", TERM="dumb")
        env.update(
            SOCKTEACH_TRACE=self.channel_path, SOCKTEACH_SIDE=side,
            SOCKTEACH_PORTS=",".join(f"{n}:{r}" for n, r in self.port_map.items()),
            SOCKTEACH_LOOPBACK="1" if self.loopback_only else "0",
        )
        env.update(self.extra_env)
        return env

    def type(self, side: str, text: str, timeout: float = 10.0) -> None:
        """Wait until ``side`` waits in ``input()``, then type ``text`` and Enter."""
        call = self.wait_input(side, timeout)
        record = self._side(side)
        self._answered[side] = call
        self.add(Event(self.now(), side, "input", text=text))
        record.child.sendline(text)

    def wait_input(self, side: str, timeout: float = 10.0) -> Event:
        """Wait until ``side`` is in an ``input()`` call not yet answered; return that call."""
        record = self._side(side)

        def waiting() -> Event | bool | None:
            return self.input_pending(side) or record.exit_code is not None

        found = self.wait_until(waiting, timeout, f"{side} to ask for input")
        if not isinstance(found, Event):
            raise record.ended("input()")
        return found

    def input_pending(self, side: str) -> Event | None:
        """The ``input()`` call ``side`` waits in, unless it was answered already."""
        record = self.sides.get(side)
        if record is None:
            return None
        with self.cond:
            for (pid, _sock, name), call in self._pending.items():
                if pid in record.pids and name == "input" and call is not self._answered.get(side):
                    return call
        return None

    def waiting_in(self, side: str) -> str | None:
        """The name of the call ``side``'s current process is in, if any."""
        record = self.sides.get(side)
        if record is None:
            return None
        with self.cond:
            names = [e.name for (pid, _s, _n), e in self._pending.items() if pid == record.pid]
        return names[-1] if names else None

    def interrupt(self, side: str) -> None:
        """Ctrl-C in the side's terminal."""
        record = self._side(side)
        record.signalled = True
        record.child.sendintr()

    def eof(self, side: str) -> None:
        self._side(side).child.sendeof()

    def kill(self, side: str, sig: int = signal.SIGKILL) -> None:
        record = self._side(side)
        record.signalled = True
        try:
            os.kill(record.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, side: str, grace: float = 1.0) -> None:
        """End a side and everything it started: SIGTERM, then SIGKILL after ``grace``."""
        record = self.sides.get(side)
        if record is None:
            return
        _terminate_tree(record, grace)
        if record.reader is not None:
            record.reader.join(timeout=grace + 2)

    def stop_all(self, grace: float = 1.0) -> None:
        for side in list(self.sides):
            self.stop(side, grace)

    def wait_exit(self, side: str, timeout: float = 10.0) -> int:
        record = self._side(side)
        self.wait_until(lambda: record.exit_code is not None, timeout, f"{side} to end")
        return record.exit_code  # type: ignore[return-value]

    def wait_until(self, predicate: Callable[[], object], timeout: float, what: str) -> object:
        """Wait until ``predicate()`` is true (re-checked on every event), or raise."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(f"waited {timeout:g} s for {what}")
                self.cond.wait(min(left, MONITOR_PERIOD * 2))

    def hold(self, seconds: float) -> None:
        """A visible pause: nothing to wait for, but Ctrl-C still ends it at once."""
        deadline = time.monotonic() + seconds
        with self.cond:
            while (left := deadline - time.monotonic()) > 0:
                self.cond.wait(min(left, 0.1))

    def add(self, event: Event) -> None:
        """Append an event (from the tracer, the output readers, or the scenario)."""
        with self.cond:
            self.events.append(event)
            self._track(event)
            self.cond.notify_all()

    def trace_done(self, pid: int) -> bool:
        """Whether every trace line process ``pid`` wrote has been read: its channel reached
        its end, or it never opened one (and no channel is still unidentified)."""
        with self.cond:
            if pid in self._drained:
                return True
            if pid in self._spawned and pid not in self._gave_up:
                return False  # its channel has not even been accepted yet
            return pid not in self._traced_pids and self._unidentified == 0

    def snapshot(self, since: int = 0) -> list[Event]:
        with self.cond:
            return self.events[since:]

    def sorted_events(self) -> list[Event]:
        with self.cond:
            return sorted(self.events, key=order_key)

    def real_address(self, side: str) -> tuple[str, int] | None:
        """Where ``side`` listens (the real port), learnt from its trace."""
        record = self.sides.get(side)
        for e in reversed(self.snapshot()):
            if e.side == side and e.kind == "return" and e.name == "listen" and e.real:
                if record is None or e.pid == record.pid:
                    return host_port(e.real)
        return None

    def sweep(self, record: Side | None = None, timeout: float = 5.0) -> int:
        """SIGKILL, again and again until none is left, the processes of ``record`` (its group
        and descendants) — or, without ``record``, of every side — and every process that
        carries this session's trace channel in its environment (a ``setsid`` or a double
        fork escapes the group and the parent, not the environment; a fork bomb keeps making
        new ones until every one of them is dead). Returns how many were killed."""
        deadline = time.monotonic() + timeout
        side = record.name if record is not None else None
        me = os.getpid()
        killed: set[int] = set()

        def kill(pid: int) -> None:  # at once: a process with SIGKILL pending cannot fork
            if pid != me and _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    return
                killed.add(pid)
                found.add(pid)

        # Done after a pass that finds nothing alive: whatever was forked during an earlier
        # pass, by a process found (and killed) in it, is found by the next one.
        while True:
            found: set[int] = set()
            for rec in [record] if record is not None else self.history:
                if rec.exit_code is None:  # not reaped yet: its pid is still its own
                    _killpg(rec.pid, signal.SIGKILL)
                    kill(rec.pid)
                    for pid in descendants(rec.pid):
                        kill(pid)
            _marked(self.channel_path, side, kill)
            if not found or time.monotonic() > deadline:
                return len(killed)

    def close(self) -> None:
        """End every process, close the channel, remove the temporary files. Idempotent; a
        call cut short (Ctrl-C during it) is finished by the next one, e.g. :func:`cleanup`."""
        if self not in _LIVE:
            return
        self._closed = True
        for record in self.history:
            _terminate_tree(record, 0.5)
        self.sweep()
        for record in self.history:
            if record.reader is not None:
                record.reader.join(timeout=3)
            try:
                record.child.close(force=True)
            except Exception:
                pass
        for sock in [self._listener, *self._connections]:
            if sock is None:
                continue
            try:  # shutdown wakes a thread blocked in accept() or recv() on it
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=2)
        remove_scratch(self._dir)
        _LIVE.discard(self)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- internals ---------------------------------------------------------------------

    def _side(self, side: str) -> Side:
        try:
            return self.sides[side]
        except KeyError:
            raise SessionError(f"no side called {side!r} was started") from None

    def _spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)
        return t

    def _track(self, e: Event) -> None:
        """Keep the table of pending calls (under the lock)."""
        if e.kind == "call":
            key = (e.pid, e.sock, e.name)
            self._pending[key] = e
            self._blocked_sent.discard(key)
        elif e.kind in ("return", "raise"):
            self._pending.pop((e.pid, e.sock, e.name), None)
        elif e.kind == "exit":
            for key in [k for k in self._pending if k[0] == e.pid or e.pid is None]:
                del self._pending[key]

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self.cond:
                self._connections.append(conn)
                self._unidentified += 1
            self._spawn(lambda c=conn: self._read_channel(c), "sockteach-trace")

    def _read_channel(self, conn: socket.socket) -> None:
        import json

        buf = b""
        pids: set[int] = set()
        loads = json.loads
        while True:
            try:
                chunk = conn.recv(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cond:  # everything this process wrote has been read
                    self._drained |= pids
                    if not pids:
                        self._unidentified -= 1
                    self._channel_mono.pop(conn, None)
                    self.cond.notify_all()
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            batch: list[Event] = []
            ended: list[int] = []
            newest = None
            for line in lines:
                try:
                    data = loads(line)
                except ValueError:
                    continue
                newest = data.get("mono", newest)
                pid = data.get("pid")
                if pid is not None and pid not in pids:
                    with self.cond:
                        if not pids:
                            self._unidentified -= 1
                        self._traced_pids.add(pid)
                        self._pid_conn[pid] = conn
                    pids.add(pid)
                if data.get("kind") == "exit" and pid is not None:
                    ended.append(pid)
                event = self._from_tracer(data)
                if event is not None:
                    batch.append(event)
            with self.cond:
                for event in batch:
                    self.events.append(event)
                    self._track(event)
                for pid in ended:  # its tracer's last line: nothing of it waits any more
                    for key in [k for k in self._pending if k[0] == pid]:
                        del self._pending[key]
                if newest is not None:
                    self._channel_mono[conn] = float(newest)
                self.cond.notify_all()

    def _from_tracer(self, data: dict) -> Event | None:
        kind = data.get("kind")
        if kind == "exit" and data.get("pid") is not None:  # its last moment, as it saw it
            self._exit_mono[data["pid"]] = float(data.get("mono", time.monotonic()))
        if kind in ("exit", "hello", "sync"):
            return None  # the session reports exits with the real exit status
        pid = data.get("pid")
        side = data.get("side", "?")
        record = self.sides.get(side)
        if record is not None and pid is not None:
            record.pids.add(pid)
        # The tracer writes version 2 only: every list is a tuple (fds, args) or an address.
        values = {k: (tuple(v) if v.__class__ is list else v) for k, v in data.items()
                  if k in _TRACER_FIELDS}
        return Event(float(data.get("mono", time.monotonic())) - self.t0, side, kind, **values)

    def settled(self, t: float, timeout: float = 2.0) -> bool:
        """Whether every event stamped before ``t`` (session time) has arrived; waits for it,
        at most ``timeout``. Each traced process's lines arrive in the order of their stamps,
        so a channel is settled once a line stamped at ``t`` or later came from it: those that
        have not are asked to write what they hold (they answer with a ``sync`` line), and
        processes started but not yet heard from are awaited. False if the deadline passed."""
        mono = self.t0 + t
        deadline = time.monotonic() + timeout
        asked: set[socket.socket] = set()
        with self.cond:
            while True:
                behind = [c for c, stamp in self._channel_mono.items() if stamp < mono]
                unheard = any(pid not in self._traced_pids and pid not in self._gave_up
                              and any(r.pid == pid and r.exit_code is None for r in self.history)
                              for pid in self._spawned)
                if not behind and not unheard and self._unidentified <= 0:
                    return True
                for conn in behind:
                    if conn not in asked:
                        asked.add(conn)
                        try:
                            conn.send(b"s")
                        except OSError:
                            pass
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self.cond.wait(min(left, MONITOR_PERIOD))

    def _read_output(self, record: Side) -> None:
        """Drain the side's terminal. What the program prints reaches the session through its
        trace channel, stamped where it was written; the terminal's text is kept (its end) only
        for a process that never opened a channel (the interpreter failed before the tracer
        ran), and then reported as its output when it ends."""
        import pexpect

        child = record.child
        tail = ""
        while True:
            try:
                data = child.read_nonblocking(1 << 16, timeout=None)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                break
            record.output_chars += len(data)
            tail = (tail + data)[-OUTPUT_EVENT_MAX:]
        code = _exit_status(child)
        # Report the exit after the process's last trace events (its channel closes with it).
        try:
            self.wait_until(lambda: self.trace_done(record.pid) or self._closed, 2.0, "the trace")
        except WaitTimeout:
            with self.cond:
                self._gave_up.add(record.pid)
        with self.cond:
            heard = record.pid in self._traced_pids
        if not heard and tail.strip():
            text = tail.replace("\r\n", "\n").replace("\r", "")
            self.add(Event(self.now(), record.name, "output", text=text, stream="terminal",
                           pid=record.pid))
        record.exit_code = code
        # Stamped when the process really ended: its tracer's last line (a process killed by a
        # signal writes none: then when the session saw it end).
        last = self._exit_mono.get(record.pid)
        self.add(record.exit_event(last - self.t0 if last is not None else self.now(), code))
        self._sample_tcp()  # what the kernel's table says now that the process is gone

    def _monitor_loop(self) -> None:
        while not self._closed:
            time.sleep(MONITOR_PERIOD)  # a polling period, not a synchronisation
            now = self.now()
            blocked = []
            ask: set[socket.socket] = set()
            with self.cond:
                for key, call in self._pending.items():
                    waited = now - call.t
                    if waited < self.blocked_after or key in self._blocked_sent:
                        continue
                    # Pending here is not yet blocked there: its return may still wait in the
                    # tracer (a busy machine). Blocked once that process has written a line
                    # stamped past the threshold (a sync answer if need be) and the call is
                    # still open — the process's lines come in the order of their stamps.
                    conn = self._pid_conn.get(call.pid)
                    if conn is not None and conn in self._channel_mono and (
                            self._channel_mono[conn] - self.t0 < call.t + self.blocked_after):
                        ask.add(conn)
                        # No answer for a good while: then the kernel's word — every thread
                        # of it asleep in a call — will do (its tracer may be starved).
                        if waited < self.blocked_after + UNANSWERED or not _asleep(call.pid):
                            continue
                    self._blocked_sent.add(key)
                    blocked.append(Event(now, call.side, "blocked", name=call.name,
                                         seconds=round(waited, 3), sock=call.sock, pid=call.pid))
            for conn in ask:
                try:
                    conn.send(b"s")
                except OSError:
                    pass
            for e in blocked:
                self.add(e)
            self._sample_tcp()

    def _sample_tcp(self) -> None:
        """A ``tcp`` event when the kernel's table for the session's ports has changed."""
        if not (self._poll_tcp and kernel.available()) or self._closed:
            return
        current = {real: nominal for nominal, real in self.port_map.items()}
        states = kernel.connections(current)
        with self.cond:
            if states == self._tcp_last:
                return
            self._tcp_last = states
        self.add(Event(self.now(), "kernel", "tcp", states=states))


def _exit_status(child: object) -> int:
    """Exit code of a pexpect child; negative when a signal ended it."""
    for _ in range(2):
        try:
            child.wait()  # type: ignore[attr-defined]
            break
        except Exception:
            try:
                child.close(force=True)  # type: ignore[attr-defined]
            except Exception:
                pass
    status = getattr(child, "signalstatus", None)
    if status:
        return -int(status)
    code = getattr(child, "exitstatus", None)
    return int(code) if code is not None else -1


def _killpg(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` — only if ``pid`` does lead one."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _terminate_tree(record: Side, grace: float) -> None:
    """SIGTERM the side's process group and every descendant, SIGKILL what is left.

    The side's own process is reaped by its reader thread (which reports the exit status),
    so here it is only signalled and awaited through ``record.exit_code``.
    """
    import psutil

    procs: dict[int, psutil.Process] = {}
    for pid in set(record.pids) | {record.pid}:
        try:
            p = psutil.Process(pid)
            # psutil's create_time() can be up to 1 s early (Linux boot time has whole-second
            # precision) and wall_started is taken after the spawn: 1 s of slack was too little
            # on a loaded machine, and stop() then left the process running.
            if p.create_time() < record.wall_started - 3:
                continue  # that pid now belongs to someone else
            procs[pid] = p
            for c in p.children(recursive=True):
                procs[c.pid] = c
        except psutil.Error:
            pass
    leader = procs.pop(record.pid, None)
    if leader is None and not procs:
        return
    record.signalled = True
    _killpg(record.pid, signal.SIGTERM)
    for p in ([leader] if leader else []) + list(procs.values()):
        try:
            p.terminate()
        except psutil.Error:
            pass
    deadline = time.monotonic() + grace
    _gone, alive = psutil.wait_procs(_living(procs.values()), timeout=grace)
    if leader is not None:
        _await_exit(record, deadline)
        if record.exit_code is None:
            record.forced = True
    for p in alive + ([leader] if leader is not None and record.exit_code is None else []):
        try:
            p.kill()
        except psutil.Error:
            pass
    _killpg(record.pid, signal.SIGKILL)
    psutil.wait_procs(_living(alive), timeout=1)
    if leader is not None:
        _await_exit(record, time.monotonic() + 2)


def _living(procs) -> list:
    """Processes not yet dead: a zombie is gone already, whoever reaps it (and when)."""
    import psutil

    out = []
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


def _await_exit(record: Side, deadline: float) -> None:
    """Poll (the reader thread reaps and records the status) until the side has ended."""
    while record.exit_code is None and time.monotonic() < deadline:
        if record.reader is None or not record.reader.is_alive():
            return
        record.reader.join(timeout=0.02)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux: /proc/PID/task/TID/children; else psutil)."""
    if os.path.exists(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/children"):
        found: set[int] = set()
        stack = [pid]
        while stack:
            p = stack.pop()
            try:
                tasks = os.listdir(f"/proc/{p}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{p}/task/{tid}/children") as f:
                        kids = f.read().split()
                except OSError:
                    continue
                for k in kids:
                    if int(k) not in found:
                        found.add(int(k))
                        stack.append(int(k))
        return found
    try:
        import psutil

        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except Exception:
        return set()


def _asleep(pid: int) -> bool:
    """Whether every thread of ``pid`` sleeps in the kernel (state S or D), per /proc."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state not in (b"S", b"D"):
            return False
    return bool(tasks)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie is dead already, whoever reaps it and when)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        if os.path.isdir("/proc/self"):
            return False
    try:
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:
        return False


def _marked(channel_path: str, side: str | None, act: Callable[[int], None]) -> None:
    """Call ``act(pid)`` for every process whose environment holds
    ``SOCKTEACH_TRACE=channel_path`` (and, given ``side``, ``SOCKTEACH_SIDE=side``): every
    process a session's program started, however it forked — as soon as it is found."""
    trace = f"SOCKTEACH_TRACE={channel_path}".encode()
    who = f"SOCKTEACH_SIDE={side}".encode() if side is not None else None
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if trace in env and (who is None or who in env):
                act(int(name))
        return
    import psutil

    for p in psutil.process_iter():
        try:
            env = p.environ()
        except psutil.Error:
            continue
        if env.get("SOCKTEACH_TRACE") == channel_path and (
                side is None or env.get("SOCKTEACH_SIDE") == side):
            act(p.pid)
