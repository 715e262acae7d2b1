"""Lessons 5–8 (send/sendall, the byte stream, UDP, timeouts), played for real by the CLI,
show what they must; their exercises' fixtures get the verdicts their tables list.

The starters failing and the solutions passing is checked for every exercise of the course by
``test_grader_course.py``; the course data by ``test_course.py``.
"""

from __future__ import annotations

import ast
import re
import sys

import pytest

from sockteach import exercises, grading
from test_grader_fixtures import files
from test_lessons_e2e import assert_clean, of, play

NUMBERS = [5, 6, 7, 8]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def nbytes(result: str | None) -> int:
    """How many bytes a bytes repr from the trace stands for (long ones end in "…(N bytes)")."""
    m = re.search(r"…\((\d+) bytes\)$", result or "")
    if m:
        return int(m.group(1))
    value = ast.literal_eval(result)
    return len(value)


def datagram(result: str) -> tuple[bytes, tuple]:
    data, addr = ast.literal_eval(result)
    return data, addr


# ---------------------------------------------------------------- the lessons, played


def test_lesson5_send_takes_part_sendall_takes_all(tmp_path):
    _, events = play(5, tmp_path)
    client = of(events, side="client")
    assert [e.result for e in of(client, "client", "return", "getsockopt")] == ["8192"]
    send_call = next(e for e in of(client, kind="call", name="send"))
    assert send_call.args[0].endswith("(1000000 bytes)")
    taken = int(next(e for e in of(client, kind="return", name="send")).result)
    assert 0 < taken < 1_000_000, taken  # a partial send, at once
    server = of(events, side="server")
    first_exit = next(e for e in of(events, "client", "exit"))
    second_start = next(e for e in of(events, "client2", "call"))
    received = [e for e in of(server, kind="return", name="recv") if first_exit.t < e.t
                and e.t < second_start.t]
    assert received[-1].result == "b''"
    assert sum(nbytes(e.result) for e in received) == taken  # exactly what send() took
    # sendall: blocked while the server does not read, then every byte arrived
    assert of(events, "client2", "blocked", "sendall")
    assert [e.result for e in of(events, "client2", "return", "sendall")] == ["None"]
    later = [e for e in of(server, kind="return", name="recv") if e.t > second_start.t]
    assert later[-1].result == "b''"
    assert sum(nbytes(e.result) for e in later) == 1_000_000
    printed = "".join(e.text or "" for e in of(server, kind="output"))
    assert f"received in all: {taken} bytes" in printed
    assert "received in all: 1000000 bytes" in printed
    assert_clean(events)


def test_lesson6_two_sends_one_recv_and_the_framed_fix(tmp_path):
    _, events = play(6, tmp_path)
    sends = [e.result for e in of(events, "client", "return", "send")]
    assert sends == ["5", "5", "2000"]
    recvs = [e.result for e in of(events, "server", "return", "recv")]
    assert recvs[0] == "b'helloworld'"  # two sends, one recv
    assert [nbytes(r) for r in recvs[1:3]] == [1024, 976]  # one send, two recvs
    # the framed server: 4-byte prefix, then exactly the message, each message whole
    framed = recvs[recvs.index("b''") + 1:]
    assert framed[:4] == ["b'\\x00\\x00\\x00\\x05'", "b'hello'",
                          "b'\\x00\\x00\\x00\\x05'", "b'world'"]
    assert framed[4] == "b'\\x00\\x00\\x07\\xd0'" and [nbytes(r) for r in framed[5:7]] == [1024, 976]
    assert of(events, "client", "call", "setsockopt")[0].args[:2] == ("IPPROTO_TCP", "TCP_NODELAY")
    printed = "".join(e.text or "" for e in of(events, "server", "output"))
    assert "one message, 5 bytes: b'hello'" in printed and "2000 bytes" in printed
    assert_clean(events)


def test_lesson7_udp_datagrams_keep_boundaries_and_empty_ones_arrive(tmp_path):
    result, events = play(7, tmp_path)
    assert not [e for e in events if e.kind == "call" and e.name in ("listen", "accept", "connect")]
    assert [e.result for e in of(events, "client", "return", "sendto")] == ["5", "5", "0"]
    marks = of(events, "lesson", "step")
    burst = next(m for m in marks if m.title == "A burst nobody reads")
    echo = [e for e in events if e.t < burst.t]
    got = [datagram(e.result)[0] for e in of(echo, "server", "return", "recvfrom")]
    assert got == [b"hello", b"world", b"", b"hello", b""]  # one datagram per recvfrom
    answers = [datagram(e.result) for e in of(events, "client", "return", "recvfrom")]
    assert answers == [(b"HELLO", ("127.0.0.1", 8081)), (b"WORLD", ("127.0.0.1", 8081)),
                       (b"", ("127.0.0.1", 8081))]
    # the tutorial's client over UDP: an empty line is sent, answered, and the client asks again
    assert [e.result for e in of(events, "client2", "return", "sendto")] == ["5", "0"]
    last = of(events, "client2", "return", "recvfrom")[-1]
    assert datagram(last.result)[0] == b""
    assert any(e.kind == "call" and e.name == "input" and e.t > last.t
               for e in of(events, "client2"))
    assert "empty datagram" in result.stdout
    assert_clean(events)


def test_lesson7_a_burst_to_a_server_that_does_not_read_loses_datagrams(tmp_path):
    result, events = play(7, tmp_path)
    marks = of(events, "lesson", "step")
    burst = next(m for m in marks if m.title == "A burst nobody reads")
    told = next(m for m in marks if m.title == "Dropped without a word")
    sent = of(events, "client3", "return", "sendto")
    assert len(sent) == len(of(events, "client3", "call", "sendto")) > 1
    assert {e.result for e in sent} == {"100"}  # every one taken by the kernel, no error
    server = [e for e in events if e.side == "server" and e.t > burst.t]
    assert [e.result for e in of(server, "server", "return", "getsockopt")][-1] == "8192"
    arrived = of(server, "server", "return", "recvfrom")
    assert 0 < len(arrived) < len(sent)  # loopback, and still datagrams were lost
    # the first ones arrived, in order; the rest was dropped when the receive buffer was full
    numbers = [int(datagram(e.result)[0].split(b" ")[0]) for e in arrived]
    assert numbers == list(range(len(arrived)))
    # the server stopped on an empty queue, after the client had finished
    empty = of(events, "server", "raise", "recvfrom")[-1]
    assert empty.error == "BlockingIOError" and empty.t > of(events, "client3", "exit")[0].t
    # what the server printed and what the narration says are the counts of the events
    printed = "".join(e.text or "" for e in of(events, "server", "output"))
    assert re.search(rf"arrived: {len(arrived)} datagrams; the last one was number "
                     rf"{len(arrived) - 1}\b", printed), printed
    assert told.text.startswith(f"{len(arrived)} of {len(sent)} datagrams arrived"), told.text
    assert told.t > empty.t
    assert_clean(events)


def test_lesson8_timeouts_nonblocking_and_connect_ex(tmp_path):
    _, events = play(8, tmp_path)
    server = of(events, side="server")
    assert of(server, kind="call", name="settimeout")[0].args == ("0.5",)
    accept_raised = of(server, kind="raise", name="accept")
    assert accept_raised and accept_raised[0].error == "TimeoutError"
    assert [e.result for e in of(events, "client", "return", "connect_ex")] == ["111", "0"]
    blocking = of(events, "client", "raise", "recv")
    assert [(e.error, e.errno) for e in blocking] == [("BlockingIOError", 11)]
    assert [e.args for e in of(events, "client", "call", "setblocking")] == [("False",), ("True",)]
    idle = [e for e in of(server, kind="raise", name="recv")]
    assert [e.error for e in idle] == ["TimeoutError"]
    assert of(server, kind="call", name="settimeout")[1].args == ("1",)
    assert of(events, "client", "return", "recv")[-1].result == "b''"  # dropped
    printed = "".join(e.text or "" for e in of(server, kind="output"))
    assert "timeout: 0.5" in printed  # gettimeout()
    assert_clean(events)


def test_a_lesson_in_chinese_uses_its_own_narration(tmp_path):
    result, events = play(7, tmp_path, "--lang", "zh")
    assert "空数据报" in result.stdout and "UDP 没有连接" in result.stdout
    assert_clean(events)


# ---------------------------------------------------------------- the exercises' fixtures


def test_the_exercises_are_in_the_course_checks():
    have = {e.number for e in exercises.all_exercises()}
    assert set(NUMBERS) <= have  # so test_grader_course grades their starters and solutions


@pytest.mark.skipif(sys.platform != "linux", reason="grader texts checked on Linux")
def test_a_udp_verdict_in_chinese():
    ex = exercises.get(7)
    result = grading.grade_one(ex, files(7)[0].parent / "bad_skips_empty.py", "zh")
    assert result.failed == ["empty_datagram"], str(result)
    assert "空数据报被跳过了" in result.check("empty_datagram").message
