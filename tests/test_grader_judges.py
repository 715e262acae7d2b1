"""The judges, in memory: every exercise fixture's recorded grading run (recorded once by
scripts/record_fixtures.py from real processes) judged again gets the verdict the fixture
table expects; a judge reads the events and nothing else (change an event, the verdict
follows); the facts understand version-2 events."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from sockteach import events, exercises, grading
from sockteach.events import Event
from sockteach.grading import facts
from sockteach.i18n import tomllib

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "exercises"
RECORDED = HERE / "fixtures" / "recorded"
NUMBERS = sorted(int(p.name[2:]) for p in RECORDED.glob("ex[0-9][0-9]"))
RECORDS = sorted(RECORDED.glob("ex[0-9][0-9]/*.jsonl"))


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def load(path: Path) -> list[Event]:
    with path.open(encoding="utf-8") as f:
        return list(events.load_jsonl(f))


def number_of(path: Path) -> int:
    return int(path.parent.name[2:])


def test_every_exercise_has_every_fixture_recorded():
    assert NUMBERS == [ex.number for ex in exercises.all_exercises()]
    for n in NUMBERS:
        fixtures = {p.stem for p in (FIXTURES / f"ex{n:02d}").glob("*.py")}
        assert {p.stem for p in (RECORDED / f"ex{n:02d}").glob("*.jsonl")} == fixtures


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_recorded_fixture_judged_again_gets_its_expected_verdict(path):
    n = number_of(path)
    with (FIXTURES / path.parent.name / "verdicts.toml").open("rb") as f:
        table = tomllib.load(f)
    result = grading.rejudge(n, load(path), lang="en", name=path.name)
    if path.stem.startswith("good_"):
        assert result.passed, str(result)
        return
    row = table[path.stem]
    assert result.failed == row["failed"], str(result)
    first = next(c for c in result.checks if not c.passed)
    assert row["says"] in first.message + "\n" + first.output, str(result)
    # the same run speaks Chinese as well, with the same verdicts
    zh = grading.rejudge(n, load(path), lang="zh")
    assert zh.failed == result.failed and zh.checks[0].title != result.checks[0].title


def test_judging_is_a_function_of_the_events_and_survives_a_round_trip():
    recorded = load(RECORDED / "ex03" / "bad_no_close.jsonl")
    buf = io.StringIO()
    events.dump_jsonl(recorded, buf)
    again = list(events.load_jsonl(io.StringIO(buf.getvalue())))
    a = grading.rejudge(3, recorded)
    b = grading.rejudge(3, again)
    assert [(c.name, c.passed, c.message, c.output) for c in a.checks] == \
        [(c.name, c.passed, c.message, c.output) for c in b.checks]
    assert a.failed == ["next_after_close"] and "CLOSE_WAIT" in a.check("next_after_close").message


def _peer_replies(recorded: list[Event]) -> list[int]:
    return [i for i, e in enumerate(recorded) if e.side.startswith("peer") and e.kind == "return"
            and e.name == "recv"]


def test_a_changed_reply_changes_the_verdict_and_the_message_shows_the_bytes():
    recorded = load(RECORDED / "ex01" / "good_tutorial.jsonl")
    assert grading.rejudge(1, recorded).passed
    i = _peer_replies(recorded)[0]
    recorded[i] = replace(recorded[i], data=b"HELLO\n".hex(), nbytes=6)
    result = grading.rejudge(1, recorded)
    assert result.failed == ["upper_reply", "several_messages"]
    assert result.check("upper_reply").message == \
        "Sent b'hello', expected b'HELLO' back, got b'HELLO\\n'."
    assert result.check("several_messages").checked is False


def test_a_reply_cut_short_by_a_close_says_so_with_repr():
    recorded = load(RECORDED / "ex01" / "good_tutorial.jsonl")
    i = _peer_replies(recorded)[1]
    recorded[i] = replace(recorded[i], data="", nbytes=0, text="eof")
    message = grading.rejudge(1, recorded).check("several_messages").message
    assert message.startswith("Message 2 on the same connection: Sent b'second message', "
                              "expected b'SECOND MESSAGE' back; instead the connection closed "
                              "(the grader's recv() returned b'')")


def test_a_watchdog_stop_fails_the_check_it_happened_in():
    recorded = load(RECORDED / "ex01" / "good_tutorial.jsonl")
    at = next(i for i, e in enumerate(recorded) if e.kind == "mark" and e.title == "accepts")
    server = next(e for e in recorded if e.kind == "mark" and e.name == "start")
    stop = Event(recorded[at].t, "server", "watchdog", name="fork", count=2, pid=server.pid)
    result = grading.rejudge(1, recorded[:at] + [stop] + recorded[at:])
    assert result.failed == ["accepts", "upper_reply", "several_messages"]
    assert result.check("accepts").message.startswith("It started other processes (2); ")
    assert result.check("listens").passed


def test_a_recording_of_another_exercise_is_refused():
    recorded = load(RECORDED / "ex01" / "good_tutorial.jsonl")
    with pytest.raises(grading.OtherExercise):
        grading.rejudge(3, recorded)


def test_facts_read_version_2_events():
    listen = Event(1.0, "server", "return", name="listen", sock=3, pid=7,
                   real=("127.0.0.1", 40123), local=("127.0.0.1", 8081))
    assert facts.listen_address([listen]) == ("127.0.0.1", 40123)
    v1 = replace(listen, real="('127.0.0.1', 40123)")
    assert facts.listen_address([v1]) == ("127.0.0.1", 40123)
    empty = Event(2.0, "server", "return", name="recv", sock=4, pid=7, nbytes=0, data="")
    got = Event(2.0, "server", "return", name="recv", sock=4, pid=7, nbytes=3,
                data=b"a\n\x00".hex())
    assert facts.empty_return(empty) and not facts.empty_return(got)
    assert facts.received_text(got) == repr(b"a\n\x00")
    spins = [replace(empty, t=2.0 + i / 10) for i in range(5)]
    assert facts.spin_count(spins, since=0.0) == 5
    call = Event(3.0, "client", "call", name="send", sock=4, pid=8, nbytes=0, data="")
    assert facts.empty_sends([call], 0.0) == [call]


def test_what_it_is_doing_comes_from_the_last_sample():
    start = 0.0
    evs = [Event(0.5, "server", "call", name="accept", args=(), sock=3, pid=7),
           Event(1.0, "server", "resource", seconds=0.01, count=10 << 20, text="running", pid=7)]
    assert facts.doing(evs, "en", start) == "it waits in accept()"
    busy = [Event(1.0, "server", "resource", seconds=0.9, count=10 << 20, text="running",
                  pid=7)]
    assert facts.doing(busy, "en", start).startswith("it keeps the CPU busy (0.9 s of CPU)")
    ended = [Event(1.0, "server", "exit", code=1, pid=7),
             Event(0.9, "server", "output", text="Traceback (most recent call last):\n"
                                                 "ValueError: boom\n", pid=7)]
    assert "ValueError: boom" in facts.doing(ended, "en", start)


def test_judging_touches_no_socket_process_or_kernel_table(monkeypatch):
    import os
    import socket
    import subprocess

    import psutil

    from sockteach import kernel

    def refuse(*args, **kwargs):
        raise AssertionError("a judge must read the events only")

    for target, name in ((socket, "socket"), (socket, "create_connection"),
                         (subprocess, "Popen"), (os, "fork"), (psutil, "Process"),
                         (kernel, "read_rows"), (kernel, "connections")):
        monkeypatch.setattr(target, name, refuse)
    for path in RECORDS:
        result = grading.rejudge(number_of(path), load(path), lang="en")
        assert result.checks
