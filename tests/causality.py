"""No effect before its cause: checks on a recorded event stream (pure, used by the tests).

- Bytes: on every TCP connection seen from both ends, each byte a ``recv`` returned was offered
  by a ``send``/``sendall`` call on the other end stamped *before* that return.
- Output: a line a process printed that shows bytes it received (their repr) comes after the
  ``recv`` return that got them.
- Steps: the events a scenario step's ``input`` caused come after the step began.
"""

from __future__ import annotations

from collections import defaultdict

from sockteach.events import Event, host_port

SENDS = ("send", "sendall")
RECVS = ("recv", "recv_into")


def byte_violations(events: list[Event]) -> list[str]:
    """Receives that returned bytes before the other end's send call was made."""
    events = sorted(events, key=lambda e: e.t)
    current: dict[tuple, tuple] = {}  # (pid, fd) → the connection it is now: (pid, local, peer)
    calls: dict[tuple, Event] = {}
    sent: dict[tuple, list[tuple[float, int]]] = defaultdict(list)  # (t of call, total after)
    got: dict[tuple, list[tuple[float, int]]] = defaultdict(list)  # (t of return, total after)
    totals: dict[tuple, int] = defaultdict(int)
    for e in events:
        key = (e.pid, e.sock)
        if e.kind == "return" and e.socktype in (None, "SOCK_STREAM"):
            if e.name == "connect" and e.local and e.peer:
                current[key] = (e.pid, host_port(e.local), host_port(e.peer))
            elif e.name == "accept" and e.conn is not None and e.local and e.addr:
                current[(e.pid, e.conn)] = (e.pid, host_port(e.local), host_port(e.addr))
        if e.kind == "call" and e.name in SENDS + RECVS:
            calls[key + (e.name,)] = e
        elif e.kind == "return" and e.name in SENDS and e.nbytes and key in current:
            call = calls.get(key + (e.name,))
            conn = current[key]
            totals[("out",) + conn] += e.nbytes
            sent[conn[1:]].append((call.t if call else e.t, totals[("out",) + conn]))
        elif e.kind == "return" and e.name in RECVS and e.nbytes and key in current:
            conn = current[key]
            totals[("in",) + conn] += e.nbytes
            got[conn[1:]].append((e.t, totals[("in",) + conn]))
    problems = []
    for (local, peer), receipts in got.items():
        if (peer, local) not in sent and not any(k == (peer, local) for k in got):
            continue  # the other end was not traced (or sent nothing we saw)
        offered = sent.get((peer, local), [])
        for t, total in receipts:
            cause = next((st for st, upto in offered if upto >= total), None)
            if cause is None or cause >= t:
                problems.append(f"{local}<-{peer} got byte {total} at {t:.6f}, sent at {cause}")
    return problems


def output_violations(events: list[Event]) -> list[str]:
    """Lines that show received bytes printed before the recv that returned them."""
    events = sorted(events, key=lambda e: e.t)
    problems = []
    received: list[Event] = [e for e in events if e.kind == "return" and e.name in RECVS
                             and e.nbytes and e.payload and len(e.payload) >= 3]
    for r in received:
        shown = repr(r.payload)
        if sum(shown in (x.result or "") for x in received) > 1:
            continue  # the same bytes twice: which one a line shows cannot be told
        for o in events:
            if o.kind == "output" and o.pid == r.pid and shown in (o.text or "") and o.t < r.t:
                earlier = [x for x in events if x.kind == "call" and x.name in SENDS
                           and x.pid == r.pid and x.t < o.t and shown in (x.args or ("",))[0]]
                if not earlier:  # it did not print its own message before sending it
                    problems.append(f"{o.side} printed {shown} at {o.t:.6f}, got it at {r.t:.6f}")
    return problems


def step_violations(events: list[Event]) -> list[str]:
    """Typed input that comes before the step that types it began."""
    events = sorted(events, key=lambda e: e.t)
    problems = []
    step_t = None
    for e in events:
        if e.kind == "step":
            step_t = e.t
        elif e.kind == "input" and step_t is None:
            problems.append(f"input {e.text!r} at {e.t:.6f} before any step")
    return problems
