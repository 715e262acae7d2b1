"""The driver of exercise 2 (a client the learner writes): the grader's upper-case server
answers it, and the grader types lines into it. :mod:`.judge_client` gives the verdicts."""

from __future__ import annotations

from ..events import Event
from ..session import SessionError
from . import facts
from .drive import INPUT, PRINT, REPLY, START, Drive
from .exchanges import peer_received
from .peers import UpperServer
from .plan import WIDE_LINE, printed_forms
from .trial import Trial


def line_client(d: Drive) -> None:
    """input() → send → print the reply; an empty line is not sent and the client asks again."""
    trial = d.trial("client")
    server = UpperServer(trial, 8081)
    rec = trial.start()
    evs = lambda: trial.events(rec)  # noqa: E731
    trial.wait(lambda: facts.connect_outcome(evs()) == "ok" or trial.exited(rec)
               or trial.input_call(rec), START)
    trial.checkpoint("connects")
    outcome = facts.connect_outcome(evs())
    if trial.violation or (trial.exited(rec) and rec.exit_code != 0
                           and trial.socket_calls(rec) == 0):
        return
    if outcome and outcome != "ok":
        trial.wait(lambda: trial.exited(rec), 0.3)
        trial.checkpoint("connects:failed")
        return
    if outcome != "ok" and (trial.exited(rec) or trial.input_call(rec) is None):
        return

    trial.wait(lambda: trial.input_call(rec) or trial.exited(rec), INPUT)
    trial.checkpoint("asks_input")
    if trial.input_call(rec) is None:
        return
    sent, shown = _type_line(trial, server, "ping 1", "ping")
    if outcome != "ok" and facts.connect_outcome(evs()) != "ok":
        return  # it asked first and connected later — or never
    if sent and shown and not trial.exited(rec):
        # A line that is not ASCII: the learners type Chinese too (encode('ascii') fails it).
        trial.wait(lambda: trial.input_call(rec) or trial.exited(rec), INPUT)
        trial.checkpoint("wide")
        if trial.input_call(rec) is not None:
            _type_line(trial, server, WIDE_LINE, "wide")
    trial.checkpoint("sends_line")
    if trial.exited(rec):
        return

    # The empty line.
    trial.wait(lambda: trial.input_call(rec) or trial.exited(rec), INPUT)
    trial.checkpoint("empty:ask")
    if trial.input_call(rec) is None:
        return
    t2 = trial.now()
    if not _type(trial, ""):
        trial.checkpoint("empty_line")
        return

    def settled() -> bool:
        return bool(facts.asks_since(evs(), t2) or trial.exited(rec)
                    or peer_received(trial.session.snapshot(), t2)
                    or facts.blocked_in_recv(evs(), t2))

    trial.wait(settled, REPLY)
    trial.wait(lambda: facts.asks_since(evs(), t2) or trial.exited(rec), 0.1)
    trial.checkpoint("empty_line")
    if trial.exited(rec) or not facts.asks_since(evs(), t2):
        return

    # And it keeps working.
    _type_line(trial, server, "again", "again")
    trial.checkpoint("after_empty")


def _type_line(trial: Trial, server: UpperServer, text: str, name: str) -> tuple[bool, bool]:
    """Type ``text`` into the client; let it send the line, get the reply and print it.
    Checkpoints ``line:NAME:sent`` and ``line:NAME:end``; returns (the line arrived, the
    reply was printed) as the driver needs them to go on."""
    rec = trial.record
    want = text.encode()
    if not _type(trial, text):
        trial.checkpoint(f"line:{name}:end")
        return False, False
    t1 = next(e.t for e in reversed(trial.events(rec)) if e.kind == "mark" and e.name == "typed")
    snap = trial.session.snapshot
    evs = lambda: trial.events(rec)  # noqa: E731
    trial.wait(lambda: len(peer_received(snap(), t1)) >= len(want) or trial.exited(rec)
               or facts.asks_since(evs(), t1) or facts.blocked_in_recv(evs(), t1), REPLY)
    # It has sent the line; let it finish (it waits for the reply, then asks again).
    trial.wait(lambda: facts.asks_since(evs(), t1) or trial.exited(rec)
               or (peer_received(snap(), t1) and facts.blocked_in_recv(evs(), t1)), REPLY)
    got = peer_received(snap(), t1)
    trial.checkpoint(f"line:{name}:sent")
    if not got:
        trial.checkpoint(f"line:{name}:end")
        return False, False
    mark = next(e.count for e in reversed(trial.events(rec)) if e.kind == "mark"
                and e.name == "typed")
    forms = printed_forms(got)

    def printed() -> bool:
        out = trial.output(rec)[mark:]
        return any(form in out for form in forms)

    trial.wait(lambda: printed() or trial.exited(rec), PRINT)
    trial.checkpoint(f"line:{name}:end")
    return got.rstrip(b"\r\n") == want, printed()


def _type(trial: Trial, text: str) -> bool:
    """Type a line into the client (it waits in input()); False if it is gone. A ``typed``
    mark (stamped when the grader began to type) says what, how much the client had printed
    by then (``count``), and whether it worked (``code`` 0)."""
    rec = trial.record
    t1 = trial.now()
    chars = len(trial.output(rec))
    try:
        trial.session.type(trial.side, text, timeout=trial.budget.cap(1.0) or 0.01)
        code = 0
    except (SessionError, OSError, ValueError):
        code = 1
    trial.session.add(Event(t1, rec.name, "mark", name="typed", text=text, count=chars,
                            code=code, pid=rec.pid))
    return code == 0


DRIVERS = {"line_client": line_client}


def run(d: Drive) -> None:
    DRIVERS[d.exercise.scenario](d)
