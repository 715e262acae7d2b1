"""Each lesson, played for real by the CLI (no tty), shows what it must; nothing is left."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from conftest import our_processes, run_cli
from sockteach.events import Event, host_port, load_jsonl


def play(number: int, tmp_path, *extra: str) -> tuple[subprocess.CompletedProcess, list[Event]]:
    record = tmp_path / f"lesson{number}.jsonl"
    result = run_cli("lesson", str(number), "--auto", "--fast", "--record", str(record), *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    with record.open(encoding="utf-8") as f:
        events = list(load_jsonl(f))
    return result, events


def real_ports(events: list[Event]) -> set[int]:
    ports = set()
    for e in events:
        real = host_port(e.real)
        if real:
            ports.add(real[1])
    return ports


def listening(ports: set[int]) -> set[int]:
    return {c.laddr.port for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port in ports}


def of(events, side=None, kind=None, name=None):
    return [e for e in events if (side is None or e.side == side)
            and (kind is None or e.kind == kind) and (name is None or e.name == name)]


def assert_clean(events):
    assert not our_processes()
    assert not listening(real_ports(events))


def test_record_format_is_json_lines_with_the_documented_fields(tmp_path):
    _, events = play(1, tmp_path)
    header, *lines = (tmp_path / "lesson1.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(header) == {"format": "sockteach-events", "version": 2}
    first = [json.loads(line) for line in lines[:50]]
    assert all({"t", "side", "kind"} <= set(d) for d in first)
    ts = [e.t for e in events]
    assert ts == sorted(ts) and ts[0] >= 0
    call = next(d for d in map(json.loads, lines) if d["kind"] == "call" and d["name"] == "send")
    assert call["args"] == ["b'hello'"]  # the repr, for display
    assert bytes.fromhex(call["data"]) == b"hello" and call["size"] == 5  # the facts
    assert call["family"] == "AF_INET" and call["socktype"] == "SOCK_STREAM"
    assert call["mode"] == "blocking"
    assert {e.kind for e in events} >= {"step", "call", "return", "blocked", "output", "input",
                                        "exit", "repeat"}


def test_lesson1_naive_server_spins_on_empty_recv(tmp_path):
    result, events = play(1, tmp_path)
    server = of(events, side="server")
    assert [e.result for e in of(server, kind="return", name="recv")][:2] == ["b'hello'", "b''"]
    spins = [e.count for e in of(server, kind="repeat", name="recv")]
    assert spins and max(spins) >= 10_000 and spins == sorted(spins)
    assert any(e.name == "accept" for e in of(server, kind="blocked"))
    assert of(events, side="client", kind="return", name="recv")[0].result == "b'HELLO'"
    assert "b''" in result.stdout  # narrated
    assert_clean(events)


def test_lesson2_empty_send_leaves_both_sides_blocked_in_recv(tmp_path):
    _, events = play(2, tmp_path)
    empty = next(e for e in events if e.side == "client" and e.kind == "return"
                 and e.name == "send" and e.result == "0")
    client_blocked = next(e for e in events if e.t > empty.t and e.side == "client"
                          and e.kind == "blocked" and e.name == "recv")
    # …and at that moment the server is in a recv() that was judged blocked and has not returned
    server_recv = [e for e in of(events, "server", name="recv") if e.t <= client_blocked.t]
    last_call = [e for e in server_recv if e.kind == "call"][-1]
    assert not [e for e in server_recv if e.kind == "return" and e.t > last_call.t]
    assert any(e.kind == "blocked" and e.t >= last_call.t for e in of(events, "server", name="recv"))
    # the fixed client: after an empty line it asks again without sending
    typed = [e for e in of(events, side="client", kind="input")]
    assert [e.text for e in typed].count("") == 2
    last_empty = [e for e in typed if e.text == ""][-1]
    between = [e for e in of(events, side="client") if e.t > last_empty.t and e.kind == "call"]
    assert between and between[0].name == "input"  # no send() before the next prompt
    assert_clean(events)


def test_lesson3_serves_clients_in_turn_and_survives_a_reset(tmp_path):
    _, events = play(3, tmp_path)
    server = of(events, side="server")
    accepts = of(server, kind="return", name="accept")
    assert len(accepts) >= 3
    reset = next(e for e in server if e.kind == "raise" and e.error == "ConnectionResetError")
    assert any(e.kind == "call" and e.name == "accept" and e.t > reset.t for e in server)
    # B connected while A was still served: B's connect returned before A left
    b_connect = next(e for e in of(events, "client2", "return", "connect"))
    a_exit = next(e for e in of(events, "client", "exit"))
    assert b_connect.t < a_exit.t
    assert of(events, "client2", "return", "recv")[0].result == "b'HI'"
    assert_clean(events)


def test_lesson4_time_wait_errno_98_then_reuseaddr(tmp_path):
    _, events = play(4, tmp_path)
    server = of(events, side="server")
    failures = [e for e in server if e.kind == "raise" and e.name == "bind" and e.errno == 98]
    assert len(failures) >= 1
    reuse = [e for e in server if e.kind == "call" and e.name == "setsockopt"
             and e.args[:2] == ("SOL_SOCKET", "SO_REUSEADDR")]
    assert reuse
    ok_binds = [e for e in server if e.kind == "return" and e.name == "bind" and e.t > failures[-1].t]
    assert ok_binds
    shown = [e for e in server if e.kind == "output" and "Address already in use" in (e.text or "")]
    assert any("OSError: [Errno 98] Address already in use" in e.text for e in shown)
    if sys.platform.startswith("linux"):
        assert any(s[2] == "TIME_WAIT" for e in of(events, kind="tcp") for s in (e.states or ()))
    assert_clean(events)


def test_two_lessons_at_once_do_not_collide(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-m", "sockteach", "lesson", str(n), "--auto",
                               "--fast"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (3, 4)]
    try:
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    assert not our_processes()


def _start_and_wait_for_narration(number: int):
    proc = subprocess.Popen([sys.executable, "-m", "sockteach", "lesson", str(number), "--auto"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "accept" in line:  # the server is up and waiting: mid-lesson
            return proc, seen
    proc.kill()
    pytest.fail("the lesson never got to accept():\n" + seen)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_lesson_ends_cleanly_with_one_line(sig, code):
    proc, _ = _start_and_wait_for_narration(3)
    try:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == code
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not our_processes()


def test_ctrl_c_in_a_terminal_ends_the_live_view_cleanly():
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "sockteach", "lesson", "3", "--speed", "0.5"],
                          encoding="utf-8", timeout=30, dimensions=(40, 100))
    try:
        child.expect("accept")  # the live view is up
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before
    assert "Traceback" not in child.before
    assert not our_processes()
