"""The session: ports it owns, blocked calls, deadlines, and teardown."""

from __future__ import annotations

import socket

import psutil
import pytest

from conftest import program
from sockteach import kernel
from sockteach.session import Session, WaitTimeout, free_port


def listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN}


def test_two_sessions_map_the_same_nominal_port_to_different_real_ports():
    with Session([8081]) as a, Session([8081]) as b:
        for s in (a, b):
            s.start("server", program("echo_server.py"))
        for s in (a, b):
            s.wait_until(lambda s=s: s.real_address("server"), 10, "listen")
        pa, pb = a.real_address("server")[1], b.real_address("server")[1]
        assert pa != pb and {pa, pb} <= listening_ports()
        for s in (a, b):
            s.start("client", program("echo_client.py"))
            s.type("client", "hi")
            s.type("client", "quit")
            assert s.wait_exit("server") == 0
    assert not ({pa, pb} & listening_ports())


def test_a_pending_call_is_judged_blocked_after_the_threshold():
    with Session(blocked_after=0.2) as s:
        s.start("server", program("echo_server.py"))
        blocked = s.wait_until(
            lambda: next((e for e in s.events if e.kind == "blocked"), None), 10, "blocked")
        call = next(e for e in s.events if e.kind == "call" and e.name == "accept")
        assert blocked.name == "accept" and blocked.side == "server"
        assert blocked.seconds >= 0.2 and blocked.t - call.t >= 0.2
        assert s.waiting_in("server") == "accept"


def test_waits_have_deadlines_with_a_clear_message():
    with Session() as s:
        s.start("server", program("echo_server.py"))
        with pytest.raises(WaitTimeout, match="waited 0.3 s for a thing that never happens"):
            s.wait_until(lambda: False, 0.3, "a thing that never happens")


def test_close_leaves_no_process_and_no_listening_socket():
    s = Session()
    s.start("server", program("echo_server.py"))
    s.wait_until(lambda: s.real_address("server"), 10, "listen")
    port = s.real_address("server")[1]
    pid = s.sides["server"].pid
    s.close()
    s.close()  # idempotent
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert port not in listening_ports()


def test_new_ports_escape_yesterdays_time_wait():
    # Leave a TIME_WAIT on the real port: the server closes first, then the client.
    with Session([8081]) as s:
        s.start("server", program("echo_server.py"))
        s.wait_until(lambda: s.real_address("server"), 10, "listen")
        old = s.port_map[8081]
        s.start("client", program("echo_client.py"))
        s.type("client", "hi")
        s.wait_input("client")
        s.interrupt("server")
        s.wait_exit("server")
        s.type("client", "quit")
        s.wait_exit("client")
        if kernel.available():
            s.wait_until(lambda: any(st == "TIME_WAIT" for _l, _r, st in
                                     kernel.connections({old: 8081})), 10, "TIME_WAIT")
        s.new_ports()
        assert s.port_map[8081] != old
        s.start("server", program("echo_server.py"))
        s.wait_until(lambda: s.real_address("server"), 10, "listen again")


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_starting_a_missing_script_is_a_clear_error(tmp_path):
    from sockteach.session import SessionError

    with Session() as s, pytest.raises(SessionError, match="no such file"):
        s.start("server", tmp_path / "nope.py")
