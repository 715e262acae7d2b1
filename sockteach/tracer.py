"""The tracer: runs a learner's or a lesson's script with every socket call reported.

Run as ``python tracer.py SCRIPT [ARGS...]`` (never imported by the script). Before the script
starts it replaces ``socket.socket`` with a subclass whose methods report each call (enter,
return, raise) as one JSON line to the runner's channel, an ``AF_UNIX`` socket whose path is in
``SOCKTEACH_TRACE``; ``select``/``poll``/``epoll`` (and so ``selectors`` and ``asyncio``),
``input()``, what the program writes to stdout/stderr, and its exit are reported too. Each line
is stamped here, in the traced process, on the system-wide monotonic clock: that is what makes
the stream's order true (see ``events.py``, "Ordering rule"). The fields are those of
``events.py``'s version 2.

The script behaves as it would untraced: same results, same exceptions, and an uncaught
exception's traceback shows the script's lines, not the tracer's.

Environment:
  SOCKTEACH_TRACE        channel path (without it nothing is reported, only ports are mapped)
  SOCKTEACH_SIDE         the side's name ("server", "client", …)
  SOCKTEACH_PORTS        nominal→real port map, "8081:40123,8080:40124"
  SOCKTEACH_LOOPBACK     "1": refuse non-loopback addresses, bind wildcards to loopback
  SOCKTEACH_FOLD_OUTPUT  "1": the program's own stdout is a file: a line written again and
                         again is written a few times, then counted (the file stays small)

This file imports only the standard library, and nothing from sockteach; its helpers live in
``tracer_facts.py`` beside it (imported before the script's folder takes sys.path[0]).
"""

import builtins
import io
import os
import signal
import sys
import threading
import time
import types

import tracer_facts as facts  # beside this file: sys.path[0] until main() gives it the script's
from tracer_facts import _Original, _orig_select, _socket_module

_THIS_FILES = (os.path.abspath(__file__), os.path.abspath(facts.__file__))

METHODS = (
    "bind", "listen", "accept", "connect", "connect_ex", "recv", "send", "sendall",
    "recvfrom", "sendto", "getpeername", "getsockname", "getsockopt", "setsockopt",
    "close", "setblocking", "settimeout", "gettimeout", "fileno", "makefile",
    "shutdown", "recv_into",
)
_FOLD_AFTER = 0.05  # seconds between two `repeat` events of one fold
_BATCH = 0.02  # seconds a trace line may wait to be written with others
_FOLDABLE = frozenset(("recv", "recv_into", "send", "sendall"))
_PARTIAL_SETTLE = 0.005  # a line begun this recently is still being written: not yet an event
_OUTPUT_MAX = 4000  # characters of one output event kept (the rest is counted)
_FOLD_WRITTEN = 3  # with SOCKTEACH_FOLD_OUTPUT, repeats of a line still written
_SAY_EVERY = 5.0  # seconds between two "so far" counts of a line folded in the output itself


class _Channel:
    """JSON lines to the runner; one connection per process (re-opened after fork).

    Lines are stamped and queued under one lock, so a process's lines reach the runner in the
    order of their stamps. A line is written at once only when the runner must know now (a call
    that is about to block, a call that has blocked and returns, the exit); otherwise it waits at
    most ``_BATCH`` seconds, written by a small flusher thread. The runner may ask at any time
    (one byte on the channel) that everything be written: a listener thread answers with a
    ``sync`` line — everything stamped before it has then been sent.
    """

    def __init__(self, path, side):
        self.path = path
        self.side = side
        self.lock = threading.RLock()
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
        self.emit("hello", True, {"capture": 1})  # which process this channel is
        threading.Thread(target=self._answer_syncs, args=(s,), name="sockteach-trace-sync",
                         daemon=True).start()

    def after_fork(self):
        self.lock = threading.RLock()
        self.buf = []
        self.wake = threading.Event()
        if self.sock is not None:
            try:
                _Original.close(self.sock)
            except OSError:
                pass
        self.open()

    def emit(self, kind, urgent, fields, t=None):
        if self.sock is None:
            return
        with self.lock:
            now = time.monotonic()
            self.buf.append(facts.line(kind, now if t is None else t, fields) + self.tail)
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
            flush_all(partial_after=_BATCH)

    def _answer_syncs(self, sock):
        while True:
            try:
                request = _Original.recv(sock, 64)
            except OSError:
                return
            if not request or self.sock is not sock:
                return
            with self.lock:
                _flush_pending(partial_after=_PARTIAL_SETTLE)  # not inside a print()
                self.emit("sync", True, {})

    @property
    def tail(self):
        """The fields every line ends with (the pid changes after a fork)."""
        pid = os.getpid()
        if self._tail_pid != pid:
            self._tail_pid = pid
            self._tail = ',"pid":%d,"side":%s}\n' % (pid, facts.quote(self.side))
        return self._tail


_channel = _Channel(os.environ.get("SOCKTEACH_TRACE"), os.environ.get("SOCKTEACH_SIDE", "main"))
_local = threading.local()


# ----- folds: the spin, counted instead of listed -------------------------------------------

class _Fold:
    """One thing that keeps happening the same way: a call giving the same empty result, a wait
    giving the same ready set, the same line printed. Counted; a ``repeat`` now and then."""

    __slots__ = ("name", "result", "sig", "count", "last_emit", "last_t", "pending", "fields",
                 "said", "said_at")

    def __init__(self, name, result, fields, sig=None):
        self.name, self.result, self.fields = name, result, fields
        self.sig = result if sig is None else sig  # what a repetition must equal
        self.count = 0
        self.said = 0  # repeats of a folded output line already counted in the output itself
        self.said_at = time.monotonic()
        self.last_emit = 0.0
        self.last_t = 0.0
        self.pending = False


_folds = {}  # key -> _Fold: (fd, name), ("wait", id), ("output", stream, text)
_OUTPUT_FOLDS = 8  # different lines of one stream folded at once, at most


def _flush_one(fold):
    if fold.pending:
        fold.pending = False
        fold.last_emit = time.monotonic()
        fields = dict(fold.fields, name=fold.name, result=fold.result, count=fold.count)
        _channel.emit("repeat", False, fields, t=fold.last_t)


def _count(fold):
    now = time.monotonic()
    fold.count += 1
    fold.pending = True
    fold.last_t = now
    if now - fold.last_emit >= _FOLD_AFTER:
        with _channel.lock:
            _flush_one(fold)


def _emit(kind, urgent=False, spin=False, t=None, **fields):
    """Write one event, after what is waiting (a partial output line, fold counts). An event
    that is not part of a spin (``spin``: a wait's call, an empty result) ends every fold.
    A Ctrl-C that lands meanwhile waits until the event is written (see _on_sigint)."""
    _local.emitting = True
    try:
        with _channel.lock:
            if _out_pending:
                _flush_pending_output()
            if _folds:
                for fold in _folds.values():
                    _flush_one(fold)
                if not spin:
                    _disarm_all()
            _channel.emit(kind, urgent, fields, t)
    finally:
        _local.emitting = False
    if _sigint_waiting[0]:
        _sigint_waiting[0] = False
        raise KeyboardInterrupt


_sigint_waiting = [False]


def _on_sigint(signum, frame):
    """Python's Ctrl-C (KeyboardInterrupt), except in the middle of writing an event: then it
    is raised as soon as the event is written, so no event of the program is lost to it."""
    if getattr(_local, "emitting", False):
        _sigint_waiting[0] = True
        return
    raise KeyboardInterrupt


def _disarm_all():
    """Every fold ends (something else happened). Where the program's own output is folded
    (SOCKTEACH_FOLD_OUTPUT), the lines not written are counted in a line of their own."""
    if _fold_output:
        for key, fold in _folds.items():
            if key[0] == "output":
                _say_folded(fold, key[1], "")
    _folds.clear()


def _say_folded(fold, stream, so_far):
    """One line in the program's own output for the repeats of a line it did not write."""
    unsaid = fold.count - _FOLD_WRITTEN - fold.said
    if unsaid > 0:
        fold.said += unsaid
        _write_through(stream, "[… %s %d more times%s — sockteach folded the repeats]\n"
                       % (fold.result.rstrip("\n"), unsaid, so_far))


def _arm(key, name, result, fields, sig=None):
    with _channel.lock:
        _folds[key] = _Fold(name, result, fields, sig)


def _flush_pending(partial_after=0.0):
    if _out_pending:
        _flush_pending_output(partial_after)
    for fold in list(_folds.values()):
        _flush_one(fold)


def flush_all(partial_after=0.0):
    """Write everything waiting. ``partial_after``: the start of a line is written only once it
    has waited that long (print() writes its text and its newline apart: not between them)."""
    with _channel.lock:
        _flush_pending(partial_after)
        _channel.flush()


# ----- output: captured where it is written -------------------------------------------------

_out_pending = {}  # stream -> [text, t of its first write]
_fold_output = os.environ.get("SOCKTEACH_FOLD_OUTPUT") == "1"


def _flush_pending_output(partial_after=0.0):
    now = time.monotonic()
    for stream, pending in list(_out_pending.items()):
        if partial_after and now - pending[1] < partial_after:
            continue
        del _out_pending[stream]
        _channel.emit("output", False, {"text": pending[0], "stream": stream}, pending[1])
        if _fold_output:  # the held start of a line is written now, before what follows it
            _write_through(stream, pending[0])


def _output(stream, text):
    """Called before ``text`` is written; returns what to write now. Whole lines become events
    (a line repeated in a spin, a fold). With SOCKTEACH_FOLD_OUTPUT the start of a line is held
    until the line ends (or the program flushes, or does anything else), and a folded line is
    written only its first few times."""
    if _channel.sock is None:
        return text
    with _channel.lock:
        now = time.monotonic()
        pending = _out_pending.get(stream)
        if pending is None:
            pending = _out_pending[stream] = ["", now]
        if len(pending[0]) < _OUTPUT_MAX:
            pending[0] += text
        else:  # a flood without newlines: keep the start, count the rest
            pending.append(len(text))
            if _fold_output:
                return text
        if "\n" not in text and len(pending[0]) < _OUTPUT_MAX:
            return "" if _fold_output else text
        del _out_pending[stream]
        lines, t = pending[0], pending[1]
        cut = sum(pending[2:])
        if cut:
            lines += "\n[… %d more characters]\n" % cut
        elif len(lines) > _OUTPUT_MAX:
            lines = lines[:_OUTPUT_MAX] + "\n[… %d more characters]\n" % (len(lines) - _OUTPUT_MAX)
        written = (pending[0] if not cut else text) if _fold_output else text
        key = ("output", stream, lines)
        fold = _folds.get(key)
        if fold is not None:  # the same line again, in a spin: count it
            _count(fold)
            if not _fold_output or fold.count <= _FOLD_WRITTEN:
                return written
            if now - fold.said_at >= _SAY_EVERY:
                fold.said_at = now
                _say_folded(fold, stream, " so far")
            return ""
        _emit("output", spin=True, t=t, text=lines, stream=stream)
        same_stream = [k for k in _folds if k[0] == "output" and k[1] == stream]
        if len(same_stream) >= _OUTPUT_FOLDS:
            del _folds[same_stream[0]]
        _arm(key, "output", lines, {"text": lines, "stream": stream})
        return written


def _write_through(stream, text):
    target = getattr(sys, stream, None)
    try:
        io.TextIOWrapper.write(target, text)
    except Exception:
        pass


class _TracedText(io.TextIOWrapper):
    """sys.stdout / sys.stderr: the same buffer, each write reported before it is made."""

    def write(self, s):
        if s and s.__class__ is str and not getattr(_local, "depth", 0):
            now = _output(self._st_stream, s)
            if now is not s:
                if now:
                    super().write(now)
                return len(s)
        return super().write(s)

    def flush(self):
        if _fold_output and self._st_stream in _out_pending:
            with _channel.lock:
                _flush_pending_output()  # input()'s prompt, print(..., flush=True)
        return super().flush()


_streams = []


def _install_streams():
    for stream in ("stdout", "stderr"):
        old = getattr(sys, stream, None)
        if old is None or not isinstance(old, io.TextIOWrapper):
            continue
        try:
            new = _TracedText(old.buffer, encoding=old.encoding, errors=old.errors,
                              line_buffering=old.line_buffering, write_through=old.write_through)
        except (AttributeError, ValueError):
            continue
        new._st_stream = stream
        _streams.append(new)  # never collected: closing it would close the program's fd 1/2
        setattr(sys, stream, new)


_original_os_write = os.write


def _os_write(fd, data):
    if fd in (1, 2) and not getattr(_local, "depth", 0) and not _fold_output:
        try:
            _output("stdout" if fd == 1 else "stderr", bytes(data).decode("utf-8", "replace"))
        except Exception:
            pass
    return _original_os_write(fd, data)


# ----- the traced socket class --------------------------------------------------------------

def _wrap(name):
    original = getattr(_Original, name)
    foldable = name in _FOLDABLE

    def traced(self, *args, **kwargs):
        if getattr(_local, "depth", 0):
            return original(self, *args, **kwargs)
        try:
            fd = _Original.fileno(self)
        except OSError:
            fd = -1
        fold = _folds.get((fd, name)) if foldable else None
        if fold is not None:  # the same call again on a spinning socket: count, don't list
            started = time.monotonic()
            _local.depth = 1
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                _local.depth = 0
                _emit("call", t=started, **facts.call_fields(self, name, args, fd))
                _emit("raise", True, **facts.raise_fields(self, name, exc, fd))
                raise
            _local.depth = 0
            if facts.empty(name, args, result):
                _count(fold)
                return result
            _emit("call", t=started, **facts.call_fields(self, name, args, fd))
            _emit("return", **facts.return_fields(self, name, args, result, fd))
            return result

        fields = facts.call_fields(self, name, args, fd)
        call_args = facts.mapped_args(self, name, args, fields)
        _emit("call", spin=foldable, **fields)
        _local.depth = 1
        try:
            result = original(self, *call_args, **kwargs)
        except BaseException as exc:
            _local.depth = 0
            _emit("raise", True, **facts.raise_fields(self, name, exc, fd))
            raise
        _local.depth = 0
        result = facts.returned(name, result)
        empty = foldable and facts.empty(name, args, result)
        out = facts.return_fields(self, name, args, result, fd)
        _emit("return", spin=empty, **out)
        if empty:
            _arm((fd, name), name, out["result"], facts.fold_fields(out))
        return result

    traced.__name__ = name
    traced.__qualname__ = "socket." + name
    traced.__doc__ = original.__doc__
    return traced


class socket(_Original):  # noqa: N801 - the name the script sees
    __slots__ = ("_st_family", "_st_type", "_st_internal")

    def __init__(self, *args, **kwargs):
        _Original.__init__(self, *args, **kwargs)
        self._st_family, self._st_type = facts.kind_names(self)
        self._st_internal = None

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

_original_socketpair = _socket_module.socketpair


def _socketpair(*args, **kwargs):
    """socket.socketpair(); the pair an asyncio event loop makes for itself is labelled."""
    pair = _original_socketpair(*args, **kwargs)
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller.startswith("asyncio"):
        for s in pair:
            if isinstance(s, socket):
                s._st_internal = "asyncio"
    return pair


# ----- select, poll, epoll (and so selectors and asyncio) -----------------------------------

def _wait(name, key, rfds, wfds, timeout, call, ready):
    """One wait for readiness, reported like a call. ``call(t)`` waits at most ``t`` (0: not at
    all, None: no limit) and ``ready(result)`` gives the ready (read, write) fds. The same
    ready set again and again, with only spin events between, is a fold."""
    if getattr(_local, "depth", 0):
        return call(timeout)
    fields = {"name": name, "rfds": rfds, "wfds": wfds, "timeout": timeout}
    _local.depth = 1
    try:
        result = call(0)  # a look without waiting: what the wait gives when something is ready
    finally:
        _local.depth = 0
    r, w = ready(result)
    if r or w or timeout == 0:
        fold = _folds.get(key)
        if fold is not None and fold.sig == (r, w, rfds, wfds):
            _count(fold)
            return result
        out = {"name": name, "result": repr((r, w)), "rfds": r, "wfds": w}
        _emit("call", spin=True, **fields)
        _emit("return", spin=True, **out)
        _arm(key, name, out["result"], out, (r, w, rfds, wfds))
        return result
    _emit("call", spin=True, **fields)  # it will wait: the flusher writes it within _BATCH
    _local.depth = 1
    try:
        result = call(timeout)
    except BaseException as exc:
        _local.depth = 0
        _emit("raise", True, **facts.error_fields(name, exc))
        raise
    _local.depth = 0
    r, w = ready(result)
    out = {"name": name, "result": repr((r, w)), "rfds": r, "wfds": w}
    _emit("return", spin=True, **out)
    _arm(key, name, out["result"], out, (r, w, rfds, wfds))
    return result


def _select(rlist, wlist, xlist, timeout=None):
    try:
        rfds, wfds = facts.fds(rlist), facts.fds(wlist)
    except Exception:
        return _orig_select(rlist, wlist, xlist, timeout)
    return _wait("select", ("wait", "select"), rfds, wfds, timeout,
                 lambda t: _orig_select(rlist, wlist, xlist, t),
                 lambda res: (facts.fds(res[0]), facts.fds(res[1])))


class _Registered:
    """A poll or epoll object whose waits are reported (the real one does the work)."""

    _name = "poll"
    _IN = 0
    _OUT = 0

    def __init__(self, real):
        self._real = real
        self._masks = {}

    def register(self, fd, eventmask=None):
        fd = fd if isinstance(fd, int) else fd.fileno()
        if eventmask is None:
            self._real.register(fd)
            self._masks[fd] = self._IN | self._OUT
        else:
            self._real.register(fd, eventmask)
            self._masks[fd] = eventmask

    def modify(self, fd, eventmask):
        fd = fd if isinstance(fd, int) else fd.fileno()
        self._real.modify(fd, eventmask)
        self._masks[fd] = eventmask

    def unregister(self, fd):
        fd = fd if isinstance(fd, int) else fd.fileno()
        self._real.unregister(fd)
        self._masks.pop(fd, None)

    def _sets(self):
        return ([fd for fd, m in self._masks.items() if m & self._IN],
                [fd for fd, m in self._masks.items() if m & self._OUT])

    def _ready(self, result):
        return ([fd for fd, ev in result if ev & ~self._OUT],
                [fd for fd, ev in result if ev & self._OUT])

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        self._real.__enter__()
        return self

    def __exit__(self, *exc):
        return self._real.__exit__(*exc)


class _Poll(_Registered):
    _name = "poll"
    _IN = getattr(facts.select_module, "POLLIN", 1) | getattr(facts.select_module, "POLLPRI", 2)
    _OUT = getattr(facts.select_module, "POLLOUT", 4)

    def poll(self, timeout=None):
        rfds, wfds = self._sets()
        limit = None if timeout is None or timeout < 0 else timeout / 1000
        return _wait("poll", ("wait", id(self)), rfds, wfds, limit,
                     lambda t: self._real.poll(None if t is None else t * 1000), self._ready)


class _Epoll(_Registered):
    _name = "epoll"
    _IN = getattr(facts.select_module, "EPOLLIN", 1) | getattr(facts.select_module, "EPOLLPRI", 2)
    _OUT = getattr(facts.select_module, "EPOLLOUT", 4)

    def poll(self, timeout=None, maxevents=-1):
        rfds, wfds = self._sets()
        limit = None if timeout is None or timeout < 0 else timeout
        return _wait("epoll", ("wait", id(self)), rfds, wfds, limit,
                     lambda t: self._real.poll(-1 if t is None else t, maxevents), self._ready)

    @classmethod
    def fromfd(cls, fd):
        return cls(facts.select_module.epoll.fromfd(fd))


def _patch_waits():
    select_module = facts.select_module
    select_module.select = _select
    if hasattr(select_module, "poll"):
        real_poll = select_module.poll
        select_module.poll = lambda: _Poll(real_poll())
    if hasattr(select_module, "epoll"):
        real_epoll = select_module.epoll
        _Epoll.real = real_epoll

        def epoll(sizehint=-1, flags=0):
            return _Epoll(real_epoll(sizehint, flags))

        epoll.fromfd = _Epoll.fromfd
        select_module.epoll = epoll
    import selectors

    if hasattr(selectors, "EpollSelector"):
        selectors.EpollSelector._selector_cls = staticmethod(select_module.epoll)
    if hasattr(selectors, "PollSelector"):
        selectors.PollSelector._selector_cls = staticmethod(select_module.poll)


# ----- input() and exit ---------------------------------------------------------------------

_original_input = builtins.input


def _traced_input(prompt=""):
    if prompt and facts.prompt_bypasses_stdout():
        _output("stdout", str(prompt))  # a terminal's input() writes the prompt itself
    _emit("call", True, name="input", args=[repr(prompt)])
    try:
        text = _original_input(prompt)
    except BaseException as exc:
        _emit("raise", True, **facts.error_fields("input", exc))
        raise
    _emit("return", True, name="input", result=repr(text))
    return text


_exit_code = [0]


def _report_exit():
    _emit("exit", True, code=_exit_code[0])


_original_os_exit = os._exit


def _os_exit(code):
    """``os._exit`` (a forked child's usual end) skips atexit: write what is waiting first."""
    flush_all()
    _original_os_exit(code)


def _on_sigterm(signum, frame):
    """SIGTERM's default ends the process at once: write what is waiting, then end as it would."""
    with _channel.lock:
        _flush_pending()
        _disarm_all()
    flush_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _strip(tb):
    """The traceback without the tracer's own frames."""
    head = None
    prev = None
    while tb is not None:
        nxt = tb.tb_next
        if os.path.abspath(tb.tb_frame.f_code.co_filename) not in _THIS_FILES:
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


def _after_fork():
    _folds.clear()
    _out_pending.clear()
    _channel.after_fork()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: tracer.py SCRIPT [ARGS...]\n")
        return 2
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(script)
    _socket_module.socket = socket
    _socket_module.socketpair = _socketpair
    _patch_waits()
    builtins.input = _traced_input
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    if _channel.sock is not None:
        _install_streams()
        os.write = _os_write
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_sigint)
    import atexit
    atexit.register(_report_exit)
    os._exit = _os_exit
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=flush_all, after_in_child=_after_fork)
    # Our threads are not the program's: hide the warning they would cause at fork().
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


if __name__ == "__main__":
    main()
