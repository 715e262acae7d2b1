"""The capture: segments on lo, decoded, deduplicated, relative — in a namespace of the test's.

The real test runs a small program in a child process that enters a network namespace of its
own (sockteach.sandbox), so the only traffic on its ``lo`` is the test's; the pytest process
itself never changes namespace. Headers are also decoded in memory from frames built by hand.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import os
import textwrap
from pathlib import Path

import pytest

from sockteach.capture import Relative, decode, segment_event
from sockteach.events import from_dict, to_dict

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = textwrap.dedent("""
    import json, socket, sys, threading
    sys.path.insert(0, sys.argv[1])
    from sockteach import sandbox
    from sockteach.capture import Capture

    if not sandbox.enter():
        print(json.dumps({"skip": sandbox.reason()}))
        sys.exit(0)
    segments, seen = [], {}
    cond = threading.Condition()

    def on_segment(seg):
        with cond:
            segments.append(seg)
            for flag in (seg["flags"] or seg["proto"]).split("/"):
                seen[flag] = seen.get(flag, 0) + 1
            cond.notify_all()

    def wait_for(flag):
        with cond:
            if not cond.wait_for(lambda: flag in seen, timeout=5):
                raise SystemExit("no " + flag + " segment within 5 s")

    capture = Capture(on_segment).start()
    server = socket.create_server(("127.0.0.1", 8081))
    client = socket.create_connection(("127.0.0.1", 8081), timeout=5)
    conn, _ = server.accept()
    client.sendall(b"hello")  # never read by the server
    client.close()            # FIN
    wait_for("FIN")
    conn.close()              # 5 unread bytes: RST, not FIN
    wait_for("RST")
    receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    receiver.bind(("::1", 9999))
    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"ping!!", ("::1", 9999))
    wait_for("UDP")
    capture.stop()
    error = repr(capture.error) if capture.error else None
    print(json.dumps({"segments": segments, "error": error}))
""")


def run_in_namespace(python: str = sys.executable, as_user: tuple[str, ...] = ()) -> dict:
    out = subprocess.run([*as_user, python, "-c", PROGRAM, str(ROOT)], capture_output=True,
                         text=True, timeout=30, cwd="/")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    if "skip" in data:
        pytest.skip(f"this machine refuses network namespaces: {data['skip']}")
    return data


def check_handshake_to_reset(data: dict) -> None:
    assert data["error"] is None
    segs = [s for s in data["segments"] if s["proto"] == "TCP"]
    flags = [s["flags"] for s in segs]
    # The order: handshake, the data, the client's FIN, the server's RST (with ACK ones
    # interleaved as the kernel chooses).
    wanted = ["SYN", "SYN/ACK", "ACK", "PSH/ACK", "FIN/ACK", "RST/ACK"]
    positions = []
    for flag in wanted:
        start = positions[-1] + 1 if positions else 0
        assert flag in flags[start:], f"{flag} missing after {flags[:start]}: {flags}"
        positions.append(flags.index(flag, start))
    syn, synack, data_seg = segs[positions[0]], segs[positions[1]], segs[positions[3]]
    client, server = syn["src"], syn["dst"]
    assert server == ["127.0.0.1", 8081] and synack["src"] == server
    assert syn["seq"] == 0 and syn["ack"] is None and synack["ack"] == 1
    assert data_seg["src"] == client and data_seg["nbytes"] == 5 and data_seg["seq"] == 1
    fin, rst = segs[positions[4]], segs[positions[5]]
    assert fin["src"] == client and fin["seq"] == 6  # after the 5 data bytes
    assert rst["src"] == server and rst["ack"] == 7  # the FIN counted as one
    # each segment once (loopback's incoming copies dropped), stamps in order
    assert len({(s["src"][1], s["flags"], s["seq"], s["ack"]) for s in segs}) == len(segs)
    stamps = [s["mono"] for s in segs]
    assert stamps == sorted(stamps)
    udp = [s for s in data["segments"] if s["proto"] == "UDP"]
    assert len(udp) == 1 and udp[0]["dst"] == ["::1", 9999] and udp[0]["nbytes"] == 6


def test_capture_in_a_namespace_shows_handshake_data_fin_and_reset() -> None:
    check_handshake_to_reset(run_in_namespace())


def test_capture_works_for_an_ordinary_user_too() -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to become 'nobody' (this run is already a user)")
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that 'nobody' may run")
    user = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    check = subprocess.run([*user, python, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                            "import sockteach.capture"], capture_output=True, timeout=30)
    if check.returncode != 0:
        pytest.skip(f"'nobody' cannot read this checkout: {check.stderr.decode()[-200:]}")
    check_handshake_to_reset(run_in_namespace(python, tuple(user)))


def _frame_v4(src: int, dst: int, seq: int, ack: int, bits: int, payload: bytes = b"",
              window: int = 512, options: bytes = b"", reply: bool = False) -> bytes:
    offset = (20 + len(options)) // 4
    tcp = struct.pack("!HHIIHHHH", src, dst, seq, ack, (offset << 12) | bits, window, 0, 0)
    tcp += options + payload
    hosts = (bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2]))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                     *(hosts[::-1] if reply else hosts))
    return b"\0" * 12 + b"\x08\x00" + ip + tcp


def test_decode_and_relative_numbers_in_memory() -> None:
    wscale7 = b"\x01\x03\x03\x07"  # NOP, window scale 7
    relative = Relative()
    syn = relative(decode(_frame_v4(40000, 8081, 1000, 0, 0x02, options=wscale7, window=65495)))
    synack = relative(decode(_frame_v4(8081, 40000, 5000, 1001, 0x12, options=wscale7,
                                          reply=True)))
    data = relative(decode(_frame_v4(40000, 8081, 1001, 5001, 0x18, b"abc", window=512)))
    assert (syn["flags"], syn["seq"], syn["ack"], syn["window"]) == ("SYN", 0, None, 65495)
    assert (synack["flags"], synack["seq"], synack["ack"]) == ("SYN/ACK", 0, 1)
    assert synack["src"] == ["127.0.0.2", 8081] and synack["dst"] == ["127.0.0.1", 40000]
    assert (data["flags"], data["seq"], data["ack"], data["nbytes"]) == ("PSH/ACK", 1, 1, 3)
    assert data["window"] == 512 << 7  # both SYNs offered scaling: the window is scaled
    # a sequence number that wraps round 2**32 still counts from the ISN
    wrap = Relative()
    wrap(decode(_frame_v4(1, 2, 2**32 - 2, 0, 0x02)))
    assert wrap(decode(_frame_v4(1, 2, 3, 0, 0x10)))["seq"] == 5
    assert decode(b"\0" * 12 + b"\x08\x06" + b"\0" * 28) is None  # ARP: not TCP/UDP


def test_segment_event_round_trips_through_the_record_format() -> None:
    seg = {"proto": "TCP", "src": ["127.0.0.1", 40000], "dst": ["127.0.0.1", 8081],
           "flags": "SYN", "seq": 0, "ack": None, "window": 65495, "nbytes": 0, "mono": 12.5}
    event = segment_event(seg, t0=10.0)
    assert event.kind == "segment" and event.t == 2.5 and event.src == ("127.0.0.1", 40000)
    assert from_dict(json.loads(json.dumps(to_dict(event)))) == event


SAME_CLOCK = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from sockteach import sandbox
    from sockteach.capture import attach
    from sockteach.events import to_dict
    from sockteach.session import Session

    if not sandbox.enter():
        print(json.dumps({"skip": sandbox.reason()}))
        sys.exit(0)
    session = Session((8081,))
    try:
        capture = attach(session)
        session.start("server", sys.argv[2])
        session.wait_until(lambda: any(e.kind == "return" and e.name == "listen"
                                       for e in session.events), 20, "the server to listen")
        session.start("client", sys.argv[3])
        codes = [session.wait_exit(side, 20) for side in ("server", "client")]
        session.wait_until(lambda: sum(e.kind == "segment" and "FIN" in (e.flags or "")
                                       for e in session.events) == 2, 5, "both FINs")
        capture.stop()
        events = [to_dict(e) for e in session.sorted_events()]
    finally:
        session.close()
    print(json.dumps({"codes": codes, "events": events}))
""")

SERVER = textwrap.dedent("""
    import socket
    s = socket.create_server(("127.0.0.1", 8081))
    c, _ = s.accept()
    print(c.recv(100))
    print(c.recv(100))
    c.close()
""")
CLIENT = textwrap.dedent("""
    import socket
    c = socket.create_connection(("127.0.0.1", 8081))
    c.sendall(b"hello")
    c.close()
""")


def test_segments_and_socket_calls_share_one_clock(tmp_path: Path) -> None:
    """The data segment lies between the client's send call and the server's recv return;
    the SYN between connect's call and accept's return; the FIN after the client's close."""
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "client.py").write_text(CLIENT)
    out = subprocess.run([sys.executable, "-c", SAME_CLOCK, str(ROOT),
                          str(tmp_path / "server.py"), str(tmp_path / "client.py")],
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.splitlines()[-1])
    if "skip" in data:
        pytest.skip(f"this machine refuses network namespaces: {data['skip']}")
    assert data["codes"] == [0, 0]
    events = data["events"]

    def first(pred) -> dict:
        return next(e for e in events if pred(e))

    def of(side: str, kind: str, name: str) -> dict:
        return first(lambda e: (e["side"], e["kind"], e.get("name")) == (side, kind, name))

    def seg(flags: str) -> dict:
        return first(lambda e: e["kind"] == "segment" and e["flags"] == flags)

    connect, accept = of("client", "call", "connect"), of("server", "return", "accept")
    send, recv = of("client", "call", "sendall"), of("server", "return", "recv")
    close = of("client", "call", "close")
    syn, data_seg, fin = seg("SYN"), seg("PSH/ACK"), seg("FIN/ACK")
    assert syn["side"] == "wire" and syn["dst"] == ["127.0.0.1", 8081]
    assert connect["t"] <= syn["t"] <= accept["t"]
    assert send["t"] <= data_seg["t"] <= recv["t"] and data_seg["nbytes"] == 5
    assert close["t"] <= fin["t"]
