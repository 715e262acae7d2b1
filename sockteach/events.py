"""The event stream: plain, frozen data recorded from real processes.

Everything a learner sees and everything the grader judges is computed from a list of
:class:`Event`. The same dictionaries are the ``--record`` JSON-lines format, which is stable:

======== =====================================================================
kind     fields (besides ``t``, ``side``, ``kind``)
======== =====================================================================
call     ``name`` (socket method or ``input``), ``args`` (list of repr strings),
         ``sock`` (fd of the socket), ``real`` (address after port mapping, or null)
return   ``name``, ``result`` (repr string: an empty recv is ``"b''"``), ``sock``
raise    ``name``, ``error`` (exception class name), ``errno`` (int or null),
         ``message`` (``str(exc)``), ``sock``
repeat   ``name``, ``result``, ``count`` (total repeats so far), ``sock`` — the tracer
         folds a call that keeps giving the same empty result (the spin) into these
blocked  ``name``, ``seconds`` — the runner judged that call blocked
output   ``text`` — what the side printed;  ``input``: ``text`` — what was typed into it
exit     ``code`` (negative: killed by that signal); ``text`` is ``"outside"`` when that signal
         did not come from the session (someone killed the side from outside)
step     ``title``, ``text`` — a scenario step began (in the run's language)
tcp      ``states`` — the kernel's table for the lesson's ports:
         list of ``[local, remote, state]`` with nominal ports
======== =====================================================================

``t`` is seconds since the session started; ``side`` is ``"server"``, ``"client"``,
``"client2"``, … Events are ordered by ``t``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import IO, Any, Iterable, Iterator

KINDS = ("call", "return", "raise", "repeat", "blocked", "output", "input", "exit", "step", "tcp")


@dataclass(frozen=True)
class Event:
    t: float
    side: str
    kind: str
    name: str | None = None
    args: tuple[str, ...] | None = None
    result: str | None = None
    error: str | None = None
    errno: int | None = None
    message: str | None = None
    seconds: float | None = None
    count: int | None = None
    text: str | None = None
    code: int | None = None
    title: str | None = None
    sock: int | None = None
    real: str | None = None
    states: tuple[tuple[str, str, str], ...] | None = None
    pid: int | None = None


_FIELDS = tuple(f.name for f in fields(Event))


def order_key(event: Event) -> tuple:
    """A total order for events: by time, then (for events of the same instant, such as the
    blocked events of one monitor tick) by side, kind and name, so a sort never depends on
    the order events arrived in."""
    return (event.t, event.side, event.kind, event.name or "", event.sock or 0)


def to_dict(event: Event) -> dict[str, Any]:
    """The JSON form: fields that are None are left out, tuples become lists."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(event, name)
        if value is None:
            continue
        if name == "t":
            value = round(value, 6)
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[name] = value
    return out


def from_dict(data: dict[str, Any]) -> Event:
    """Build an event from its JSON form; unknown keys are ignored."""
    kwargs = {k: v for k, v in data.items() if k in _FIELDS}
    if "args" in kwargs and kwargs["args"] is not None:
        kwargs["args"] = tuple(kwargs["args"])
    if "states" in kwargs and kwargs["states"] is not None:
        kwargs["states"] = tuple(tuple(s) for s in kwargs["states"])
    return Event(**kwargs)


def dump_jsonl(events: Iterable[Event], stream: IO[str]) -> None:
    for event in events:
        stream.write(json.dumps(to_dict(event), ensure_ascii=False) + "\n")


def load_jsonl(stream: IO[str]) -> Iterator[Event]:
    for line in stream:
        line = line.strip()
        if line:
            yield from_dict(json.loads(line))
