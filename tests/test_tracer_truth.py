"""The tracer tells the truth: output stamped where it was written, what close() really sends,
waits in select/poll/epoll/selectors/asyncio, and the order protocol (Session.settled).
Real processes over loopback; each fact is held against what the peer really observed."""

from __future__ import annotations

import socket

from conftest import program
from sockteach.session import Session


def run(script: str, timeout: float = 20) -> list:
    with Session() as s:
        s.start("main", program(script))
        s.wait_exit("main", timeout)
        return s.sorted_events()


def printed(events, side: str = "main") -> str:
    return "".join(e.text or "" for e in events if e.kind == "output" and e.side == side)


def test_output_sits_between_the_calls_around_it():
    with Session() as s:
        s.start("main", program("print_around.py"))
        s.wait_until(lambda: any(e.kind == "blocked" and e.side == "main"
                                 for e in s.snapshot()), 10, "the last recv to block")
        s.kill("main")
        s.wait_exit("main", 10)
        events = s.sorted_events()
    order = [(e.kind, e.name or e.text) for e in events
             if e.side == "main" and e.kind in ("call", "output") and e.name != "fileno"]
    assert order[:2] == [("output", "before send\n"), ("call", "send")], order
    assert order.index(("output", "between\n")) < order.index(("call", "recv"))
    # the line printed just before the blocking recv is stamped before that call, not when
    # the terminal was read
    last_recv = max(i for i, item in enumerate(order) if item == ("call", "recv"))
    assert order[last_recv - 1] == ("output", "server===>\n"), order
    assert all(e.stream == "stdout" for e in events if e.kind == "output" and e.side == "main")


def test_close_reports_what_the_kernel_sends_and_the_peer_agrees():
    events = run("close_facts.py")
    lines = dict(line.split(": ", 1) for line in printed(events).splitlines() if ": " in line)
    closes = [e for e in events if e.kind == "call" and e.name == "close" and e.wire
              and e.wire != "none" or (e.kind == "call" and e.name == "close" and e.held)]
    facts = [(e.family, e.socktype, e.wire, e.unread, e.linger, e.held) for e in closes]
    # the kernel's word, as each peer saw it, beside the tracer's
    assert lines["fin"] == "eof" and ("AF_INET", "SOCK_STREAM", "FIN", 0, None, None) in facts
    assert lines["unread"] == "reset"
    assert any(f[2] == "RST" and f[3] == 5 for f in facts), facts
    assert lines["linger"] == "reset"
    assert any(f[2] == "RST" and f[4] == (1, 0) for f in facts), facts
    udp = [e for e in events if e.kind == "call" and e.name == "close"
           and e.socktype == "SOCK_DGRAM"]
    assert udp and udp[0].wire == "none"
    assert lines["unix"] == "eof" and ("AF_UNIX", "SOCK_STREAM", "eof", 0, None, None) in facts
    assert lines["unix_unread"] == "reset" and any(f[:3] == ("AF_UNIX", "SOCK_STREAM", "reset")
                                                   for f in facts)
    assert lines["held"] == "nothing" and lines["released"] == "eof"
    held = [e for e in closes if e.held == "makefile"]
    released = [e for e in closes if e.held == "released"]
    assert held and held[0].wire == "none"
    assert released and released[0].wire == "FIN" and released[0].t > held[0].t


def test_waits_are_reported_with_their_fds():
    events = run("waits.py")
    out = printed(events).splitlines()
    assert out[0] == "True" and len(out) == 5, out
    waits = [e for e in events if e.kind in ("call", "return")
             and e.name in ("select", "poll", "epoll")]
    names = [e.name for e in waits if e.kind == "call"]
    assert names[:2] == ["select", "poll"] and names.count("epoll") >= 2, names
    first_call, first_return = waits[0], waits[1]
    assert first_call.rfds and first_return.rfds == first_call.rfds  # ready: the fd waited on
    timed = [e for e in waits if e.kind == "call" and e.timeout == 0.2]
    assert timed, waits
    back = next(e for e in waits if e.kind == "return" and e.t > timed[-1].t)
    assert back.rfds == () and back.t - timed[-1].t >= 0.19  # it waited, and timed out


def test_an_asyncio_server_shows_its_accept_recv_send_and_its_own_sockets_are_labelled():
    with Session() as s:
        s.start("server", program("asyncio_echo.py"))
        s.wait_until(lambda: any(e.kind == "return" and e.name == "listen"
                                 for e in s.snapshot()), 10, "listen")
        real = s.real_address("server")
        assert real is not None
        with socket.create_connection(real, timeout=5) as c:
            c.sendall(b"hi")
            assert c.recv(10) == b"HI"
        s.wait_until(lambda: any(e.kind == "blocked" and e.name == "epoll"
                                 and e.t > s.now() - 5 for e in s.snapshot()), 10, "epoll wait")
        events = s.sorted_events()
    server = [e for e in events if e.side == "server"]
    assert any(e.kind == "return" and e.name == "accept" for e in server)
    recv = next(e for e in server if e.kind == "return" and e.name == "recv" and e.nbytes)
    assert recv.payload == b"hi" and recv.family == "AF_INET"
    assert any(e.kind == "call" and e.name == "send" and e.payload == b"HI" for e in server)
    assert any(e.kind == "blocked" and e.name == "epoll" for e in server)
    internal = {e.sock for e in server if e.internal == "asyncio"}
    listener = next(e.sock for e in server if e.kind == "call" and e.name == "listen")
    assert internal and listener not in internal
    assert all(e.mode == "nonblocking" for e in server
               if e.kind == "call" and e.name == "recv")


def test_settled_means_nothing_older_is_still_on_its_way():
    with Session() as s:
        s.start("main", program("spin.py"))
        s.wait_until(lambda: any(e.side == "main" and e.kind == "repeat"
                                 for e in s.snapshot()), 10, "the spin")
        t = s.now()
        assert s.settled(t, timeout=10)
        seen = {id(e) for e in s.snapshot()}
        s.kill("main")
        s.wait_exit("main", 10)
        late = [e for e in s.snapshot() if e.t < t and id(e) not in seen and e.side == "main"]
    assert not late, late[:5]


def test_a_spin_in_a_select_loop_is_folded():
    with Session() as s:
        s.start("server", program("select_spin.py"))
        s.wait_until(lambda: any(e.kind == "return" and e.name == "listen"
                                 for e in s.snapshot()), 10, "listen")
        real = s.real_address("server")
        with socket.create_connection(real, timeout=5) as c:
            c.sendall(b"hi")
            assert c.recv(10) == b"HI"
        s.wait_exit("server", 20)
        events = s.sorted_events()
    server = [e for e in events if e.side == "server"]
    repeats = {e.name: e.count for e in server if e.kind == "repeat"}
    assert repeats.get("recv", 0) >= 1000 and repeats.get("epoll", 0) >= 1000, repeats
    assert len(server) < 400, len(server)  # folded, not listed


def test_the_prompt_of_input_is_output_before_the_call():
    with Session() as s:
        s.start("client", program("asks.py"))
        s.wait_input("client", 10)
        events = s.sorted_events()
        s.stop("client")
    call = next(e for e in events if e.side == "client" and e.kind == "call" and e.name == "input")
    prompt = [e for e in events if e.side == "client" and e.kind == "output"
              and e.text == "name? "]
    assert prompt and prompt[0].t <= call.t, [e for e in events if e.side == "client"]


def test_record_of_an_older_version_still_loads(tmp_path):
    from sockteach.events import host_port, load_jsonl

    path = tmp_path / "old.jsonl"
    path.write_text('{"t": 0.1, "side": "server", "kind": "call", "name": "bind", '
                    '"args": ["(\'127.0.0.1\', 8081)"], "sock": 3, '
                    '"real": "(\'127.0.0.1\', 40123)"}\n', encoding="utf-8")
    with path.open(encoding="utf-8") as f:
        (event,) = list(load_jsonl(f))
    assert host_port(event.real) == ("127.0.0.1", 40123)


def test_a_record_of_a_newer_version_is_refused_clearly(tmp_path):
    import pytest

    from sockteach.events import FormatError, load_jsonl

    path = tmp_path / "new.jsonl"
    path.write_text('{"format": "sockteach-events", "version": 99}\n', encoding="utf-8")
    with path.open(encoding="utf-8") as f, pytest.raises(FormatError):
        list(load_jsonl(f))


def test_replay_of_a_newer_record_says_so_in_both_languages(tmp_path):
    from conftest import run_cli
    from sockteach.i18n import msg

    path = tmp_path / "new.jsonl"
    path.write_text('{"format": "sockteach-events", "version": 99}\n{"t": 0, "side": "x", '
                    '"kind": "exit"}\n', encoding="utf-8")
    for lang in ("en", "zh"):
        result = run_cli("replay", str(path), "--lang", lang)
        assert result.returncode == 2, result.stdout + result.stderr
        assert msg("replay.newer", lang, path=str(path), version=99, ours=2) in result.stderr
        assert "Traceback" not in result.stderr
