"""What the grader does and expects, shared by the drivers (who do it) and the judges (who
compare what happened with it): the deadlines, which the messages quote, and the data the
grader's peers send in each exercise. Plain values and pure functions."""

from __future__ import annotations

import ast
import struct

from ..events import Event
from .facts import SEND_NAMES

# Deadlines (seconds). A correct program meets each in milliseconds; only broken ones wait.
START = 3.0  # to listen (server) or connect (client)
ACCEPT = 2.0
REPLY = 2.0
INPUT = 2.0
PRINT = 1.0
LEAVE = 1.0  # for the server to react to a client that left
STOP = 1.0  # for Ctrl-C to end the server before SIGKILL
TIME_WAIT = 1.0
CLOSE = 2.0  # for the server to close its end after a client left (Linux: CLOSE_WAIT ends)
SECOND = 1.5  # for a second copy of a running server to fail (or listen)


def loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")


# ---------------------------------------------------------------- exercise 1
MESSAGES = (b"second message", b"Mixed Case, 42!", b"the end of " + b"a longer line " * 20)

# ---------------------------------------------------------------- exercise 2
WIDE_LINE = "你好 ping 2"  # not ASCII; and its reply differs from the echo of what was typed


def printed_forms(got: bytes) -> tuple[str, str]:
    """How the client may show the reply ``got.upper()``: decoded, or as print(data) does."""
    reply = got.upper()
    return reply.decode("utf-8", "replace").strip(), repr(reply.strip())[2:-1]


# ---------------------------------------------------------------- exercise 5
# The payload the exercise asks for (README and starter): 125,000 numbered lines.
PAYLOAD = b"".join(b"%07d\n" % i for i in range(125000))
IDLE = 2.0  # seconds without a new byte before the grader stops reading
FIRST_SEND = 2.0  # seconds for the server to make its first sending call
STALL_RCVBUF = 4096  # the receive buffer of the client that stops reading: it fills at once


def first_difference(got: bytes) -> int:
    """The first offset where ``got`` differs from the payload (the shorter length if none)."""
    for i, (a, b) in enumerate(zip(got, PAYLOAD)):
        if a != b:
            return i
    return min(len(got), len(PAYLOAD))


def blocked_send(events: list[Event], since: float) -> Event | None:
    """The server's sending call that has been waiting (a ``blocked`` event) since ``since``."""
    for e in events:
        if e.t >= since and e.kind == "blocked" and e.name in SEND_NAMES:
            return e
    return None


def has_deadline(events: list[Event], since: float, blocked: Event) -> bool:
    """The trace shows settimeout(t), t > 0, on the blocked call's socket, made after ``since``
    (this connection's accept) and before the blocked call began."""
    events = [e for e in events if e.t >= since]
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


# ---------------------------------------------------------------- exercise 6
PIECE_WAIT = 1.0  # seconds for the server to go back to recv() after a piece arrived
PAYLOADS = [b"one", b"two two", b"three three three"]
IN_PIECES = b"sent in pieces: " + b"abc" * 400
SIZE, PART = 20, 5  # the half frame: a header announcing SIZE bytes, and PART of them


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def pieces_of(data: bytes) -> list[bytes]:
    cuts = [0, 2, 4 + 10, len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


# ---------------------------------------------------------------- exercise 7
LONG = b"abcdefghij" * 300  # 3,000 bytes: more than recvfrom(1024) can hold
BURST = [b"one", b"two", b"three"]

# ---------------------------------------------------------------- exercise 8
QUIET = 2.0  # seconds with no client at all: the server must still be there
PAUSE = 0.4  # a short pause between two messages: the client must not be dropped
DROP = 3.0  # an idle client must be dropped within this (the task says about 1 s)

# ---------------------------------------------------------------- exercise 9
UNIX_MESSAGES = (b"hello", b"Second line", b"over a file path")
UNREAD = b"never read"

# ---------------------------------------------------------------- exercise 10
LINES = [b"one\n", b"two\n", b"three\n"]
FIRST, REST = b"fo", b"ur\n"


def answer(lines: list[bytes], first: int) -> bytes:
    """The numbered upper-case lines a line server answers, counting from ``first``."""
    return b"".join(b"%d: " % (first + i) + line.upper() for i, line in enumerate(lines))
