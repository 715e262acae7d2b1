"""The diagnosis's bookkeeping of one traced process, and its rules for calls that failed
(``bind()`` with errno 98, a refused ``connect()``). The catalogue is described in
:mod:`sockteach.diagnose`; :class:`ErrorRules` is a part of its ``Diagnoser``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .events import Event, host_port, show_address
from .i18n import msg
from .narrator import side_label

def family_of(address: object) -> str | None:
    """The address family an address implies: a path is AF_UNIX, a host with ``:`` or a
    4-tuple AF_INET6, another tuple AF_INET; None if there is no address."""
    if isinstance(address, str):
        return "AF_UNIX"
    hp = host_port(address)
    if hp is None:
        return None
    return "AF_INET6" if ":" in hp[0] or len(address) == 4 else "AF_INET"  # type: ignore[arg-type]


def port_of(address: object) -> int | None:
    """The port of an internet address (a tuple), or None."""
    hp = host_port(address)
    return hp[1] if hp else None


# ---------------------------------------------------------------- the state of the programs


@dataclass
class _Proc:
    """One traced process (a side, or a forked child of it)."""

    side: str
    pid: int | None
    pending: dict[tuple, Event] = field(default_factory=dict)  # (sock, name) → its call
    blocked: set[tuple] = field(default_factory=set)  # (sock, name) judged blocked
    bound: dict = field(default_factory=dict)  # sock → (nominal port, real port)
    listening: dict = field(default_factory=dict)  # sock → nominal port
    conns: dict = field(default_factory=dict)  # sock → ("out" | "in", nominal port)
    files: set = field(default_factory=set)  # sockets wrapped by makefile()
    unanswered: dict = field(default_factory=dict)  # sock → what it received since it sent
    reuse: set = field(default_factory=set)  # sockets with SO_REUSEADDR
    last_send: tuple | None = None  # (call text, bytes offered or None) of its latest send
    binds: dict = field(default_factory=dict)  # sock → its bind call (family, addr, real)
    listeners: dict = field(default_factory=dict)  # sock → the bind call of a listener
    connecting: dict = field(default_factory=dict)  # sock → a non-blocking connect under way
    empties: dict = field(default_factory=dict)  # sock → recv() → b'' in a row


@dataclass
class _Found:
    key: str
    side: str
    t: float
    values: dict
    variant: str = ""
    until: float | None = None
    involved: frozenset = frozenset()
    pending: bool = False  # in_use, cause not known yet


class ErrorRules:
    """The rules for failed calls, as a part of :class:`sockteach.diagnose.Diagnoser` (which
    keeps the state they read: ``procs``, ``alive``, ``rows``, ``tcp``, ``found``)."""

    lang: str
    procs: dict
    alive: dict
    rows: Any
    tcp: tuple
    found: list
    _cache: Any

    def _add(self, found: _Found) -> _Found:  # pragma: no cover - the Diagnoser's
        raise NotImplementedError

    def _values(self, **values: object) -> dict:  # pragma: no cover - the Diagnoser's
        raise NotImplementedError

    def _refused(self, p: _Proc, e: Event, call: Event | None) -> None:
        addr = call.addr if call is not None else None
        family = (call.family if call is not None else None) or e.family or family_of(addr)
        values = self._values(side=p.side, addr=show_address(addr) or "?")
        if family == "AF_UNIX":
            self._add(_Found("refused", p.side, e.t, values, variant="unix"))
            return
        port = port_of(addr)
        others = [(q, bind) for q in self.procs.values() for bind in q.listeners.values()
                  if q.side != p.side and self.alive.get(q.side, True)]
        for q, bind in others:  # the same port, the other address family
            theirs = bind.family or family_of(bind.addr)
            if port is None or port_of(bind.addr) != port or theirs == family or \
                    theirs not in ("AF_INET", "AF_INET6"):
                continue
            host = (host_port(bind.real) or host_port(bind.addr) or ("?", 0))[0]
            moved = host_port(bind.addr) is not None and host_port(bind.addr)[0] == "::" \
                and host == "::1" and family == "AF_INET"
            values.update(self._values(server=q.side), listen=show_address((host, port)),
                          server_family=theirs, family=family)
            if moved:
                values["_extra"] = "moved"
            self._add(_Found("refused", p.side, e.t, values, variant="family"))
            return
        listening = sorted({msg("diagnose.refused.entry", self.lang,
                                side=side_label(q.side, self.lang), port=port_)
                            for q in self.procs.values() for port_ in q.listening.values()
                            if q.side != p.side and self.alive.get(q.side, True)})
        if listening:
            values.update(listening=", ".join(listening), _extra="elsewhere")
        else:
            values["_extra"] = "none"
        self._add(_Found("refused", p.side, e.t, values))

    def _in_use(self, p: _Proc, e: Event, call: Event | None) -> None:
        # str(OSError) is "[Errno 98] Address already in use"; the text shows [Errno 98] itself
        message = (e.message or "").split("] ", 1)[-1]
        addr = call.addr if call is not None else None
        if e.family == "AF_UNIX" or (call is not None and call.family == "AF_UNIX") or \
                isinstance(addr, str):
            self._add(_Found("in_use", p.side, e.t, self._values(
                side=p.side, path=show_address(addr) or "?", errno=e.errno, message=message),
                variant="unix"))
            return
        nominal, real = p.bound.get(e.sock, (None, None))
        found = self._add(_Found("in_use", p.side, e.t, self._values(
            side=p.side, port=nominal if nominal is not None else "?", errno=e.errno,
            message=message), variant="unknown", pending=True))
        found.values["_real"] = real
        found.values["_nominal"] = nominal
        found.values["_reuse"] = e.sock in p.reuse
        rows = self.rows() if callable(self.rows) else self.rows
        if rows is not None:
            states = {r.state for r in rows if r.local_port == real}
            self._settle(found, states)
        if found.pending:
            self._decide_in_use()

    def _decide_in_use(self) -> None:
        for f in self.found:
            if f.key != "in_use" or not f.pending:
                continue
            port = f.values.get("_nominal")
            states = {state for local, _remote, state in self.tcp
                      if port is not None and local.endswith(f":{port}")}
            self._settle(f, states)

    def _settle(self, f: _Found, states: set[str]) -> None:
        if "LISTEN" in states:
            f.variant, f.pending = "listen", False
        elif "TIME_WAIT" in states:
            f.variant, f.pending = ("time_wait_reuse" if f.values.get("_reuse")
                                    else "time_wait"), False
        elif "FIN_WAIT2" in states:
            f.variant, f.pending = "fin_wait2", False
        else:
            return
        self._cache = None
