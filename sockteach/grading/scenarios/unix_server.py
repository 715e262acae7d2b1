"""Exercise 9: an AF_UNIX upper-case echo server that can be restarted over its stale file.

The server runs in the grader's fresh folder; the path it listens on comes from the trace (the
``listen`` return names the socket's own address, ``bind`` the address asked for). The grader
connects to that socket file with its own AF_UNIX client, then stops the server with Ctrl-C
while a client is connected and starts it again in the same folder, the socket file still there.
AF_UNIX has no kernel TCP table to read, so the first client leaves by half-closing
(``shutdown(SHUT_WR)``) and waits for the server's end of the stream: a server that never closes
its end shows. Another client closes without reading its answer, which makes the server's next
``recv()`` raise ConnectionResetError on Linux; the server must survive it.
"""

from __future__ import annotations

import ast
import os
import select
import socket
import time
from pathlib import Path

from ...events import Event
from ..checks import (LEAVE, REPLY, START, STOP, Context, reply_problem, sentence,
                      shown_output)
from ..texts import sep, t
from ..trial import SPIN_LIMIT, Peer, Trial

TEXTS = {
    "en": {
        "listens_ok": "It listens on the socket file {path} (AF_UNIX): bind({path}), then listen().",
        "listens_tcp": "It listens on {addr}, a TCP address (AF_INET). This exercise wants the file-based family: socket(AF_UNIX,SOCK_STREAM) and bind('echo.sock') — a path, not (IP, port).",
        "connect_failed": "The grader could not connect to the socket file {path} ({error}); the program: {doing}.",
        "echo_ok": "{n} messages over AF_UNIX, each answered with its upper-case version.",
        "stale_left": "The socket file {path} stayed on the disk after the server stopped.",
        "stale_made": "The server removed {path} on its way out; the grader put a stale socket file there (as a crash would leave it).",
        "restart_ok": "Stopped with Ctrl-C while a client was connected, then started again at once: it listens on {path} again.",
        "restart_no_listen": "Stopped with Ctrl-C while a client was connected, then started again at once, it could not listen — {how}.",
        "restart_no_serve": "Stopped with Ctrl-C while a client was connected, then started again at once, it listens, but it did not serve a client:",
    },
    "zh": {
        "listens_ok": "程序在套接字文件 {path} 上监听（AF_UNIX）：bind({path})，然后 listen()。",
        "listens_tcp": "程序在 {addr} 上监听，这是一个 TCP 地址（AF_INET）。这个练习要的是基于文件的套接字家族：socket(AF_UNIX,SOCK_STREAM) 和 bind('echo.sock')——地址是一个路径，而不是 (IP, 端口)。",
        "connect_failed": "评分器连不上套接字文件 {path}（{error}）；程序这边：{doing}。",
        "echo_ok": "通过 AF_UNIX 发了 {n} 条消息，每条都收到了大写版本。",
        "stale_left": "服务端停掉之后，套接字文件 {path} 还留在磁盘上。",
        "stale_made": "服务端退出时自己删掉了 {path}；评分器在那里放了一个残留的套接字文件（就像程序崩溃时留下的那样）。",
        "restart_ok": "在有客户端连着的时候用 Ctrl-C 停掉，再马上启动：它又在 {path} 上监听了。",
        "restart_no_listen": "在有客户端连着的时候用 Ctrl-C 停掉，再马上启动，它没能监听——{how}。",
        "restart_no_serve": "在有客户端连着的时候用 Ctrl-C 停掉，再马上启动，它在监听，但没有为客户端服务：",
    },
}


def say(ctx: Context, key: str, **values: object) -> str:
    table = TEXTS.get(ctx.lang) or TEXTS["en"]
    return (table.get(key) or TEXTS["en"][key]).format(**values)


class UnixPeer(Peer):
    """The grader's own AF_UNIX client (a :class:`Peer` with another kind of socket)."""

    def __init__(self, trial: Trial, path: str) -> None:  # noqa: D107 - see the class
        self.trial = trial
        self.address = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.closed = False
        trial._peers.append(self)


def listening_on(trial: Trial, rec=None) -> str | tuple | None:
    """What this run of the program listens on: a path (AF_UNIX) or an (ip, port) tuple."""
    events = trial.events(rec)
    for e in reversed(events):
        if e.kind == "return" and e.name == "listen":
            if e.real and isinstance(e.real, (str, tuple)) and not str(e.real).startswith(("'", '"', "b'")):
                return e.real  # structured (events version 2): a path or (ip, port)
            text = e.real
            if not text:  # getsockname() failed: the address asked for in bind()
                text = next((b.args[0] for b in reversed(events) if b.kind == "call"
                             and b.name == "bind" and b.sock == e.sock and b.args), None)
            try:
                value = ast.literal_eval(text) if text else None
            except (ValueError, SyntaxError):
                return None
            if isinstance(value, bytes):
                value = value.decode("utf-8", "surrogateescape")
            return value if isinstance(value, (str, tuple)) else None
    return None


def settled(trial: Trial, since: float) -> bool:
    """After a client left: the server waits in accept() again, has ended, or spins."""
    return (trial.exited() or trial.spin_count(since) > SPIN_LIMIT
            or any(e.name == "accept" for e in trial.pending(since=since)))


def resolve(trial: Trial, path: str) -> str:
    """Where the grader finds the socket file: relative paths are in the program's folder;
    a Linux abstract name (starting with NUL) is used as it is."""
    if path.startswith("\0") or os.path.isabs(path):
        return path
    return str(trial.script.parent / path)


def start(ctx: Context, trial: Trial, judge: bool = True) -> str | None:
    """Start the server; with ``judge`` record ``runs`` and ``listens`` (stop on failure).
    Returns the path it listens on, or None."""
    r = ctx.rec
    rec = trial.start()
    trial.wait(lambda: listening_on(trial, rec) or trial.exited(rec) or trial.input_call(rec),
               START)
    where = listening_on(trial, rec)
    if not judge:
        return where if isinstance(where, str) else None
    out = shown_output(trial, rec)
    if trial.violation:
        r.stop("runs", sentence(trial.violation), out)
    if where is None:
        if trial.exited(rec):
            if rec.exit_code != 0 and trial.socket_calls(rec) == 0:
                r.stop("runs", ctx.text("runs.crashed", how=trial.ending(rec)), out)
            r.ok("runs", ctx.text("runs.ok"))
            r.stop("listens", ctx.text("listens.ended", how=trial.ending(rec)), out)
        call = trial.input_call(rec)
        if call is not None and trial.socket_calls(rec) == 0:
            r.stop("runs", ctx.text("runs.input", prompt=(call.args or ("''",))[0]), out)
        r.ok("runs", ctx.text("runs.ok"))
        r.stop("listens", ctx.text("listens.never", seconds=f"{START:g}",
                                   doing=trial.doing(rec)), out)
    r.ok("runs", ctx.text("runs.ok"))
    if isinstance(where, tuple):
        trial.kill(rec)
        r.stop("listens", say(ctx, "listens_tcp", addr=f"{where[0]}:{where[1]}"))
    r.ok("listens", say(ctx, "listens_ok", path=repr(where)))
    return where


def connect(ctx: Context, trial: Trial, path: str) -> tuple[UnixPeer, str | None]:
    """The grader's AF_UNIX client connects; (peer, None) or (peer, the error text)."""
    peer = UnixPeer(trial, resolve(trial, path))
    trial.session.add(Event(trial.now(), "grader", "call", name="connect", args=(repr(path),)))
    error = peer.connect(trial.budget.cap(2.0))
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        error = say(ctx, "connect_failed", path=repr(path), error=error, doing=trial.doing())
    return peer, error


def serve_next(ctx: Context, trial: Trial, path: str, data: bytes) -> tuple[bool, str, str]:
    """A new client connects and sends ``data``: (answered right, message, output)."""
    t0 = trial.now()
    peer, error = connect(ctx, trial, path)
    if error is not None:
        return False, error, shown_output(trial)
    reply = trial.exchange(peer, data, data.upper(), REPLY)
    peer.close()
    if reply.ok:
        return True, ctx.text("exchange.ok", sent=repr(data), got=repr(reply.got)), ""
    return False, reply_problem(ctx, trial, reply, accepted_since=t0), shown_output(trial)


def run(ctx: Context) -> None:
    r = ctx.rec
    trial = ctx.trial("server")
    path = start(ctx, trial)

    peer, error = connect(ctx, trial, path)
    if error is not None:
        r.stop("echo", error, shown_output(trial))
    messages = (b"hello", b"Second line", b"over a file path")
    for data in messages:
        reply = trial.exchange(peer, data, data.upper(), REPLY)
        if not reply.ok:
            r.stop("echo", reply_problem(ctx, trial, reply), shown_output(trial))
    r.ok("echo", say(ctx, "echo_ok", n=len(messages)))

    ok, message, output = _leaves(ctx, trial, path, peer)
    if ok:
        r.ok("next_client", message)
    else:
        r.fail("next_client", message, output)

    # The restart: a client is connected, Ctrl-C, the socket file stays; start again at once.
    client, error = connect(ctx, trial, path)
    if error is not None:
        r.stop("restart", error, shown_output(trial))
    reply = trial.exchange(client, b"before", b"BEFORE", REPLY)
    if not reply.ok:
        r.stop("restart", reply_problem(ctx, trial, reply), shown_output(trial))
    trial.stop_side(interrupt=True, grace=STOP)
    client.close()
    full = resolve(trial, path)
    if path.startswith("\0"):
        stale = ""  # an abstract name leaves no file: nothing stale to step over
    elif os.path.exists(full):
        stale = say(ctx, "stale_left", path=repr(path))
    else:
        _leave_stale_file(full)
        stale = say(ctx, "stale_made", path=repr(path))
    rec = trial.start()
    trial.wait(lambda: listening_on(trial, rec) or trial.exited(rec) or trial.input_call(rec),
               START)
    again = listening_on(trial, rec)
    head = stale + sep(ctx.lang) if stale else ""
    if not isinstance(again, str):
        r.stop("restart", head + say(ctx, "restart_no_listen", how=trial.doing(rec)),
               shown_output(trial, rec))
    ok, message, output = serve_next(ctx, trial, again, b"after restart")
    if ok:
        r.ok("restart", head + say(ctx, "restart_ok", path=repr(again)) + sep(ctx.lang) + message)
    else:
        r.fail("restart", head + say(ctx, "restart_no_serve") + sep(ctx.lang) + message, output)


def _leave_stale_file(path: str) -> None:
    """A socket file with nobody listening: what a crashed AF_UNIX server leaves behind."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        s.bind(path)
    except OSError:
        pass
    finally:
        s.close()


def _end_of_stream(trial: Trial, peer: Peer, timeout: float) -> bool:
    """Read (and drop) what comes until the server's end of the stream; False at the deadline."""
    deadline = time.monotonic() + trial.budget.cap(timeout)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            ready, _, _ = select.select([peer.sock], [], [], min(left, 0.1))
            if ready and not peer.sock.recv(4096):
                return True
        except OSError:
            return True  # reset: the server's end is gone too


def _leaves(ctx: Context, trial: Trial, path: str, peer: Peer) -> tuple[bool, str, str]:
    """The first client leaves by half-closing and waits for the server's end of the stream;
    a new client is served; a client that closes without reading its answer resets the
    connection, and one more client is served: (passed, message, output)."""
    lang = ctx.lang
    t_left = trial.now()
    trial.session.add(Event(t_left, "grader", "call", name="shutdown", args=("SHUT_WR",)))
    try:
        peer.sock.shutdown(socket.SHUT_WR)  # a FIN: the server's recv() returns b''
    except OSError:
        pass
    if not _end_of_stream(trial, peer, LEAVE):
        doing = trial.doing()
        peer.close()
        return False, t("unix_server.not_closed", lang, seconds=f"{LEAVE:g}", doing=doing), \
            shown_output(trial)
    peer.close()
    trial.wait(lambda: settled(trial, t_left), LEAVE)
    ok, message, output = serve_next(ctx, trial, path, b"next client")
    head = ctx.text("next.ok" if ok else "next.failed", how=ctx.text("how.normal"))
    if not ok:
        return False, head + sep(lang) + message, output
    first = t("unix_server.closed_ok", lang) + sep(lang) + head + sep(lang) + message

    # A client that closes with its answer unread: on AF_UNIX the server's recv() raises
    # ConnectionResetError (Linux). It must not end the server.
    sent = b"never read"
    unread, error = connect(ctx, trial, path)
    if error is not None:
        return False, error, shown_output(trial)
    trial.session.add(Event(trial.now(), "grader", "call", name="sendall", args=(repr(sent),)))
    unread.send(sent)
    deadline = time.monotonic() + trial.budget.cap(REPLY)
    while time.monotonic() < deadline and not trial.exited():
        try:  # the answer is waiting, unread, in the grader's socket
            if select.select([unread.sock], [], [], min(0.1, deadline - time.monotonic()))[0]:
                break
        except (OSError, ValueError):
            break
    t_gone = trial.now()
    unread.close()
    trial.wait(lambda: settled(trial, t_gone), LEAVE)
    ok, message, output = serve_next(ctx, trial, path, b"after a reset")
    if not ok:
        return False, t("unix_server.unread_head", lang, sent=repr(sent)) + sep(lang) \
            + message, output
    return True, first + sep(lang) + t("unix_server.unread_ok", lang, sent=repr(sent)) \
        + sep(lang) + message, ""
