"""The grader's peers' exchanges read back from the events (see :mod:`.peers` for what they
record): connections, replies, reads. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Event, address

SERVER_SIDE = "peer"  # the grader's server of a client exercise (it has no client peers)


@dataclass
class Reply:
    """What one exchange with the learner's server gave."""

    sent: bytes
    expected: bytes
    got: bytes
    end: str | None  # None, "eof" (the server closed), "reset", "timeout", "refused"
    t_sent: float
    send_failed: bool = False  # the send itself failed (``end`` says how)

    @property
    def ok(self) -> bool:
        return self.got == self.expected


@dataclass
class Connect:
    side: str
    t: float
    address: tuple | str
    error: str | None  # "ConnectionRefusedError: [Errno 111] Connection refused"
    local: tuple | None = None


def connects(evs: list[Event]) -> list[Connect]:
    """The peers' connection attempts, in order."""
    out: list[Connect] = []
    for e in evs:
        if not e.side.startswith("peer") or e.name != "connect":
            continue
        if e.kind == "call":
            out.append(Connect(e.side, e.t, address(e.addr), None))
        elif out and out[-1].side == e.side:
            if e.kind == "raise":
                out[-1].error = f"{e.error}: {e.message}"
            elif e.kind == "return":
                out[-1].local = address(e.local)
    return out


def replies(evs: list[Event], side: str | None = None) -> list[Reply]:
    """The peers' exchanges (what they sent, what came back), in order; ``expected`` is left
    empty: the judge knows what it expects."""
    out: list[Reply] = []
    for e in evs:
        if not e.side.startswith("peer") or (side is not None and e.side != side):
            continue
        if e.kind == "call" and e.name == "sendall":
            out.append(Reply(e.payload or b"", b"", b"", "pending", e.t))
        elif out and e.kind == "raise" and e.name == "sendall":
            out[-1].end = "reset" if e.error in ("ConnectionResetError",
                                                 "BrokenPipeError") else "eof"
            out[-1].send_failed = True
        elif out and e.kind == "return" and e.name == "recv" and out[-1].end == "pending":
            out[-1].got = e.payload or b""  # a later read (after the reply) is not the reply
            out[-1].end = e.text
    return out


@dataclass
class Read:
    t: float
    got: bytes
    end: str | None


def reads(evs: list[Event], side: str) -> list[Read]:
    """Every read of the peer ``side`` (a reply, or what came after it), in order."""
    return [Read(e.t, e.payload or b"", e.text) for e in evs if e.side == side
            and e.kind == "return" and e.name == "recv"]


def peer_received(evs: list[Event], since: float = 0.0) -> bytes:
    """Every byte the grader's server received since ``since`` (a client exercise has no
    client peer: side ``"peer"`` is that server)."""
    return b"".join(e.payload or b"" for e in evs if e.side == SERVER_SIDE
                    and e.kind == "return" and e.name == "recv" and e.t >= since)
