"""The narrator: one plain-language sentence per event, in English or Chinese.

``narrate`` is a pure function of (event, language, lesson). Every word comes from the
message catalogs (``sockteach/messages/*.toml``); this module only chooses a key and fills in
its placeholders. A lesson may override a sentence with a ``[narration]`` table in its
``lesson.toml`` whose keys are catalog keys (``"return.recv_empty" = { en = …, zh = … }``).
"""

from __future__ import annotations

import ast
import errno as errno_names
import re
import signal
import socket
from typing import TYPE_CHECKING, Callable

from .events import Event
from .i18n import msg, pick

if TYPE_CHECKING:  # pragma: no cover
    from .lessons import Lesson

SHORT = 60  # longest repr shown before it is cut with "…"

# Symbolic names for setsockopt/getsockopt numbers, per level (looked up on this platform).
_LEVELS = ("SOL_SOCKET", "IPPROTO_TCP", "IPPROTO_IP")
_OPTIONS = {
    "SOL_SOCKET": ("SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE", "SO_LINGER", "SO_SNDBUF",
                   "SO_RCVBUF", "SO_BROADCAST", "SO_RCVTIMEO", "SO_SNDTIMEO", "SO_ERROR",
                   "SO_TYPE"),
    "IPPROTO_TCP": ("TCP_NODELAY", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_MAXSEG"),
    "IPPROTO_IP": ("IP_TTL", "IP_TOS"),
}
_ADDR = re.compile(r"\(\s*'([^']*)'\s*,\s*(\d+)\s*\)")
_FD = re.compile(r"fd=(\d+)")
_TRUNCATED = re.compile(r"…\(\d+ bytes\)$")  # how the tracer cuts a long bytes repr


# ---------------------------------------------------------------- small helpers


def side_label(side: str, lang: str = "en") -> str:
    """``server`` → "server"/"服务端", ``client2`` → "client 2"/"客户端2"."""
    if side in ("server", "client"):
        return msg(f"side.{side}", lang)
    m = re.fullmatch(r"client(\d+)", side or "")
    if m:
        return msg("side.numbered", lang, n=m.group(1))
    return side


def short(text: str, limit: int = SHORT) -> str:
    """A repr cut to ``limit`` characters (``…`` marks the cut); the tracer's own
    ``…(N bytes)`` ending of a long bytes repr is kept."""
    if len(text) <= limit:
        return text
    m = _TRUNCATED.search(text)
    if m:
        return text[: max(limit - len(m.group(0)), 8)] + m.group(0)
    return text[: limit - 1] + "…"


def bytes_value(text: str | None) -> bytes | None:
    """The bytes a repr like ``"b'hello'"`` stands for, or None if it is not one."""
    if not text or not text.lstrip().startswith(("b'", 'b"')):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, bytes) else None


def address(text: str | None) -> str:
    """``"('127.0.0.1', 8081)"`` → ``"127.0.0.1:8081"``; anything else is returned as is."""
    if not text:
        return ""
    m = _ADDR.search(text)
    if not m:
        return text
    return f"{m.group(1) or '0.0.0.0'}:{m.group(2)}"


def _symbol(value: str, names: tuple[str, ...]) -> str:
    """A number from the tracer shown as the constant the learner wrote (``2`` → SO_REUSEADDR)."""
    if value in names:
        return value
    for name in names:
        if str(getattr(socket, name, None)) == value:
            return name
    return value


def sockopt_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """setsockopt/getsockopt arguments with level and option as their symbolic names."""
    if not args:
        return args
    level = _symbol(args[0], _LEVELS)
    out = [level]
    if len(args) > 1:
        out.append(_symbol(args[1], _OPTIONS.get(level, ())))
    return tuple(out) + tuple(args[2:])


def call_text(name: str, args: tuple[str, ...] | None) -> str:
    """The call as the learner wrote it: ``recv(1024)``,
    ``setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)``."""
    args = tuple(args or ())
    if name in ("setsockopt", "getsockopt"):
        args = sockopt_args(args)
    return f"{name}({', '.join(short(a) for a in args)})"


def _nbytes(n: int, lang: str) -> str:
    return msg("bytes_one", lang) if n == 1 else msg("bytes", lang, n=f"{n:,}")


def _data(text: str, lang: str) -> str:
    """A bytes repr with its length: ``b'hello' (5 bytes)``."""
    value = bytes_value(text)
    if value is None:
        return short(text)
    return f"{short(text)} ({_nbytes(len(value), lang)})"


def _datagram(result: str) -> str:
    """The data part of a recvfrom result ``"(b'hi', ('127.0.0.1', 5000))"``."""
    try:
        value = ast.literal_eval(result)
    except (ValueError, SyntaxError):
        return result
    if isinstance(value, tuple) and value and isinstance(value[0], bytes):
        return repr(value[0])
    return result


def _arg(e: Event, i: int) -> str:
    return e.args[i] if e.args and len(e.args) > i else ""


# ---------------------------------------------------------------- per-kind choices


def _call(e: Event, lang: str) -> tuple[str, dict[str, object]] | None:
    name = e.name or "?"
    values: dict[str, object] = {"call": call_text(name, e.args)}
    first = _arg(e, 0)
    if name in ("getpeername", "getsockname", "gettimeout", "fileno"):
        return None  # the return says what matters
    if name in ("bind", "connect", "connect_ex"):
        return f"call.{name}", {**values, "addr": address(first)}
    if name in ("recv", "recvfrom"):
        return f"call.{name}", {**values, "n": first or "?"}
    if name in ("send", "sendall"):
        empty = bytes_value(first) == b""
        return f"call.{name}{'_empty' if empty else ''}", values
    if name == "sendto":
        return "call.sendto", {**values, "addr": address(e.args[-1] if e.args else "")}
    if name in ("setsockopt", "getsockopt"):
        args = sockopt_args(tuple(e.args or ()))
        opt = args[1] if len(args) > 1 else "?"
        if name == "setsockopt" and opt == "SO_REUSEADDR" and args[2:] not in (("0",), ("False",)):
            return "call.setsockopt_reuseaddr", values
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
    if name in ("listen", "accept", "close", "makefile", "shutdown", "input"):
        return f"call.{name}", values
    return "call.generic", values


def _return(e: Event, lang: str) -> tuple[str, dict[str, object]] | None:
    name, result = e.name or "?", e.result or ""
    values: dict[str, object] = {"name": name, "result": short(result)}
    if name == "accept":
        fd = _FD.search(result)
        return "return.accept", {"addr": address(result), "fd": fd.group(1) if fd else "?"}
    if name == "connect":
        return "return.connect", values
    if name == "connect_ex":
        if result == "0":
            return "return.connect_ex_ok", values
        code = int(result) if result.isdigit() else -1
        return "return.connect_ex_err", {**values, "errname": errno_names.errorcode.get(code, "?")}
    if name in ("recv", "recvfrom"):
        data = _datagram(result) if name == "recvfrom" else result
        if bytes_value(data) == b"":
            return f"return.{name}_empty", {**values, "addr": address(result)}
        return f"return.{name}", {"data": _data(data, lang), "addr": address(result)}
    if name in ("send", "sendto"):
        if result == "0":
            return f"return.{name}_zero", values
        n = int(result) if result.isdigit() else 0
        return f"return.{name}", {**values, "bytes": _nbytes(n, lang)}
    if name == "sendall":
        return "return.sendall", values
    if name in ("getpeername", "getsockname"):
        return f"return.{name}", {"addr": address(result)}
    if name == "gettimeout":
        return ("return.gettimeout_none" if result == "None" else "return.gettimeout"), values
    if name in ("fileno", "getsockopt"):
        return f"return.{name}", values
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


def _raise(e: Event, lang: str) -> tuple[str, dict[str, object]]:
    what = e.error or "?"
    if e.message:
        what = f"{what} ({e.message})"
    values: dict[str, object] = {"name": e.name or "?", "what": what}
    if e.errno in (98, errno_names.EADDRINUSE):  # 98 on Linux, 48 on macOS
        return "raise.in_use", {**values, "error": e.error or "OSError", "errno": e.errno}
    return _RAISE_KEYS.get(e.error or "", "raise.generic"), values


def _repeat(e: Event, lang: str) -> tuple[str, dict[str, object]]:
    count = e.count or 0
    times = msg("times_one", lang) if count == 1 else msg("times", lang, n=f"{count:,}")
    values: dict[str, object] = {"name": e.name or "?", "result": short(e.result or ""),
                                 "times": times}
    if e.name == "recv" and e.result == "b''":
        return "repeat.recv_empty", values
    if e.name == "send" and e.result == "0":
        return "repeat.send_zero", values
    return "repeat.generic", values


def _blocked(e: Event, lang: str) -> tuple[str, dict[str, object]]:
    name = e.name or "?"
    key = {"sendall": "send"}.get(name, name)
    if key in ("recv", "accept", "input", "connect", "send", "recvfrom"):
        return f"blocked.{key}", {"name": name}
    return "blocked.generic", {"name": name}


def _exit(e: Event, lang: str) -> tuple[str, dict[str, object]]:
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


def _input(e: Event, lang: str) -> tuple[str, dict[str, object]]:
    text = (e.text or "").rstrip("\r\n")
    return ("input.typed", {"text": repr(text)}) if text else ("input.enter", {})


def _step(e: Event, lang: str) -> tuple[str, dict[str, object]] | None:
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


def _tcp(e: Event, lang: str) -> tuple[str, dict[str, object]]:
    if e.states is None:
        return "tcp.cannot", {"reason": e.text or "?"}
    if not e.states:
        return "tcp.empty", {}
    entries = "; ".join(tcp_entry(*s) for s in e.states)
    seen: list[str] = []
    for _, _, state in e.states:
        if state not in seen and state not in ("LISTEN", "ESTABLISHED"):
            seen.append(state)
    notes = [msg(f"tcp.explain.{s}", lang) for s in seen if _has(f"tcp.explain.{s}")]
    if notes:
        return "tcp.table_explained", {"entries": entries, "notes": " ".join(notes)}
    return "tcp.table", {"entries": entries}


def _has(key: str) -> bool:
    try:
        msg(key)
    except KeyError:
        return False
    return True


_HANDLERS: dict[str, Callable[[Event, str], "tuple[str, dict[str, object]] | None"]] = {
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
    implementation details of the socket module and are not narrated.
    """
    if event.name and event.name.startswith("_"):
        return None
    handler = _HANDLERS.get(event.kind)
    found = handler(event, lang) if handler else None
    if found is None:
        return None
    key, values = found
    text = _text(key, lang, lesson, values)
    if event.kind in ("step", "tcp"):
        return text
    return msg("line", lang, side=side_label(event.side, lang), text=text)
