"""The timeline: ordering, per-side state, diagram rows, narration, caps (all in memory)."""

from __future__ import annotations

from sockteach.events import Event
from sockteach.model import Timeline


def E(t: float, side: str, kind: str, **fields: object) -> Event:
    if "args" in fields:
        fields["args"] = tuple(fields["args"])  # type: ignore[arg-type]
    return Event(t=t, side=side, kind=kind, **fields)  # type: ignore[arg-type]


def rows(tl: Timeline) -> list[tuple[str, str, str]]:
    return [(r.side, r.kind, r.text) for r in tl.rows]


def test_late_events_take_their_place_by_time() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "call", name="accept", args=[]))
    tl.apply(E(3.0, "server", "call", name="recv", args=["1024"]))
    tl.apply(E(2.0, "server", "return", name="accept",
               result="(<socket fd=4>, ('127.0.0.1', 51234))"))  # arrives late
    assert [e.t for e in tl.events] == [1.0, 2.0, 3.0]
    assert rows(tl) == [
        ("server", "call", "accept()"),
        ("server", "return", "accept() → fd 4 from 127.0.0.1:51234"),
        ("server", "call", "recv(1024)"),
    ]
    # replayed in order: accept finished, recv is what the server waits in
    assert tl.sides["server"].pending.name == "recv"
    assert [line.text for line in tl.narration][1].startswith("server: accept() returned")


def test_out_of_order_across_sides_is_sorted() -> None:
    events = [E(0.5, "client", "call", name="connect", args=["('127.0.0.1', 8081)"]),
              E(0.1, "server", "call", name="listen", args=["5"]),
              E(0.3, "server", "call", name="accept", args=[])]
    tl = Timeline.from_events(events)
    assert [r.text for r in tl.rows] == ["listen(5)", "accept()", "connect(('127.0.0.1', 8081))"]
    assert tl.side_order == ["server", "client"]  # order of appearance, by time


def test_late_event_older_than_the_event_window_is_still_kept() -> None:
    tl = Timeline(max_events=5)
    for i in range(10):
        tl.apply(E(float(i + 1), "server", "call", name="recv", args=["1024"]))
        tl.apply(E(i + 1.5, "server", "return", name="recv", result=f"b'{i}'"))
    tl.apply(E(0.5, "server", "call", name="listen", args=["5"]))
    assert len(tl.events) == 5
    assert len(tl.rows) == 21
    assert tl.rows[-1].text == "recv() → b'9'"


def test_repeat_counter_climbs_on_one_row() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "call", name="recv", args=["1024"]))
    tl.apply(E(1.1, "server", "return", name="recv", result="b''"))
    tl.apply(E(1.2, "server", "repeat", name="recv", result="b''", count=1200))
    tl.apply(E(1.3, "server", "output", text="server===>\nb''\n"))
    tl.apply(E(1.4, "server", "repeat", name="recv", result="b''", count=85000))
    tl.apply(E(1.5, "server", "repeat", name="recv", result="b''", count=412000))
    spins = [r for r in tl.rows if r.kind == "repeat"]
    assert len(spins) == 1
    assert spins[0].count == 412000
    assert spins[0].text == "recv() → b'' ×412,000"
    assert tl.sides["server"].repeats[("recv", "b''")] == 412000
    spin_lines = [line.text for line in tl.narration if line.kind == "repeat"]
    assert spin_lines == [
        "server: recv() returned b'' 412,000 times — the loop never checks for it (spinning)"]


def test_repeat_after_a_restart_is_a_new_row() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "repeat", name="recv", result="b''", count=10))
    tl.apply(E(2.0, "server", "exit", code=-9))
    tl.apply(E(3.0, "server", "repeat", name="recv", result="b''", count=5))
    assert [r.count for r in tl.rows if r.kind == "repeat"] == [10, 5]
    assert ("server", "start", "started again (a new process)") in rows(tl)
    assert tl.sides["server"].runs == 2 and tl.sides["server"].alive


def test_blocked_timer_text() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "call", name="recv", args=["1024"]))
    assert tl.status("server", now=3.4) == "blocked in recv() 2.4 s"
    assert tl.status("server", now=1.1) == "running"  # too young to call it blocked
    zh = Timeline.from_events(tl.events, lang="zh")
    assert zh.status("server", now=3.4) == "阻塞在 recv() 2.4 秒"
    tl.apply(E(3.5, "server", "return", name="recv", result="b'hi'"))
    assert tl.status("server", now=9.0) == "running"
    assert tl.status("nobody", now=9.0) == ""


def test_blocked_event_without_its_call_starts_the_timer_from_seconds() -> None:
    tl = Timeline()
    tl.apply(E(5.0, "server", "blocked", name="accept", seconds=1.0))
    assert tl.status("server", now=6.5) == "blocked in accept() 2.5 s"
    assert tl.narration[-1].text == "server: blocked in accept(): no client has connected yet"


def test_nested_call_shows_the_outer_one() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "call", name="accept", args=[]))
    tl.apply(E(1.0, "server", "call", name="_accept", args=[]))
    assert tl.status("server", now=2.0) == "blocked in accept() 1.0 s"
    assert rows(tl) == [("server", "call", "accept()")]


def test_forked_processes_of_one_side_keep_their_own_calls() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "call", name="accept", args=[], pid=10))
    tl.apply(E(2.0, "server", "call", name="recv", args=["1024"], pid=11))
    tl.apply(E(2.5, "server", "return", name="recv", result="b'x'", pid=11))
    assert tl.status("server", now=3.0) == "blocked in accept() 2.0 s"
    assert tl.sides["server"].runs == 1


def test_waiting_for_input() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "client", "call", name="input", args=["'>>: '"]))
    assert tl.sides["client"].waiting_input
    assert tl.status("client", now=9.0) == "waiting for input"
    assert Timeline.from_events(tl.events, lang="zh").status("client", 9.0) == "等待输入"
    tl.apply(E(2.0, "client", "input", text="hello"))
    tl.apply(E(2.1, "client", "return", name="input", result="'hello'"))
    assert not tl.sides["client"].waiting_input
    assert ("client", "input", "typed 'hello'") in rows(tl)


def test_bytes_that_crossed_are_wire_rows() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "client", "call", name="send", args=["b'hello'"]))
    tl.apply(E(1.1, "client", "return", name="send", result="5"))
    tl.apply(E(1.2, "server", "call", name="sendall", args=["b'HELLO'"]))
    tl.apply(E(1.3, "server", "return", name="sendall", result="None"))
    tl.apply(E(1.4, "client2", "call", name="send", args=["b'abcdef'"]))
    tl.apply(E(1.5, "client2", "return", name="send", result="3"))  # a partial send
    wires = [(r.side, r.text, r.direction) for r in tl.rows if r.kind == "wire"]
    assert wires == [("client", "b'hello'", "left"), ("server", "b'HELLO'", "right"),
                     ("client2", "b'abc'", "left")]
    assert ("client", "return", "send() → 5") in rows(tl)


def test_empty_send_crosses_nothing() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "client", "call", name="send", args=["b''"]))
    tl.apply(E(1.1, "client", "return", name="send", result="0"))
    tl.apply(E(1.2, "client", "call", name="sendall", args=["b''"]))
    tl.apply(E(1.3, "client", "return", name="sendall", result="None"))
    nothing = [r for r in tl.rows if r.kind in ("wire", "nowire")]
    assert [(r.kind, r.text, r.direction) for r in nothing] == [
        ("nowire", "b'' — nothing crosses", "left"), ("nowire", "b'' — nothing crosses", "left")]
    zh = Timeline.from_events(tl.events, lang="zh")
    assert [r.text for r in zh.rows if r.kind == "nowire"] == ["b''——线路上没有任何数据"] * 2


def test_long_send_cut_by_the_tracer_says_how_much_went() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "client", "call", name="send", args=["b'" + "a" * 300 + "'…(4194304 bytes)"]))
    tl.apply(E(1.1, "client", "return", name="send", result="32741"))
    wire = [r.text for r in tl.rows if r.kind == "wire"]
    assert wire == ["b'aaaaaaaaaaaa…(4194304 bytes) (32,741 bytes)"]


def test_exit_state() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "call", name="recv", args=["1024"]))
    tl.apply(E(2.0, "server", "raise", name="recv", error="ConnectionResetError", errno=104,
               message="[Errno 104] Connection reset by peer"))
    tl.apply(E(2.1, "server", "exit", code=1))
    tl.apply(E(2.2, "client", "exit", code=-9))
    server = tl.sides["server"]
    assert not server.alive and server.code == 1 and server.pending is None
    assert tl.status("server", now=5.0) == "exited (code 1)"
    assert tl.status("client", now=5.0) == "killed by SIGKILL"
    assert rows(tl)[1:] == [
        ("server", "raise", "recv() ✗ ConnectionResetError: [Errno 104] Connection reset by peer"),
        ("server", "exit", "exited (code 1)"),
        ("client", "exit", "killed by SIGKILL"),
    ]
    zh = Timeline.from_events(tl.events, lang="zh")
    assert zh.status("server", 5.0) == "已退出（退出码 1）"
    assert zh.status("client", 5.0) == "被 SIGKILL 终止"


def test_output_after_exit_is_not_a_restart() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "client", "exit", code=1))
    tl.apply(E(1.1, "client", "output", text="Traceback...\n"))
    assert not tl.sides["client"].alive and tl.sides["client"].runs == 1


def test_output_rows_merge_and_fold() -> None:
    tl = Timeline()
    tl.apply(E(1.0, "server", "output", text="server===>\nb'hi'\n"))
    tl.apply(E(1.1, "server", "output", text="a\nb\nc\n"))
    tl.apply(E(1.2, "client", "output", text=">>: "))
    out = [r for r in tl.rows if r.kind == "output"]
    assert [(r.side, r.text, r.count) for r in out] == [
        ("server", "b'hi'\na\nb\nc\n", 1), ("client", ">>: ", 0)]
    assert tl.sides["server"].output == ["server===>", "b'hi'", "a", "b", "c"]
    assert all(line.kind != "output" for line in tl.narration)


def test_tcp_states_and_the_cannot_read_note() -> None:
    tl = Timeline()
    assert tl.tcp_states is None and tl.tcp_note is None
    listen = (("127.0.0.1:8081", "0.0.0.0:0", "LISTEN"),)
    tl.apply(E(1.0, "kernel", "tcp", states=listen))
    tl.apply(E(1.5, "kernel", "tcp", states=listen))  # unchanged: no second line
    assert tl.tcp_states == listen
    assert [line.text for line in tl.narration] == ["kernel's TCP table: 127.0.0.1:8081 LISTEN"]
    tl.apply(E(2.0, "kernel", "tcp", states=()))
    assert tl.tcp_states == ()
    tl.apply(E(3.0, "kernel", "tcp", text="only Linux"))
    assert tl.tcp_states is None and tl.tcp_note == "only Linux"
    assert "kernel" not in tl.sides


def test_step_title_is_current_and_a_row() -> None:
    tl = Timeline()
    tl.apply(E(0.0, "lesson", "step", title="The server waits", text="It waits."))
    tl.apply(E(1.0, "lesson", "step", title="The client sends", text="It sends."))
    assert tl.step_title == "The client sends" and tl.step_text == "It sends."
    assert [r.text for r in tl.rows if r.kind == "step"] == ["The server waits", "The client sends"]
    assert tl.narration[-1].text == "The client sends: It sends."
    assert tl.narration[-1].side is None
    assert tl.side_order == []


def test_memory_is_bounded() -> None:
    tl = Timeline(max_rows=500, max_lines=200, max_events=2000)
    for i in range(3000):
        tl.apply(E(float(i), "server", "call", name="recv", args=["1024"]))
    assert len(tl.rows) == 500
    assert tl.dropped_rows == 2500
    assert tl.rows[-1].t == 2999.0
    assert len(tl.narration) == 200
    assert len(tl.events) == 2000


def test_spin_row_dropped_by_the_cap_does_not_break_the_counter() -> None:
    tl = Timeline(max_rows=3)
    tl.apply(E(0.0, "server", "repeat", name="recv", result="b''", count=1))
    for i in range(5):
        tl.apply(E(1.0 + i, "client", "call", name="recv", args=["1024"]))
    tl.apply(E(9.0, "server", "repeat", name="recv", result="b''", count=99))
    assert tl.rows[-1].kind == "repeat" and tl.rows[-1].count == 99


# ---------------------------------------------------------------- true order (version 2)

V2 = dict(family="AF_INET", socktype="SOCK_STREAM")


def exchange() -> list[Event]:
    """An echo exchange in true ``t`` order: the server's recv returns (1.05) before the
    client's send returns (1.1) — the send's return is stamped after the bytes arrived."""
    return [
        E(0.9, "server", "call", name="recv", args=["1024"], sock=4, size=1024, **V2),
        E(1.0, "client", "call", name="send", args=["b'hello'"], sock=3, data=b"hello".hex(),
          **V2),
        E(1.05, "server", "return", name="recv", sock=4, nbytes=5, data=b"hello".hex(),
          result="b'hello'", **V2),
        E(1.07, "server", "output", text="got b'hello'\n", stream="stdout"),
        E(1.1, "client", "return", name="send", sock=3, nbytes=5, result="5", **V2),
    ]


def test_the_wire_row_follows_the_send_call_before_the_receivers_return() -> None:
    expected = [
        ("server", "call", "recv(1024)"),
        ("client", "call", "send(b'hello')"),
        ("client", "wire", "b'hello'"),
        ("server", "return", "recv() → b'hello'"),
        ("server", "output", "got b'hello'\n"),
        ("client", "return", "send() → 5"),
    ]
    assert rows(Timeline.from_events(exchange())) == expected
    # arriving in another order (the channels of two processes) changes nothing
    assert rows(Timeline.from_events(exchange()[::-1])) == expected


def test_a_partial_send_corrects_its_wire_row_in_place() -> None:
    events = [E(1.0, "client", "call", name="send", args=["b'abcdef'"], sock=3,
                data=b"abcdef".hex(), **V2),
              E(1.05, "server", "return", name="recv", sock=4, nbytes=3, data=b"abc".hex(),
                result="b'abc'", **V2),
              E(1.1, "client", "return", name="send", sock=3, nbytes=3, result="3", **V2)]
    assert rows(Timeline.from_events(events))[:3] == [
        ("client", "call", "send(b'abcdef')"), ("client", "wire", "b'abc'"),
        ("server", "return", "recv() → b'abc'")]


def test_a_send_that_raised_crossed_nothing() -> None:
    events = [E(1.0, "client", "call", name="send", args=["b'x'"], sock=3, data="78", **V2),
              E(1.1, "client", "raise", name="send", sock=3, error="BrokenPipeError", errno=32,
                errname="EPIPE", message="[Errno 32] Broken pipe", **V2)]
    assert [r.kind for r in Timeline.from_events(events).rows] == ["call", "raise"]


def test_a_long_send_beyond_the_preview_says_how_much_went() -> None:
    preview = b"a" * 256
    offered = "b'" + "a" * 300 + "'…(4194304 bytes)"
    events = [E(1.0, "client", "call", name="sendall", args=[offered], sock=3,
                data=preview.hex(), **V2),
              E(2.0, "client", "return", name="sendall", sock=3, nbytes=4194304, result="None",
                **V2)]
    wire = [r.text for r in Timeline.from_events(events).rows if r.kind == "wire"]
    assert wire == ["b'aaaaaaaaaaaa…(4194304 bytes) (4,194,304 bytes)"]
