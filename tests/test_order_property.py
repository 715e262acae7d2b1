"""True order as a property: no effect before its cause, in every lesson's recorded run (English
and Chinese) and over random message sequences between two traced processes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causality import byte_violations, output_violations, step_violations
from conftest import program, run_cli
from sockteach import lessons
from sockteach.events import load_jsonl
from sockteach.session import Session

LESSONS = [lesson.number for lesson in lessons.course()]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("number", LESSONS)
def test_a_lesson_record_has_no_effect_before_its_cause(number, lang, tmp_path):
    record = tmp_path / "run.jsonl"
    result = run_cli("lesson", str(number), "--auto", "--fast", "--lang", lang,
                     "--record", str(record), timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with record.open(encoding="utf-8") as f:
        events = list(load_jsonl(f))
    assert events == sorted(events, key=lambda e: e.t)
    assert not byte_violations(events)
    assert not output_violations(events)
    assert not step_violations(events)
    exchanged = [e for e in events if e.kind == "return" and e.name in ("recv", "recvfrom", "recv_into")
                 and e.nbytes]
    assert exchanged, "the lesson exchanged no bytes: nothing was checked"


messages = st.lists(st.binary(min_size=1, max_size=4000), min_size=1, max_size=6)


@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(messages)
def test_random_exchanges_keep_cause_before_effect(msgs):
    arg = ",".join(m.hex() for m in msgs)
    with Session() as s:
        s.start("server", program("order_server.py"))
        s.wait_until(lambda: any(e.kind == "return" and e.name == "listen"
                                 for e in s.snapshot()), 10, "listen")
        s.start("client", program("order_client.py"), args=[arg])
        assert s.wait_exit("client", 30) == 0
        assert s.wait_exit("server", 30) == 0
        events = s.sorted_events()
    total = sum(len(m) for m in msgs)
    got = sum(e.nbytes or 0 for e in events if e.side == "server" and e.kind == "return"
              and e.name == "recv")
    assert got == total
    assert not byte_violations(events)
    assert not output_violations(events)


def test_the_checker_sees_a_receive_before_its_send():
    """The property is not empty: a stream whose recv return precedes the send is caught."""
    from sockteach.events import Event

    a = dict(side="client", pid=1, family="AF_INET", socktype="SOCK_STREAM")
    b = dict(side="server", pid=2, family="AF_INET", socktype="SOCK_STREAM")
    events = [
        Event(0.1, kind="return", name="connect", sock=3, local=("127.0.0.1", 5000),
              peer=("127.0.0.1", 8081), **a),
        Event(0.1, kind="return", name="accept", sock=3, conn=4, local=("127.0.0.1", 8081),
              addr=("127.0.0.1", 5000), **b),
        Event(0.2, kind="call", name="recv", sock=4, **b),
        Event(0.3, kind="return", name="recv", sock=4, nbytes=2, data="6869", **b),
        Event(0.4, kind="call", name="send", sock=3, **a),
        Event(0.5, kind="return", name="send", sock=3, nbytes=2, **a),
        Event(0.25, kind="output", text="b'hix'", **b),
    ]
    assert byte_violations(events)
    assert not byte_violations([e for e in events if e.t != 0.3] + [
        Event(0.45, kind="return", name="recv", sock=4, nbytes=2, data="6869", **b)])
