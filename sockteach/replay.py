"""``sockteach replay``: a recorded run (``--record`` JSON lines) in the same view.

The record is the event stream; the view is the same :class:`~sockteach.model.Timeline` and
:class:`~sockteach.view.LessonView`, so the final screen of a replay is the live run's final
screen (at the time of the last event). A record of a lesson is recognised by its step titles
(in English or Chinese): the replay then has the lesson's title, language and narration.

In a terminal it plays at ``--speed`` and the keys step through it: ←/→ one event back or
forward (which pauses), Space plays or pauses, Home/End jump, q quits. Elsewhere it prints the
final screen.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .events import Event, load_jsonl, order_key
from .i18n import msg, pick
from .model import Timeline

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from .lessons import Lesson
    from .view import LessonView


def load(path: str | Path) -> list[Event]:
    """The events of a ``--record`` file, ordered by ``t``."""
    with open(path, encoding="utf-8") as f:
        events = list(load_jsonl(f))
    return sorted(events, key=order_key)


def guess_lesson(events: list[Event]) -> "tuple[Lesson | None, str | None]":
    """The lesson (and language) whose step titles are the record's, if any."""
    from . import lessons

    titles = [e.title for e in events if e.kind == "step" and e.title]
    if not titles:
        return None, None
    try:
        course = lessons.course()
    except (FileNotFoundError, OSError):
        return None, None
    best: tuple[int, "Lesson | None", str | None] = (0, None, None)
    for lesson in course:
        for lang in ("en", "zh"):
            steps = [pick(s.title, lang) for s in lesson.steps]
            if titles == steps:
                score = 3  # the whole lesson
            elif titles == steps[:len(titles)]:
                score = 2  # a lesson stopped early
            elif set(titles) <= set(steps):
                score = 1
            else:
                continue
            if score > best[0]:
                best = (score, lesson, lang)
    return best[1], best[2]


class Replay:
    """A record and how to show it: its lesson (if it is one), language and title."""

    def __init__(self, events: list[Event], lang: str | None = None, *, fallback: str = "en",
                 name: str = "run") -> None:
        self.events = events
        self.lesson, guessed = guess_lesson(events)
        self.lang = lang or guessed or fallback
        if self.lesson is not None:
            self.title = msg("lesson.heading", self.lang, number=self.lesson.number,
                             title=pick(self.lesson.title, self.lang))
        else:
            self.title = msg("replay.title", self.lang, file=name)

    def timeline(self, upto: int | None = None) -> Timeline:
        """The view model after the first ``upto`` events (all by default)."""
        events = self.events if upto is None else self.events[:upto]
        return Timeline.from_events(events, self.lang, self.lesson)

    def view(self, timeline: Timeline, now: float) -> "LessonView":
        from .view import LessonView

        return LessonView(timeline, now, title=self.title)

    def final(self) -> "LessonView":
        """The final screen: every event, at the time of the last one."""
        return self.view(self.timeline(), self.events[-1].t if self.events else 0.0)


def play(run: Replay, *, console: "Console", speed: float = 1.0) -> int:
    """Show ``run``: stepping in a terminal, else the final screen. Returns 0."""
    if not console.is_terminal or not run.events:
        console.print(run.final())
        return 0
    cursor = _Cursor(run, speed)
    interactive = sys.stdin.isatty()
    from rich.live import Live

    from .watch import Keys, _Above

    def render():  # type: ignore[no-untyped-def]
        cursor.tick()
        view = run.view(cursor.timeline, cursor.now)
        return _Above(view, cursor.footer()) if interactive else view

    with Live(get_renderable=render, console=console, refresh_per_second=6, screen=True,
              redirect_stdout=False, redirect_stderr=False) as live:
        if interactive:
            with Keys(sys.stdin.fileno()) as keys:
                while True:
                    tokens = keys.read(0.05)
                    if any(t in ("q", "Q", "esc", "eof") for t in tokens):
                        break
                    for token in tokens:
                        cursor.key(token)
                    if tokens:
                        live.refresh()
        else:
            while cursor.playing:
                time.sleep(0.05)  # the playback clock: a period, not a synchronisation
                cursor.tick()
    console.print(run.view(cursor.timeline, cursor.now))
    return 0


class _Cursor:
    """Where a replay stands: ``shown`` events applied; playing or paused."""

    def __init__(self, run: Replay, speed: float) -> None:
        self.run = run
        self.speed = speed
        self.events = run.events
        self.shown = 0
        self.timeline = Timeline(run.lang, run.lesson)
        self.playing = True
        self.clock_t = self.events[0].t
        self.clock_wall = time.monotonic()
        self.now = self.clock_t

    def _apply_to(self, index: int) -> None:
        index = max(0, min(index, len(self.events)))
        if index < self.shown:
            self.timeline = self.run.timeline(index)
            self.shown = index
        while self.shown < index:
            self.timeline.apply(self.events[self.shown])
            self.shown += 1
        self.now = self.events[self.shown - 1].t if self.shown else self.events[0].t

    def tick(self) -> None:
        if not self.playing:
            return
        target = self.clock_t + (time.monotonic() - self.clock_wall) * self.speed
        index = self.shown
        while index < len(self.events) and self.events[index].t <= target:
            index += 1
        self._apply_to(index)
        self.now = min(target, self.events[-1].t)
        if self.shown >= len(self.events):
            self.playing = False
            self.now = self.events[-1].t

    def key(self, token: str) -> None:
        if token == "right":
            self.playing = False
            self._apply_to(self.shown + 1)
        elif token == "left":
            self.playing = False
            self._apply_to(self.shown - 1)
        elif token == "home":
            self.playing = False
            self._apply_to(0)
        elif token == "end":
            self.playing = False
            self._apply_to(len(self.events))
        elif token == " ":
            if self.playing:
                self.playing = False
            else:
                if self.shown >= len(self.events):
                    self._apply_to(0)
                self.playing = True
                self.clock_t = self.now
                self.clock_wall = time.monotonic()

    def footer(self):  # type: ignore[no-untyped-def]
        from rich.text import Text

        lang = self.run.lang
        state = (msg("replay.playing", lang, speed=self.speed) if self.playing
                 else msg("replay.paused", lang))
        text = Text(msg("replay.position", lang, i=self.shown, n=len(self.events), t=self.now,
                        state=state), style="bold")
        text.append("\n" + msg("replay.keys", lang), style="dim")
        return text
