"""The grader's own peers: a client (:class:`Peer`) and, for client exercises, a server
(:class:`UpperServer`), both plain sockets in this process, with deadlines.

Every exchange they make is an event in the trial's stream, side ``"peer"`` (the first peer of
a trial), ``"peer2"``, …, ``sock`` = that peer's number: ``connect`` (call with ``addr``;
return with ``local``/``peer``, or raise with ``error``/``message``/``errno``), ``sendall``
(call with ``data`` — all of it, the grader's bytes are small — and ``nbytes``; return, or
raise), ``recv`` (call; return with every byte got in ``data``, ``nbytes``, and ``text`` = how
the read ended: None, ``"eof"``, ``"reset"``, ``"timeout"``), ``close`` (call, ``wire``
``"FIN"`` or ``"RST"``). The judges read them back with :mod:`.exchanges`.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Callable

from ..events import Event
from .exchanges import SERVER_SIDE

if TYPE_CHECKING:
    from .trial import Trial


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


def _hex(data: bytes) -> str:
    return data.hex()


class Peer:
    """The grader's own client: a plain socket in this process, with deadlines."""

    def __init__(self, trial: "Trial", address: tuple) -> None:
        self.trial = trial
        self.address = address
        family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.closed = False
        trial._peers.append(self)

    @property
    def number(self) -> int:
        """This peer's number in its trial (1, 2, …): its ``sock`` in the events."""
        return self.trial._peers.index(self) + 1

    @property
    def side(self) -> str:
        return "peer" if self.number == 1 else f"peer{self.number}"

    def _add(self, kind: str, name: str, **fields: object) -> float:
        now = self.trial.now()
        self.trial.session.add(Event(now, self.side, kind, name=name, sock=self.number,
                                     **fields))
        return now

    def _raise(self, name: str, exc: OSError) -> None:
        self._add("raise", name, error=type(exc).__name__, message=str(exc), errno=exc.errno)

    def connect(self, timeout: float) -> str | None:
        """Connect; None when connected, else the error text."""
        self.sock.settimeout(max(timeout, 0.05))
        addr = tuple(self.address) if isinstance(self.address, (tuple, list)) else self.address
        self._add("call", "connect", addr=addr, args=(repr(addr),))
        try:
            self.sock.connect(self.address)
        except OSError as exc:
            self._raise("connect", exc)
            return f"{type(exc).__name__}: {exc}"
        try:
            local = self.sock.getsockname()
        except OSError:
            local = None
        if isinstance(local, tuple):
            local = local[:2]
        self._add("return", "connect", local=local, peer=addr)
        return None

    def send(self, data: bytes) -> str | None:
        self.sock.settimeout(2.0)
        self._add("call", "sendall", data=_hex(data), nbytes=len(data), args=(repr(data),))
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self._raise("sendall", exc)
            return "reset" if isinstance(exc, (ConnectionResetError, BrokenPipeError)) else str(exc)
        self._add("return", "sendall", nbytes=len(data))
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

    def received(self, got: bytes, end: str | None) -> None:
        """Record what one reply gave (every byte, and how the read ended)."""
        self._add("return", "recv", data=_hex(got), nbytes=len(got), text=end,
                  result=repr(got))

    def shutdown_write(self) -> bool:
        """Send a FIN but keep reading (``shutdown(SHUT_WR)``): the server's FIN then shows
        as the end of the stream."""
        self._add("call", "shutdown", wire="FIN", args=("SHUT_WR",))
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._raise("shutdown", exc)
            return False
        self._add("return", "shutdown")
        return True

    def close(self) -> None:
        """A normal close: FIN, the server's recv returns b''."""
        if not self.closed:
            self.closed = True
            self._add("call", "close", wire="FIN")
            self.sock.close()
            self._add("return", "close")

    def reset(self) -> None:
        """An abrupt close: SO_LINGER (1, 0), so close() sends RST (ConnectionResetError)."""
        if not self.closed:
            self.closed = True
            self._add("call", "close", wire="RST", linger=(1, 0))
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.sock.close()
            self._add("return", "close")


class UpperServer:
    """The grader's server for a client exercise: in this process, listening on the real port
    that the nominal ``port`` maps to; it answers every chunk it receives with the chunk in
    upper case (like the lesson's server). What it accepts, receives and sends goes into the
    session's event stream as side ``"peer"`` (so waits wake on it)."""

    side = SERVER_SIDE

    def __init__(self, trial: "Trial", port: int = 8081) -> None:
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sockteach-peer", daemon=True)
        self._thread.start()
        trial.on_close(self.close)

    def _add(self, kind: str, name: str, sock: int, **fields: object) -> None:
        self.trial.session.add(Event(self.trial.now(), self.side, kind, name=name, sock=sock,
                                     **fields))

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
                        self._add("return", "accept", len(conns), peer=tuple(addr)[:2],
                                  result=repr(addr))
                        continue
                    number = conns.index(sock) + 1 if sock in conns else 0
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        self._add("return", "recv", number, data=_hex(data), nbytes=len(data),
                                  result=repr(data))
                        try:
                            sock.settimeout(1.0)
                            sock.sendall(data.upper())
                            sock.setblocking(False)
                            self._add("return", "sendall", number, data=_hex(data.upper()),
                                      nbytes=len(data))
                        except OSError:
                            pass
                    else:
                        self.selector.unregister(sock)
                        sock.close()
                        self._add("return", "close", number)
        finally:
            for c in conns:
                try:
                    c.close()
                except OSError:
                    pass

    def close(self) -> None:
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
