"""Event-loop servers under watch: an asyncio server and a selectors server, driven by lesson
3's scripted client, show their accept, recv and send, and the waits between them; asyncio's
own wake-up socket is labelled as the event loop's. Real processes over loopback."""

from __future__ import annotations

import shutil

import pytest

from conftest import PROGRAMS, our_processes
from test_watch_peer import run


@pytest.mark.parametrize("script, wait", [("asyncio_echo.py", "epoll() waits until fd"),
                                          ("selectors_echo.py", "epoll() waits until fd")])
def test_an_event_loop_server_shows_its_calls_and_its_waits(script, wait, tmp_path):
    shutil.copy(PROGRAMS / script, tmp_path / "server.py")
    result, _ = run([str(tmp_path / "server.py"), "--peer", "3:client"], tmp_path)
    out = result.stdout
    assert "server: accept() returned: a client connected from 127.0.0.1:" in out, out
    assert "server: recv() got b'hello'" in out, out
    assert "server: send(b'HELLO')" in out, out
    assert wait in out, out
    assert "client: recv() got b'HELLO'" in out, out
    if script.startswith("asyncio"):
        assert "asyncio's own wake-up socket" in out, out
        assert "setsockopt(SOL_SOCKET, SO_REUSEADDR" in out  # the learner's listener is theirs
    assert not our_processes()


def test_the_empty_message_hang_is_diagnosed_for_a_selectors_server(tmp_path):
    shutil.copy(PROGRAMS / "selectors_echo.py", tmp_path / "server.py")
    result, _ = run([str(tmp_path / "server.py"), "--peer", "2:client"], tmp_path)
    out = result.stdout
    hang = [line for line in out.splitlines() if line.startswith("⚠ server waits in epoll()")]
    assert hang and "client in recv()" in hang[0] and "send(b'')" in hang[0], out
    assert not our_processes()


def test_a_substituted_address_is_said_at_the_call_and_known_to_the_diagnosis(tmp_path):
    """'::' bound as ::1 for safety (the fallback without a namespace): the narration says so
    at bind(), the kernel's table shows [::1]:8081, and a refused IPv4 client is explained by
    the family and the substitution, not by a wrong port."""
    for name in ("v6_any_server.py", "v4_client.py"):
        shutil.copy(PROGRAMS / name, tmp_path / name)
    result, _ = run([str(tmp_path / "v6_any_server.py"), str(tmp_path / "v4_client.py")],
                    tmp_path)
    out = result.stdout
    bind = next(line for line in out.splitlines() if line.startswith("server: bind(('::', 8081))"))
    assert "::1 instead of ::" in bind and "v4-mapped" in bind, bind
    assert "[::1]:8081 LISTEN" in out, out
    why = next(line for line in out.splitlines() if line.startswith("⚠ client: connect()"))
    assert "AF_INET6" in why and "sockteach moved it to ::1" in why, why
