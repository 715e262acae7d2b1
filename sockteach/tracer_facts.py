"""What the tracer says about a socket call: plain fields (events.py, version 2).

Imported by ``tracer.py`` inside the traced process, before the script runs; standard library
only. Everything here is small and cheap: it runs on every socket call of the program.
"""

import errno as _errno
import json
import os
import select as select_module
import socket as _socket_module
import sys

_Original = _socket_module.socket
_orig_select = select_module.select

PREVIEW = 256  # bytes of data kept as hex (events.PREVIEW)
_MAX_REPR = 300

try:
    from _json import encode_basestring as quote  # the C version
except ImportError:  # pragma: no cover
    from json.encoder import py_encode_basestring as quote


def line(kind, now, fields):
    """One event as JSON, without its closing brace (cheaper than json.dumps: every socket
    call pays for it). Values are str, int, float, None, lists of str, or anything JSON."""
    parts = ['{"kind":"', kind, '","mono":', repr(now)]
    for key, value in fields.items():
        parts.append(',"%s":' % key)
        cls = value.__class__
        if cls is str:
            parts.append(quote(value))
        elif value is None:
            parts.append("null")
        elif cls is int or cls is float:
            parts.append(repr(value))
        else:
            parts.append(json.dumps(value, ensure_ascii=False, default=str))
    return "".join(parts)


# ----- reprs, for display ----------------------------------------------------------------

_NAMES = {}
_SOCKET_OPTIONS = (
    "SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE", "SO_RCVBUF", "SO_SNDBUF", "SO_LINGER",
    "SO_BROADCAST", "SO_ERROR", "SO_TYPE", "SO_RCVTIMEO", "SO_SNDTIMEO", "SO_RCVLOWAT",
    "SO_SNDLOWAT", "SO_OOBINLINE", "SO_DONTROUTE", "SO_ACCEPTCONN", "SO_DEBUG",
    "SO_PRIORITY", "SO_BINDTODEVICE", "SO_EXCLUSIVEADDRUSE",
)
_TCP_OPTIONS = ("TCP_NODELAY", "TCP_MAXSEG", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT",
                "TCP_QUICKACK", "TCP_CORK", "TCP_INFO", "TCP_USER_TIMEOUT", "TCP_FASTOPEN")


def _symbolic_names():
    """Number → name tables for setsockopt/getsockopt arguments (only the usual names: other
    protocol families reuse the same numbers)."""
    def table(names):
        out = {}
        for name in names:
            value = getattr(_socket_module, name, None)
            if isinstance(value, int):
                out.setdefault(value, name)
        return out

    level = table(("SOL_SOCKET", "IPPROTO_TCP", "IPPROTO_IP", "IPPROTO_IPV6"))
    return level, table(_SOCKET_OPTIONS), table(_TCP_OPTIONS)


def fmt(value):
    if isinstance(value, _Original):
        try:
            fd = _Original.fileno(value)
        except OSError:
            fd = -1
        return "<socket fd=%d>" % fd
    if isinstance(value, tuple):
        inner = ", ".join(fmt(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) > _MAX_REPR:
            return repr(data[:_MAX_REPR]) + "…(%d bytes)" % len(data)
        return repr(data)
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "…"


def fmt_args(name, args):
    if name in ("recv_into", "recvfrom_into") and args:
        try:  # the buffer to fill: its size matters, not the bytes it holds before
            size = len(args[0])
        except TypeError:
            size = -1
        return ["<buffer of %d bytes>" % size] + [fmt(a) for a in args[1:]]
    if name in ("setsockopt", "getsockopt") and args:
        if not _NAMES:
            _NAMES["level"], _NAMES["sol"], _NAMES["tcp"] = _symbolic_names()
        out = [_NAMES["level"].get(args[0], repr(args[0]))]
        if len(args) > 1:
            table = _NAMES["sol"] if args[0] == _socket_module.SOL_SOCKET else _NAMES["tcp"]
            out.append(table.get(args[1], repr(args[1])) if args[0] in (
                _socket_module.SOL_SOCKET, _socket_module.IPPROTO_TCP) else repr(args[1]))
        out.extend(fmt(a) for a in args[2:])
        return out
    return [fmt(a) for a in args]


# ----- addresses: nominal ports and loopback only ------------------------------------------

def _parse_ports(text):
    ports = {}
    for item in (text or "").split(","):
        if ":" in item:
            nominal, real = item.split(":", 1)
            ports[int(nominal)] = int(real)
    return ports


_ports = _parse_ports(os.environ.get("SOCKTEACH_PORTS"))
_reverse_ports = {real: nominal for nominal, real in _ports.items()}
_loopback_only = os.environ.get("SOCKTEACH_LOOPBACK") == "1"
_LOOPBACK_NAMES = ("localhost", "ip6-localhost")
_INET = (_socket_module.AF_INET, _socket_module.AF_INET6)


def _is_loopback(host):
    if host in _LOOPBACK_NAMES:
        return True
    if isinstance(host, str) and host.startswith("127.") and host.count(".") == 3:
        return True
    return host in ("::1", "0:0:0:0:0:0:0:1")


def _refuse(host, verb):
    raise PermissionError(
        _errno.EACCES,
        "sockteach: only loopback addresses (127.0.0.1, ::1) may be used here; "
        "refused to %s %r" % (verb, host),
    )


def map_out(sock, address, verb):
    """Nominal → real port, wildcard → loopback (refusing any other host)."""
    if _Original.family.__get__(sock) not in _INET:
        return address
    if not isinstance(address, tuple) or len(address) < 2:
        return address
    host, port = address[0], address[1]
    if _loopback_only:
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host in ("::", "0:0:0:0:0:0:0:0"):
            host = "::1"
        elif host in ("<broadcast>",) or not _is_loopback(host):
            _refuse(host, verb)
    if isinstance(port, int) and port in _ports:
        port = _ports[port]
    return (host, port) + tuple(address[2:])


def map_in(value):
    """Real → nominal port in an address the program gets back."""
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], int) \
            and isinstance(value[0], str) and value[1] in _reverse_ports:
        return (value[0], _reverse_ports[value[1]]) + tuple(value[2:])
    return value


def plain_address(value):
    """An address as JSON: a list for an internet address, a string for a path."""
    if isinstance(value, tuple):
        return [v if isinstance(v, (int, str)) else str(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return value if isinstance(value, (str, int)) or value is None else str(value)


# ----- the socket's facts -------------------------------------------------------------------

def kind_names(sock):
    """("AF_INET", "SOCK_STREAM") for a socket, once, when it is made."""
    try:
        family = _Original.family.__get__(sock)
        kind = _Original.type.__get__(sock)
        return getattr(family, "name", str(family)), getattr(kind, "name", str(kind))
    except (OSError, ValueError):
        return None, None


def _mode(sock, fields):
    try:
        timeout = _Original.gettimeout(sock)
    except OSError:
        return
    if timeout is None:
        fields["mode"] = "blocking"
    elif timeout == 0:
        fields["mode"] = "nonblocking"
    else:
        fields["mode"] = "timeout"
        fields["timeout"] = timeout


def _base(sock, name, fd):
    fields = {"name": name, "sock": fd, "family": getattr(sock, "_st_family", None),
              "socktype": getattr(sock, "_st_type", None)}
    internal = getattr(sock, "_st_internal", None)
    if internal:
        fields["internal"] = internal
    return fields


def _data(fields, data):
    try:
        view = bytes(data[:PREVIEW])
    except TypeError:
        return
    fields["data"] = view.hex()


def _size(value):
    try:
        return len(value)
    except TypeError:
        return None


def call_fields(sock, name, args, fd):
    fields = _base(sock, name, fd)
    fields["args"] = fmt_args(name, args)
    _mode(sock, fields)
    if name in ("bind", "connect", "connect_ex") and args:
        fields["addr"] = plain_address(args[0])
    elif name in ("send", "sendall") and args:
        fields["size"] = _size(args[0])
        _data(fields, args[0])
    elif name == "sendto" and len(args) >= 2:
        fields["addr"] = plain_address(args[-1])
        fields["size"] = _size(args[0])
        _data(fields, args[0])
    elif name in ("recv", "recvfrom") and args and isinstance(args[0], int):
        fields["size"] = args[0]
    elif name == "recv_into" and args:
        wanted = args[1] if len(args) > 1 and isinstance(args[1], int) and args[1] else None
        fields["size"] = wanted if wanted is not None else _size(args[0])
    elif name == "close":
        fields.update(close_facts(sock, fd))
    elif name == "shutdown" and args:
        fields.update(shutdown_facts(sock, args[0]))
    return fields


def mapped_args(sock, name, args, fields):
    """The arguments really passed (an address mapped); ``fields["real"]`` says so."""
    if name in ("bind", "connect", "connect_ex") and args:
        mapped = map_out(sock, args[0], name)
        if mapped != args[0]:
            fields["real"] = plain_address(mapped)
        return (mapped,) + args[1:]
    if name == "sendto" and len(args) >= 2:
        mapped = map_out(sock, args[-1], "send to")
        if mapped != args[-1]:
            fields["real"] = plain_address(mapped)
        return args[:-1] + (mapped,)
    return args


def returned(name, result):
    """What the program gets back: real ports shown as the nominal ones it asked for."""
    if name in ("getsockname", "getpeername"):
        return map_in(result)
    if name == "accept":
        return (result[0], map_in(result[1]))
    if name == "recvfrom":
        return (result[0], map_in(result[1]))
    return result


def _name_of(sock, which):
    try:
        return plain_address(map_in(which(sock)))
    except OSError:
        return None


def return_fields(sock, name, args, result, fd):
    fields = _base(sock, name, fd)
    fields["result"] = fmt(result)
    if name == "accept":
        conn = result[0]
        try:
            fields["conn"] = _Original.fileno(conn)
        except OSError:
            pass
        fields["addr"] = plain_address(result[1])
        fields["local"] = _name_of(conn, _Original.getsockname)
    elif name in ("recv", "recvfrom"):
        data = result[0] if name == "recvfrom" else result
        fields["nbytes"] = len(data)
        _data(fields, data)
        if name == "recvfrom":
            fields["addr"] = plain_address(result[1])
    elif name == "recv_into":
        fields["nbytes"] = result
        if args:
            _data(fields, memoryview(args[0])[:result] if result else b"")
    elif name in ("send", "sendto"):
        fields["nbytes"] = result
    elif name == "sendall" and args:
        fields["nbytes"] = _size(args[0])
    elif name in ("connect", "connect_ex"):
        if name == "connect_ex" and result:
            fields["errno"] = result
            fields["errname"] = _errno.errorcode.get(result)
        else:
            fields["local"] = _name_of(sock, _Original.getsockname)
            fields["peer"] = _name_of(sock, _Original.getpeername)
    elif name in ("bind", "listen"):
        fields["local"] = _name_of(sock, _Original.getsockname)
        if name == "listen":
            try:
                fields["real"] = plain_address(_Original.getsockname(sock))
            except OSError:
                pass
    return fields


def error_fields(name, exc):
    code = getattr(exc, "errno", None)
    return {"name": name, "error": type(exc).__name__, "errno": code,
            "errname": _errno.errorcode.get(code) if isinstance(code, int) else None,
            "message": str(exc)}


def raise_fields(sock, name, exc, fd):
    fields = _base(sock, name, fd)
    fields.update(error_fields(name, exc))
    _mode(sock, fields)
    return fields


def fold_fields(out):
    """What a ``repeat`` of this return carries besides its count."""
    return {k: out[k] for k in ("sock", "family", "socktype", "internal") if k in out}


# ----- close() and shutdown(): what the kernel sends ---------------------------------------

def _unread(fd):
    try:
        import fcntl
        import struct
        import termios

        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except (OSError, ImportError, AttributeError):
        return None


def close_facts(sock, fd):
    """``wire`` (FIN, RST, eof, reset, none) and why: read before the close happens."""
    if fd < 0:
        return {"wire": "none"}
    if getattr(sock, "_io_refs", 0) > 0:
        return {"wire": "none", "held": "makefile"}
    out = {}
    if getattr(sock, "_closed", False):
        out["held"] = "released"  # close() came earlier; the makefile() file let go now
    if getattr(sock, "_st_type", None) != "SOCK_STREAM":
        out["wire"] = "none"
        return out
    try:
        _Original.getpeername(sock)
    except OSError:
        out["wire"] = "none"  # not connected: a listener, or a connection already reset
        return out
    unread = _unread(fd)
    if unread is not None:
        out["unread"] = unread
    if getattr(sock, "_st_family", None) == "AF_UNIX":
        out["wire"] = "reset" if unread else "eof"
        return out
    try:
        import struct

        onoff, seconds = struct.unpack("ii", _Original.getsockopt(
            sock, _socket_module.SOL_SOCKET, _socket_module.SO_LINGER, 8))
    except (OSError, ValueError):
        onoff, seconds = 0, 0
    if onoff:
        out["linger"] = [onoff, seconds]
    out["wire"] = "RST" if unread or (onoff and seconds == 0) else "FIN"
    return out


def shutdown_facts(sock, how):
    if getattr(sock, "_st_type", None) != "SOCK_STREAM" or how == _socket_module.SHUT_RD:
        return {"wire": "none"}
    if getattr(sock, "_st_family", None) == "AF_UNIX":
        return {"wire": "eof"}
    return {"wire": "FIN"}


# ----- small questions ----------------------------------------------------------------------

def empty(name, args, result):
    """A result that, given again and again, is a spin: recv → b'', send(b'') → 0."""
    if name == "recv":
        return result == b""
    if name == "recv_into":
        return result == 0
    if name == "send":
        return result == 0 and bool(args) and _size(args[0]) == 0
    if name == "sendall":
        return bool(args) and _size(args[0]) == 0
    return False


def would_block(sock, fd, name, args):
    """Whether the call may wait: then the runner must hear of it before it starts."""
    try:
        if _Original.gettimeout(sock) == 0.0:
            return False  # non-blocking: it never waits
        if name in ("recv", "recvfrom", "recv_into", "accept"):
            return not _orig_select((fd,), (), (), 0)[0]
        if name in ("send", "sendall", "sendto"):
            if not args or _size(args[0]) is None or _size(args[0]) > 1024:
                return True
            return not _orig_select((), (fd,), (), 0)[1]
    except (OSError, ValueError, TypeError):
        pass
    return True


def fds(objs):
    return [o if isinstance(o, int) else o.fileno() for o in objs]


def prompt_bypasses_stdout():
    """In a terminal, input() writes its prompt itself, not through sys.stdout.write."""
    try:
        return (sys.stdin.isatty() and sys.stdout.isatty()
                and sys.stdin.fileno() == 0 and sys.stdout.fileno() == 1)
    except (AttributeError, ValueError, OSError):
        return False
