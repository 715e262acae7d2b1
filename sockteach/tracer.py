"""The tracer: runs a learner's or a lesson's script with every socket call reported.

Run as ``python tracer.py SCRIPT [ARGS...]`` (never imported by the script). Before the script
starts it replaces ``socket.socket`` with a subclass whose methods report each call (enter,
return, raise) as one JSON line to the runner's channel, an ``AF_UNIX`` socket whose path is in
``SOCKTEACH_TRACE``. ``input()`` and the process's exit are reported too.

The script behaves as it would untraced: same results, same exceptions, and an uncaught
exception's traceback shows the script's lines, not the tracer's.

Environment:
  SOCKTEACH_TRACE      channel path (without it nothing is reported, only ports are mapped)
  SOCKTEACH_SIDE       the side's name ("server", "client", …)
  SOCKTEACH_PORTS      nominal→real port map, "8081:40123,8080:40124"
  SOCKTEACH_LOOPBACK   "1": refuse non-loopback addresses, map ''/0.0.0.0 to 127.0.0.1

This file imports only the standard library, and nothing from sockteach.
"""

import builtins
import errno as _errno
import json
import os
import select as _select
import socket as _socket_module
import sys
import threading
import time
import types

_THIS_FILE = os.path.abspath(__file__)
_Original = _socket_module.socket
_STARTED = time.monotonic()

METHODS = (
    "bind", "listen", "accept", "connect", "connect_ex", "recv", "send", "sendall",
    "recvfrom", "sendto", "getpeername", "getsockname", "getsockopt", "setsockopt",
    "close", "setblocking", "settimeout", "gettimeout", "fileno", "makefile",
    "shutdown", "recv_into",
)
_FOLD_AFTER = 0.05
_BATCH = 0.02  # seconds a trace line may wait to be written with others
_BLOCKED = 0.005  # a call that took longer than this did block: its return is sent at once
_MAY_BLOCK = frozenset(("accept", "connect", "connect_ex", "recv", "recvfrom", "recv_into",
                        "send", "sendall", "sendto"))  # seconds between two `repeat` events of one spinning call


def _parse_ports(text):
    ports = {}
    for item in (text or "").split(","):
        if ":" in item:
            nominal, real = item.split(":", 1)
            ports[int(nominal)] = int(real)
    return ports


class _Channel:
    """JSON lines to the runner; one connection per process (re-opened after fork).

    Lines are batched: a line is written at once only when the runner must know now (a call
    that is about to block, a call that has blocked and returns, the exit); otherwise it waits
    at most ``_BATCH`` seconds, written by a small flusher thread. That keeps the tracer's cost
    per socket call low without letting the runner's view go stale.
    """

    def __init__(self, path, side):
        self.path = path
        self.side = side
        self.lock = threading.Lock()
        self.sock = None
        self.buf = []
        self.last = 0.0
        self.wake = threading.Event()
        self.flusher_pid = None
        self._tail_pid = None
        self._tail = ""
        self.open()

    def open(self):
        self.sock = None
        if not self.path:
            return
        try:
            s = _Original(_socket_module.AF_UNIX, _socket_module.SOCK_STREAM)
            _Original.connect(s, self.path)
            self.sock = s
        except OSError:
            return
        self.emit("hello", True, {})  # tells the runner which process this channel is

    def after_fork(self):
        self.lock = threading.Lock()
        self.buf = []
        self.wake = threading.Event()
        if self.sock is not None:
            try:
                _Original.close(self.sock)
            except OSError:
                pass
        self.open()

    def emit(self, kind, urgent, fields):
        if self.sock is None:
            return
        now = time.monotonic()
        line = _line(kind, now, fields) + self.tail
        with self.lock:
            self.buf.append(line)
            due = urgent or now - self.last >= _BATCH or len(self.buf) >= 256
        if due:
            self.flush()
        elif not self.wake.is_set():
            self.wake_flusher()

    def flush(self):
        with self.lock:
            if not self.buf or self.sock is None:
                return
            data = "".join(self.buf).encode("utf-8", "replace")
            self.buf = []
            self.last = time.monotonic()
            try:
                _Original.sendall(self.sock, data)
            except OSError:
                self.sock = None

    def wake_flusher(self):
        if self.flusher_pid != os.getpid():
            self.flusher_pid = os.getpid()
            threading.Thread(target=self._flush_loop, name="sockteach-trace-flush",
                             daemon=True).start()
        self.wake.set()

    def _flush_loop(self):
        while True:
            self.wake.wait()
            time.sleep(_BATCH)  # gather a batch: a period, not a synchronisation
            self.wake.clear()
            self.flush()

    @property
    def tail(self):
        """The fields every line ends with (the pid changes after a fork)."""
        pid = os.getpid()
        if self._tail_pid != pid:
            self._tail_pid = pid
            self._tail = ',"pid":%d,"side":%s}\n' % (pid, json.dumps(self.side, ensure_ascii=False))
        return self._tail


try:
    from _json import encode_basestring as _quote  # the C version
except ImportError:  # pragma: no cover
    from json.encoder import py_encode_basestring as _quote


def _line(kind, now, fields):
    """One event as JSON, without its closing brace (cheaper than json.dumps: every socket
    call pays for it). Values are str, int, float, None or lists of str."""
    parts = ['{"kind":"', kind, '","mono":', repr(now)]
    for key, value in fields.items():
        parts.append(',"%s":' % key)
        if value.__class__ is str:
            parts.append(_quote(value))
        elif value is None:
            parts.append("null")
        elif value.__class__ is list:
            parts.append("[" + ",".join(map(_quote, value)) + "]")
        elif value.__class__ is int or value.__class__ is float:
            parts.append(repr(value))
        else:
            parts.append(json.dumps(value, ensure_ascii=False, default=str))
    return "".join(parts)


_channel = _Channel(os.environ.get("SOCKTEACH_TRACE"), os.environ.get("SOCKTEACH_SIDE", "main"))
_ports = _parse_ports(os.environ.get("SOCKTEACH_PORTS"))
_reverse_ports = {real: nominal for nominal, real in _ports.items()}
_loopback_only = os.environ.get("SOCKTEACH_LOOPBACK") == "1"
_local = threading.local()


# ----- formatting values for the event stream ---------------------------------------------

_MAX_REPR = 300
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


def _fmt(value):
    if isinstance(value, _Original):
        try:
            fd = _Original.fileno(value)
        except OSError:
            fd = -1
        return "<socket fd=%d>" % fd
    if isinstance(value, tuple):
        inner = ", ".join(_fmt(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) > _MAX_REPR:
            return repr(data[:_MAX_REPR]) + "…(%d bytes)" % len(data)
        return repr(data)
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "…"


def _fmt_args(name, args):
    if name in ("recv_into", "recvfrom_into") and args:
        try:  # the buffer to fill: its size matters, not the bytes it holds before
            size = len(args[0])
        except TypeError:
            size = -1
        return ["<buffer of %d bytes>" % size] + [_fmt(a) for a in args[1:]]
    if name in ("setsockopt", "getsockopt") and args:
        if not _NAMES:
            _NAMES["level"], _NAMES["sol"], _NAMES["tcp"] = _symbolic_names()
        out = [_NAMES["level"].get(args[0], repr(args[0]))]
        if len(args) > 1:
            table = _NAMES["sol"] if args[0] == _socket_module.SOL_SOCKET else _NAMES["tcp"]
            out.append(table.get(args[1], repr(args[1])) if args[0] in (
                _socket_module.SOL_SOCKET, _socket_module.IPPROTO_TCP) else repr(args[1]))
        out.extend(_fmt(a) for a in args[2:])
        return out
    return [_fmt(a) for a in args]


# ----- addresses: nominal ports and loopback only ------------------------------------------

_LOOPBACK_NAMES = ("localhost", "ip6-localhost")


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


def _map_out(sock, address, verb):
    """Nominal → real port, wildcard → loopback; None if the address is not mapped."""
    if sock.family not in (_socket_module.AF_INET, _socket_module.AF_INET6):
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


def _map_in(value):
    """Real → nominal port in an address the program gets back."""
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], int) \
            and isinstance(value[0], str) and value[1] in _reverse_ports:
        return (value[0], _reverse_ports[value[1]]) + tuple(value[2:])
    return value


# ----- the traced socket class --------------------------------------------------------------

class _Fold:
    """A call that keeps returning the same empty result (the spin), counted, not listed."""

    __slots__ = ("name", "result", "count", "last_emit", "pending")

    def __init__(self, name, result):
        self.name, self.result = name, result
        self.count = 0
        self.last_emit = 0.0
        self.pending = False


_folds = {}  # (fd, name) -> _Fold


def _flush_folds():
    for (fd, _name), fold in list(_folds.items()):
        _flush_one(fold, fd)


def _flush_one(fold, fd):
    if fold.pending:
        fold.pending = False
        fold.last_emit = time.monotonic()
        _channel.emit("repeat", False, {"name": fold.name, "result": fold.result,
                                        "count": fold.count, "sock": fd})


def _emit(kind, urgent=False, **fields):
    if _folds:
        _flush_folds()
    _channel.emit(kind, urgent, fields)


def _empty(name, args, result):
    if name == "recv":
        return result == b""
    if name == "send":
        return result == 0 and args and len(args[0]) == 0
    return False


def _would_block(sock, fd, name, args):
    """Whether the call may wait: then the runner must hear of it before it starts."""
    try:
        if _Original.gettimeout(sock) == 0.0:
            return False  # non-blocking: it never waits
        if name in ("recv", "recvfrom", "recv_into", "accept"):
            return not _select.select((fd,), (), (), 0)[0]
        if name in ("send", "sendall", "sendto"):
            if not args or len(args[0]) > 1024:
                return True
            return not _select.select((), (fd,), (), 0)[1]
    except (OSError, ValueError, TypeError):
        pass
    return True


def _wrap(name):
    original = getattr(_Original, name)
    may_block = name in _MAY_BLOCK

    def traced(self, *args, **kwargs):
        if getattr(_local, "depth", 0):
            return original(self, *args, **kwargs)
        try:
            fd = _Original.fileno(self)
        except OSError:
            fd = -1
        if name == "close":
            for key in [k for k in _folds if k[0] == fd]:
                _flush_one(_folds.pop(key), fd)
        fold = _folds.get((fd, name))
        if fold is not None:
            # This socket's last call of this kind returned an empty result: count a repeat.
            _local.depth = 1
            try:
                result = original(self, *args, **kwargs)
            except BaseException:
                _local.depth = 0
                del _folds[(fd, name)]
                _flush_one(fold, fd)
                raise
            _local.depth = 0
            if _empty(name, args, result):
                fold.count += 1
                fold.pending = True
                if time.monotonic() - fold.last_emit >= _FOLD_AFTER:
                    _flush_one(fold, fd)
                return result
            del _folds[(fd, name)]
            _flush_one(fold, fd)
            # a non-empty result: fall through and report it as an ordinary call
            _emit("call", name=name, args=_fmt_args(name, args), sock=fd)
            _emit("return", name=name, result=_fmt(result), sock=fd)
            return result

        real = None
        call_args = args
        if name in ("bind", "connect", "connect_ex") and args:
            mapped = _map_out(self, args[0], name)
            if mapped != args[0]:
                real = _fmt(mapped)
            call_args = (mapped,) + args[1:]
        elif name == "sendto" and len(args) >= 2:
            mapped = _map_out(self, args[-1], "send to")
            if mapped != args[-1]:
                real = _fmt(mapped)
            call_args = args[:-1] + (mapped,)
        fields = {"name": name, "args": _fmt_args(name, args), "sock": fd}
        if real is not None:
            fields["real"] = real
        _emit("call", may_block and _would_block(self, fd, name, args), **fields)
        started = time.monotonic()
        _local.depth = 1
        try:
            result = original(self, *call_args, **kwargs)
        except BaseException as exc:
            _local.depth = 0
            _emit("raise", True, name=name, error=type(exc).__name__,
                  errno=getattr(exc, "errno", None), message=str(exc), sock=fd)
            raise
        _local.depth = 0
        if name in ("getsockname", "getpeername"):
            result = _map_in(result)
        elif name == "accept":
            result = (result[0], _map_in(result[1]))
            new_fd = _Original.fileno(result[0])
            for key in [k for k in _folds if k[0] == new_fd]:
                del _folds[key]
        elif name == "recvfrom":
            result = (result[0], _map_in(result[1]))
        extra = {}
        if name == "listen":
            try:
                extra["real"] = _fmt(_Original.getsockname(self))
            except OSError:
                pass
        _emit("return", time.monotonic() - started > _BLOCKED, name=name, result=_fmt(result),
              sock=fd, **extra)
        if _empty(name, args, result):
            _folds[(fd, name)] = _Fold(name, _fmt(result))
        return result

    traced.__name__ = name
    traced.__qualname__ = "socket." + name
    traced.__doc__ = original.__doc__
    return traced


class socket(_Original):  # noqa: N801 - the name the script sees
    __slots__ = ()

    def __repr__(self):
        depth = getattr(_local, "depth", 0)
        _local.depth = 1
        try:
            return _Original.__repr__(self)
        finally:
            _local.depth = depth


for _name in METHODS:
    setattr(socket, _name, _wrap(_name))
socket.__module__ = "socket"
socket.__doc__ = _Original.__doc__


# ----- input() and exit ---------------------------------------------------------------------

_original_input = builtins.input


def _traced_input(prompt=""):
    _emit("call", True, name="input", args=[repr(prompt)])
    try:
        text = _original_input(prompt)
    except BaseException as exc:
        _emit("raise", True, name="input", error=type(exc).__name__, errno=None, message=str(exc))
        raise
    _emit("return", True, name="input", result=repr(text))
    return text


_exit_code = [0]


def _report_exit():
    _emit("exit", True, code=_exit_code[0])


_original_os_exit = os._exit


def _os_exit(code):
    """``os._exit`` (a forked child's usual end) skips atexit: write what is waiting first."""
    _channel.flush()
    _original_os_exit(code)


def _strip(tb):
    """The traceback without the tracer's own frames."""
    head = None
    prev = None
    while tb is not None:
        nxt = tb.tb_next
        if os.path.abspath(tb.tb_frame.f_code.co_filename) != _THIS_FILE:
            if prev is None:
                head = tb
            else:
                prev.tb_next = tb
            prev = tb
        tb = nxt
    if prev is not None:
        prev.tb_next = None
    return head


def _excepthook(kind, value, tb):
    tb = _strip(tb)
    if value is not None:
        value.__traceback__ = tb  # the default hook prints the exception's own traceback
    sys.__excepthook__(kind, value, tb)


def _thread_excepthook(args):
    if args.exc_value is not None and args.exc_traceback is not None:
        args.exc_value.__traceback__ = _strip(args.exc_traceback)
    _original_thread_hook(args)


_original_thread_hook = threading.excepthook


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: tracer.py SCRIPT [ARGS...]\n")
        return 2
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(script)
    _socket_module.socket = socket
    builtins.input = _traced_input
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    import atexit
    atexit.register(_report_exit)
    os._exit = _os_exit
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_channel.flush, after_in_child=_after_fork)
    # Our flusher thread is not the program's: hide the warning it would cause at fork().
    import warnings
    warnings.filterwarnings("ignore", message=r"This process \(pid=\d+\) is multi-threaded",
                            category=DeprecationWarning)

    # Keep the tracer's own module alive once the script takes the name __main__.
    sys.modules["sockteach_tracer"] = sys.modules["__main__"]
    module = types.ModuleType("__main__")
    module.__file__ = sys.argv[0]
    module.__builtins__ = builtins
    module.__cached__ = None
    sys.modules["__main__"] = module
    try:
        with open(script, "rb") as f:
            source = f.read()
        code = compile(source, sys.argv[0], "exec")
        exec(code, module.__dict__)
    except SystemExit as exc:
        code_value = exc.code
        _exit_code[0] = code_value if isinstance(code_value, int) else (0 if code_value is None else 1)
        raise
    except KeyboardInterrupt:
        _exit_code[0] = 130
        raise
    except BaseException:
        _exit_code[0] = 1
        raise
    return None


def _after_fork():
    _folds.clear()
    _channel.after_fork()


if __name__ == "__main__":
    main()
