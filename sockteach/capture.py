"""The wire made visible: every TCP and UDP segment on ``lo``, decoded, on the tracer's clock.

:class:`Capture` opens an AF_PACKET raw socket bound to ``lo`` in a thread of the *sockteach*
process (never in the learner's program: it needs CAP_NET_RAW, which sockteach holds inside
its own namespace — see :mod:`sockteach.sandbox` — and the learner's programs do not). Each
segment becomes a dict (:func:`decode`), and :func:`segment_event` turns one into a
``kind="segment"`` :class:`~sockteach.events.Event`.

Decoding is a few ``struct`` formats (Ethernet, IPv4, IPv6, TCP, UDP): what the views need is
ten fields, the headers are fixed, and no dependency (dpkt) is worth that.

Loopback shows every segment twice to a packet socket: once as it leaves (``PACKET_OUTGOING``)
and once as it comes back in (``PACKET_HOST``). Only the outgoing copy is kept — one segment,
once, at the moment it was sent.

Times: the kernel stamps each frame as the tap sees it (``SO_TIMESTAMPNS``, wall clock); the
stamp is moved onto ``time.monotonic()`` — the tracer's clock — by the offset between the two
clocks read when the frame is received. Where no kernel stamp comes, the receipt time is used.

Sequence numbers are relative, as Wireshark shows them: per connection, each side's numbers
count from its first one (its SYN's ISN: the SYN is 0, the first data byte 1); ``ack`` counts
from the other side's. ``window`` is the advertised window in bytes (scaled by the window
scale both SYNs agreed on; a SYN's own window is never scaled).
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from typing import Any, Callable

ETH_P_ALL = 0x0003
PACKET_HOST, PACKET_OUTGOING = 0, 4
SO_TIMESTAMPNS = 35  # Linux (asm-generic; also x86, arm, arm64)
FLAG_NAMES = (("SYN", 0x02), ("FIN", 0x01), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10))


def _tcp_flags(bits: int) -> str:
    """``SYN``, ``SYN/ACK``, ``ACK``, ``PSH/ACK``, ``FIN/ACK``, ``RST``, ``RST/ACK`` …"""
    return "/".join(name for name, bit in FLAG_NAMES if bits & bit) or "none"


def _wscale(options: bytes) -> int | None:
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options):
            break
        size = options[i + 1]
        if kind == 3 and size == 3 and i + 2 < len(options):
            return min(options[i + 2], 14)
        if size < 2:
            break
        i += size
    return None


def decode(frame: bytes) -> dict[str, Any] | None:
    """One Ethernet frame from ``lo`` → the raw header fields of its TCP or UDP segment
    (absolute sequence numbers; :class:`Relative` makes them relative), or None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        total, proto = struct.unpack_from("!H", ip, 2)[0], ip[9]
        src = socket.inet_ntop(socket.AF_INET, ip[12:16])
        dst = socket.inet_ntop(socket.AF_INET, ip[16:20])
        body = ip[ihl:total] if total >= ihl else ip[ihl:]
    elif ethertype == 0x86DD and len(ip) >= 40:
        length, proto = struct.unpack_from("!HB", ip, 4)
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        body = ip[40:40 + length]
    else:
        return None
    if proto == 6 and len(body) >= 20:
        sport, dport, seq, ack, off_flags, window = struct.unpack_from("!HHIIHH", body)
        offset = (off_flags >> 12) * 4
        bits = off_flags & 0x3F
        return {"proto": "TCP", "src": [src, sport], "dst": [dst, dport], "bits": bits,
                "flags": _tcp_flags(bits), "seq": seq, "ack": ack if bits & 0x10 else None,
                "window": window, "wscale": _wscale(body[20:offset]) if bits & 0x02 else None,
                "nbytes": max(0, len(body) - offset)}
    if proto == 17 and len(body) >= 8:
        sport, dport, length = struct.unpack_from("!HHH", body)
        return {"proto": "UDP", "src": [src, sport], "dst": [dst, dport], "flags": None,
                "seq": None, "ack": None, "window": None, "nbytes": max(0, length - 8)}
    return None


class Relative:
    """Per connection, sequence and acknowledgement numbers relative to each side's first,
    and windows scaled as the two SYNs agreed."""

    def __init__(self) -> None:
        self._conns: dict[frozenset, dict[tuple, dict[str, Any]]] = {}

    def __call__(self, seg: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in seg.items() if k not in ("bits", "wscale")}
        if seg["proto"] != "TCP":
            return out
        me, other = tuple(seg["src"]), tuple(seg["dst"])
        key = frozenset((me, other))
        bits = seg["bits"]
        conn = self._conns.get(key)
        if conn is None or (bits & 0x02 and not bits & 0x10 and conn.get("ended")):
            conn = self._conns[key] = {}  # a new connection (or the 4-tuple used again)
        side = conn.setdefault(me, {"base": seg["seq"], "wscale": seg["wscale"]})
        if bits & 0x02:
            side.update(base=seg["seq"], wscale=seg["wscale"])
        if bits & 0x05:
            conn["ended"] = True
        peer = conn.get(other)
        out["seq"] = (seg["seq"] - side["base"]) % 2**32
        if seg["ack"] is not None:
            out["ack"] = (seg["ack"] - peer["base"]) % 2**32 if peer else seg["ack"]
        scales = (side.get("wscale"), peer.get("wscale") if peer else None)
        if not bits & 0x02 and None not in scales:
            out["window"] = seg["window"] << side["wscale"]
        return out


def segment_event(segment: dict[str, Any], t0: float):
    """A captured segment as an Event of the session whose clock started at ``t0``."""
    from .events import Event

    return Event(t=segment["mono"] - t0, side="wire", kind="segment", proto=segment["proto"],
                 src=tuple(segment["src"]), dst=tuple(segment["dst"]), flags=segment["flags"],
                 seq=segment["seq"], ack=segment["ack"], window=segment["window"],
                 nbytes=segment["nbytes"])


class Capture:
    """``Capture(on_segment).start()`` … ``.stop()``: ``on_segment(dict)`` is called from the
    capture thread for each TCP/UDP segment on ``lo`` (keys ``mono``, ``proto``, ``src``,
    ``dst``, ``flags``, ``seq``, ``ack``, ``window``, ``nbytes``). ``start`` raises OSError
    where packet sockets are not allowed (outside a namespace of sockteach's, as a user)."""

    def __init__(self, on_segment: Callable[[dict[str, Any]], None],
                 interface: str = "lo") -> None:
        self.on_segment = on_segment
        self.interface = interface
        self.relative = Relative()
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> "Capture":
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.bind((self.interface, 0))
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="sockteach-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Read what the kernel already queued, then end the thread and close the socket."""
        if self._thread is not None:
            self._wake_w.send(b"x")
            self._thread.join(timeout)
        for s in (self._sock, self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        self._sock = None

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        sock = self._sock
        try:
            while True:
                ready, _, _ = select.select([sock, self._wake_r], [], [], 60)
                if sock in ready:
                    self._drain(sock)
                if self._wake_r in ready:
                    self._drain(sock)  # what arrived just before stop(), then leave
                    return
        except BaseException as exc:  # noqa: BLE001 — kept for the owner to see
            self.error = exc

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                frame, ancdata, _, address = sock.recvmsg(65536, 64)
            except BlockingIOError:
                return
            got = time.monotonic()
            if address[2] != PACKET_OUTGOING:  # loopback's second copy, coming back in
                continue
            seg = decode(frame)
            if seg is None:
                continue
            mono = got
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = struct.unpack_from("qq", data)
                    # wall-clock stamp → monotonic, by the clocks' offset now
                    mono = min(got, sec + nsec / 1e9 - (time.time() - time.monotonic()))
            out = self.relative(seg)
            out["mono"] = mono
            self.on_segment(out)


def attach(session) -> Capture:
    """Start a capture whose segments go into ``session``'s stream as ``segment`` events
    (side ``"wire"``), on its clock. The caller stops it (``.stop()``) before closing the
    session. Raises OSError where packet sockets are not allowed."""
    return Capture(lambda seg: session.add(segment_event(seg, session.t0))).start()
