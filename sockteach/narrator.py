"""The narrator: one plain-language sentence per event, in English or Chinese.

``narrate`` is a pure function of (event, language, lesson); a :class:`Narrator` narrates a
whole stream and also knows the call each return belongs to. Both read the version-2 fields of
:mod:`sockteach.events` (a version-1 event is upgraded first, :func:`sockteach.legacy.upgrade`)
and say what the socket is and what the kernel did: its family and type, its blocking mode,
what a ``close()`` sent, an address sockteach substituted. Every word comes from the
message catalogs (``sockteach/messages/*.toml``); this module only chooses a key and fills in
its placeholders. A lesson may override a sentence with a ``[narration]`` table in its
``lesson.toml`` whose keys are catalog keys (``"return.recv_empty" = { en = …, zh = … }``).
"""

from __future__ import annotations

import errno as errno_names
import signal
from typing import TYPE_CHECKING, Callable

from .events import Event, host_port, show_address
from .i18n import msg, pick
from .legacy import Modes, upgrade
from .wording import (  # noqa: F401 - SHORT, short, side_label…: imported from here too
    SHORT, arg_at, call_text, data_text, fds_text, linger_of, mode_suffix, nbytes_text,
    seconds_text, short, side_label, sockopt_args, substitution,
)

if TYPE_CHECKING:  # pragma: no cover
    from .lessons import Lesson


# ---------------------------------------------------------------- per-kind choices

Found = "tuple[str, dict[str, object]] | None"


def _call(e: Event, n: "Narrator") -> Found:
    name = e.name or "?"
    values: dict[str, object] = {"call": call_text(name, e.args)}
    first = arg_at(e, 0)
    unix, dgram = e.family == "AF_UNIX", e.socktype == "SOCK_DGRAM"
    if e.internal:
        return "call.internal", {**values, "what": msg(f"internal.{e.internal}", n.lang)}
    if name in ("getpeername", "getsockname", "gettimeout", "fileno"):
        return None  # the return says what matters
    if name == "bind":
        return ("call.bind_unix" if unix else "call.bind"), {**values,
                                                             "addr": show_address(e.addr)}
    if name in ("connect", "connect_ex"):
        addr = show_address(e.addr)
        if unix:
            return f"call.{name}_unix", {**values, "addr": addr}
        if dgram:
            return "call.connect_dgram", {**values, "addr": addr}
        mode = mode_suffix(e) if name == "connect" else ("_nonblocking" if e.mode == "nonblocking"
                                                   else "")
        return f"call.{name}{mode}", {**values, "addr": addr, "seconds": seconds_text(e.timeout)}
    if name in ("recv", "recvfrom", "accept"):
        size = e.size if e.size is not None else (first or "?")
        return f"call.{name}{mode_suffix(e)}", {**values, "n": size, "seconds": seconds_text(e.timeout)}
    if name in ("send", "sendall"):
        empty = e.payload == b""
        return f"call.{name}{'_empty' if empty else ''}", values
    if name == "sendto":
        return "call.sendto", {**values, "addr": show_address(e.addr)}
    if name in ("select", "poll", "epoll"):
        what = fds_text(e.rfds, e.wfds, n.lang, n.internal_fds(e))
        key = ("call.select_now" if e.timeout == 0 else
               "call.select" if e.timeout is None else "call.select_timeout")
        return key, {"name": name, "what": what, "seconds": seconds_text(e.timeout)}
    if name in ("setsockopt", "getsockopt"):
        args = sockopt_args(tuple(e.args or ()))
        opt = args[1] if len(args) > 1 else "?"
        if name == "setsockopt" and opt == "SO_REUSEADDR" and args[2:] not in (("0",), ("False",)):
            return "call.setsockopt_reuseaddr", values
        if name == "setsockopt" and opt == "SO_LINGER" and linger_of(args[2:3]) == (1, 0):
            return "call.setsockopt_linger_rst", values
        return f"call.{name}", {**values, "opt": opt, "value": args[2] if len(args) > 2 else ""}
    if name == "setblocking":
        off = first in ("False", "0")
        return f"call.setblocking_{'off' if off else 'on'}", values
    if name == "settimeout":
        if first == "None":
            return "call.settimeout_none", values
        if first in ("0", "0.0"):
            return "call.settimeout_zero", values
        return "call.settimeout", {**values, "seconds": first}
    if name == "close":
        return _close(e), {**values, "n": nbytes_text(e.unread or 0, n.lang)}
    if name == "shutdown":
        wire = {"FIN": "_fin", "eof": "_eof"}.get(e.wire or "", "")
        return f"call.shutdown{wire}", values
    if name in ("listen", "makefile", "input"):
        return f"call.{name}", values
    return "call.generic", values


def _close(e: Event) -> str:
    """Which close sentence: what the kernel sends because of this close()."""
    released = "_released" if e.held == "released" else ""
    if e.wire == "FIN":
        return f"call.close_fin{released}"
    if e.wire == "RST":
        return "call.close_rst_linger" if e.linger and tuple(e.linger)[:2] == (1, 0) and \
            not e.unread else f"call.close_rst{released}"
    if e.wire == "eof":
        return f"call.close_eof{released}"
    if e.wire == "none":
        if e.held == "makefile":
            return "call.close_held"
        return "call.close_dgram" if e.socktype == "SOCK_DGRAM" else "call.close_none"
    return "call.close"  # a version-1 record: what was sent is not known


def _return(e: Event, n: "Narrator") -> Found:
    name, result = e.name or "?", e.result or ""
    values: dict[str, object] = {"name": name, "result": short(result)}
    lang = n.lang
    if e.internal:
        return None
    if name == "accept":
        key = "return.accept_unix" if e.family == "AF_UNIX" else "return.accept"
        peer = host_port(e.addr)
        if peer and peer[0].startswith("::ffff:"):
            key = "return.accept_mapped"
        return key, {"addr": show_address(e.addr), "fd": "?" if e.conn is None else e.conn}
    if name == "connect":
        if e.family == "AF_UNIX":
            return "return.connect_unix", values
        return ("return.connect_dgram" if e.socktype == "SOCK_DGRAM" else "return.connect"), values
    if name == "connect_ex":
        if result == "0":
            return ("return.connect_ex_ok_unix" if e.family == "AF_UNIX"
                    else "return.connect_ex_ok"), values
        code = int(result) if result.isdigit() else -1
        errname = errno_names.errorcode.get(code, "?")
        if errname == "EINPROGRESS":
            return "return.connect_ex_progress", {**values, "errname": errname}
        return "return.connect_ex_err", {**values, "errname": errname}
    if name in ("recv", "recvfrom", "recv_into"):
        addr = show_address(e.addr)
        if e.nbytes == 0:
            key = f"{name}_empty"
            if name == "recv" and e.socktype == "SOCK_DGRAM":
                key = "recv_dgram_empty"  # an empty datagram: b'' does not mean closed
            return f"return.{key}", {**values, "addr": addr}
        if name == "recv_into":
            return "return.recv_into", {**values, "bytes": nbytes_text(e.nbytes or 0, lang)}
        return f"return.{name}", {"data": data_text(e, lang), "addr": addr}
    if name in ("send", "sendto"):
        if e.nbytes == 0:
            return f"return.{name}_zero", values
        return f"return.{name}", {**values, "bytes": nbytes_text(e.nbytes or 0, lang)}
    if name == "sendall":
        return "return.sendall", values
    if name in ("getpeername", "getsockname"):
        return f"return.{name}", {"addr": show_address(e.addr) or short(result)}
    if name == "gettimeout":
        return ("return.gettimeout_none" if result == "None" else "return.gettimeout"), values
    if name in ("select", "poll", "epoll"):
        if not e.rfds and not e.wfds:
            return "return.select_none", values
        return "return.select", {**values,
                                 "what": fds_text(e.rfds, e.wfds, lang, n.internal_fds(e))}
    if name == "getsockopt":
        call = n.call_of(e)
        opt = sockopt_args(tuple(call.args or ()))[1:2] if call is not None else ()
        if opt == ("SO_ERROR",) and result.isdigit():
            if result == "0":
                return "return.so_error_ok", values
            errname = errno_names.errorcode.get(int(result), "?")
            key = "return.so_error_refused" if errname == "ECONNREFUSED" else "return.so_error"
            return key, {**values, "errname": errname}
        return "return.getsockopt", values
    if name == "fileno":
        return "return.fileno", values
    if name == "input":
        return ("return.input_empty", values) if result in ("''", '""') else None
    if result in ("None", ""):
        return None  # the call already had its sentence
    return "return.generic", values


_RAISE_KEYS = {
    "ConnectionResetError": "raise.reset",
    "BrokenPipeError": "raise.broken_pipe",
    "ConnectionRefusedError": "raise.refused",
    "TimeoutError": "raise.timeout",
    "timeout": "raise.timeout",
    "BlockingIOError": "raise.would_block",
    "KeyboardInterrupt": "raise.interrupt",
    "EOFError": "raise.eof",
}


def _raise(e: Event, n: "Narrator") -> Found:
    what = e.error or "?"
    if e.message:
        what = f"{what} ({e.message})"
    values: dict[str, object] = {"name": e.name or "?", "what": what,
                                 "seconds": seconds_text(e.timeout)}
    unix = e.family == "AF_UNIX"
    if e.internal:
        return None  # the call's line said whose socket it is
    if e.errno in (98, errno_names.EADDRINUSE):  # 98 on Linux, 48 on macOS
        call = n.call_of(e)
        path = show_address(call.addr) if call is not None and call.addr else "?"
        return ("raise.in_use_unix" if unix else "raise.in_use"), {
            **values, "error": e.error or "OSError", "errno": e.errno, "path": path}
    if e.errname == "EINPROGRESS":
        return "raise.in_progress", values
    if e.errname == "ENETUNREACH":  # only in a namespace: outside, the tracer refuses first
        return "raise.no_route_namespace", values
    if e.errname == "ENOTCONN":
        return "raise.not_connected", values
    if unix and e.error == "ConnectionRefusedError":
        return "raise.refused_unix", values
    if e.socktype == "SOCK_DGRAM" and e.error == "ConnectionRefusedError":
        return "raise.refused_dgram", values
    if unix and e.error == "FileNotFoundError" and e.name in ("connect", "connect_ex"):
        return "raise.no_file_unix", values
    key = _RAISE_KEYS.get(e.error or "", "raise.generic")
    if key == "raise.timeout" and e.timeout is not None:
        key = "raise.timeout_seconds"
    return key, values


def _repeat(e: Event, n: "Narrator") -> Found:
    count = e.count or 0
    lang = n.lang
    times = msg("times_one", lang) if count == 1 else msg("times", lang, n=f"{count:,}")
    values: dict[str, object] = {"name": e.name or "?", "result": short(e.result or ""),
                                 "times": times}
    if e.internal:
        return None
    if e.name == "recv" and e.result == "b''":
        return "repeat.recv_empty", values
    if e.name == "send" and e.result == "0":
        return "repeat.send_zero", values
    return "repeat.generic", values


def _blocked(e: Event, n: "Narrator") -> Found:
    name = e.name or "?"
    key = {"sendall": "send", "poll": "select", "epoll": "select"}.get(name, name)
    if key == "select":
        call = n.call_of(e)
        if call is None or not (call.rfds or call.wfds):
            return "blocked.generic", {"name": name}  # which fds: not known on its own
        what = fds_text(call.rfds, call.wfds, n.lang, n.internal_fds(e))
        return "blocked.select", {"name": name, "what": what}
    if key in ("recv", "accept", "input", "connect", "send", "recvfrom"):
        return f"blocked.{key}", {"name": name}
    return "blocked.generic", {"name": name}


def _exit(e: Event, n: "Narrator") -> Found:
    code = e.code
    if code is None:
        return "exit.unknown", {}
    if code == 0:
        return "exit.ok", {"code": code}
    if code > 0:
        return "exit.error", {"code": code}
    try:
        signame = signal.Signals(-code).name
    except ValueError:
        signame = f"signal {-code}"
    if e.text == "outside":
        return "exit.outside", {"signame": signame, "signum": -code}
    if signame == "SIGINT":
        return "exit.sigint", {}
    return "exit.signal", {"signame": signame, "signum": -code}


def _input(e: Event, n: "Narrator") -> Found:
    text = (e.text or "").rstrip("\r\n")
    return ("input.typed", {"text": repr(text)}) if text else ("input.enter", {})


def _step(e: Event, n: "Narrator") -> Found:
    if not e.title and not e.text:
        return None
    if e.title and e.text:
        return "step.full", {"title": e.title, "text": e.text}
    return "step.only", {"title": e.title or e.text}


def tcp_entry(local: str, remote: str, state: str) -> str:
    """One kernel table entry in words: ``127.0.0.1:8081 LISTEN`` or ``a ↔ b STATE``."""
    if state == "LISTEN" or remote in ("0.0.0.0:0", "*:*", ""):
        return f"{local} {state}"
    return f"{local} ↔ {remote} {state}"


def _tcp(e: Event, n: "Narrator") -> Found:
    if e.states is None:
        return "tcp.cannot", {"reason": e.text or "?"}
    if not e.states:
        return "tcp.empty", {}
    entries = "; ".join(tcp_entry(*s) for s in e.states)
    seen: list[str] = []
    for _, _, state in e.states:
        if state not in seen and state not in ("LISTEN", "ESTABLISHED"):
            seen.append(state)
    notes = [msg(f"tcp.explain.{s}", n.lang) for s in seen if _has(f"tcp.explain.{s}")]
    if notes:
        return "tcp.table_explained", {"entries": entries, "notes": " ".join(notes)}
    return "tcp.table", {"entries": entries}


def _has(key: str) -> bool:
    try:
        msg(key)
    except KeyError:
        return False
    return True


_HANDLERS: dict[str, Callable[[Event, "Narrator"], Found]] = {
    "call": _call,
    "return": _return,
    "raise": _raise,
    "repeat": _repeat,
    "blocked": _blocked,
    "exit": _exit,
    "input": _input,
    "step": _step,
    "tcp": _tcp,
}


# ---------------------------------------------------------------- the narrator


class Narrator:
    """Narrates a stream of events in time order. It remembers the call each return, raise
    or blocked event belongs to (a ``getsockopt(SO_ERROR)`` return, the fds a ``select()``
    waits for, the path of a failed AF_UNIX ``bind()``) and what was already said once (a
    port sockteach mapped)."""

    def __init__(self, lang: str = "en", lesson: "Lesson | None" = None) -> None:
        self.lang, self.lesson = lang, lesson
        self.said: set = set()
        self._calls: dict[tuple, Event] = {}
        self._internal: dict[tuple, dict[int, str]] = {}  # (side, pid) → {fd: "asyncio"}
        self._modes = Modes()  # a version-1 record's blocking modes

    def internal_fds(self, e: Event) -> dict[int, str]:
        """The fds of ``e``'s process that are not the learner's (asyncio's own)."""
        return self._internal.get((e.side, e.pid), {})

    def call_of(self, e: Event) -> Event | None:
        """The call ``e`` (a return, raise or blocked event) belongs to, if it was seen."""
        return self._calls.get((e.side, e.pid, e.sock, e.name))

    def __call__(self, event: Event) -> str | None:
        """One sentence about ``event``, or None when it is not worth a line (see narrate)."""
        e = self._modes.fill(upgrade(event))
        key = (e.side, e.pid, e.sock, e.name)
        if e.internal and e.sock is not None:
            self._internal.setdefault((e.side, e.pid), {})[e.sock] = e.internal
        if e.kind == "call":
            self._calls[key] = e
        try:
            return self._sentence(e)
        finally:
            if e.kind in ("return", "raise"):
                self._calls.pop(key, None)
            elif e.kind == "exit":
                self._calls = {k: v for k, v in self._calls.items() if k[0] != e.side}
                self._internal = {k: v for k, v in self._internal.items() if k[0] != e.side}

    def _sentence(self, e: Event) -> str | None:
        if e.name and e.name.startswith("_"):
            return None
        handler = _HANDLERS.get(e.kind)
        found = handler(e, self) if handler else None
        if found is None:
            return None
        key, values = found
        text = _text(key, self.lang, self.lesson, values)
        if e.kind == "call" and e.name in ("bind", "connect", "connect_ex", "sendto"):
            note = substitution(e, self.lang, self.said)
            if note:
                text = msg("note.join", self.lang, text=text, note=note)
        if e.kind in ("step", "tcp"):
            return text
        return msg("line", self.lang, side=side_label(e.side, self.lang), text=text)


def _text(key: str, lang: str, lesson: "Lesson | None", values: dict[str, object]) -> str:
    """The catalog sentence ``key``, or the lesson's own wording for it."""
    if lesson is not None:
        own = (lesson.data.get("narration") or {}).get(key)
        if own:
            return pick(own, lang).format(**values)
    return msg(key, lang, **values)


def narrate(event: Event, lang: str = "en", lesson: "Lesson | None" = None) -> str | None:
    """One sentence about ``event`` in ``lang``, or None when it is not worth a line.

    Socket events are prefixed with the side ("server: …", "客户端2：…"); step and tcp
    events are not (they belong to the whole session). Names starting with ``_`` are
    implementation details of the socket module and are not narrated. This is the event on
    its own; a :class:`Narrator` fed the whole stream also knows the call a return belongs
    to, and says a mapped port only once.
    """
    return Narrator(lang, lesson)(event)
