"""The scenario player fills a step's ``{name}`` from the events it saw (``[measure]``), in
memory on hand-made events; the real lessons that use it are played in test_lessons_*.py."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from sockteach import lessons
from sockteach.events import Event
from sockteach.lessons import Step
from sockteach.scenario import Player, ScenarioError


class Recorded:
    """The part of a Session the player reads for a measure: its events, under its lock."""

    def __init__(self, events):
        self.events = list(events)
        self.cond = threading.Condition()
        self.added = []

    def now(self):
        return 99.0

    def add(self, event):
        self.added.append(event)

    def stop_all(self):
        pass


def lesson_with(measure, say="{gap} s, {n} datagrams, {not_a_measure} {{x}}"):
    base = lessons.get(7)
    step = Step(title={"en": "t", "zh": "t"}, say={"en": say, "zh": say}, ask=None, actions=())
    return replace(base, steps=(step,), data={**base.data, "measure": measure})


EVENTS = [
    Event(1.0, "client3", "call", name="connect"),
    Event(1.2, "server", "return", name="recvfrom", result="(b'a', ('127.0.0.1', 1))"),
    Event(2.0, "server", "call", name="bind"),
    Event(2.1, "server", "return", name="recvfrom", result="(b'b', ('127.0.0.1', 1))"),
    Event(2.2, "server", "return", name="recvfrom", result="(b'c', ('127.0.0.1', 1))"),
    Event(2.3, "server", "raise", name="recvfrom", error="BlockingIOError"),
    Event(4.06, "client3", "return", name="connect"),
]
MEASURE = {"gap": {"seconds": ["knock", "in"]},
           "n": {"count": "server", "call": "recvfrom", "since": "counting"}}


def test_values_are_measured_from_the_marked_events():
    player = Player(lesson_with(MEASURE), Recorded(EVENTS))
    player.marks = {"knock": EVENTS[0], "in": EVENTS[-1], "counting": EVENTS[2]}
    # 3.06 s between the marks; 2 returns after the mark (not the earlier one, not the raise);
    # braces that name no measure stay as written
    assert player.fill("{gap} s, {n} datagrams, {other} {{x}}") == "3.1 s, 2 datagrams, {other} {{x}}"


def test_the_step_narration_carries_the_values():
    recorded = Recorded(EVENTS)
    player = Player(lesson_with(MEASURE, say="in after {gap} s"), recorded)
    player.marks = {"knock": EVENTS[0], "in": EVENTS[-1], "counting": EVENTS[2]}
    player.run()
    assert [e.text for e in recorded.added if e.kind == "step"] == ["in after 3.1 s"]


def test_a_value_whose_mark_was_never_seen_stops_the_lesson_with_a_message():
    player = Player(lesson_with(MEASURE, say="in after {gap} s"), Recorded(EVENTS))
    player.marks = {"knock": EVENTS[0]}
    with pytest.raises(ScenarioError, match="'in'"):
        player.run()
