"""The event stream: plain, frozen data recorded from real processes.

Everything a learner sees and everything the grader judges is computed from a list of
:class:`Event`. The same dictionaries are the ``--record`` JSON-lines format (version
:data:`VERSION`; the first line of a file is ``{"format": "sockteach-events", "version": N}``).

Kinds and their fields (besides ``t``, ``side``, ``kind``, ``pid``):

======== ==========================================================================
kind     fields
======== ==========================================================================
call     ``name`` (socket method, ``input``, ``select``/``poll``/``epoll``), ``args`` (reprs,
         for display only), ``sock`` (fd) and the socket's facts (below), ``real``
return   ``name``, ``result`` (repr, display only), ``sock`` and the socket's facts
raise    ``name``, ``error`` (class name), ``errno`` (int), ``errname`` (``"ECONNREFUSED"``),
         ``message`` (``str(exc)``), ``sock`` and the socket's facts
repeat   ``name``, ``result``, ``count`` (total repeats so far), ``sock`` — a call that keeps
         giving the same empty result (the spin), folded by the tracer; ``name="output"``
         with ``text``/``stream``: the same text printed again and again
blocked  ``name``, ``seconds``, ``sock`` — the session judged that call blocked
output   ``text``, ``stream`` (``"stdout"``/``"stderr"``) — what the side wrote, captured in
         the traced process where it was written; ``input``: ``text`` typed into it
exit     ``code`` (negative: killed by that signal); ``text`` is ``"outside"`` when that signal
         came from neither the session nor the learner
step     ``title``, ``text`` — a scenario step began (in the run's language)
tcp      ``states`` — the kernel's table for the session's ports:
         list of ``[local, remote, state]`` with nominal ports
segment  one TCP or UDP segment seen on ``lo`` (:mod:`sockteach.capture`; ``side`` is
         ``"wire"``): ``proto`` (``"TCP"``/``"UDP"``), ``src``/``dst`` (``[host, port]``, the
         ports the kernel used), ``flags`` (``"SYN"``, ``"SYN/ACK"``, ``"ACK"``, ``"PSH/ACK"``,
         ``"FIN/ACK"``, ``"RST"``, ``"RST/ACK"``; None for UDP), ``seq``/``ack`` (relative to
         each side's first sequence number in that connection; ``ack`` None without ACK),
         ``window`` (bytes, scaled), ``nbytes`` (payload length). Stamped when the kernel
         sent it, on the same clock as the tracer
======== ==========================================================================

The socket's facts, on every ``call``/``return``/``raise``/``repeat`` of a socket method:
``family`` (``"AF_INET"``, ``"AF_INET6"``, ``"AF_UNIX"``), ``socktype`` (``"SOCK_STREAM"``,
``"SOCK_DGRAM"``); on ``call`` and ``raise`` also ``mode`` (``"blocking"``, ``"timeout"`` with
``timeout`` in seconds, ``"nonblocking"``) as it was when the call began.

Structured values, each on the event where the program meets it:

- ``addr``: the address a call names or gets — ``bind``/``connect``/``connect_ex``/``sendto``
  calls, ``recvfrom`` and ``accept`` returns (the peer). An address is ``[host, port]``
  (``[host, port, flow, scope]`` for IPv6 as Python gives it) or a path string (AF_UNIX; an
  abstract name starts with ``"\\u0000"``). Always as the program sees it (nominal ports).
- ``real``: the address the kernel was really given, when sockteach changed it (a nominal port
  mapped to the session's own, a wildcard host bound to loopback for safety); on ``listen``'s
  return, the address really listened on.
- ``local``/``peer``: the socket's own and its peer's address after ``connect``/``accept``
  (on the return), ``local`` after ``bind``/``listen``.
- ``conn``: the fd of the socket ``accept`` returned.
- ``size``: the buffer size a ``recv``/``recvfrom``/``recv_into`` asked for.
- ``nbytes``: how many bytes a send sent (its return value; ``sendall``: all it was given) or a
  receive got; ``data``: the first :data:`PREVIEW` of those bytes as hex (on the send's
  ``call`` the bytes offered, on the receive's ``return`` the bytes got).
- ``wire`` on ``close``/``shutdown`` (call): what the kernel sends because of it —
  ``"FIN"``, ``"RST"`` (unread bytes in the receive queue, ``unread`` > 0, or ``SO_LINGER``
  ``(1, 0)``, ``linger``), ``"none"`` (not connected, UDP, or ``held`` — a ``makefile()``
  file still holds the socket open, so nothing happens until that file is closed) or
  ``"eof"`` (AF_UNIX stream: the peer reads end of file, no segment exists). A close that
  only takes effect when a makefile() file closes is reported then, as a ``close`` call with
  ``held="released"``.
- ``rfds``/``wfds`` on ``select``/``poll``/``epoll``: the fds waited on (call) or ready
  (return); ``timeout`` on the call (None: no limit).
- ``vms`` on the grader's ``resource`` samples: the program's virtual memory (what its
  RLIMIT_AS limits; ``count`` is its resident memory).
- ``internal``: a socket the learner's program did not make itself (``"asyncio"``: the event
  loop's own self-pipe pair); views label or hide it.

Ordering rule (what "true order" means here):

1. Every event of a traced process is stamped in that process, with ``time.monotonic()`` (one
   system-wide clock on Linux and macOS), at the moment it happens: a call just before the
   system call, a return or raise just after, output at the ``write``. One process's events
   therefore have its own order; output is never late or early against its socket calls.
2. Across processes the clock keeps cause before effect: a ``send`` call is stamped before its
   bytes leave, the ``recv`` that gets them returns after they arrived, so a receiver's return
   never precedes the matching send call. Views draw the wire row right after that send call.
3. Events the session makes are stamped when it acts or observes: ``input`` before the bytes
   are written to the program's terminal, ``step`` before the step's first action, ``exit``
   once the process's last trace line was read, ``blocked`` and ``tcp`` at the sample.
4. ``t`` is seconds since the session started; ``side`` is ``"server"``, ``"client"``,
   ``"client2"``, … Sorting by :func:`order_key` gives the order; events may *arrive* out of
   it (several channels, batched writes), so a consumer that shows events as they come either
   re-sorts (the timeline does) or waits for :meth:`Session.settled` (the stream printer).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, fields
from typing import IO, Any, Iterable, Iterator

VERSION = 2
PREVIEW = 256  # bytes of data kept in an event (hex); ``nbytes`` says how many there were
HEADER = {"format": "sockteach-events", "version": VERSION}

Address = "tuple | str"


@dataclass(frozen=True, init=False)
class Event:
    """One thing that happened. Frozen; a field left out is None (the class's default), so
    making one costs only the fields it has — the session makes one per traced call."""

    t: float
    side: str
    kind: str
    name: str | None = None
    args: tuple[str, ...] | None = None
    result: str | None = None
    error: str | None = None
    errno: int | None = None
    errname: str | None = None
    message: str | None = None
    seconds: float | None = None
    count: int | None = None
    text: str | None = None
    stream: str | None = None
    code: int | None = None
    title: str | None = None
    sock: int | None = None
    family: str | None = None
    socktype: str | None = None
    mode: str | None = None
    timeout: float | None = None
    addr: Any = None
    real: Any = None
    local: Any = None
    peer: Any = None
    conn: int | None = None
    size: int | None = None
    nbytes: int | None = None
    data: str | None = None
    wire: str | None = None
    unread: int | None = None
    linger: tuple[int, int] | None = None
    held: str | None = None
    rfds: tuple[int, ...] | None = None
    wfds: tuple[int, ...] | None = None
    internal: str | None = None
    vms: int | None = None
    states: tuple[tuple[str, str, str], ...] | None = None
    pid: int | None = None
    # kind "segment" (sockteach.capture)
    proto: str | None = None
    src: Any = None
    dst: Any = None
    flags: str | None = None
    seq: int | None = None
    ack: int | None = None
    window: int | None = None

    def __init__(self, t: float, side: str, kind: str, *rest: Any, **fields: Any) -> None:
        values = self.__dict__  # frozen: written here once, never again
        values["t"], values["side"], values["kind"] = t, side, kind
        if rest:
            fields.update(zip(_FIELDS[3:], rest))
        if not _FIELD_SET.issuperset(fields):
            unknown = ", ".join(sorted(set(fields) - _FIELD_SET))
            raise TypeError(f"Event() got unknown fields: {unknown}")
        values.update(fields)

    @property
    def payload(self) -> bytes | None:
        """The data preview as bytes (``data`` is hex), or None."""
        if self.data is None:
            return None
        try:
            return bytes.fromhex(self.data)
        except ValueError:
            return None


_FIELDS = tuple(f.name for f in fields(Event))
_FIELD_SET = frozenset(_FIELDS)
_TUPLES = ("args", "rfds", "wfds", "linger")
_ADDRESSES = ("addr", "real", "local", "peer")
_ADDRESSES += ("src", "dst")  # kind "segment"


def order_key(event: Event) -> tuple:
    """A total order for events: by time, then (for events of the same instant, such as the
    blocked events of one monitor tick) by side, kind and name, so a sort never depends on
    the order events arrived in."""
    return (event.t, event.side, event.kind, event.name or "", event.sock or 0)


def address(value: Any) -> Any:
    """An address from JSON or from a version-1 repr string: a tuple, a path string, or None."""
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str) and value.startswith("(") and value.endswith(")"):
        try:  # version 1 wrote addresses as reprs: "('127.0.0.1', 40123)"
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        return tuple(parsed) if isinstance(parsed, tuple) else value
    return value


def host_port(value: Any) -> tuple[str, int] | None:
    """``(host, port)`` of an internet address, or None (a path, nothing)."""
    if isinstance(value, (tuple, list)) and len(value) >= 2 and isinstance(value[1], int):
        return str(value[0]), value[1]
    return None


def show_address(value: Any) -> str:
    """An address as a learner reads it: ``127.0.0.1:8081``, ``[::1]:8081``, a path."""
    hp = host_port(value)
    if hp is None:
        if isinstance(value, str):
            return "@" + value[1:] if value.startswith("\0") else value
        return "" if value is None else str(value)
    host, port = hp
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host or '0.0.0.0'}:{port}"


def to_dict(event: Event) -> dict[str, Any]:
    """The JSON form: fields that are None are left out, tuples become lists."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(event, name)
        if value is None:
            continue
        if name == "t":
            value = round(value, 6)
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[name] = value
    return out


def from_dict(data: dict[str, Any]) -> Event:
    """Build an event from its JSON form (version 1 or 2); unknown keys are ignored."""
    return Event(**plain_fields(data, _FIELDS))


def plain_fields(data: dict[str, Any], keep: Iterable[str]) -> dict[str, Any]:
    """The ``keep`` fields of a JSON event as Event takes them: lists as tuples, addresses
    parsed (a version-1 repr too). Used for record files and for the tracer's lines."""
    kwargs = {k: v for k, v in data.items() if k in keep}
    for name in _TUPLES:
        if kwargs.get(name) is not None:
            kwargs[name] = tuple(kwargs[name])
    for name in _ADDRESSES:
        if name in kwargs:
            kwargs[name] = address(kwargs[name])
    if kwargs.get("states") is not None:
        kwargs["states"] = tuple(tuple(s) for s in kwargs["states"])
    return kwargs


class FormatError(ValueError):
    """A file that is not a sockteach event record, or one from a newer version (``newer``
    is then the version it names)."""

    def __init__(self, text: str, newer: int | None = None) -> None:
        super().__init__(text)
        self.newer = newer


def dump_jsonl(events: Iterable[Event], stream: IO[str]) -> None:
    stream.write(json.dumps(HEADER) + "\n")
    for event in events:
        stream.write(json.dumps(to_dict(event), ensure_ascii=False) + "\n")


def read_header(line: str) -> int | None:
    """The version a header line names, or None if the line is not a header."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("format") == "sockteach-events":
        return int(data.get("version", 0))
    return None


def load_jsonl(stream: IO[str]) -> Iterator[Event]:
    """Events of a record file. A file without a header is version 1 (sockteach 0.1), read
    as such; a newer version than this one raises :class:`FormatError`."""
    first = True
    for number, line in enumerate(stream, 1):
        line = line.strip()
        if not line:
            continue
        if first:
            first = False
            version = read_header(line)
            if version is not None:
                if version > VERSION:
                    raise FormatError(f"version {version}", newer=version)
                continue
        try:
            data = json.loads(line)
        except ValueError:
            raise FormatError(f"line {number} is not JSON") from None
        if not isinstance(data, dict) or "kind" not in data or "t" not in data:
            raise FormatError(f"line {number} is not an event")
        yield from_dict(data)


def record_version(path: str) -> int:
    """1 for a file without a header, else the header's version."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                return read_header(line.strip()) or 1
    return VERSION
