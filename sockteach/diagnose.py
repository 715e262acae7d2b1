"""Diagnosis: patterns in the event stream that explain why a program hangs or fails.

A pure function of the events (and, optionally, the kernel's TCP table): :func:`diagnose`
returns one :class:`Diagnosis` per situation it recognises, with the explanation and the next
step in the run's language (wording in ``messages/diagnose.*.toml``). ``watch``, the lessons'
view and ``check``'s messages all use it.

The catalogue — each rule is decided from events only:

``both_recv``
    Two sides are blocked in ``recv()`` at the same moment (both have a ``blocked`` event for a
    read still under way) and no rule below explains it. If the latest send of either side was
    empty (``send(b'')``), the text says so: nothing crossed the wire.
``framing``
    A side is blocked reading a connection on which it received bytes since it last sent on
    it, and another side is blocked in ``recv()`` too: the reader waits for the rest of a
    message the writer thinks it sent whole. With ``makefile()`` on that connection the text
    speaks of ``readline()`` and the missing ``b'\\n'``; otherwise of a length or end marker.
``backlog``
    A client is blocked in ``recv()`` on a connection the server has not accepted yet (since
    the server's ``listen()``, more clients connected to its port than ``accept()`` returned),
    and the server is not in ``accept()``: the client sits in the listen backlog. A client
    blocked in ``connect()`` itself (a full backlog) is the same diagnosis.
``accept_again``
    The server is blocked in ``accept()`` while a client whose connection it did accept is
    blocked in ``recv()`` waiting for an answer (``accept()`` inside the communication loop).
``spin``
    ``recv()`` keeps returning ``b''`` on one socket: a ``repeat`` event with a count of
    ``SPIN_MIN`` or more, or more than ``SPIN_MIN`` returns of ``b''`` in a row on it (a
    ``selectors`` loop that calls ``select()`` between them).
``in_use``
    ``bind()`` raised errno 98 (48 on macOS). AF_UNIX: the socket file exists (decided at
    once). Otherwise the cause is read from the kernel's table, from ``rows`` if given
    (matched on the real port), else the ``tcp`` events of the stream (nominal ports):
    ``LISTEN`` on the port → a running copy; ``TIME_WAIT`` → a recent connection (and whether
    this run set ``SO_REUSEADDR``); ``FIN_WAIT2`` → a server stopped while its client was
    still connected. Undecided until the table says.
``refused``
    ``connect()`` raised ``ConnectionRefusedError`` (or ``connect_ex`` returned 111, or a
    non-blocking connect's ``getsockopt(SOL_SOCKET, SO_ERROR)`` returned it): names the ports
    the other sides listen on, if any; a listener on the same port in the other address family
    is a family mismatch (with what sockteach's move of ``::`` to ``::1`` changed); AF_UNIX:
    nothing listens on the socket file.
``not_connected``
    ``recv()``/``send()`` raised ENOTCONN (errno 107 on Linux), on the listening socket or on a
    socket that never connected.
``peer_gone``
    ``BrokenPipeError``, ``ConnectionResetError`` or ``ConnectionAbortedError`` in a call. If
    the process makes another call afterwards it caught the error: the diagnosis ends there
    (``handled``) and :func:`explain` leaves it out. A reset names the peer's ``close()`` that
    sent the RST (unread data, or ``SO_LINGER (1, 0)``) when the stream has it.

A side waiting in ``select()``/``poll()``/``epoll`` for readable fds counts as waiting to read
for ``both_recv``; one that waits there for its listening socket is as good as in
``accept()`` for ``backlog``. Events are upgraded first (:func:`sockteach.legacy.upgrade`):
the rules read only the structured fields.

A situation (both_recv, framing, backlog, accept_again) ends (``until``) when one of the calls
it involves returns, raises, or its process exits; a raise-type diagnosis when its side is
started again; a spin when the socket is closed or the side restarts. :func:`active` keeps
those that hold at a given time — what a view shows "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence, Union

from .diagnose_errors import ErrorRules, _Found, _Proc, port_of
from .events import Event
from .i18n import msg
from .legacy import upgrade
from .narrator import call_text, short, side_label, sockopt_args

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Row

SPIN_MIN = 3  # repeats of recv() → b'' (after the first) that make a spin
READS = ("recv", "recv_into")
SENDS = ("send", "sendall")
WAITS = ("select", "poll", "epoll")
IN_USE = (98, 48)  # EADDRINUSE on Linux, macOS
REFUSED = (111, 61)
GONE = {"BrokenPipeError": "broken_pipe", "ConnectionResetError": "reset",
        "ConnectionAbortedError": "reset"}
GONE_ERRNO = {32: "broken_pipe", 104: "reset", 54: "reset", 103: "reset"}
IN_PROGRESS = (115, 36)  # EINPROGRESS on Linux, macOS

Rows = Union[Sequence["Row"], Callable[[], Sequence["Row"]], None]



@dataclass(frozen=True)
class Diagnosis:
    """One recognised situation: ``key`` (see the module docstring), the ``side`` it is about,
    when it began (``t``) and ended (``until``, None while it holds), and the words."""

    key: str
    side: str
    t: float
    text: str
    next_step: str
    until: float | None = None
    handled: bool = False  # the program went on after the error (it caught it)

    def active(self, now: float) -> bool:
        return self.t <= now and (self.until is None or self.until > now)


def diagnose(events: Iterable[Event], lang: str = "en", rows: Rows = None) -> list[Diagnosis]:
    """Every diagnosis in ``events`` (taken in time order), oldest first."""
    d = Diagnoser(lang, rows)
    for e in sorted(events, key=lambda e: e.t):
        d.feed(e)
    return d.diagnoses


def active(diagnoses: Iterable[Diagnosis], now: float) -> list[Diagnosis]:
    """The diagnoses that hold at ``now``, newest first."""
    return sorted((d for d in diagnoses if d.active(now)), key=lambda d: d.t, reverse=True)


class Diagnoser(ErrorRules):
    """Feeds events one by one (in time order); ``diagnoses`` is the list so far."""

    def __init__(self, lang: str = "en", rows: Rows = None) -> None:
        self.lang = lang
        self.rows = rows
        self.procs: dict[tuple, _Proc] = {}
        self.alive: dict[str, bool] = {}
        self.main_pid: dict[str, int | None] = {}
        self.listen_counts: dict[int, list[int]] = {}  # port → [connects, accepts]
        self.tcp: tuple = ()
        self.found: list[_Found] = []
        self._open: dict[tuple, _Found] = {}  # situation key → the one that holds
        self._spins: dict[tuple, _Found] = {}
        self._gone: dict[tuple, _Found] = {}  # (side, pid) → its latest peer_gone
        self.resets: list[tuple] = []  # (side, pid, sock, unread, linger): closes that sent RST
        self._cache: list[Diagnosis] | None = None

    # -- what it says

    @property
    def diagnoses(self) -> list[Diagnosis]:
        if self._cache is None:
            self._cache = [self._render(f) for f in self.found]
        return list(self._cache)

    def _render(self, f: _Found) -> Diagnosis:
        key = f"diagnose.{f.key}"
        variant = f".{f.variant}" if f.variant else ""
        text = msg(f"{key}.text{variant}", self.lang, **f.values)
        extra = f.values.get("_extra")
        if extra:
            text += ("" if self.lang == "zh" else " ") + msg(f"{key}.{extra}", self.lang,
                                                             **f.values)
        try:
            next_step = msg(f"{key}.next{variant}", self.lang, **f.values)
        except KeyError:  # a variant with the general next step
            next_step = msg(f"{key}.next", self.lang, **f.values)
        return Diagnosis(f.key, f.side, f.t, text, next_step, f.until,
                         bool(f.values.get("_handled")))

    def _add(self, found: _Found) -> _Found:
        self.found.append(found)
        self._cache = None
        return found

    def _end(self, found: _Found, t: float) -> None:
        if found.until is None:
            found.until = t
            self._cache = None

    # -- feeding

    def feed(self, e: Event) -> None:
        e = upgrade(e)
        if e.kind == "tcp":
            if e.states is not None:
                self.tcp = e.states
                self._decide_in_use()
            return
        if e.side in ("lesson", "kernel") or e.kind == "step" or e.internal:
            return  # internal: a socket the learner's program did not make (asyncio's own)
        if e.kind in ("call", "return", "raise", "repeat", "blocked") and \
                not self.alive.get(e.side, True):
            self._restart(e)
        self.alive.setdefault(e.side, True)
        self.main_pid.setdefault(e.side, e.pid)
        proc = self.procs.get((e.side, e.pid))
        if proc is None:
            proc = self.procs[(e.side, e.pid)] = _Proc(e.side, e.pid)
        handler = getattr(self, f"_on_{e.kind}", None)
        if handler is not None:
            handler(proc, e)

    def _restart(self, e: Event) -> None:
        """A new process took the side's name: what was said of the old one is over."""
        self.alive[e.side] = True
        self.main_pid[e.side] = e.pid
        for f in self.found:
            if f.side == e.side or any(x[0] == e.side for x in f.involved):
                self._end(f, e.t)
        for table in (self._open, self._spins, self._gone):
            for key in [k for k, f in table.items() if f.until is not None]:
                del table[key]
        for key in [k for k in self.procs if k[0] == e.side]:
            del self.procs[key]

    def _on_call(self, p: _Proc, e: Event) -> None:
        name = e.name or ""
        gone = self._gone.pop((p.side, p.pid), None)
        if gone is not None:  # it went on after the error: it caught it
            gone.values["_handled"] = True
            self._end(gone, e.t)
        p.pending[(e.sock, name)] = e
        args = e.args or ()
        if name == "bind":
            p.binds[e.sock] = e
            p.bound[e.sock] = (port_of(e.addr), port_of(e.real) or port_of(e.addr))
        elif name == "setsockopt" and len(args) >= 3 and sockopt_args(args)[1] == "SO_REUSEADDR" \
                and args[2:3] not in (("0",), ("False",)):
            p.reuse.add(e.sock)
        elif name == "makefile":
            p.files.add(e.sock)
        elif name == "close" and e.wire == "RST" and e.held != "makefile":
            self.resets.append((p.side, p.pid, e.sock, e.unread or 0, e.linger))

    def _finish(self, p: _Proc, e: Event) -> Event | None:
        key = (e.sock, e.name or "")
        call = p.pending.pop(key, None)
        p.blocked.discard(key)
        involved = (p.side, p.pid, e.sock, e.name)
        for sit, found in list(self._open.items()):
            if involved in found.involved:
                self._end(found, e.t)
                del self._open[sit]
        return call

    def _on_return(self, p: _Proc, e: Event) -> None:
        call = self._finish(p, e)
        name, result = e.name or "", e.result or ""
        if name == "listen":
            ports = p.bound.get(e.sock)
            if e.sock in p.binds:
                p.listeners[e.sock] = p.binds[e.sock]
            if ports and ports[0] is not None:
                p.listening[e.sock] = ports[0]
                self.listen_counts[ports[0]] = [0, 0]
        elif name in ("connect", "connect_ex"):
            if name == "connect_ex" and result != "0":
                if result.isdigit() and int(result) in REFUSED:
                    self._refused(p, e, call)
                elif result.isdigit() and int(result) in IN_PROGRESS and call is not None:
                    p.connecting[e.sock] = call
                return
            self._connected(p, e.sock, call)
        elif name == "getsockopt" and e.sock in p.connecting and call is not None and \
                sockopt_args(tuple(call.args or ()))[1:2] == ("SO_ERROR",) and result.isdigit():
            pending = p.connecting.pop(e.sock)
            if int(result) in REFUSED:
                self._refused(p, e, pending)
            elif result == "0":
                self._connected(p, e.sock, pending)
        elif name == "accept":
            port = p.listening.get(e.sock)
            if e.conn is not None:
                p.conns[e.conn] = ("in", port)
                p.empties.pop(e.conn, None)
            if port in self.listen_counts:
                self.listen_counts[port][1] += 1
        elif name in READS and e.socktype != "SOCK_DGRAM":  # b'' on UDP: an empty datagram
            if e.nbytes == 0:
                p.empties[e.sock] = p.empties.get(e.sock, 0) + 1
                if p.empties[e.sock] > SPIN_MIN:
                    self._spin(p, e, p.empties[e.sock])
            elif e.nbytes is not None:
                p.empties.pop(e.sock, None)
                data = short(repr(e.payload), 30) if name == "recv" and e.payload is not None \
                    else msg("bytes", self.lang, n=e.nbytes)
                p.unanswered.setdefault(e.sock, []).append(data)
        elif name in SENDS:
            data = call.payload if call is not None else None
            p.unanswered.pop(e.sock, None)
            shown = call_text(name, call.args) if call is not None and call.args else f"{name}()"
            p.last_send = (short(shown, 40), data)
        elif name == "close":
            for sock_map in (p.listening, p.conns, p.unanswered, p.bound, p.listeners,
                             p.empties, p.connecting):
                sock_map.pop(e.sock, None)
            p.files.discard(e.sock)
            spin = self._spins.pop((p.side, p.pid, e.sock), None)
            if spin is not None:
                self._end(spin, e.t)

    def _connected(self, p: _Proc, sock: int | None, call: Event | None) -> None:
        port = port_of(call.addr) if call is not None else None
        if port is not None:
            p.conns[sock] = ("out", port)
            if port in self.listen_counts:
                self.listen_counts[port][0] += 1

    def _on_raise(self, p: _Proc, e: Event) -> None:
        call = self._finish(p, e)
        name = e.name or ""
        if name == "bind" and e.errno in IN_USE:
            self._in_use(p, e, call)
        elif name in ("connect", "connect_ex") and (
                e.error == "ConnectionRefusedError" or e.errno in REFUSED):
            self._refused(p, e, call)
        elif name == "connect" and (e.errname == "EINPROGRESS" or e.errno in IN_PROGRESS):
            if call is not None:
                p.connecting[e.sock] = call
        elif e.errname == "ENOTCONN" or (e.errname is None and e.errno == 107):
            variant = "listening" if e.sock in p.listening else "plain"
            self._add(_Found("not_connected", p.side, e.t, self._values(
                side=p.side, call=name, errno=e.errno), variant=variant))
        elif e.error in GONE or e.errno in GONE_ERRNO:
            how = GONE.get(e.error or "") or GONE_ERRNO[e.errno]  # type: ignore[index]
            values = self._values(side=p.side, call=name, error=e.error or "OSError")
            if how == "reset":
                self._reset_cause(p, e, values)
            self._gone[(p.side, p.pid)] = self._add(_Found("peer_gone", p.side, e.t, values,
                                                           variant=how))

    def _reset_cause(self, p: _Proc, e: Event, values: dict) -> None:
        """The close() of another socket that sent the RST, if the stream has it."""
        for side, pid, sock, unread, _linger in reversed(self.resets):
            if (side, pid, sock) == (p.side, p.pid, e.sock):
                continue
            values["peer"] = side_label(side, self.lang)
            if unread:
                values.update(n=msg("bytes", self.lang, n=f"{unread:,}"), _extra="by_unread")
            else:
                values["_extra"] = "by_linger"
            return

    def _on_repeat(self, p: _Proc, e: Event) -> None:
        if e.name not in READS or e.result not in ("b''", "0") or (e.count or 0) < SPIN_MIN \
                or e.socktype == "SOCK_DGRAM":
            return
        self._spin(p, e, (e.count or 0) + 1)

    def _spin(self, p: _Proc, e: Event, count: int) -> None:
        key = (p.side, p.pid, e.sock)
        found = self._spins.get(key)
        if found is None:
            self._spins[key] = self._add(_Found("spin", p.side, e.t, self._values(
                side=p.side, count=f"{count:,}")))
        elif count > int(str(found.values["count"]).replace(",", "")):
            found.values["count"] = f"{count:,}"
            self._cache = None

    def _on_blocked(self, p: _Proc, e: Event) -> None:
        key = (e.sock, e.name or "")
        if key not in p.pending:
            return
        p.blocked.add(key)
        self._situation(e.t)

    def _on_exit(self, p: _Proc, e: Event) -> None:
        ended = [q for (side, pid), q in self.procs.items()
                 if side == e.side and (pid == e.pid or e.pid is None)]
        if e.pid is None or e.pid == self.main_pid.get(e.side):
            self.alive[e.side] = False
        for q in ended:
            for sit, found in list(self._open.items()):
                if any(x[0] == q.side and x[1] == q.pid for x in found.involved):
                    self._end(found, e.t)
                    del self._open[sit]
            q.pending.clear()
            q.blocked.clear()

    # -- situations: who waits for whom

    def _readers(self) -> list[tuple[_Proc, int | None, str]]:
        """Blocked calls that wait for bytes: recv(), or select()/poll()/epoll for readable
        fds only."""
        out = []
        for p in self.procs.values():
            for sock, name in p.blocked:
                call = p.pending.get((sock, name))
                if name in READS or (name in WAITS and call is not None and call.rfds
                                     and not call.wfds):
                    out.append((p, sock, name))
        return out

    def _waiting_text(self, p: _Proc, sock: int | None, name: str) -> str:
        """``recv()``, or ``select() (fd 4, 5 readable)``."""
        call = p.pending.get((sock, name))
        if name in WAITS and call is not None and call.rfds:
            fds = ", ".join(str(fd) for fd in call.rfds)
            return msg("diagnose.both_recv.select", self.lang, name=name, fds=fds)
        return f"{name}()"

    def _situation(self, t: float) -> None:
        readers = self._readers()
        explained: set[tuple] = set()

        def ident(p: _Proc, sock: int | None, name: str) -> tuple:
            return (p.side, p.pid, sock, name)

        # framing: a reader that got bytes it has not answered, while another side waits
        for p, sock, name in readers:
            if not p.unanswered.get(sock):
                continue
            others = [r for r in readers if r[0].side != p.side]
            if not others:
                continue
            w = others[0]
            variant = "line" if sock in p.files else "more"
            data = w[0].last_send[1] if w[0].last_send else None
            sent = short(repr(data), 30) if data is not None else "?"
            self._open_situation("framing", p.side, t, {ident(p, sock, name), ident(*w)}, dict(
                reader=p.side, writer=w[0].side, got=" + ".join(p.unanswered[sock][-3:]),
                sent=sent, call=f"{name}()"), variant)
            explained |= {ident(p, sock, name), ident(*w)}

        # backlog and accept_again: a client's connection and what the server does
        for c, sock, name in readers + self._connecting():
            if name in WAITS:
                continue
            if name == "connect":
                call = c.pending.get((sock, name))
                conn = ("out", port_of(call.addr if call is not None else None))
            else:
                conn = c.conns.get(sock)
            if conn is None or conn[0] != "out" or conn[1] not in self.listen_counts:
                continue
            port = conn[1]
            server = self._listener(port)
            if server is None or ident(c, sock, name) in explained:
                continue
            connects, accepts = self.listen_counts[port]
            in_accept = [(sk, nm) for (sk, nm) in server.blocked
                         if nm == "accept" and server.listening.get(sk) == port]
            # under way (judged blocked or not yet): accept(), or a select() on the listener
            listeners = {sk for sk, pt in server.listening.items() if pt == port}
            taking = [c for (sk, nm), c in server.pending.items()
                      if (nm == "accept" and sk in listeners)
                      or (nm in WAITS and listeners & set(c.rfds or ()))]
            if name == "connect" or connects > accepts:
                if taking:
                    continue  # accept() is about to take it
                self._open_situation("backlog", c.side, t, {ident(c, sock, name)}, dict(
                    client=c.side, server=server.side, doing=self._doing(server)),
                    "full" if name == "connect" else "")
                explained.add(ident(c, sock, name))
            elif in_accept:
                sk, nm = in_accept[0]
                self._open_situation("accept_again", server.side, t,
                                     {ident(c, sock, name), ident(server, sk, nm)},
                                     dict(server=server.side, client=c.side))
                explained.add(ident(c, sock, name))

        # both_recv: two sides in recv(), nothing above explains it
        rest = [r for r in readers if ident(*r) not in explained]
        sides: dict[str, tuple] = {}
        for r in sorted(rest, key=lambda r: (r[0].side != "server", r[0].side)):
            sides.setdefault(r[0].side, r)
        if len(sides) >= 2:
            a, b = list(sides.values())[:2]
            values: dict = dict(a=a[0].side, b=b[0].side, call_a=self._waiting_text(*a),
                                call_b=self._waiting_text(*b))
            extra = None
            for who in (a[0], b[0]):
                sends = [q.last_send for q in self.procs.values()
                         if q.side == who.side and q.last_send]
                if sends and sends[-1][1] == b"":
                    values.update(who=who.side, call=sends[-1][0])
                    extra = "empty"
            if extra:
                values["_extra"] = extra
            variant = "" if a[2] in READS and b[2] in READS else "waits"
            self._open_situation("both_recv", a[0].side, t, {ident(*a), ident(*b)}, values,
                                 variant)

    def _connecting(self) -> list[tuple[_Proc, int | None, str]]:
        return [(p, sock, name) for p in self.procs.values() for (sock, name) in p.blocked
                if name == "connect"]

    def _listener(self, port: int) -> _Proc | None:
        for p in self.procs.values():
            if port in p.listening.values() and self.alive.get(p.side, True):
                return p
        return None

    def _doing(self, p: _Proc) -> str:
        lang = self.lang
        calls = sorted(p.pending.values(), key=lambda c: c.t)
        if any(c.name == "input" for c in calls):
            return msg("diagnose.doing.input", lang)
        blocked = [c for c in calls if (c.sock, c.name) in p.blocked]
        if blocked:
            return msg("diagnose.doing.blocked", lang, call=blocked[0].name)
        return msg("diagnose.doing.running", lang)

    def _open_situation(self, key: str, side: str, t: float, involved: set, values: dict,
                        variant: str = "") -> None:
        sit = (key, frozenset(involved))
        if sit in self._open:
            return
        for other in list(self._open):  # one explanation per blocked call
            if other[1] & sit[1]:
                return
        self._open[sit] = self._add(_Found(key, side, t, self._values(**values), variant,
                                           involved=frozenset(involved)))

    def _values(self, **values: object) -> dict:
        """Placeholders, with side names turned into labels in the run's language."""
        out = dict(values)
        for k in ("side", "a", "b", "who", "reader", "writer", "client", "server"):
            if k in out and isinstance(out[k], str):
                out[k] = side_label(out[k], self.lang)
        return out


def explain(runs: Iterable[Iterable[Event]], lang: str = "en", rows: Rows = None,
            limit: int = 2) -> list[Diagnosis]:
    """What the catalogue recognises in one or more runs (each diagnosed on its own), one
    per kind, in the order they happened: for a failed check's message."""
    out: list[Diagnosis] = []
    keys: set[str] = set()
    for events in runs:
        for d in diagnose(events, lang, rows):
            if d.key not in keys and not d.handled:
                keys.add(d.key)
                out.append(d)
    return out[:limit]
