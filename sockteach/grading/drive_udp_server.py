"""The driver of exercise 7 (a UDP upper-case echo server). The grader's clients are UDP
sockets in this process (:class:`UdpPeer`); they send datagrams to the address the program
bound (learnt from the trace) and wait for the answers, each wait with a deadline. Every
datagram they send or get is an event: ``sendto`` calls, ``recvfrom`` returns (``text``:
``"timeout"`` when none came in time, ``"drain"`` for one that was waiting unasked, then
``"drained"`` at the end of each drain).
:mod:`.judge_udp_server` gives the verdicts."""

from __future__ import annotations

import select
import socket
import time

from ..events import Event
from . import facts
from .drive import REPLY, START, Drive
from .plan import BURST, LONG
from .trial import Trial


class UdpPeer:
    """One of the grader's UDP clients: a socket of its own, bound to a loopback port."""

    def __init__(self, trial: Trial, server: tuple) -> None:
        self.trial = trial
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        trial._peers.append(self)
        self.number = len(trial._peers)
        self.side = "peer" if self.number == 1 else f"peer{self.number}"

    def _add(self, kind: str, name: str, **fields: object) -> None:
        self.trial.session.add(Event(self.trial.now(), self.side, kind, name=name,
                                     sock=self.number, **fields))

    def send(self, data: bytes) -> None:
        self._add("call", "sendto", data=data.hex(), nbytes=len(data), addr=self.server,
                  args=(repr(data), repr(self.server)))
        try:
            self.sock.sendto(data, self.server)
        except OSError:
            pass  # a refused earlier datagram (ICMP) is no reason to stop
        self._add("return", "sendto", nbytes=len(data))

    def recv(self, timeout: float) -> bytes | None:
        """The next datagram, or None (nothing within ``timeout``, or the program ended / the
        run was cancelled)."""
        deadline = time.monotonic() + self.trial.budget.cap(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ready, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            except (OSError, ValueError):
                break
            if not ready:
                if self.trial.exited() or self.trial.violation or self.trial.budget.expired:
                    break
                continue
            try:
                data, _addr = self.sock.recvfrom(65536)
            except OSError:
                continue  # e.g. ConnectionRefusedError from an ICMP error: keep waiting
            self._add("return", "recvfrom", data=data.hex(), nbytes=len(data),
                      result=repr(data))
            return data
        self._add("return", "recvfrom", text="timeout")
        return None

    def drain(self) -> list[bytes]:
        """The datagrams already waiting; each recorded (``text="drain"``), then the end of
        the drain (``text="drained"``, ``count``: how many)."""
        out = []
        while True:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0)
            except (OSError, ValueError):
                break
            if not ready:
                break
            try:
                data = self.sock.recvfrom(65536)[0]
            except OSError:
                break
            self._add("return", "recvfrom", data=data.hex(), nbytes=len(data), text="drain")
            out.append(data)
        self._add("return", "recvfrom", text="drained", count=len(out))
        return out

    def close(self) -> None:
        self.sock.close()


def udp_server(d: Drive) -> None:
    trial = d.trial("server")
    rec = trial.start()
    evs = lambda: trial.events(rec)  # noqa: E731
    trial.wait(lambda: facts.bound(evs()) or trial.exited(rec) or trial.input_call(rec), START)
    trial.checkpoint("binds")
    found = facts.bound(evs())
    if trial.violation or found is None:
        return
    call, result = found
    addr = facts.bound_address(call)
    if result.kind == "raise" or addr is None:
        trial.wait(lambda: trial.exited(rec), 0.3)
        trial.checkpoint("binds:raised")
        return
    a = UdpPeer(trial, addr)
    b = UdpPeer(trial, addr)

    a.send(b"hello")  # one datagram
    got = a.recv(REPLY)
    trial.checkpoint("upper_reply")
    if got != b"HELLO":
        return

    a.drain()  # several back to back: one answer each, boundaries kept
    for data in BURST:
        a.send(data)
    answers: list[bytes] = []
    deadline = time.monotonic() + REPLY
    while len(answers) < len(BURST):
        got = a.recv(max(0.0, deadline - time.monotonic()))
        if got is None:
            break
        answers.append(got)
    trial.checkpoint("several")
    if answers != [d.upper() for d in BURST] and trial.exited():
        return

    a.drain()  # a second client, at another address, gets its own answer
    b.drain()
    b.send(b"from b")
    got_b = b.recv(REPLY)
    a.drain()
    if got_b == b"FROM B":
        a.send(b"from a")
        a.recv(REPLY)
    trial.checkpoint("each_sender")
    if trial.exited():
        return

    a.drain()  # the empty datagram: answered with an empty one, and the server goes on
    a.send(b"")
    got = a.recv(REPLY)
    if got is None or got == b"":
        a.send(b"still there")
        after = a.recv(REPLY)
        trial.checkpoint("empty_datagram")
        if after is None:
            return
    else:
        trial.checkpoint("empty_datagram")

    a.drain()  # a long datagram comes back whole
    a.send(LONG)
    a.recv(REPLY)
    trial.checkpoint("long_datagram")


DRIVERS = {"udp_server": udp_server}


def run(d: Drive) -> None:
    DRIVERS[d.exercise.scenario](d)
