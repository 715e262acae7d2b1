"""Exercise 5: a server that delivers a large payload completely (sendall, or a send loop).

The grader connects, does not read until the server's first sending call has returned (or
blocked, or raised) — so a single ``send()`` on the exercise's small-buffer, timeout socket
really returns early — then reads everything until the server closes, and counts the bytes.
A second client must get the same. Then a client stops reading in the middle of the transfer:
the server, waiting in its sending call, must have a deadline for it (``conn.settimeout(5)``
before sending, read from the trace); that client then resets the connection, and the server
must survive it and serve the next client.
"""

from __future__ import annotations

import ast
import select
import socket
import time

from ...events import Event
from ...i18n import pick
from ..checks import ACCEPT, LEAVE, REPLY, Context, connect, shown_output, start_server
from ..texts import sep
from ..trial import SEND_NAMES, Peer, Trial

# The payload the exercise asks for (README and starter): 125,000 numbered lines.
PAYLOAD = b"".join(b"%07d\n" % i for i in range(125000))
IDLE = REPLY  # seconds without a new byte before the grader stops reading
FIRST_SEND = 2.0  # seconds for the server to make its first sending call
STALL_RCVBUF = 4096  # the receive buffer of the client that stops reading: it fills at once

TEXTS: dict[str, dict[str, str]] = {
    "sends.ok": {
        "en": "Data arrived: the first bytes were {head}.",
        "zh": "数据到达了：最前面的字节是 {head}。",
    },
    "sends.nothing": {
        "en": "The grader connected and waited, but no byte came within {seconds} s: {doing}.",
        "zh": "评分器连上之后一直在等，但 {seconds} 秒内一个字节也没有收到：{doing}。",
    },
    "complete.ok": {
        "en": "All {n} bytes arrived.",
        "zh": "全部 {n} 个字节都到达了。",
    },
    "complete.short_closed": {
        "en": "Only {got} of {n} bytes arrived, then the server closed the connection.",
        "zh": "{n} 个字节里只到达了 {got} 个，然后服务端就关闭了连接。",
    },
    "complete.short_open": {
        "en": "Only {got} of {n} bytes arrived, then nothing more for {seconds} s: {doing}.",
        "zh": "{n} 个字节里只到达了 {got} 个，之后 {seconds} 秒再没有新的数据：{doing}。",
    },
    "complete.short_reset": {
        "en": "Only {got} of {n} bytes arrived, then the connection was reset (ConnectionResetError).",
        "zh": "{n} 个字节里只到达了 {got} 个，然后连接被重置了（ConnectionResetError）。",
    },
    "complete.sends": {
        "en": "Its sending calls returned: {calls} — send() returns how many bytes it took, and the rest was never handed over.",
        "zh": "它的发送调用的返回值是：{calls}——send() 返回它收下了多少字节，剩下的根本没有交出去。",
    },
    "intact.ok": {
        "en": "The {n} bytes are exactly data, in order, with nothing extra.",
        "zh": "这 {n} 个字节与 data 完全一致，顺序正确，没有多余的字节。",
    },
    "intact.differs": {
        "en": "The bytes differ from data at byte {at:,}: expected {expected}, got {got}{more}.",
        "zh": "从第 {at:,} 个字节起与 data 不一致：应该是 {expected}，收到的是 {got}{more}。",
    },
    "intact.restart": {
        "en": " — data starts over there: a loop that sends data again from the beginning instead of the rest (data[n:])",
        "zh": "——那里 data 又从头开始了：循环每次都从头重发 data，而不是发送剩下的部分（data[n:]）",
    },
    "intact.extra": {
        "en": "All {n} bytes of data arrived, but then {extra:,} more bytes came ({head}…).",
        "zh": "data 的 {n} 个字节都到了，但后面又多来了 {extra:,} 个字节（{head}……）。",
    },
    "closes.ok": {
        "en": "After the last byte the server closed the connection: the grader's recv() returned b''.",
        "zh": "最后一个字节之后，服务端关闭了连接：评分器的 recv() 返回了 b''。",
    },
    "closes.open": {
        "en": "Every byte arrived, but the connection stayed open for {seconds} s more: {doing}.",
        "zh": "每个字节都到了，但此后 {seconds} 秒连接仍然没有关闭：{doing}。",
    },
    "next.ok": {
        "en": "A second client connected and also got all {n} bytes.",
        "zh": "第二个客户端连上来，同样收到了全部 {n} 个字节。",
    },
    "next.failed": {
        "en": "A second client connected after the first:",
        "zh": "第一个客户端之后，第二个客户端连了上来：",
    },
    "next.connect": {
        "en": "A second client could not connect ({error}): {doing}.",
        "zh": "第二个客户端连不上（{error}）：{doing}。",
    },
}


def _t(ctx: Context, key: str, **values: object) -> str:
    return pick(TEXTS[key], ctx.lang).format(**values)


class _Download:
    """What one client read: the bytes, and how the reading ended."""

    def __init__(self, data: bytes, end: str) -> None:
        self.data = data
        self.end = end  # "eof", "reset", "idle" (nothing new for IDLE s)


def _sent_something(trial: Trial, since: float) -> bool:
    """The server's first sending call has returned or raised, or it waits in some call (a
    sendall() into the full buffer, or a recv() that no request will answer), or it ended."""
    if trial.exited():
        return True
    return any((e.name in SEND_NAMES and e.kind in ("return", "raise")) or e.kind == "blocked"
               for e in trial.events(since=since))


def _download(trial: Trial, sock: socket.socket, limit: int) -> _Download:
    """Read until the server closes, resets, or sends nothing new for IDLE seconds."""
    buf = bytearray()
    last = time.monotonic()
    while True:
        left = min(IDLE - (time.monotonic() - last), trial.budget.left())
        if left <= 0:
            return _Download(bytes(buf), "idle")
        try:
            ready, _, _ = select.select([sock], [], [], min(left, 0.1))
        except (OSError, ValueError):
            return _Download(bytes(buf), "eof")
        if not ready:
            continue
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return _Download(bytes(buf), "reset")
        except OSError:
            return _Download(bytes(buf), "eof")
        if not chunk:
            return _Download(bytes(buf), "eof")
        buf += chunk
        last = time.monotonic()
        if len(buf) > limit:
            return _Download(bytes(buf), "idle")


def _fetch(trial: Trial, peer) -> _Download:
    t0 = trial.now()
    trial.wait(lambda: _sent_something(trial, t0), FIRST_SEND)
    got = _download(trial, peer.sock, 3 * len(PAYLOAD))
    trial.session.add(Event(trial.now(), "grader", "return", name="recv",
                            result=f"{len(got.data)} bytes, {got.end}"))
    return got


def _send_results(trial: Trial, since: float) -> str:
    """The server's sending calls and what they returned, shortened: send() → 32741, …"""
    out = []
    for e in trial.events(since=since):
        if e.name in SEND_NAMES and e.kind in ("return", "raise"):
            what = e.result if e.kind == "return" else e.error
            out.append(f"{e.name}() → {what}")
    if len(out) > 4:
        out = out[:3] + ["…", out[-1]]
    return ", ".join(out)


def _first_difference(got: bytes) -> int:
    for i, (a, b) in enumerate(zip(got, PAYLOAD)):
        if a != b:
            return i
    return min(len(got), len(PAYLOAD))


def _intact_problem(ctx: Context, data: bytes) -> str | None:
    """Why ``data`` (at least as long as the payload) is not exactly the payload, if it is not."""
    at = _first_difference(data)
    if at < len(PAYLOAD):
        more = ""
        for k in range(at, max(0, at - 16), -1):  # where data starts over, if it does
            if data[k:k + 16] == PAYLOAD[:16]:
                at, more = k, _t(ctx, "intact.restart")
                break
        return _t(ctx, "intact.differs", at=at, expected=repr(PAYLOAD[at:at + 16]),
                  got=repr(data[at:at + 16]), more=more)
    if len(data) > len(PAYLOAD):
        return _t(ctx, "intact.extra", n=f"{len(PAYLOAD):,}", extra=len(data) - len(PAYLOAD),
                  head=repr(data[len(PAYLOAD):len(PAYLOAD) + 16]))
    return None


def run(ctx: Context) -> None:
    r = ctx.rec
    n = f"{len(PAYLOAD):,}"
    trial = ctx.trial("server")
    addr = start_server(ctx, trial)
    t0 = trial.now()
    peer = connect(ctx, trial, addr, "accepts")
    trial.wait(lambda: trial.accepted_since(t0) or trial.exited() or trial.input_call(), ACCEPT)
    if not trial.accepted_since(t0):
        r.stop("accepts", ctx.text("accepts.no", addr=f"{addr[0]}:{addr[1]}",
                                   seconds=f"{ACCEPT:g}", doing=trial.doing()),
               shown_output(trial))
    r.ok("accepts", ctx.text("accepts.ok"))

    got = _fetch(trial, peer)
    data = got.data
    if not data:
        trial.wait(lambda: trial.exited(), 0.3)
        r.stop("sends", _t(ctx, "sends.nothing", seconds=f"{IDLE:g}", doing=trial.doing()),
               shown_output(trial))
    r.ok("sends", _t(ctx, "sends.ok", head=repr(data[:16])))

    if len(data) < len(PAYLOAD):
        key = {"eof": "complete.short_closed", "reset": "complete.short_reset"}.get(
            got.end, "complete.short_open")
        message = _t(ctx, key, got=f"{len(data):,}", n=n, seconds=f"{IDLE:g}",
                     doing=trial.doing(since=t0))
        calls = _send_results(trial, t0)
        if calls:
            message += sep(ctx.lang) + _t(ctx, "complete.sends", calls=calls)
        r.stop("complete", message, shown_output(trial))
    r.ok("complete", _t(ctx, "complete.ok", n=n))

    problem = _intact_problem(ctx, data)
    if problem:
        r.fail("intact", problem)
    else:
        r.ok("intact", _t(ctx, "intact.ok", n=n))

    if got.end in ("eof", "reset"):
        r.ok("closes", _t(ctx, "closes.ok"))
    else:
        r.fail("closes", _t(ctx, "closes.open", seconds=f"{IDLE:g}",
                            doing=trial.doing(since=t0)), shown_output(trial))

    # A second client, after the first has gone.
    t_left = trial.now()
    peer.close()
    trial.wait(lambda: trial.exited() or any(e.name == "accept" for e in trial.pending())
               or any(e.kind == "call" and e.name in ("accept", "close")
                      for e in trial.events(since=t_left)), LEAVE)
    second, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        r.stop("next_client", _t(ctx, "next.connect", error=error, doing=trial.doing()),
               shown_output(trial))
    t1 = trial.now()
    got2 = _fetch(trial, second)
    second.close()
    if got2.data == PAYLOAD:  # whether it then closes is the "closes" check's business
        ok, message, output = _stalled_then_reset(ctx, trial, addr)
        if ok:
            r.ok("next_client", _t(ctx, "next.ok", n=n) + sep(ctx.lang) + message)
        else:
            r.fail("next_client", message, output)
        return
    if not got2.data:
        why = _t(ctx, "sends.nothing", seconds=f"{IDLE:g}", doing=trial.doing(since=t1))
    elif len(got2.data) < len(PAYLOAD):
        key = {"eof": "complete.short_closed", "reset": "complete.short_reset"}.get(
            got2.end, "complete.short_open")
        why = _t(ctx, key, got=f"{len(got2.data):,}", n=n, seconds=f"{IDLE:g}",
                 doing=trial.doing(since=t1))
    else:
        why = _intact_problem(ctx, got2.data)
    r.fail("next_client", _t(ctx, "next.failed") + sep(ctx.lang) + why, shown_output(trial))


# ---------------------------------------------------------------- a client that stops reading


def _blocked_send(trial: Trial, since: float):
    """The server's sending call that has been waiting (a ``blocked`` event) since ``since``."""
    for e in trial.events(since=since):
        if e.kind == "blocked" and e.name in SEND_NAMES:
            return e
    return None


def _has_deadline(trial: Trial, since: float, blocked) -> bool:
    """The trace shows settimeout(t), t > 0, on the blocked call's socket, made after ``since``
    (this connection's accept) and before the blocked call began."""
    events = trial.events(since=since)
    began = max((e.t for e in events if e.kind == "call" and e.name == blocked.name
                 and e.pid == blocked.pid and e.sock == blocked.sock and e.t <= blocked.t),
                default=blocked.t)
    for e in events:
        if (e.kind == "call" and e.name == "settimeout" and e.pid == blocked.pid
                and e.sock == blocked.sock and e.t <= began and e.args):
            try:
                value = ast.literal_eval(e.args[0])
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, (int, float)) and value > 0:
                return True
    return False


def _moved_on(trial: Trial, since: float) -> bool:
    """After the reset: the server's call raised, it closed, it waits in accept(), or ended."""
    return trial.exited() or any(e.name == "accept" for e in trial.pending(since=since)) or any(
        e.kind == "raise" or (e.kind == "call" and e.name in ("close", "accept"))
        for e in trial.events(since=since))


def _stalled_then_reset(ctx: Context, trial: Trial, addr: tuple) -> tuple[bool, str, str]:
    """A client connects and reads nothing (its small receive buffer fills at once). The
    server, waiting in its sending call, must have given the connection a timeout — without
    one it would wait for that client for ever. The client then resets the connection in the
    middle of the transfer, and a new client must still get every byte:
    (passed, message, output)."""
    n = f"{len(PAYLOAD):,}"
    t0 = trial.now()
    stalled = Peer(trial, addr)
    try:
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALL_RCVBUF)
    except OSError:
        pass
    trial.session.add(Event(t0, "grader", "call", name="connect", args=(repr(tuple(addr)),)))
    error = stalled.connect(trial.budget.cap(2.0))
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        return False, _t(ctx, "next.connect", error=error, doing=trial.doing()), \
            shown_output(trial)
    trial.wait(lambda: _blocked_send(trial, t0) or trial.exited()
               or trial.raised(since=t0), FIRST_SEND)
    blocked = _blocked_send(trial, t0)
    if blocked is not None and not _has_deadline(trial, t0, blocked):
        message = ctx.text("sendall_server.stall_no_timeout", call=f"{blocked.name}()",
                           seconds=f"{trial.now() - t0:.1f}")
        stalled.reset()
        return False, message, ""
    t_reset = trial.now()
    stalled.reset()
    trial.wait(lambda: _moved_on(trial, t_reset), LEAVE)
    head = ctx.text("sendall_server.stall_head") + sep(ctx.lang)
    third, error = trial.connect(addr)
    if error is not None:
        trial.wait(lambda: trial.exited(), 0.3)
        return False, _crashed(ctx, trial, head + _t(ctx, "next.connect", error=error,
                                                     doing=trial.doing())), shown_output(trial)
    t1 = trial.now()
    got = _fetch(trial, third)
    third.close()
    if got.data == PAYLOAD:
        return True, ctx.text("sendall_server.stall_ok", n=n), ""
    if not got.data:
        why = _t(ctx, "sends.nothing", seconds=f"{IDLE:g}", doing=trial.doing(since=t1))
    elif len(got.data) < len(PAYLOAD):
        key = {"eof": "complete.short_closed", "reset": "complete.short_reset"}.get(
            got.end, "complete.short_open")
        why = _t(ctx, key, got=f"{len(got.data):,}", n=n, seconds=f"{IDLE:g}",
                 doing=trial.doing(since=t1))
    else:
        why = _intact_problem(ctx, got.data)
    return False, _crashed(ctx, trial, head + why), shown_output(trial)


def _crashed(ctx: Context, trial: Trial, message: str) -> str:
    """``message``, and what to do when the server ended (one client ended it)."""
    if trial.exited():
        return message + sep(ctx.lang) + ctx.text("sendall_server.stall_try")
    return message
