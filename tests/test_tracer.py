"""The tracer, inside real processes: what it reports, and that programs behave as untraced."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import program
from sockteach.session import Session


def output(session: Session, side: str) -> str:
    return "".join(e.text or "" for e in session.sorted_events()
                   if e.side == side and e.kind == "output")


def kinds(session: Session, side: str, name: str) -> list[tuple[str, str | None]]:
    return [(e.kind, e.result or e.error) for e in session.sorted_events()
            if e.side == side and e.name == name]


def test_echo_calls_are_reported_on_listening_and_accepted_sockets():
    with Session([8081], blocked_after=0.1) as s:
        s.start("server", program("echo_server.py"))
        s.wait_until(lambda: s.real_address("server"), 10, "the server to listen")
        s.start("client", program("echo_client.py"))
        s.type("client", "hello")
        s.type("client", "quit")
        assert s.wait_exit("client") == 0
        assert s.wait_exit("server") == 0
        events = s.sorted_events()
    server = [e for e in events if e.side == "server"]
    bind = next(e for e in server if e.kind == "call" and e.name == "bind")
    assert bind.args == ("('127.0.0.1', 8081)",)
    assert bind.real is not None and bind.real[1] != 8081  # mapped to a port we own
    assert bind.addr == ("127.0.0.1", 8081)  # what the program asked for
    names = [e.name for e in server if e.kind == "return"]
    assert names[:3] == ["bind", "listen", "getsockname"]
    # recv on the socket accept() returned is traced, with the bytes as repr
    recvs = [e.result for e in server if e.kind == "return" and e.name == "recv"]
    assert recvs == ["b'hello'", "b''"]
    sends = [(e.args, e.result) for e in server if e.name == "send" and e.kind in ("call", "return")]
    assert sends == [(("b'HELLO'",), None), (None, "5")]
    client_inputs = [e.result for e in events
                     if e.side == "client" and e.kind == "return" and e.name == "input"]
    assert client_inputs == ["'hello'", "'quit'"]
    # the program saw its nominal port, not the real one
    assert "listening on 8081" in "".join(e.text or "" for e in server if e.kind == "output")


def test_uncaught_exception_shows_the_learners_lines_only():
    with Session() as s:
        s.start("main", program("boom.py"))
        assert s.wait_exit("main") == 1
        text = output(s, "main")
    assert 'File "boom.py", line 3, in <module>' in text
    assert 'File "boom.py", line 2, in helper' in text
    assert "ValueError: boom from the learner" in text
    assert "tracer.py" not in text


def test_syntax_error_is_reported_like_python_does():
    with Session() as s:
        s.start("main", program("syntax_error.py"))
        assert s.wait_exit("main") == 1
        text = output(s, "main")
    assert "SyntaxError" in text and "syntax_error.py" in text
    assert "tracer.py" not in text
    assert "start" not in text.replace("syntax_error", "")  # nothing of the script ran


def test_exit_codes_and_signals_are_reported():
    with Session() as s:
        s.start("a", program("exit_three.py"))
        assert s.wait_exit("a") == 3
        s.start("b", program("echo_server.py"))
        s.wait_until(lambda: s.waiting_in("b") == "accept", 10, "accept")
        s.kill("b")
        assert s.wait_exit("b") == -9
        exits = [(e.side, e.code) for e in s.sorted_events() if e.kind == "exit"]
    assert ("a", 3) in exits and ("b", -9) in exits


def test_spin_is_folded_into_repeat_events_that_count():
    with Session() as s:
        s.start("main", program("spin.py"))
        assert s.wait_exit("main", timeout=30) == 0
        events = s.sorted_events()
    recv = [e for e in events if e.name == "recv"]
    repeats = [e.count for e in recv if e.kind == "repeat"]
    assert [e.kind for e in recv[:2]] == ["call", "return"] and recv[1].result == "b''"
    assert repeats == sorted(repeats) and repeats[-1] == 199_999  # every one counted
    assert len(recv) < 2000  # …but not listed one by one
    assert "spun 200000" in output(s, "main")


def test_traced_program_prints_the_same_as_untraced():
    plain = subprocess.run([sys.executable, str(program("fidelity.py"))], capture_output=True,
                           text=True, timeout=30, cwd=program("fidelity.py").parent)
    assert plain.returncode == 0, plain.stderr
    with Session() as s:
        s.start("main", program("fidelity.py"))
        assert s.wait_exit("main") == 0
        traced = output(s, "main")
        names = {e.name for e in s.sorted_events() if e.kind == "call"}
    assert traced.splitlines() == plain.stdout.splitlines()
    assert {"send", "recv", "gettimeout", "fileno", "settimeout", "connect_ex", "connect",
            "getsockopt", "setsockopt", "makefile", "sendall", "close"} <= names


def test_input_prompts_are_reported():
    with Session() as s:
        s.start("main", program("asks.py"))
        s.type("main", "Ada")
        assert s.wait_exit("main") == 0
        events = s.sorted_events()
    call = next(e for e in events if e.kind == "call" and e.name == "input")
    assert call.args == ("'name? '",)
    assert [e.text for e in events if e.kind == "input"] == ["Ada"]
    assert "hello Ada" in output(s, "main")


def test_only_loopback_is_allowed():
    with Session() as s:
        s.start("main", program("public_bind.py"))
        assert s.wait_exit("main") == 0
        text = output(s, "main")
        bind = next(e for e in s.sorted_events() if e.kind == "call" and e.name == "bind")
    assert "bound ('127.0.0.1', 8081)" in text  # '' became loopback; the nominal port shows
    assert bind.real is not None and bind.real[0] == "127.0.0.1" and bind.addr[0] == ""
    assert "refused: [Errno 13] sockteach: only loopback addresses" in text


def test_forked_children_are_traced_and_torn_down():
    import psutil

    with Session() as s:
        s.start("main", program("forker.py"))
        s.wait_until(lambda: s.waiting_in("main") == "accept", 10, "accept")
        s.wait_until(lambda: len({e.pid for e in s.events if e.side == "main"}) >= 2, 10,
                     "the grandchild's events")
        pids = {e.pid for e in s.events if e.side == "main"}
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_batched_return_arrives_promptly_and_is_not_judged_blocked():
    # The tracer batches lines; a return must still reach the runner while the program keeps
    # computing, or the runner would think the program blocked in recv().
    with Session(blocked_after=0.25) as s:
        s.start("main", program("busy_after_recv.py"))
        s.wait_until(lambda: any(e.kind == "return" and e.name == "recv" for e in s.events),
                     1.0, "recv's return while the program still runs")
        assert s.sides["main"].exit_code is None
        s.hold(0.4)  # longer than blocked_after: nothing may be judged blocked meanwhile
        assert not [e for e in s.events if e.kind == "blocked"]
        s.stop("main")


TUTORIAL_METHODS = {
    "bind", "listen", "accept", "connect", "connect_ex", "recv", "send", "sendall",
    "recvfrom", "sendto", "getpeername", "getsockname", "getsockopt", "setsockopt", "close",
    "setblocking", "settimeout", "gettimeout", "fileno", "makefile",
}


def test_every_method_of_the_tutorials_table_is_reported():
    from sockteach.session import free_port

    ports = [str(free_port()), str(free_port())]  # untraced, it must not use 8081 itself
    plain = subprocess.run([sys.executable, str(program("all_methods.py")), *ports],
                           capture_output=True, text=True, timeout=30)
    assert plain.returncode == 0, plain.stderr
    with Session([8081, 8080]) as s:
        s.start("main", program("all_methods.py"))
        assert s.wait_exit("main") == 0, output(s, "main")
        events = s.sorted_events()
        text = output(s, "main")
    seen = {e.name for e in events if e.kind == "call"}
    assert TUTORIAL_METHODS <= seen, TUTORIAL_METHODS - seen
    returned = {e.name for e in events if e.kind in ("return", "raise")}
    assert TUTORIAL_METHODS <= returned
    # the program printed the same as untraced (it even sees its nominal ports)
    assert text.splitlines() == plain.stdout.splitlines()
