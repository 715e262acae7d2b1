"""Facts about one run of a program, read from its events only (pure: no process, no clock).

The driver asks these questions of the live stream to decide what to do next; the judges ask
the same questions of the recorded stream to decide the verdicts. A "run" is the list of one
started program's events (its forks included) in the order they arrived.

Besides the tracer's and the session's events, the grader adds its own (plain fields of the
stream's :class:`Event`; what the lead may want as fields of their own is said in brackets):

- ``resource`` (side of the program): ``seconds`` = CPU seconds used, ``count`` = resident
  bytes, ``text`` = ``"runnable"``/``"waiting"`` (the kernel's state; ``"running"`` in
  older records)/``"zombie"``/``"gone"`` — a sample, taken at every
  checkpoint [``cpu``, ``rss``, ``status``];
- ``watchdog`` (side of the program): ``name`` = ``"flood"``, ``"fork"``, ``"fork_bomb"``,
  ``"network"``; ``count`` = processes seen, ``text`` = the far address — the grader stopped
  it [``what``, ``procs``, ``addr``];
- ``mark`` (a grader's note): ``name`` = ``"trial"`` (side ``"grader"``: a fresh session
  begins; ``seconds`` = the run's time budget, ``count`` = the exercise), ``"start"`` (side and
  ``text`` = the side started, ``pid``), ``"forced"`` (Ctrl-C/SIGTERM did not end it, SIGKILL
  did), ``"typed"`` (a line typed into a client: ``text``, ``count`` = characters it had
  printed before, ``code`` 0 when typing worked), ``"window"`` (``title`` = what the grader
  watched in the kernel's table, ``seconds`` = for how long; ``tcp`` samples of the rows of
  that port follow, with real ports), ``"stale"`` (exercise 9: ``text`` = what the socket
  file was before the restart), ``"difference"`` (exercise 5, side of a peer: see
  :mod:`.drive_sendall_server`) and ``"checkpoint"`` (side ``"grader"``: the evidence for
  ``title`` is complete here; ``seconds`` = the budget left);
- the grader's peers' own socket calls, sides ``"peer"``, ``"peer2"``, … (see :mod:`.peers`).
"""

from __future__ import annotations

import signal

from ..events import Event, address, host_port
from .texts import sep, t

RECV_NAMES = ("recv", "recv_into", "recvfrom", "recvfrom_into")
SEND_NAMES = ("send", "sendall", "sendto")
SPIN_LIMIT = 3  # b'' from recv more often than this on one connection: the server spins
FLOOD_CHARS = 1_000_000  # printed characters before the grader stops the program
MEMORY_LIMIT = 1 << 30  # bytes of address space (RLIMIT_AS)
FILE_LIMIT = 16 << 20  # bytes in one file (RLIMIT_FSIZE)
FORK_BOMB = 10  # more processes than this at once: a fork bomb, not a stray fork
EMPTY_RESULTS = ("b''", "0", "(b'', None)", "bytearray(b'')")


def empty_return(e: Event) -> bool:
    """A receive that returned no bytes (the peer closed)."""
    if e.nbytes is not None:
        return e.nbytes == 0
    return e.result in EMPTY_RESULTS


def received_text(e: Event) -> str | None:
    """What a receive's return shows as data (its repr), or None when it got nothing."""
    if empty_return(e):
        return None
    if e.result is not None:
        return e.result
    data = e.payload
    return repr(data) if data is not None else None


def pending(evs: list[Event], since: float = 0.0) -> list[Event]:
    """Calls the program is in (a call without its return yet), started after ``since``."""
    pend: dict[tuple, Event] = {}
    for e in evs:
        key = (e.pid, e.sock, e.name)
        if e.kind == "call":
            pend[key] = e
        elif e.kind in ("return", "raise"):
            pend.pop(key, None)
        elif e.kind == "exit":
            pend = {k: v for k, v in pend.items() if k[0] != e.pid}
    return sorted((e for e in pend.values() if e.t >= since), key=lambda e: e.t)


def input_call(evs: list[Event]) -> Event | None:
    for e in pending(evs):
        if e.name == "input":
            return e
    return None


def prompt(call: Event) -> str:
    return (call.args or ("''",))[0]


def listen_address(evs: list[Event]) -> tuple | None:
    """Where the program listens (the real address, from the ``listen`` return)."""
    for e in reversed(evs):
        if e.kind == "return" and e.name == "listen" and e.real:
            hp = host_port(address(e.real))
            if hp is not None:
                return hp  # the real address (the tracer made '' and 0.0.0.0 loopback)
    return None


def listening_on(evs: list[Event]) -> str | tuple | None:
    """What the run listens on: a path (AF_UNIX; version 1 wrote it as a repr) or an
    (ip, port) tuple; from the ``listen`` return (else the address ``bind`` asked for)."""
    import ast

    for e in reversed(evs):
        if e.kind == "return" and e.name == "listen":
            value = e.real
            if not value:  # getsockname() failed: the address asked for in bind()
                value = next((b.addr if b.addr is not None else (b.args or (None,))[0]
                              for b in reversed(evs) if b.kind == "call" and b.name == "bind"
                              and b.sock == e.sock), None)
            if isinstance(value, str) and value[:1] in ("'", '"', "(") or \
                    isinstance(value, str) and value[:2] in ("b'", 'b"'):
                try:
                    value = ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    return None
            if isinstance(value, bytes):
                value = value.decode("utf-8", "surrogateescape")
            if isinstance(value, list):
                value = tuple(value)
            return value if isinstance(value, (str, tuple)) and value != "" else None
    return None


def bound(evs: list[Event]) -> tuple[Event, Event] | None:
    """The first bind call that returned or raised, with that return (or raise)."""
    calls = {}
    for e in evs:
        if e.name != "bind":
            continue
        if e.kind == "call":
            calls[(e.pid, e.sock)] = e
        elif e.kind in ("return", "raise"):
            call = calls.get((e.pid, e.sock))
            if call is not None:
                return call, e
    return None


def bound_address(call: Event) -> tuple | None:
    """Where a bind call really bound (loopback for a wildcard host), as (host, port)."""
    for value in (call.real, call.addr, call.args[0] if call.args else None):
        hp = host_port(address(value))
        if hp is not None:
            host = hp[0] if hp[0] not in ("", "0.0.0.0", "localhost") else "127.0.0.1"
            return host, hp[1]
    return None


def nominal_address(evs: list[Event]) -> str:
    """The address the program asked for in bind(), as the learner wrote it."""
    for e in reversed(evs):
        if e.kind == "call" and e.name == "bind" and e.args:
            return e.args[0]
    addr = listen_address(evs)
    return repr(addr) if addr else "?"


def accepted_since(evs: list[Event], since: float) -> bool:
    return any(e.kind == "return" and e.name == "accept" and e.t >= since for e in evs)


def socket_calls(evs: list[Event]) -> int:
    return sum(1 for e in evs if e.kind == "call" and e.name != "input")


def exit_event(evs: list[Event]) -> Event | None:
    for e in reversed(evs):
        if e.kind == "exit":
            return e
    return None


def exit_code(evs: list[Event]) -> int | None:
    e = exit_event(evs)
    return None if e is None else e.code


def violation(evs: list[Event]) -> Event | None:
    """The watchdog's first stop of this run, if any."""
    return next((e for e in evs if e.kind == "watchdog"), None)


def violation_text(e: Event, lang: str) -> str:
    if e.name == "flood":
        return t("doing.flood", lang, limit=f"{FLOOD_CHARS:,}")
    if e.name == "fork_bomb":
        return t("doing.fork_bomb", lang, count=FORK_BOMB)
    if e.name == "fork":
        return t("doing.fork", lang, count=e.count)
    return t("doing.network", lang, addr=e.text)


def forced(evs: list[Event], side: str) -> bool:
    return any(e.kind == "mark" and e.name == "forced" and e.text == side for e in evs)


def spin_count(evs: list[Event], since: float) -> int:
    """The most times one socket's recv returned b'' (or 0 bytes) since ``since``."""
    totals: dict[tuple, int] = {}
    runs: dict[tuple, int] = {}
    for e in evs:
        if e.t < since or e.name not in RECV_NAMES:
            continue
        key = (e.pid, e.sock)
        if e.kind == "return" and empty_return(e):
            totals[key] = totals.get(key, 0) + 1
            runs[key] = 0
        elif e.kind == "repeat" and e.count is not None:
            totals[key] = totals.get(key, 0) + max(0, e.count - runs.get(key, 0))
            runs[key] = e.count
    return max(totals.values(), default=0)


def spinning_at(evs: list[Event], now: float, window: float = 0.3) -> int:
    """The repeat count if the program was spinning at ``now`` (a fresh repeat event)."""
    for e in reversed(evs):
        if e.kind == "repeat" and e.name in RECV_NAMES:
            return (e.count or 0) if now - e.t < window else 0
        if e.kind in ("call", "return") and now - e.t > window:
            break
    return 0


def output(evs: list[Event]) -> str:
    return "".join(e.text or "" for e in evs if e.kind == "output")


def sample(evs: list[Event]) -> Event | None:
    """The last resource sample of the run."""
    for e in reversed(evs):
        if e.kind == "resource":
            return e
    return None


def received_without_reply(evs: list[Event], since: float) -> str | None:
    """The data the program received after ``since`` with no send after it, if any."""
    last_data = None
    for e in evs:
        if e.t < since:
            continue
        if e.kind == "return" and e.name in RECV_NAMES and received_text(e) is not None:
            last_data = received_text(e)
        elif e.kind == "call" and e.name in SEND_NAMES:
            last_data = None
    return last_data


def doing(evs: list[Event], lang: str, started: float, since: float = 0.0) -> str:
    """One sentence: what the program was doing (or how it ended) at its last resource
    sample (the moment the grader looked). ``started``: when this run began."""
    stop = violation(evs)
    now = sample(evs)
    now_t = now.t if now is not None else (evs[-1].t if evs else 0.0)
    if stop is not None:
        spin = spinning_at(evs, now_t, window=1.0)
        if spin and stop.name == "flood":
            return t("doing.spin_flood", lang, count=f"{spin:,}")
        return violation_text(stop, lang)
    if exit_event(evs) is not None:
        return ending(evs, lang)
    call = input_call(evs)
    if call is not None:
        return t("doing.input", lang, prompt=prompt(call))
    spin = spinning_at(evs, now_t)
    if spin:
        return t("doing.spin", lang, count=f"{spin:,}")
    pend = [e for e in pending(evs) if e.name != "input"]
    got = received_without_reply(evs, since)
    if pend:
        text = t("doing.waiting", lang, call=call_text(pend[-1]))
        if got is not None:
            text = t("doing.no_reply", lang, data=got) + sep(lang) + text
        return text
    cpu = now.seconds if now is not None else None
    rss = now.count if now is not None else None
    # Memory a program asked for counts, touched or not: RLIMIT_AS limits the virtual size
    # (a bytearray of zeros is not resident until written).
    taken = max(rss or 0, now.vms or 0) if now is not None else None
    alive = now_t - started
    if taken is not None and taken > MEMORY_LIMIT // 4:
        text = t("doing.memory_growing", lang, size=f"{taken >> 20:,} MiB",
                 limit=size_text(MEMORY_LIMIT))
    elif cpu is not None and ((cpu > 0.5 and cpu > 0.3 * alive)
                              or (now.text == "runnable" and cpu > 0.1)):
        text = t("doing.busy", lang, cpu=cpu)
    else:
        text = t("doing.idle", lang)
    if got is not None:
        text = t("doing.no_reply", lang, data=got) + sep(lang) + text
    return text


def ending(evs: list[Event], lang: str) -> str:
    """How the run ended: a signal, a limit, a crash with its error, or an exit code."""
    stop = violation(evs)
    if stop is not None:
        return violation_text(stop, lang)
    end = exit_event(evs)
    if end is None or end.code is None:
        return ""
    code = end.code
    error = last_error(output(evs)) or raised_last(evs)
    if code < 0:
        sig = -code
        if sig == getattr(signal, "SIGXCPU", -1):
            return t("doing.cpu_limit", lang)
        if sig == getattr(signal, "SIGXFSZ", -1):
            return t("doing.file_killed", lang, limit=size_text(FILE_LIMIT))
        if sig == signal.SIGKILL and forced(evs, end.side):
            return t("doing.term_ignored", lang)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return t("doing.killed", lang, sig=name)
    if error and code != 0:
        if error.startswith("MemoryError"):
            return t("doing.memory", lang, limit=size_text(MEMORY_LIMIT), error=error)
        if "[Errno 27]" in error:  # EFBIG: the file-size limit
            return t("doing.file_size", lang, limit=size_text(FILE_LIMIT), error=error)
        return t("doing.crashed", lang, code=code, error=error)
    return t("doing.exited", lang, code=code)


def raised_last(evs: list[Event]) -> str | None:
    """"OSError: [Errno 22] …" when the program's last socket call raised it — the error
    that most likely ended it, from the trace, when its printed traceback is missing (a
    pty can lose the last output of a process that exits at once)."""
    calls = [e for e in evs if e.kind in ("call", "return", "raise")]
    if calls and calls[-1].kind == "raise" and calls[-1].error:
        last = calls[-1]
        return f"{last.error}: {last.message}" if last.message else last.error
    return None


def shown_output(evs: list[Event], always: bool = False) -> str:
    """The end of the program's output, when it tells what happened: it crashed, printed a
    traceback, was stopped by the watchdog — or the check is about what it printed."""
    text = output(evs)
    code = exit_code(evs)
    if always or violation(evs) is not None or "Traceback" in text or code not in (None, 0):
        return tail(text)
    return ""


def size_text(n: int) -> str:
    """1073741824 → "1 GiB", 16777216 → "16 MiB"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def call_text(call: Event) -> str:
    args = ", ".join(call.args or ())
    return f"{call.name}({args})"


def last_error(text: str) -> str | None:
    """The exception line of a traceback in ``text`` ("ValueError: boom"), if any."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    seen_tb = any(ln.startswith("Traceback (most recent call last)") or
                  ln.lstrip().startswith("File ") for ln in lines)
    for ln in reversed(lines):
        if ln.startswith((" ", "\t", "^", "~")):
            continue
        head = ln.split(":", 1)[0]
        if head.replace(".", "").replace("_", "").isalnum() and head[:1].isupper() and (
                head.endswith(("Error", "Exception", "Interrupt", "Exit", "Warning")) or seen_tb):
            return ln
    return None


def tail(text: str, lines: int = 15, chars: int = 1500) -> str:
    """The end of what a program printed, short enough to show."""
    text = text.rstrip("\n")
    rows = text.splitlines()
    if len(rows) > lines:
        text = "…\n" + "\n".join(rows[-lines:])
    if len(text) > chars:
        text = "…" + text[-chars:]
    return text


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, final stop."""
    text = text[:1].upper() + text[1:]
    if text.endswith((".", "。", "?", "？")):
        return text
    return text + ("。" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else ".")


# ---------------------------------------------------------------- a client's facts


def connect_outcome(evs: list[Event]) -> str | None:
    """"ok" once a connect returned; else the error of the last failed attempt; None before
    any. (create_connection may try ::1 before 127.0.0.1: a refused first try is fine.)"""
    error = None
    for e in evs:
        if e.name not in ("connect", "connect_ex"):
            continue
        if e.kind == "raise":
            error = f"{e.name}() → {e.error}: {e.message}"
        elif e.kind == "return":
            if e.name == "connect_ex" and e.result not in ("0", None):
                error = f"connect_ex() → {e.result}"
            else:
                return "ok"
    return error


def connect_target(evs: list[Event]) -> str:
    """The address of the connect() that succeeded, as the program wrote it."""
    calls = {}
    for e in evs:
        if e.name in ("connect", "connect_ex") and e.kind == "call" and e.args:
            calls[(e.pid, e.sock)] = e.args[0]
        elif e.name in ("connect", "connect_ex") and e.kind == "return" and (
                e.name == "connect" or e.result == "0"):
            return calls.get((e.pid, e.sock), "?")
    return "?"


def asks_since(evs: list[Event], since: float) -> bool:
    """It waits in an input() that it called after ``since``."""
    return any(e.name == "input" for e in pending(evs, since))


def blocked_in_recv(evs: list[Event], since: float) -> bool:
    """It waits in a recv() that the session judged blocked after ``since``."""
    pend = {(e.sock, e.name) for e in pending(evs) if e.name in ("recv", "recv_into")}
    return any(e.kind == "blocked" and e.name in ("recv", "recv_into") and e.t >= since
               and (e.sock, e.name) in pend for e in evs)


def empty_sends(evs: list[Event], since: float) -> list[Event]:
    """Send calls of no bytes after ``since`` (``send(b'')``: nothing goes on the wire)."""
    return [e for e in evs if e.t >= since and e.kind == "call" and e.name in SEND_NAMES
            and (e.args[0] in ("b''", "bytearray(b'')", "''") if e.args else e.nbytes == 0)]
