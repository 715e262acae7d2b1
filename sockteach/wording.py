"""Words for the facts a sentence mentions: side names, calls as the learner wrote them,
bytes, the fds a ``select()`` waits on, an address sockteach substituted. Pure helpers of
:mod:`sockteach.narrator` (which re-exports the general ones); every word from the catalogs.
"""

from __future__ import annotations

import re
import socket
import struct

from .events import Event, host_port
from .i18n import msg
from .legacy import bytes_of
from .payload import describe

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
_TRUNCATED = re.compile(r"…\(\d+ bytes\)$")  # how the tracer cuts a long bytes repr


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


def nbytes_text(n: int, lang: str) -> str:
    return msg("bytes_one", lang) if n == 1 else msg("bytes", lang, n=f"{n:,}")


def data_text(e: Event, lang: str) -> str:
    """Received or offered bytes as the learner reads them: ``b'hello' (5 bytes)``, with a
    word for what is not text (telnet's negotiation, CR LF, control bytes)."""
    value = e.payload
    if value is None:
        return short(e.result or "?")
    n = e.nbytes if e.nbytes is not None else len(value)
    text = f"{short(repr(value))} ({nbytes_text(n, lang)})"
    note = describe(value, lang)
    return f"{text}{msg('bytes_note.intro', lang)}{note}" if note else text


def fds_text(rfds: tuple | None, wfds: tuple | None, lang: str,
             internal: dict | None = None) -> str:
    """``fd 4 or 5 is readable or fd 6 is writable``; an fd in ``internal`` (fd → what made
    it, ``"asyncio"``) is labelled as not the learner's."""
    parts = []
    internal = internal or {}

    def one(fd: int) -> str:
        if fd in internal:
            return msg("fds.internal", lang, fd=fd, what=msg(f"internal.{internal[fd]}", lang))
        return str(fd)

    for fds, key in ((rfds, "readable"), (wfds, "writable")):
        if fds:
            joined = msg("fds.or", lang).join(one(fd) for fd in fds)
            parts.append(msg(f"fds.{key}", lang, fds=joined))
    return msg("fds.either", lang).join(parts) if parts else msg("fds.none", lang)


def linger_of(args: tuple[str, ...]) -> tuple[int, int] | None:
    """The (onoff, seconds) of a SO_LINGER value ``struct.pack('ii', 1, 0)``, or None."""
    value = bytes_of(args[0]) if args else None
    if value is None or len(value) != struct.calcsize("ii"):
        return None
    return struct.unpack("ii", value)


def mode_suffix(e: Event) -> str:
    """The key suffix for how a call waits: "" (blocking or unknown), _nonblocking, _timeout."""
    if e.mode == "nonblocking":
        return "_nonblocking"
    if e.mode == "timeout" and e.timeout is not None:
        return "_timeout"
    return ""


def seconds_text(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def arg_at(e: Event, i: int) -> str:
    return e.args[i] if e.args and len(e.args) > i else ""


def substitution(e: Event, lang: str, said: set | None) -> str | None:
    """What sockteach changed in the address of this bind/connect/sendto call, in words: a
    host moved to loopback (said every time: it changes what the program can do), a port
    mapped to the session's own (said once per port when ``said`` is kept)."""
    nominal, real = host_port(e.addr), host_port(e.real)
    if nominal is None or real is None:
        return None
    notes = []
    (host, port), (real_host, real_port) = nominal, real
    loopback = host in ("localhost", "ip6-localhost", "::1") or host.startswith("127.")
    if host != real_host and not loopback:  # a loopback name resolved is no substitution
        if host in ("", "0.0.0.0") and real_host.startswith("127."):
            notes.append(msg("note.host_any4", lang, host=host or "''", real=real_host))
        elif host == "::" and real_host == "::1":
            notes.append(msg("note.host_any6", lang))
        else:
            notes.append(msg("note.host", lang, host=host or "''", real=real_host))
    if port != real_port and (said is None or ("port", port) not in said):
        if said is not None:
            said.add(("port", port))
        notes.append(msg("note.port", lang, port=port, real=real_port))
    return msg("note.sep", lang).join(notes) if notes else None
