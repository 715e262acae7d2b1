"""The printers of ``sockteach run`` and of a lesson without a terminal, on hand-made events:
true order (events that arrive late are put in their place), the screen they share with the
program (no narration glued onto its output, the input() prompt kept last), real ports, and
the learner's own Ctrl-C."""

from __future__ import annotations

import io
import signal
import threading

import pytest

from sockteach import lessons, runner
from sockteach.events import Event, order_key
from sockteach.i18n import msg
from sockteach.inorder import InOrder, RepeatThrottle
from sockteach.side_printer import SidePrinter, prompt_of, with_real_ports


class Clock:
    """A session stand-in: the time is what the test says; events are what it added."""

    def __init__(self, now: float = 0.0) -> None:
        self.t = now
        self.events: list[Event] = []
        self.cond = threading.Condition()
        self.snapshots = 0

    def now(self) -> float:
        return self.t

    def add(self, e: Event) -> None:
        with self.cond:
            self.events.append(e)
            self.cond.notify_all()

    def snapshot(self, since: int = 0) -> list[Event]:
        with self.cond:
            self.snapshots += 1
            self.cond.notify_all()
            return self.events[since:]


class Settling(Clock):
    """A session with ``settled``: it settles only once ``complete`` is set."""

    def __init__(self, now: float = 0.0) -> None:
        super().__init__(now)
        self.complete = False
        self.asked: list[float] = []

    def settled(self, t: float, timeout: float) -> bool:
        self.asked.append(t)
        return self.complete


def puller(clock: Clock):
    seen = [0]

    def pull() -> list[Event]:
        new = clock.snapshot(seen[0])
        seen[0] += len(new)
        return new

    return pull


def ev(t: float, side: str = "server", kind: str = "call", name: str = "recv", **kw) -> Event:
    return Event(t, side, kind, name=name, **kw)


# ----- InOrder ------------------------------------------------------------------------------

def test_without_settled_events_wait_their_hold_and_come_out_sorted():
    clock = Clock(now=2.1)
    order = InOrder(clock, puller(clock), hold=0.25)
    late, early = ev(2.0, name="send"), ev(1.0, name="accept")
    clock.add(late)  # arrives first, stamped later
    assert order.ready() == []  # 2.0 > 2.1 - 0.25: it may still have an earlier one coming
    clock.add(early)
    clock.t = 2.3
    assert order.ready() == [early, late]


def test_without_settled_an_event_older_than_the_hold_is_shown_at_once():
    clock = Clock(now=5.0)
    order = InOrder(clock, puller(clock), hold=0.25)
    clock.add(ev(4.0))
    clock.add(ev(4.9))
    assert [e.t for e in order.ready()] == [4.0]
    assert [e.t for e in order.finish()] == [4.9]


def test_with_settled_only_events_up_to_the_settled_time_are_shown():
    clock = Settling(now=3.0)
    order = InOrder(clock, puller(clock), hold=0.25, patience=1.0)
    second = ev(2.9, side="client", name="recv")
    clock.add(second)
    assert order.ready() == []  # not settled: 2.9 is within the patience
    assert clock.asked == [3.0]
    first = ev(2.5, side="server", name="send")
    clock.add(first)
    clock.complete = True
    clock.t = 3.05
    assert order.ready() == [first, second]  # no hold once the session says it settled


def test_with_settled_a_stalled_session_hides_nothing_for_ever():
    clock = Settling(now=10.0)
    order = InOrder(clock, puller(clock), patience=1.0)
    clock.add(ev(8.0))
    clock.add(ev(9.5))
    assert [e.t for e in order.ready()] == [8.0]


def test_events_of_one_instant_come_out_in_order_key_order():
    clock = Clock(now=9.0)
    order = InOrder(clock, puller(clock))
    same = [ev(1.0, side="server", kind="blocked", name="recv"),
            ev(1.0, side="client", kind="blocked", name="input")]
    for e in same:
        clock.add(e)
    assert order.ready() == sorted(same, key=order_key)


def test_repeat_throttle_keeps_a_few_lines_a_second():
    throttle = RepeatThrottle(every=0.25)
    spins = [Event(i * 0.05, "server", "repeat", name="recv", result="b''", count=i, sock=4)
             for i in range(1, 21)]
    kept = [e.t for e in spins if not throttle.skip(e)]
    assert len(kept) == 4 and all(b - a >= 0.25 for a, b in zip(kept, kept[1:]))
    assert not throttle.skip(ev(0.3))  # other kinds are never left out


# ----- the lesson's stream printer (no terminal) -------------------------------------------

def test_lesson_stream_prints_a_late_event_in_its_place(monkeypatch):
    """An event stamped earlier that arrives after a later one is printed before it."""
    clock = Clock(now=2.1)
    lesson = lessons.get("1")
    listen = ev(1.0, side="server", name="listen", args=("5",))
    connect = ev(2.0, side="client", name="connect", args=("('127.0.0.1', 8081)",))

    class LateArrival:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def run(self) -> None:
            clock.add(connect)
            with clock.cond:  # the printer has looked twice since: it had its chance
                seen = clock.snapshots
                assert clock.cond.wait_for(lambda: clock.snapshots >= seen + 2, timeout=5)
            clock.add(listen)
            clock.t = 2.5

    monkeypatch.setattr(runner, "Player", LateArrival)
    out = io.StringIO()
    from rich.console import Console

    console = Console(file=out, width=300, color_system=None)
    feed = runner.Feed(clock, "en", lesson)  # type: ignore[arg-type]
    status, failure = runner._play_stream(lesson, "en", clock, feed, console,  # type: ignore[arg-type]
                                          runner.Pace())
    assert (status, failure) == (runner.EXIT_OK, None)
    lines = out.getvalue().splitlines()
    at = {name: next(i for i, line in enumerate(lines) if f"{name}(" in line)
          for name in ("listen", "connect")}
    assert at["listen"] < at["connect"]


# ----- the side printer: the screen it shares with the program -------------------------------

def side_printer(lang: str = "en", **kw) -> tuple[SidePrinter, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    return SidePrinter(console, lang, lessons.get("1"), **kw), out


def output(t: float, text: str, stream: str = "stdout") -> Event:
    return Event(t, "server", "output", text=text, stream=stream)


def test_narration_after_output_without_newline_starts_a_new_line():
    printer, out = side_printer()
    printer._write("b''")  # what the program wrote on the screen
    printer.observe([output(1.0, "b''")])
    printer.show([ev(1.1, name="recv", args=("1024",))])
    assert out.getvalue().startswith("b''\n  · server: recv(1024)")


def test_narration_after_a_finished_line_adds_no_blank_line():
    printer, out = side_printer()
    printer._write("server===>\n")
    printer.observe([output(1.0, "server===>\n")])
    printer.show([ev(1.1, name="recv", args=("1024",))])
    assert out.getvalue().startswith("server===>\n  · server: recv(")


def test_the_screen_follows_the_newest_output_not_the_order_events_arrive_in():
    printer, _ = side_printer()
    printer.observe([output(2.0, "no newline yet")])
    printer.observe([output(1.0, "an older line\n")])  # arrives late: the screen is newer
    assert not printer.at_line_start


def test_stderr_counts_only_when_it_goes_where_the_narration_goes():
    alone, _ = side_printer(streams=("stdout",))
    alone.observe([output(1.0, "Traceback", stream="stderr")])
    assert alone.at_line_start
    shared, _ = side_printer(streams=("stdout", "stderr"))
    shared.observe([output(1.0, "Traceback", stream="stderr")])
    assert not shared.at_line_start


def test_the_prompt_is_printed_again_after_narration_while_input_waits():
    printer, out = side_printer()
    call = Event(1.0, "client", "call", name="input", args=("'>>: '",))
    printer._write(">>: ")  # the program's prompt
    printer.observe([call])
    printer.show([call, Event(1.2, "kernel", "tcp",
                              states=(("127.0.0.1:8081", "0.0.0.0:0", "LISTEN"),))])
    text = out.getvalue()
    assert text.startswith(">>: \n  · ")  # the narration does not glue onto the prompt
    assert text.endswith("\n>>: ")  # and the prompt is the last thing on the screen again
    assert "input(" not in text  # the prompt says it: no narration of the input() call


def test_no_prompt_again_once_input_returned():
    printer, out = side_printer()
    call = Event(1.0, "client", "call", name="input", args=("'>>: '",))
    back = Event(1.5, "client", "return", name="input", result="'hi'")
    printer.observe([call, back])
    printer.show([call, back, ev(1.6, side="client", name="send", args=("b'hi'",))])
    assert ">>: " not in out.getvalue()


def test_prompt_of_reads_the_repr():
    assert prompt_of(Event(0, "c", "call", name="input", args=("'名字: '",))) == "名字: "
    assert prompt_of(Event(0, "c", "call", name="input", args=())) == ""


def test_real_ports_replace_the_nominal_one_everywhere():
    ports = {8081: 40123}
    bind = with_real_ports(ev(1, name="bind", args=("('127.0.0.1', 8081)",),
                              addr=("127.0.0.1", 8081), real=("127.0.0.1", 40123)), ports)
    assert bind.args == ("('127.0.0.1', 40123)",) and bind.addr == ("127.0.0.1", 40123)
    accept = with_real_ports(ev(2, kind="return", name="accept",
                                result="(<socket fd=5>, ('127.0.0.1', 51234))",
                                local=("127.0.0.1", 8081), peer=("127.0.0.1", 51234)), ports)
    assert accept.result == "(<socket fd=5>, ('127.0.0.1', 51234))"  # a client's own port stays
    assert accept.local == ("127.0.0.1", 40123) and accept.peer == ("127.0.0.1", 51234)
    data = with_real_ports(ev(3, name="send", args=("b'8081'",)), ports)
    assert data.args == ("b'8081'",)  # bytes are not an address
    table = with_real_ports(Event(4, "kernel", "tcp", states=(
        ("127.0.0.1:8081", "127.0.0.1:51234", "ESTABLISHED"),)), ports)
    assert table.states == (("127.0.0.1:40123", "127.0.0.1:51234", "ESTABLISHED"),)


def test_side_printer_narrates_the_real_port():
    printer, out = side_printer(ports={8081: 40123})
    printer.show([ev(1, name="bind", args=("('127.0.0.1', 8081)",))])
    assert "40123" in out.getvalue() and "8081" not in out.getvalue()


def test_the_same_kernel_table_is_said_once():
    printer, out = side_printer()
    states = (("127.0.0.1:8081", "0.0.0.0:0", "LISTEN"),)
    printer.show([Event(1, "kernel", "tcp", states=states)])
    printer.show([Event(2, "kernel", "tcp", states=states)])
    assert out.getvalue().count("LISTEN") == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_learners_ctrl_c_is_worded_as_theirs(lang):
    pressed = [False]
    printer, out = side_printer(lang, ctrl_c=lambda timeout: pressed[0])
    outside = Event(5, "server", "exit", code=-signal.SIGINT, text="outside")
    printer.show([outside])
    assert msg("run.ctrl_c", lang) not in out.getvalue()  # not pressed: not said
    pressed[0] = True
    printer.show([Event(6, "server", "exit", code=-signal.SIGINT)])
    assert msg("run.ctrl_c", lang) in out.getvalue().replace("\n", "")
    printer.show([Event(7, "server", "exit", code=1)])  # another ending is said as it is
    assert out.getvalue().count(msg("run.ctrl_c", lang)[:12]) == 1


def test_a_ctrl_c_whose_handler_runs_late_is_still_the_learners():
    """The flag is set a moment after the program ended: the printer waits for it."""
    pressed = threading.Event()
    printer, out = side_printer(ctrl_c=pressed.wait)
    timer = threading.Timer(0.05, pressed.set)
    timer.start()
    try:
        printer.show([Event(6, "server", "exit", code=-signal.SIGINT, text="outside")])
    finally:
        timer.cancel()
    assert msg("run.ctrl_c", "en") in out.getvalue().replace("\n", "")
