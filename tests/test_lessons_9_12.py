"""Lessons 9–12 (AF_UNIX, sockets as files, many clients, connection states), played for real
by the CLI, show what they must; their exercises judge known-good and known-broken programs.

The four lessons play at once (separate processes, as the CLI runs them) to keep this quick;
every assertion reads the ``--record`` events of one lesson.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import our_processes
from sockteach import exercises, grading
from sockteach.events import Event, load_jsonl

LINUX = sys.platform.startswith("linux") and Path("/proc/net/tcp").exists()
FIXTURES = Path(__file__).parent / "fixtures" / "exercises"
NUMBERS = [9, 10, 11, 12]


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> dict[int, list[Event]]:
    """Lessons 9–12, each played once with --auto --fast --record, all four at the same time."""
    folder = tmp_path_factory.mktemp("lessons")
    procs = {}
    for n in NUMBERS:
        record = folder / f"lesson{n}.jsonl"
        procs[n] = (record, subprocess.Popen(
            [sys.executable, "-m", "sockteach", "lesson", str(n), "--auto", "--fast",
             "--record", str(record)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    events = {}
    failures = []
    try:
        for n, (record, proc) in procs.items():
            out, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                failures.append(f"lesson {n} exited {proc.returncode}:\n{out[-3000:]}\n{err}")
                continue
            with record.open(encoding="utf-8") as f:
                events[n] = list(load_jsonl(f))
    finally:
        for _, proc in procs.values():
            proc.kill()
    assert not failures, "\n\n".join(failures)
    left = our_processes()
    assert not left, [" ".join(q.info["cmdline"] or []) for q in left]
    return events


def of(events, side=None, kind=None, name=None):
    """The events of ``side`` (None: any side) of that kind and name."""
    return [e for e in events if (side is None or e.side == side)
            and (kind is None or e.kind == kind) and (name is None or e.name == name)]


def ev(events, kind, name):
    """Of a list already narrowed to one side: the events of that kind and name."""
    return of(events, None, kind, name)


def steps(events) -> list[Event]:
    return of(events, "lesson", "step")


def between(events, first: Event, last: Event | None = None) -> list[Event]:
    return [e for e in events if e.t >= first.t and (last is None or e.t < last.t)]


def states(events) -> set[str]:
    return {s[2] for e in of(events, kind="tcp") for s in (e.states or ())}


# ---------------------------------------------------------------- lesson 9: AF_UNIX


def test_lesson9_af_unix_echo_socket_file_left_behind_and_unlink(played):
    events = played[9]
    server, client = of(events, "server"), of(events, "client")
    binds = ev(server, "call", "bind")
    assert binds and all(e.args == ("'echo.sock'",) for e in binds)  # a path, not a tuple
    assert {e.args for e in ev(client, "call", "connect")} == {("'echo.sock'",)}
    assert not any(e.real for e in binds)  # no port to map: AF_UNIX
    assert ev(client, "return", "recv")[0].result == "b'HELLO'"
    accepted = ev(server, "return", "accept")[0].result
    assert accepted.endswith(", '')")  # an unnamed AF_UNIX client: address ''
    # the stale file: connect_ex says 111 (nobody listens), bind says errno 98
    assert [e.result for e in of(events, "client2", "return", "connect_ex")] == ["111"]
    assert "True" in "".join(e.text or "" for e in of(events, "client2", "output"))
    failed = ev(server, "raise", "bind")
    assert [(e.error, e.errno) for e in failed] == [("OSError", 98)]
    # server_fixed.py unlinks first: bind succeeds, twice (the second time right after Ctrl-C)
    assert len([e for e in ev(server, "return", "bind") if e.t > failed[0].t]) == 2
    assert len(ev(client, "return", "recv")) == 2
    if LINUX:  # no TCP at all: the kernel's TCP table never shows a row
        assert of(events, kind="tcp") and states(events) == set()
    assert not our_processes()


# ---------------------------------------------------------------- lesson 10: makefile & co


def test_lesson10_asks_the_socket_and_reads_lines_with_makefile(played):
    events = played[10]
    server = of(events, "server")
    opts = [(e.args, r.result) for e, r in zip(ev(server, "call", "getsockopt"),
                                              ev(server, "return", "getsockopt"))]
    assert opts[0] == (("SOL_SOCKET", "SO_REUSEADDR"), "1")
    assert any(e.args == ("SOL_SOCKET", "SO_RCVBUF", "4096") for e in ev(server, "call", "setsockopt"))
    if LINUX:  # the kernel doubles the buffer size asked for
        assert opts[-1] == (("SOL_SOCKET", "SO_RCVBUF"), "8192")
    assert ev(server, "return", "gettimeout")[0].result == "None"
    assert ev(server, "return", "fileno")[0].result.isdigit()
    assert ev(server, "call", "makefile")[0].args == ("'rwb'",)
    # one connection, two names
    assert of(events, "client", "return", "getsockname")[0].result == \
        ev(server, "return", "getpeername")[0].result
    assert ev(server, "return", "getsockname")[0].result == "('127.0.0.1', 8081)"
    # two and a half lines in one send: two answers, a wait in recv_into, then the third
    sent = [e.args[0] for e in ev(server, "call", "send")]
    assert sent == ["b'HELLO\\n'", "b'ONE\\n'", "b'TWO\\n'", "b'THREE\\n'"]
    two = [e for e in ev(server, "call", "send") if e.args == ("b'TWO\\n'",)][0]
    three = [e for e in ev(server, "call", "send") if e.args == ("b'THREE\\n'",)][0]
    assert any(e.kind == "blocked" and e.name == "recv_into" and two.t < e.t < three.t
               for e in server)
    assert "b'THREE\\n'" in "".join(e.text or "" for e in of(events, "client2", "output"))
    assert not our_processes()


# ---------------------------------------------------------------- lesson 11: many clients


def test_lesson11_one_at_a_time_then_threads_and_selectors_serve_both(played):
    events = played[11]
    marks = steps(events)
    assert len(marks) == 6
    # lesson 3's server: B connects and sends, but gets no answer while A stays
    waiting = between(events, marks[1], marks[2])
    assert of(waiting, "client2", "return", "connect")
    assert of(waiting, "client2", "blocked", "recv")
    assert not of(waiting, "client2", "return", "recv")
    for first, last in ((marks[2], marks[4]), (marks[4], None)):  # threads, then selectors
        part = between(events, first, last)
        hi = [e for e in of(part, "client2", "return", "recv") if e.result == "b'HI'"]
        again = [e for e in of(part, "client", "return", "recv") if e.result == "b'AGAIN'"]
        assert hi and again and hi[0].t < again[0].t  # B served while A was connected
        assert not [e for e in of(part, "client", "exit") if hi[0].t < e.t < again[0].t]
    selectors = between(events, marks[4])
    nonblocking = of(selectors, "server", "call", "setblocking")[0]
    assert nonblocking.args == ("False",)
    # the selectors server's own events (the threaded server before it may still be judged
    # blocked in its threads' recv() a moment after this step began: that is true of it)
    selectors = [e for e in selectors if e.pid == nonblocking.pid]
    assert of(selectors, "server", "return", "fileno")
    assert not of(selectors, "server", "blocked", "recv")  # select() waits, recv never does
    assert not our_processes()


# ---------------------------------------------------------------- lesson 12: states


@pytest.mark.skipif(not LINUX, reason="the kernel's TCP table is read from /proc/net/tcp")
def test_lesson12_kernel_states_close_wait_time_wait_and_a_full_backlog(played):
    events = played[12]
    marks = steps(events)
    assert {"LISTEN", "ESTABLISHED", "FIN_WAIT2", "CLOSE_WAIT", "TIME_WAIT",
            "SYN_SENT"} <= states(events)
    rows = [s for e in of(events, kind="tcp") for s in (e.states or ())]
    # the forgotten close(): the server's end in CLOSE_WAIT, the client's in FIN_WAIT2
    assert any(s[2] == "CLOSE_WAIT" and s[0].endswith(":8081") for s in rows)
    assert any(s[2] == "FIN_WAIT2" and s[1].endswith(":8081") for s in rows)
    # with conn.close(): no CLOSE_WAIT, TIME_WAIT on the client's end
    fixed = between(events, marks[4], marks[5])
    assert of(fixed, "server", "call", "close")
    fixed_rows = [s for e in of(fixed, kind="tcp") for s in (e.states or ())]
    assert not [s for s in fixed_rows if s[2] == "CLOSE_WAIT"]
    assert any(s[2] == "TIME_WAIT" and s[1].endswith(":8081") for s in fixed_rows)
    # listen(1): two clients connect before any accept(); the third waits in SYN_SENT
    backlog = between(events, marks[5])
    assert of(backlog, "server", "call", "listen")[0].args == ("1",)
    first_accept = of(backlog, "server", "return", "accept")[0]
    for side in ("client", "client2"):
        assert of(backlog, side, "return", "connect")[0].t < first_accept.t
    assert of(backlog, "client3", "blocked", "connect")
    assert of(backlog, "client3", "return", "connect")[0].t > first_accept.t
    assert any(s[2] == "SYN_SENT" for e in of(backlog, kind="tcp") for s in (e.states or ()))
    # the narration gives client 3's real wait for its SYN retry, measured from its events
    knock = of(backlog, "client3", "call", "connect")[0]
    got_in = of(backlog, "client3", "return", "connect")[0]
    said = re.search(r"connect\(\) returned (\d+\.\d) s after it began", marks[-1].text)
    assert said, marks[-1].text
    assert abs(float(said.group(1)) - (got_in.t - knock.t)) <= 0.051
    assert got_in.t - knock.t > 0.9  # not before the kernel's first SYN retry (1 s)
    assert not our_processes()


# ---------------------------------------------------------------- the exercises


@pytest.fixture
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def test_af_unix_grading_in_chinese_names_the_stale_file(_home):
    result = grading.grade_one(exercises.get(9), FIXTURES / "ex09" / "bad_no_unlink.py", "zh")
    assert result.failed == ["restart"], str(result)
    message = result.check("restart").message
    assert "套接字文件 'echo.sock' 还留在磁盘上" in message and "Address already in use" in message


def test_every_judge_text_is_in_both_languages():
    from sockteach.grading.texts import catalog

    en, zh = catalog("en"), catalog("zh")
    judged = {k for k in en if k.startswith("judge.")}
    assert {k.split(".")[1] for k in judged} >= {"unix_server", "line_server", "concurrent",
                                                 "closing", "servers", "udp_server"}
    assert judged == {k for k in zh if k.startswith("judge.")}
    for key in judged:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh[key]), key
