"""Folding repeated output (sockteach.watch_fold) and the stream printer's climbing counts
(sockteach.watch_stream.Printer), in memory on hand-made text and events."""

from __future__ import annotations

import io
from types import SimpleNamespace

from sockteach import lessons
from sockteach.events import Event
from sockteach.watch_fold import FOLD_FROM, OutputFolder
from sockteach.watch_peer import scripted_actions
from sockteach.watch_stream import EVERY, Printer

SPIN = "server===>\nb''\n"  # what lesson 1's server prints on each turn of its spin


def kinds(pieces):
    return [(p.kind, p.text) for p in pieces]


def test_a_repeated_block_is_one_fold_whose_count_climbs():
    f = OutputFolder("server")
    first = f.feed("hello\n" + SPIN * 1000)
    # what came before and the block's first copy show as they are; then one fold starts
    assert kinds(first) == [("line", "hello"), ("line", "server===>"), ("line", "b''"),
                            ("start", "server===> ⏎ b''")]
    fold = first[-1].fold
    assert fold.count == 1000 and not fold.ended
    assert f.feed(SPIN * 500) == []  # it goes on: nothing new to show, the count climbs
    assert fold.count == 1500
    after = f.feed("bye\n")
    assert kinds(after) == [("end", "server===> ⏎ b''"), ("line", "bye")]
    assert fold.ended and fold.count == 1500 and fold.cut == 0


def test_two_copies_stay_lines_and_different_lines_never_fold():
    f = OutputFolder("client")
    text = "".join(f"line {i}\n" for i in range(30)) + "same\n" * (FOLD_FROM - 1) + "end\n"
    pieces = f.feed(text)
    assert all(p.kind == "line" for p in pieces)
    assert [p.text for p in pieces] == text.rstrip("\n").split("\n")


def test_the_sessions_cut_is_counted_as_not_kept_never_guessed_into_the_count():
    f = OutputFolder("server")
    # a batch the session cut after 4,000 characters, in the middle of a line, and the next
    # batch that starts in the middle of one
    start = f.feed(SPIN * 10 + "serv\n[… 12,345 more characters]\n")
    fold = start[-1].fold
    assert fold.count == 10 and fold.cut == len("serv") + 12345
    assert f.feed("===>\nb''\n" + SPIN * 2) == []
    assert fold.count == 13  # the copy whose start was cut counts once it ends; no estimate
    assert fold.cut == len("serv") + 12345 + len("===>") + 1


def test_a_line_that_only_looks_like_a_cut_piece_ends_the_fold():
    f = OutputFolder("server")
    f.feed(SPIN * 5)
    pieces = f.feed("serv\n")  # printed for real: no cut mark after it
    assert kinds(pieces) == [("end", "server===> ⏎ b''"), ("line", "serv")]


def test_a_prompt_without_newline_shows_when_nothing_more_comes():
    f = OutputFolder("client")
    assert f.feed(">>: ") == []
    assert kinds(f.tick()) == [("line", ">>: ")]
    f2 = OutputFolder("server")
    f2.feed(SPIN * 5 + "ser")  # the start of the next copy: held, the fold goes on
    assert f2.tick() == [] and f2.fold is not None
    assert kinds(f2.end()) == [("end", "server===> ⏎ b''")]


def test_version_2_repeat_events_update_one_fold():
    f = OutputFolder("server")
    assert kinds(f.feed("b''\n")) == [("line", "b''")]
    start = f.repeat("b''\n", 5)
    assert kinds(start) == [("start", "b''")]
    assert f.repeat("b''\n", 1_598_156) == []
    assert start[0].fold.count == 1_598_157  # the first print and its repeats
    assert kinds(f.feed("done\n")) == [("end", "b''"), ("line", "done")]


# ---------------------------------------------------------------- the stream printer


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


def printer():
    out = io.StringIO()
    from rich.console import Console

    clock = Clock()
    watch = SimpleNamespace(lang="en", session=clock, drivers=[],
                            timeline=SimpleNamespace(diagnoses=[]))
    return Printer(watch, Console(file=out, width=200)), out, clock


def test_a_spin_prints_a_few_lines_not_one_per_repeat():
    p, out, clock = printer()
    p.show([Event(0.0, "server", "call", name="recv", args=("1024",), sock=5),
            Event(0.0, "server", "return", name="recv", result="b''", sock=5)])
    # 60 s of a spin: the tracer's repeat event every 50 ms, the count climbing
    for i in range(1, 1201):
        clock.t = i * 0.05
        p.show([Event(clock.t, "server", "repeat", name="recv", result="b''", count=i * 1331,
                      sock=5)])
    p.flush()
    lines = [line for line in out.getvalue().splitlines() if "times" in line or "once" in line]
    assert 2 <= len(lines) <= 60 / EVERY + 2, lines
    assert "1,597,200" in lines[-1]  # the last line has the final count


def test_a_fold_prints_when_it_starts_now_and_then_and_when_it_ends():
    p, out, clock = printer()
    f = OutputFolder("server")
    p.show(f.feed(SPIN * 100))
    for i in range(1, 201):  # 20 s of the spin's output in batches
        clock.t = i * 0.1
        p.show(f.feed(SPIN * 300))
    p.show(f.feed("bye\n"))
    folds = [line for line in out.getvalue().splitlines() if "⏎" in line]
    assert 2 <= len(folds) <= 20 / EVERY + 2, folds
    assert folds[0].startswith("server │ server===> ⏎ b''  (×")
    assert folds[-1] == f"server │ server===> ⏎ b''  (×{100 + 200 * 300:,})"
    assert out.getvalue().splitlines()[-1] == "server │ bye"


def test_the_peer_gets_what_the_lesson_does_to_its_first_program():
    lesson = lessons.get(3)
    acts = scripted_actions(lesson, "client")
    typed = [a["text"] for s in lesson.steps for a in s.actions if a.get("type") == "client"]
    assert [a["text"] for a in acts] == typed and typed  # the side "client" runs client.py
    one = scripted_actions(lessons.get(1), "client")
    assert [next(k for k in ("type", "interrupt") if k in a) for a in one] == \
        ["type", "interrupt"]  # lesson 1 types hello, then presses Ctrl-C in the client
    assert scripted_actions(lesson, "client_reset") == []


def test_the_footer_stays_on_screen_under_a_view_taller_than_the_screen():
    from rich.console import Console
    from rich.text import Text

    from sockteach.watch_terminal import Above

    out = io.StringIO()
    console = Console(file=out, width=60, height=20)
    tall = Text("\n".join(f"row {i}" for i in range(100)))
    console.print(Above(tall, Text("⌨ the prompt\nCtrl-C ends everything")))
    lines = out.getvalue().rstrip("\n").split("\n")
    assert len(lines) <= 20, len(lines)
    assert lines[0].startswith("row 0") and lines[-1].startswith("Ctrl-C ends everything")


def test_a_repetition_written_in_small_pieces_folds_as_early():
    f = OutputFolder("server")
    pieces = []
    for _ in range(10):  # one event per write, as a tracer that captures each write sends
        for part in ("server===>", "\n", "b''", "\n"):
            pieces += f.feed(part, release=False)
    pieces += f.release()
    assert kinds(pieces) == [("line", "server===>"), ("line", "b''"),
                             ("start", "server===> ⏎ b''")]
    assert pieces[-1].fold.count == 10


def test_a_watch_shows_version_2_output_repeats_as_one_fold_and_not_as_rows():
    from sockteach.watch import Watch, fold_line

    watch = Watch([], "en", title="t")
    try:
        s = watch.session
        s.add(Event(0.1, "server", "output", text="b''\n", stream="stdout", pid=1))
        for count in (10, 5_000, 1_598_156):
            s.add(Event(0.2, "server", "repeat", name="output", text="b''\n", stream="stdout",
                        count=count, pid=1))
            watch.pull()
        rows = [r for r in watch.timeline.rows if r.side == "server"]
        assert [r.kind for r in rows] == ["output"]  # the first print; the repeats are a fold
        (fold,) = watch.folds()
        assert fold_line(fold, "en") == "server │ b''  (×1,598,157)"
        assert "×1,598,157" in fold_line(fold, "zh")
    finally:
        watch.session.close()


def test_a_call_that_repeats_the_same_way_is_not_new():
    from sockteach.watch import IDLE_AFTER, Watch

    watch = Watch([], "en", title="t")
    try:
        s = watch.session
        select = dict(name="select", args=("[3]", "[]", "[]", "1.0"))
        for i in range(3):  # a select() loop with a timeout and no client: the same each turn
            s.add(Event(i * 1.0, "server", "call", **select, pid=1))
            s.add(Event(i * 1.0 + 1.0, "server", "return", name="select",
                        result="([], [], [])", pid=1))
        watch.pull()
        first = watch.last_new
        s.add(Event(3.0, "server", "call", **select, pid=1))
        watch.pull()
        assert watch.last_new == first  # seen less than IDLE_AFTER s ago: not new
        s.add(Event(3.0 + IDLE_AFTER + 1, "server", "call", name="accept", args=(), pid=1))
        watch.pull()
        assert watch.last_new > first  # a different call is
    finally:
        watch.session.close()
