"""Version-1 events (sockteach 0.1 records): the structured fields read from their reprs.

Version 1 recorded only ``args``/``result`` reprs; version 2 (see :mod:`sockteach.events`)
adds the facts themselves (``addr``, ``data``, ``nbytes``, ``conn``, ``errname``…). The
consumers (narrator, diagnosis, timeline) read only the version-2 fields; :func:`upgrade` is
the one place where a repr is parsed back, so an old ``--record`` file still replays. It
only fills fields that are missing, so a version-2 event passes through unchanged (and
upgrading twice is cheap: nothing is left to parse).

What a version-1 record cannot tell (the socket's family and type, its blocking mode, what a
``close()`` sent) stays None; the consumers then use their general wording.
"""

from __future__ import annotations

import ast
import errno as errno_names
import re
from dataclasses import replace
from typing import Any

from .events import PREVIEW, Event, address

_FD = re.compile(r"fd=(\d+)")
_CUT = re.compile(r"…\((\d+) bytes\)$")  # how the version-1 tracer cut a long bytes repr
_SENDS = ("send", "sendall", "sendto")
_RECVS = ("recv", "recvfrom", "recv_into", "recvfrom_into")


def literal(text: str | None) -> Any:
    """The Python value a repr stands for (bytes, tuples, numbers), or None."""
    if not text:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def bytes_of(text: str | None) -> bytes | None:
    """The bytes a repr like ``"b'hello'"`` stands for (for a repr the tracer cut,
    ``b'aaa'…(4194304 bytes)``, the part it kept), or None if it is not one."""
    if not text or not text.lstrip().startswith(("b'", 'b"')):
        return None
    value = literal(_CUT.sub("", text))
    return value if isinstance(value, bytes) else None


def cut_size(text: str | None) -> int | None:
    """How many bytes a repr the tracer cut stood for (``b'aaa'…(4194304 bytes)``), or None
    if it was not cut."""
    m = _CUT.search(text or "")
    return int(m.group(1)) if m else None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _hex(value: bytes) -> str:
    return value[:PREVIEW].hex()


def upgrade(e: Event) -> Event:
    """``e`` with the version-2 fields its reprs imply filled in (where they are missing)."""
    if e.kind not in ("call", "return", "raise"):
        return e
    new: dict[str, Any] = {}
    for name in ("addr", "real", "local", "peer"):  # hand-made or old: "('127.0.0.1', 8081)"
        value = getattr(e, name)
        if isinstance(value, (str, list)):
            parsed = address(value)
            if parsed != value:
                new[name] = parsed
    args, result, name = e.args or (), e.result, e.name or ""
    if e.kind == "call":
        if name in ("bind", "connect", "connect_ex") and e.addr is None and args:
            new["addr"] = address(args[0])
        elif name == "sendto" and e.addr is None and len(args) >= 2:
            new["addr"] = address(args[-1])
        if name in _SENDS and e.data is None and args:
            value = bytes_of(args[0])
            if value is not None:
                new["data"] = _hex(value)
                if name == "sendall" and e.nbytes is None and not _CUT.search(args[0]):
                    new["nbytes"] = len(value)
        elif name in ("recv", "recvfrom") and e.size is None and args:
            new["size"] = _int(args[0])
    elif e.kind == "return":
        if name == "recv" and e.data is None and result and _CUT.search(result):
            value, cut = bytes_of(result), _CUT.search(result)
            if value is not None and cut:  # a long receive the tracer cut: its start, its size
                new["data"], new["nbytes"] = _hex(value), int(cut.group(1))
        elif name in ("recv", "recvfrom") and e.data is None and result:
            value = literal(result)
            if name == "recvfrom" and isinstance(value, tuple) and len(value) == 2:
                if e.addr is None and isinstance(value[1], (tuple, str)):
                    new["addr"] = value[1]
                value = value[0]
            if isinstance(value, bytes):
                new["data"] = _hex(value)
                new["nbytes"] = len(value)
        elif name in _SENDS + ("recv_into", "recvfrom_into") and e.nbytes is None:
            n = _int(result)
            if n is not None:
                new["nbytes"] = n
        elif name == "accept" and result and e.conn is None:
            fd = _FD.search(result)
            if fd:
                new["conn"] = int(fd.group(1))
            tail = result[result.rfind(">") + 1:].strip(" ,)") if ">" in result else ""
            value = literal(tail + ")") if tail.startswith("(") else None
            if e.addr is None and isinstance(value, tuple):
                new["addr"] = value
        elif name in ("getpeername", "getsockname") and e.addr is None and result:
            value = literal(result)
            new["addr"] = tuple(value) if isinstance(value, tuple) else result
    elif e.kind == "raise" and e.errname is None and e.errno is not None:
        new["errname"] = errno_names.errorcode.get(e.errno)
    return replace(e, **new) if new else e


class Modes:
    """A version-1 record has no ``mode``: infer it from the stream's own ``setblocking()``
    and ``settimeout()`` calls on the same socket (a version-2 event keeps its own)."""

    def __init__(self) -> None:
        self._modes: dict[tuple, tuple[str, float | None]] = {}

    def fill(self, e: Event) -> Event:
        if e.kind != "call" or e.sock is None:
            return e
        key = (e.side, e.pid, e.sock)
        first = (e.args or ("",))[0]
        if e.name == "setblocking":
            self._modes[key] = ("nonblocking" if first in ("False", "0") else "blocking", None)
        elif e.name == "settimeout":
            seconds = literal(first)
            self._modes[key] = (
                ("blocking", None) if first == "None" else
                ("nonblocking", None) if seconds == 0 else
                ("timeout", float(seconds)) if isinstance(seconds, (int, float)) else
                ("blocking", None))
        elif e.mode is None and key in self._modes:
            mode, timeout = self._modes[key]
            return replace(e, mode=mode, timeout=timeout)
        return e
