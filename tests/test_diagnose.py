"""The diagnosis catalogue: each pattern triggered by small real programs, its words asserted;
plus the pure rules in memory (the kernel's table passed in)."""

from __future__ import annotations

import pytest

from conftest import program
from sockteach import kernel
from sockteach.diagnose import Diagnosis, active, diagnose
from sockteach.events import Event
from sockteach.i18n import catalog
from sockteach.session import Session

PORTS = (8081, 8080, 8082)


def run_until(key: str, *programs: tuple[str, str], timeout: float = 8.0,
              rows: object = None) -> tuple[Diagnosis, list[Event]]:
    """Start ``programs`` (servers first: each waits until it listens), wait until the
    diagnosis ``key`` appears; return it and the events."""
    with Session(PORTS, blocked_after=0.1) as s:
        for side, name in programs:
            rec = s.start(side, program(name))
            if side.startswith("server"):
                s.wait_until(lambda: rec.exit_code is not None or any(
                    e.kind == "return" and e.name == "listen" and e.pid == rec.pid
                    for e in s.snapshot()), timeout, f"{name} to listen")
        found: list[Diagnosis] = []

        def seen() -> bool:
            found[:] = [d for d in diagnose(s.snapshot(), rows=rows) if d.key == key]
            return bool(found)

        try:
            s.wait_until(seen, timeout, f"the diagnosis {key}")
        except Exception:
            events = s.sorted_events()
            raise AssertionError(f"no {key}: {diagnose(events, rows=rows)}\n"
                                 + "\n".join(map(str, events[-30:]))) from None
        return found[0], s.sorted_events()


# ---------------------------------------------------------------- real programs


def test_both_blocked_in_recv_after_an_empty_send():
    d, _ = run_until("both_recv", ("server", "diag_echo_server.py"),
                     ("client", "diag_empty_client.py"))
    assert "server and client are both blocked in recv()" in d.text
    assert "who should send first?" in d.text.lower()
    assert "Was something empty sent? client called send(b'')" in d.text
    assert "if not msg: continue" in d.next_step


def test_spin_on_empty_recv():
    d, _ = run_until("spin", ("server", "diag_spin.py"))
    assert d.side == "server"
    assert "recv() returned b''" in d.text and "times in a row" in d.text
    assert "if not data: break" in d.next_step


def test_errno_98_from_a_running_listener():
    d, _ = run_until("in_use", ("server", "diag_bind_twice.py"), rows=kernel.read_rows)
    assert "[Errno 98] Address already in use" in d.text
    assert "still listening on port 8081" in d.text
    assert "Stop the other copy" in d.next_step


@pytest.mark.skipif(not kernel.available(), reason="the kernel's table is Linux only")
def test_errno_98_from_time_wait_read_from_the_kernel():
    d, events = run_until("in_use", ("server", "diag_time_wait.py"), rows=kernel.read_rows)
    assert "TIME_WAIT" in d.text and "port 8082" in d.text
    assert "SO_REUSEADDR" in d.next_step
    # the same run without the live table: the stream's own kernel events tell it too
    again = [x for x in diagnose(events) if x.key == "in_use"]
    assert again and "TIME_WAIT" in again[0].text


def test_connection_refused_with_nothing_listening():
    d, _ = run_until("refused", ("client", "diag_refused.py"))
    assert "connect() to 127.0.0.1:8081 raised ConnectionRefusedError" in d.text
    assert "is the server started" in d.text


def test_connection_refused_names_the_port_the_server_listens_on():
    d, _ = run_until("refused", ("server", "diag_listen_8080.py"), ("client", "diag_refused.py"))
    assert "On which port did the server listen? Here: server on port 8080." in d.text


def test_broken_pipe_the_peer_is_gone():
    d, _ = run_until("peer_gone", ("server", "diag_broken_pipe.py"))
    assert "send() raised BrokenPipeError: the peer is gone" in d.text


def test_reset_the_peer_is_gone():
    d, _ = run_until("peer_gone", ("server", "diag_reset.py"))
    assert "recv() raised ConnectionResetError" in d.text and "reset" in d.text
    assert "except ConnectionResetError" in d.next_step


def test_accept_inside_the_communication_loop():
    d, _ = run_until("accept_again", ("server", "diag_accept_in_loop.py"),
                     ("client", "diag_two_messages.py"))
    assert d.side == "server"
    assert "server waits in accept() for a new client, while client" in d.text
    assert "outer connection loop" in d.next_step


def test_a_second_client_waits_in_the_listen_backlog():
    with Session(PORTS, blocked_after=0.1) as s:
        s.start("server", program("diag_echo_server.py"))
        s.wait_until(lambda: any(e.name == "accept" and e.kind == "blocked"
                                 for e in s.snapshot()), 5, "accept")
        s.start("client", program("diag_stay_client.py"))
        s.wait_input("client", 5)
        s.start("client2", program("diag_two_messages.py"))
        found = s.wait_until(lambda: [d for d in diagnose(s.snapshot()) if d.key == "backlog"],
                             8, "backlog")
    d = found[0]
    assert d.side == "client2"
    assert "client 2 is connected but waits in the listen backlog" in d.text
    assert "server is blocked in recv()" in d.text
    assert not [x for x in diagnose(s.sorted_events()) if x.key == "both_recv"]


def test_different_framing_readline_without_newline():
    d, _ = run_until("framing", ("server", "diag_readline_server.py"),
                     ("client", "diag_two_messages.py"))
    assert d.side == "server"
    assert "makefile()" in d.text and "b'\\n'" in d.text and "client sent b'hello'" in d.text
    assert "sendall(msg + b'\\n')" in d.next_step
    assert not [x for x in diagnose(_) if x.key == "both_recv"]


def test_chinese_wording():
    d, events = run_until("both_recv", ("server", "diag_echo_server.py"),
                          ("client", "diag_empty_client.py"))
    zh = [x for x in diagnose(events, "zh") if x.key == "both_recv"][0]
    assert "服务端和客户端都阻塞在 recv()" in zh.text and "空消息" in zh.text


# ---------------------------------------------------------------- pure rules


def E(t: float, side: str, kind: str, **fields: object) -> Event:
    if "args" in fields:
        fields["args"] = tuple(fields["args"])  # type: ignore[arg-type]
    fields.setdefault("pid", {"server": 10, "client": 20}.get(side, 30))
    return Event(t=t, side=side, kind=kind, **fields)  # type: ignore[arg-type]


def bind_fails(reuse: bool = False) -> list[Event]:
    events = [E(0.0, "server", "call", name="setsockopt", sock=3,
                args=["SOL_SOCKET", "SO_REUSEADDR", "1"])] if reuse else []
    return events + [
        E(0.1, "server", "call", name="bind", sock=3, args=["('127.0.0.1', 8081)"],
          real="('127.0.0.1', 40000)"),
        E(0.2, "server", "raise", name="bind", sock=3, error="OSError", errno=98,
          message="[Errno 98] Address already in use"),
        E(0.3, "server", "exit", code=1),
    ]


@pytest.mark.parametrize("state, reuse, words", [
    ("LISTEN", False, "still listening on port 8081"),
    ("TIME_WAIT", False, "in TIME_WAIT: an earlier run closed first"),
    ("TIME_WAIT", True, "although this run set SO_REUSEADDR"),
    (None, False, "either a program still listens on port 8081"),
])
def test_in_use_decided_from_the_kernel_rows(state, reuse, words):
    rows = [kernel.Row("127.0.0.1", 40000, "127.0.0.1", 5555 if state != "LISTEN" else 0,
                       state)] if state else []
    rows.append(kernel.Row("127.0.0.1", 8081, "0.0.0.0", 0, "LISTEN"))  # not our real port
    [d] = diagnose(bind_fails(reuse), rows=rows)
    assert d.key == "in_use" and words in d.text
    assert "[Errno 98]" in d.text


def test_in_use_decided_later_by_a_kernel_event_in_the_stream():
    events = bind_fails() + [E(0.4, "kernel", "tcp", states=(
        ("127.0.0.1:8081", "127.0.0.1:5555", "TIME_WAIT"),))]
    [before] = diagnose(events[:-1])
    [after] = diagnose(events)
    assert "either" in before.text and "TIME_WAIT: an earlier run" in after.text


def both_wait() -> list[Event]:
    return [
        E(0.0, "server", "call", name="recv", sock=4, args=["1024"]),
        E(0.1, "client", "call", name="send", sock=3, args=["b''"]),
        E(0.11, "client", "return", name="send", sock=3, result="0"),
        E(0.12, "client", "call", name="recv", sock=3, args=["1024"]),
        E(0.3, "server", "blocked", name="recv", sock=4, seconds=0.3),
        E(0.4, "client", "blocked", name="recv", sock=3, seconds=0.28),
    ]


def test_a_situation_holds_until_a_call_returns():
    events = both_wait()
    [d] = diagnose(events)
    assert d.key == "both_recv" and d.until is None and d.t == 0.4
    assert active([d], 1.0) == [d] and active([d], 0.35) == []
    [d] = diagnose(events + [E(2.0, "client", "return", name="recv", sock=3, result="b''")])
    assert d.until == 2.0 and not d.active(2.5)


def test_one_side_blocked_alone_is_no_diagnosis():
    assert diagnose(both_wait()[:5]) == []


def test_a_raise_holds_until_the_side_runs_again():
    events = [E(0.0, "client", "call", name="connect", sock=3, args=["('127.0.0.1', 8081)"]),
              E(0.1, "client", "raise", name="connect", sock=3, error="ConnectionRefusedError",
                errno=111, message="[Errno 111] Connection refused"),
              E(0.2, "client", "exit", code=1)]
    [d] = diagnose(events)
    assert d.key == "refused" and d.active(10.0)
    restarted = events + [E(3.0, "client", "call", name="connect", sock=3, pid=21,
                            args=["('127.0.0.1', 8081)"])]
    assert diagnose(restarted)[0].until == 3.0


def test_catalogs_have_the_same_diagnosis_keys_in_both_languages():
    en = {k for k in catalog("en") if k.startswith("diagnose.")}
    zh = {k for k in catalog("zh") if k.startswith("diagnose.")}
    assert en and en == zh


def test_an_error_the_program_caught_is_over_and_not_a_failure_explanation():
    from sockteach.diagnose import explain

    events = [E(0.0, "server", "call", name="recv", sock=5, args=["1024"]),
              E(0.1, "server", "raise", name="recv", sock=5, error="ConnectionResetError",
                errno=104, message="[Errno 104] Connection reset by peer")]
    [d] = diagnose(events)
    assert d.key == "peer_gone" and d.until is None and explain([events]) == [d]
    went_on = events + [E(0.2, "server", "call", name="close", sock=5, args=[])]
    [d] = diagnose(went_on)
    assert d.handled and d.until == 0.2 and explain([went_on]) == []
