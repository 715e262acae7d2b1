"""Exercise 7: a UDP upper-case echo server.

The server binds a UDP socket and answers every datagram — the empty one too — with one
datagram holding its upper-case version, sent back to whoever sent it. The grader's clients are
UDP sockets in this process (``UdpPeer``); they send datagrams to the address the program bound
(learnt from the trace) and wait for the answers, each wait with a deadline.
"""

from __future__ import annotations

import ast
import select
import socket
import time

from ...events import Event
from ...i18n import pick
from ..checks import REPLY, START, Context, shown_output, sentence
from ..trial import Trial

LONG = b"abcdefghij" * 300  # 3,000 bytes: more than recvfrom(1024) can hold

TEXTS: dict[str, dict[str, str]] = {
    "binds.ok": {
        "en": "It binds: bind({addr}). Under the grader that is {real}.",
        "zh": "它绑定了地址：bind({addr})。评分时实际是 {real}。",
    },
    "binds.raised": {
        "en": "bind({addr}) raised {error}: {message}.",
        "zh": "bind({addr}) 抛出了 {error}：{message}。",
    },
    "binds.ended": {
        "en": "It ended without binding an address: {how}.",
        "zh": "它还没有绑定地址就结束了：{how}。",
    },
    "binds.never": {
        "en": "It did not call bind() within {seconds} s: {doing}. A UDP server must bind an address, or no datagram can reach it.",
        "zh": "它在 {seconds} 秒内没有调用 bind()：{doing}。UDP 服务端必须绑定地址，否则没有数据报能到达它。",
    },
    "reply.ok": {
        "en": "Sent the datagram {sent}, got the datagram {got} back.",
        "zh": "发送了数据报 {sent}，收回了数据报 {got}。",
    },
    "reply.nothing": {
        "en": "Sent the datagram {sent} to {addr}; no datagram came back within {seconds} s: {doing}.",
        "zh": "向 {addr} 发送了数据报 {sent}；{seconds} 秒内没有收到任何数据报：{doing}。",
    },
    "reply.wrong": {
        "en": "Sent the datagram {sent}, expected {expected} back, got {got}.",
        "zh": "发送了数据报 {sent}，应该收回 {expected}，收到的是 {got}。",
    },
    "reply.tcp": {
        "en": " It called listen(): that is a TCP server. UDP needs socket(AF_INET,SOCK_DGRAM), bind(), and recvfrom()/sendto() — no listen(), no accept().",
        "zh": "它调用了 listen()：这是一个 TCP 服务端。UDP 需要 socket(AF_INET,SOCK_DGRAM)、bind()，以及 recvfrom()/sendto()——没有 listen()，也没有 accept()。",
    },
    "several.ok": {
        "en": "{n} datagrams sent back to back, {n} answers, one per datagram, in order: {got}.",
        "zh": "连续发送了 {n} 个数据报，收到 {n} 个回复，一个数据报一个回复，顺序正确：{got}。",
    },
    "several.failed": {
        "en": "Sent {n} datagrams back to back ({sent}); expected {n} answers {expected}, got {got} within {seconds} s: {doing}.",
        "zh": "连续发送了 {n} 个数据报（{sent}）；应该收到 {n} 个回复 {expected}，{seconds} 秒内收到的是 {got}：{doing}。",
    },
    "each.ok": {
        "en": "Two clients, two addresses: each got its own answer ({a} and {b}).",
        "zh": "两个客户端，两个地址：各自收到了自己的回复（{a} 和 {b}）。",
    },
    "each.wrong_place": {
        "en": "A second client (another address) sent {sent}; the answer {got} went to the first client instead. Reply to the address recvfrom() returned with this datagram.",
        "zh": "第二个客户端（另一个地址）发送了 {sent}；回复 {got} 却发给了第一个客户端。应该回复到 recvfrom() 随这个数据报一起返回的地址。",
    },
    "each.nothing": {
        "en": "A second client (another address) sent {sent}; no answer came to it within {seconds} s: {doing}.",
        "zh": "第二个客户端（另一个地址）发送了 {sent}；{seconds} 秒内它没有收到回复：{doing}。",
    },
    "empty.ok": {
        "en": "Sent an empty datagram b'': an empty datagram came back, and the next datagram was answered too.",
        "zh": "发送了一个空数据报 b''：收回了一个空数据报，下一个数据报也得到了回复。",
    },
    "empty.skipped": {
        "en": "Sent an empty datagram b'': nothing came back within {seconds} s, though the next datagram was answered — the empty one was skipped. With UDP an empty datagram is a real message: recvfrom() returns (b'', addr); answer it with sendto(b'', addr).",
        "zh": "发送了一个空数据报 b''：{seconds} 秒内没有任何回复，而下一个数据报得到了回复——空数据报被跳过了。对 UDP 来说，空数据报是一条真实的消息：recvfrom() 返回 (b'', addr)，要用 sendto(b'', addr) 回复它。",
    },
    "empty.gone": {
        "en": "Sent an empty datagram b'': nothing came back within {seconds} s, and then {doing}. With UDP, b'' is not “closed” — there is no connection — so it must not end the loop.",
        "zh": "发送了一个空数据报 b''：{seconds} 秒内没有任何回复，然后{doing}。对 UDP 来说，b'' 并不表示“关闭”——根本没有连接——所以不能因此结束循环。",
    },
    "empty.wrong": {
        "en": "Sent an empty datagram b'': expected an empty datagram b'' back, got {got}.",
        "zh": "发送了一个空数据报 b''：应该收回一个空数据报 b''，收到的是 {got}。",
    },
    "long.ok": {
        "en": "Sent a datagram of {n} bytes: all {n} came back in upper case, in one datagram.",
        "zh": "发送了一个 {n} 字节的数据报：{n} 个字节全部以大写形式、在一个数据报里返回。",
    },
    "long.short": {
        "en": "Sent a datagram of {n} bytes: the answer had only {got} bytes. A datagram longer than the size given to recvfrom() is cut off and the rest is lost — recvfrom(1024) keeps 1,024 bytes. Use a buffer as large as the biggest datagram (e.g. recvfrom(65535)).",
        "zh": "发送了一个 {n} 字节的数据报：回复只有 {got} 个字节。比 recvfrom() 的参数更长的数据报会被截断，多出的部分丢失——recvfrom(1024) 只保留 1,024 个字节。缓冲区要和最大的数据报一样大（例如 recvfrom(65535)）。",
    },
    "long.wrong": {
        "en": "Sent a datagram of {n} bytes: expected its {n} bytes in upper case back, got {got}.",
        "zh": "发送了一个 {n} 字节的数据报：应该收回它的 {n} 个字节的大写版本，收到的是 {got}。",
    },
}


def _t(ctx: Context, key: str, **values: object) -> str:
    return pick(TEXTS[key], ctx.lang).format(**values)


class UdpPeer:
    """One of the grader's UDP clients: a socket of its own, bound to a loopback port."""

    def __init__(self, trial: Trial, server: tuple) -> None:
        self.trial = trial
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        trial.on_close(self.sock.close)

    def send(self, data: bytes) -> None:
        self.trial.session.add(Event(self.trial.now(), "grader", "call", name="sendto",
                                     args=(repr(data), repr(self.server))))
        try:
            self.sock.sendto(data, self.server)
        except OSError:
            pass  # a refused earlier datagram (ICMP) is no reason to stop

    def recv(self, timeout: float) -> bytes | None:
        """The next datagram's data, or None when none came within ``timeout`` (or the server
        ended / the run was cancelled)."""
        deadline = time.monotonic() + self.trial.budget.cap(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                ready, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            except (OSError, ValueError):
                return None
            if not ready:
                if self.trial.exited() or self.trial.violation or self.trial.budget.expired:
                    return None
                continue
            try:
                data, _addr = self.sock.recvfrom(65536)
            except OSError:
                continue  # e.g. ConnectionRefusedError from an ICMP error: keep waiting
            self.trial.session.add(Event(self.trial.now(), "grader", "return", name="recvfrom",
                                         result=repr(data)))
            return data

    def drain(self) -> list[bytes]:
        out = []
        while True:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0)
            except (OSError, ValueError):
                return out
            if not ready:
                return out
            try:
                out.append(self.sock.recvfrom(65536)[0])
            except OSError:
                return out


def _bound(trial: Trial):
    """The bind call that returned (its event), the one that raised, or None."""
    calls = {}
    for e in trial.events():
        if e.name != "bind":
            continue
        if e.kind == "call":
            calls[(e.pid, e.sock)] = e
        elif e.kind in ("return", "raise"):
            call = calls.get((e.pid, e.sock))
            if call is not None:
                return call, e
    return None


def _address(call: Event) -> tuple | None:
    for text in (call.real, call.addr, call.args[0] if call.args else None):
        if not text:
            continue
        if isinstance(text, tuple):
            addr = text
        else:
            try:
                addr = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                continue
        if isinstance(addr, tuple) and len(addr) >= 2 and isinstance(addr[1], int):
            host = addr[0] if addr[0] not in ("", "0.0.0.0", "localhost") else "127.0.0.1"
            return host, addr[1]
    return None


def _listened(trial: Trial) -> bool:
    return any(e.name == "listen" for e in trial.events())


def _shown(data: bytes) -> str:
    return repr(data) if len(data) <= 40 else f"{data[:20]!r}… ({len(data):,} bytes)"


def _nothing(ctx: Context, trial: Trial, sent: bytes, addr: tuple) -> str:
    message = _t(ctx, "reply.nothing", sent=_shown(sent), addr=f"{addr[0]}:{addr[1]}",
                 seconds=f"{REPLY:g}", doing=trial.doing())
    if _listened(trial):
        message += _t(ctx, "reply.tcp")
    return message


def run(ctx: Context) -> None:
    r = ctx.rec
    trial = ctx.trial("server")
    rec = trial.start()
    trial.wait(lambda: _bound(trial) or trial.exited(rec) or trial.input_call(rec), START)
    out = lambda: shown_output(trial, rec)  # noqa: E731
    if trial.violation:
        r.stop("runs", sentence(trial.violation), out())
    found = _bound(trial)
    if found is None:
        if trial.exited(rec):
            if rec.exit_code != 0 and trial.socket_calls(rec) == 0:
                r.stop("runs", ctx.text("runs.crashed", how=trial.ending(rec)), out())
            r.ok("runs", ctx.text("runs.ok"))
            r.stop("binds", _t(ctx, "binds.ended", how=trial.ending(rec)), out())
        call = trial.input_call(rec)
        if call is not None and trial.socket_calls(rec) == 0:
            r.stop("runs", ctx.text("runs.input", prompt=(call.args or ("''",))[0]), out())
        r.ok("runs", ctx.text("runs.ok"))
        r.stop("binds", _t(ctx, "binds.never", seconds=f"{START:g}", doing=trial.doing(rec)),
               out())
    r.ok("runs", ctx.text("runs.ok"))
    call, result = found
    addr = _address(call)
    nominal = call.args[0] if call.args else "?"
    if result.kind == "raise" or addr is None:
        trial.wait(lambda: trial.exited(rec), 0.3)
        r.stop("binds", _t(ctx, "binds.raised", addr=nominal, error=result.error or "?",
                           message=result.message or ""), out())
    r.ok("binds", _t(ctx, "binds.ok", addr=nominal, real=f"{addr[0]}:{addr[1]}"))

    a = UdpPeer(trial, addr)
    b = UdpPeer(trial, addr)

    # One datagram.
    a.send(b"hello")
    got = a.recv(REPLY)
    if got is None:
        r.stop("upper_reply", _nothing(ctx, trial, b"hello", addr), out())
    if got != b"HELLO":
        r.stop("upper_reply", _t(ctx, "reply.wrong", sent=repr(b"hello"),
                                 expected=repr(b"HELLO"), got=repr(got)), out())
    r.ok("upper_reply", _t(ctx, "reply.ok", sent=repr(b"hello"), got=repr(got)))

    # Several datagrams back to back: one answer each, boundaries kept.
    a.drain()
    burst = [b"one", b"two", b"three"]
    for d in burst:
        a.send(d)
    answers: list[bytes] = []
    deadline = time.monotonic() + REPLY
    while len(answers) < len(burst):
        got = a.recv(max(0.0, deadline - time.monotonic()))
        if got is None:
            break
        answers.append(got)
    want = [d.upper() for d in burst]
    if answers == want:
        r.ok("several", _t(ctx, "several.ok", n=len(burst), got=", ".join(map(repr, answers))))
    else:
        message = _t(ctx, "several.failed", n=len(burst), sent=", ".join(map(repr, burst)),
                     expected=", ".join(map(repr, want)),
                     got=", ".join(map(repr, answers)) or "nothing", seconds=f"{REPLY:g}",
                     doing=trial.doing())
        if trial.exited():
            r.stop("several", message, out())
        r.fail("several", message, out())

    # A second client, at another address, gets its own answer.
    a.drain()
    b.drain()
    b.send(b"from b")
    got_b = b.recv(REPLY)
    stray = a.drain()
    if got_b == b"FROM B":
        a.send(b"from a")
        got_a = a.recv(REPLY)
        if got_a == b"FROM A":
            r.ok("each_sender", _t(ctx, "each.ok", a=repr(got_a), b=repr(got_b)))
        elif got_a is None:
            r.fail("each_sender", _nothing(ctx, trial, b"from a", addr), out())
        else:
            r.fail("each_sender", _t(ctx, "reply.wrong", sent=repr(b"from a"),
                                     expected=repr(b"FROM A"), got=repr(got_a)))
    elif got_b is None and stray:
        r.fail("each_sender", _t(ctx, "each.wrong_place", sent=repr(b"from b"),
                                 got=repr(stray[0])))
    elif got_b is None:
        r.fail("each_sender", _t(ctx, "each.nothing", sent=repr(b"from b"),
                                 seconds=f"{REPLY:g}", doing=trial.doing()), out())
    else:
        r.fail("each_sender", _t(ctx, "reply.wrong", sent=repr(b"from b"),
                                 expected=repr(b"FROM B"), got=repr(got_b)))
    if trial.exited():
        r.stop("empty_datagram", _t(ctx, "empty.gone", seconds=f"{REPLY:g}",
                                    doing=trial.doing()), out())

    # The empty datagram: answered with an empty datagram, and the server goes on.
    a.drain()
    a.send(b"")
    got = a.recv(REPLY)
    if got is None:
        a.send(b"still there")
        after = a.recv(REPLY)
        if after is not None:
            r.fail("empty_datagram", _t(ctx, "empty.skipped", seconds=f"{REPLY:g}"))
        else:
            r.stop("empty_datagram", _t(ctx, "empty.gone", seconds=f"{REPLY:g}",
                                        doing=trial.doing()), out())
    elif got != b"":
        r.fail("empty_datagram", _t(ctx, "empty.wrong", got=repr(got)))
    else:
        a.send(b"still there")
        after = a.recv(REPLY)
        if after == b"STILL THERE":
            r.ok("empty_datagram", _t(ctx, "empty.ok"))
        elif after is None:
            r.stop("empty_datagram", _nothing(ctx, trial, b"still there", addr), out())
        else:
            r.fail("empty_datagram", _t(ctx, "reply.wrong", sent=repr(b"still there"),
                                        expected=repr(b"STILL THERE"), got=repr(after)))

    # A long datagram comes back whole.
    a.drain()
    a.send(LONG)
    got = a.recv(REPLY)
    if got == LONG.upper():
        r.ok("long_datagram", _t(ctx, "long.ok", n=f"{len(LONG):,}"))
    elif got is None:
        r.fail("long_datagram", _nothing(ctx, trial, LONG, addr), out())
    elif LONG.upper().startswith(got):
        r.fail("long_datagram", _t(ctx, "long.short", n=f"{len(LONG):,}", got=f"{len(got):,}"))
    else:
        r.fail("long_datagram", _t(ctx, "long.wrong", n=f"{len(LONG):,}",
                                   got=_shown(got)))
