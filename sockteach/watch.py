"""``sockteach watch``: the learner's own programs under the tracer, in the lesson view.

Each script runs as a side of a :class:`~sockteach.session.Session`, named by its role: a
script whose file name says ``server`` (or ``client``) has that role; otherwise one that calls
``listen(``/``accept(`` (or uses ``socketserver``) is a server, any other a client. Names repeat
as ``client2``, ``server2``… ``--peer N:ROLE`` adds lesson N's ROLE script as the other side,
driven as the lesson drives it (:mod:`sockteach.watch_peer`: the lesson's lines typed into it,
each when it waits in ``input()``). Servers start first (each until it listens, at most
``LISTEN_WAIT`` s), then clients.

The programs' nominal ports (8081, 8080 and other usual ones) are mapped to free ports of the
session, so the programs of one watch reach each other and nothing stale gets in the way.

Typing: a line typed in the watch terminal goes to the learner's program that waits in
``input()``; when several wait, Tab switches between them (the view says which one gets the
line). Without a terminal on stdin, each line read from stdin goes to the first program that
waits in ``input()`` (``@client2 text`` names one); once stdin is exhausted, a program that
asks for input gets end-of-file, as with ``python prog.py < file``.

Output printed again and again is folded into one line whose count climbs
(:mod:`sockteach.watch_fold`).

It ends when every one of the learner's programs has ended (the peer is then stopped), or on
Ctrl-C (exit 130). When stdout is not a terminal it also ends once the peer has done all the
lesson does to it and nothing new has happened for ``IDLE_AFTER`` s (the programs are idle or
spinning), and says so; in a terminal it says so and waits for Ctrl-C. Either way nothing it
started is left running.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from . import kernel
from .events import Event, dump_jsonl, order_key
from .i18n import msg
from .model import Timeline
from .narrator import side_label
from .session import Session, SessionError, WaitTimeout
from .watch_fold import OutputFolder, Piece, fold_line
from .watch_peer import PeerDriver
from .watch_terminal import Above as _Above, Keys  # noqa: F401  (replay uses them from here)

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.text import Text

    from .lessons import Lesson

# The nominal ports mapped for the learner's programs (the same list the grader maps).
PORTS = (8081, 8080, 8000, 8082, 8888, 9000, 9090, 9999, 5000, 12345)
LISTEN_WAIT = 3.0  # seconds a server may take to listen before the clients start anyway
EXIT_OK, EXIT_FAIL, EXIT_INTERRUPTED = 0, 1, 130
IDLE_AFTER = 3.0  # seconds with nothing new after which the programs count as idle
PEER_QUIET = 1.5  # seconds with nothing new after which the peer's Ctrl-C may come
NOT_NEW = ("blocked", "tcp", "repeat")  # judgements, kernel samples, a spin's count
_SERVER_CODE = re.compile(r"\.(listen|accept)\s*\(|socketserver|serve_forever")


@dataclass(frozen=True)
class Program:
    """One program of a watch: its side name, its script, and whether it is the learner's."""

    side: str
    script: Path
    learner: bool = True

    @property
    def role(self) -> str:
        return "server" if self.side.startswith("server") else "client"


def role_of(script: Path) -> str:
    """"server" or "client": from the file name, else from what the code calls."""
    stem = script.stem.lower()
    if "server" in stem:
        return "server"
    if "client" in stem:
        return "client"
    try:
        code = script.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "client"
    return "server" if _SERVER_CODE.search(code) else "client"


def plan(scripts: list[Path], peer: "tuple[Lesson, str] | None" = None) -> list[Program]:
    """The programs of a watch, servers first. With a peer and one script, the script takes
    the other role than the peer's."""
    roles = [role_of(s) for s in scripts]
    peer_role = None
    if peer is not None:
        peer_role = "server" if peer[1].startswith("server") else "client"
        if len(scripts) == 1:
            roles = ["client" if peer_role == "server" else "server"]
    used: set[str] = set()

    def name(role: str) -> str:
        n, side = 1, role
        while side in used:
            n += 1
            side = f"{role}{n}"
        used.add(side)
        return side

    programs = [Program(name(role), Path(s), True) for s, role in zip(scripts, roles)]
    if peer is not None and peer_role is not None:
        lesson, role = peer
        programs.append(Program(name(peer_role), lesson.file(lesson.code[role]), False))
    return sorted(programs, key=lambda p: p.role != "server")


def title(programs: list[Program], lang: str, peer: "tuple[Lesson, str] | None" = None) -> str:
    names = " ⇄ ".join(p.script.name for p in programs if p.learner)
    if peer is not None:
        return msg("watch.title_peer", lang, files=names, number=peer[0].number, role=peer[1])
    return msg("watch.title", lang, files=names)


# ---------------------------------------------------------------- the watch

Item = Union[Event, Piece]  # what a watch shows: an event, or a piece of folded output


class Watch:
    """The session of a watch, its view model, the peer's driver, the output folds, the
    input routing and the judgement "nothing new happens"."""

    def __init__(self, programs: list[Program], lang: str, *, title: str,
                 peer: "tuple[Lesson, str] | None" = None, map_ports: bool | None = None,
                 blocked_after: float = 0.3) -> None:
        self.programs = programs
        self.lang = lang
        self.title = title
        self.peer = peer
        self.session = Session(PORTS, blocked_after=blocked_after, map_ports=map_ports)
        rows = kernel.read_rows if kernel.available() else None
        self.timeline = Timeline(lang=lang, kernel_rows=rows)
        self.seen = 0
        self.lock = threading.RLock()
        self.folders: dict[tuple, OutputFolder] = {}  # (side, stream[, repeated line])
        self.drivers: list[PeerDriver] = []
        self.last_new = 0.0  # session time when something new last happened
        self._calls_seen: dict[tuple, float] = {}
        self.stopped_idle: set[str] = set()  # the learner's sides the idle end stopped
        self.ended_idle = ""  # what the watch said when it ended for idleness
        self.target: str | None = None
        self.buffer = ""
        self.note = ""
        self._eof_sent: dict[str, Event] = {}

    # -- processes

    def start(self) -> None:
        """Servers first (until each listens), then the others."""
        s = self.session
        # A lesson's peer runs in the learner's folder, so relative paths (an AF_UNIX
        # socket file such as 'echo.sock') name the same file for both sides.
        home = next((p.script.parent for p in self.programs if p.learner), None)
        for p in self.programs:
            rec = s.start(p.side, p.script, cwd=None if p.learner else home)
            if not p.learner and self.peer is not None:
                lesson, role = self.peer
                self.drivers.append(PeerDriver(lesson, role, p.side, s, self.lang))
            if p.role != "server":
                continue

            def ready(rec=rec, side=p.side) -> bool:
                return rec.exit_code is not None or s.input_pending(side) is not None or any(
                    e.kind in ("return", "raise") and e.name in ("listen", "bind")
                    and e.pid == rec.pid for e in s.snapshot(self.seen))
            try:
                s.wait_until(ready, LISTEN_WAIT, f"{p.side} to listen")
            except WaitTimeout:
                pass
            self.drive()
        self.last_new = s.now()

    def drive(self, stdin_open: bool = True) -> bool:
        """The peer's next scripted action, if it waits for one; True if one was done."""
        quiet = self.quiet(stdin_open)
        return any([d.step(quiet) for d in self.drivers])

    def quiet(self, stdin_open: bool = True) -> bool:
        """Nothing new for ``PEER_QUIET`` s, and none of the learner's programs waits in
        ``input()`` for a line that may still come (then the peer's Ctrl-C may come)."""
        if self.session.now() - self.last_new < PEER_QUIET:
            return False
        return not (stdin_open and self.waiting())

    def scripted(self, side: str) -> bool:
        """Whether the lesson's scenario still types into ``side``."""
        return any(d.side == side and not d.finished for d in self.drivers)

    def finished(self) -> bool:
        """Every one of the learner's programs has ended."""
        sides = [self.session.sides.get(p.side) for p in self.programs if p.learner]
        return all(rec is not None and rec.exit_code is not None for rec in sides)

    def exit_status(self) -> int:
        """0 if each of the learner's programs ended with 0 or was still running when the
        watch ended for idleness; else 1."""
        ok = all(self.session.sides[p.side].exit_code == 0 or p.side in self.stopped_idle
                 for p in self.programs if p.learner)
        return EXIT_OK if ok else EXIT_FAIL

    def close(self) -> None:
        self.session.close()
        self.pull()

    # -- events → what is shown

    def pull(self) -> list[Item]:
        """The new events, in order, with each side's output folded: the timeline gets what
        is shown as lines; a fold is shown by :meth:`folds` (and returned as pieces)."""
        with self.lock:
            new = self.session.snapshot(self.seen)
            self.seen += len(new)
            out: list[Item] = []
            fed: set[tuple[str, str]] = set()
            for e in sorted(new, key=order_key):
                if e.kind == "output" or (e.kind == "repeat" and e.name == "output"):
                    # The tracer folds each repeated line on its own (a spin may print two
                    # lines in turn): each gets a folder of its own, its count climbs there.
                    key = (e.side, e.stream or "stdout")
                    if e.kind == "repeat":
                        key += (e.text or "",)
                    fed.add(key)
                    folder = self._folder(key)
                    if e.kind == "output":
                        pieces = folder.feed(e.text or "", release=False)
                    else:
                        pieces = folder.release() + folder.repeat(e.text or "", e.count or 0)
                    self._shown(e.side, pieces, out, e.t, e.pid, e.stream)
                    continue
                for key, folder in self.folders.items():
                    if key[0] == e.side:  # its output so far comes before this event
                        pieces = folder.end() if e.kind == "exit" else folder.release()
                        self._shown(key[0], pieces, out, e.t, e.pid, key[1])
                self.timeline.apply(e)
                out.append(e)
                if self._new(e):
                    self.last_new = self.session.now()
            for key, folder in self.folders.items():
                pieces = folder.release() if key in fed else folder.tick()
                self._shown(key[0], pieces, out, self.session.now(), None, key[1])
            return out

    def folds(self) -> list:
        """Each side's latest fold that no other output has followed yet."""
        with self.lock:
            return [f.last for f in self.folders.values() if f.last is not None]

    def _folder(self, key: tuple) -> OutputFolder:
        if key not in self.folders:
            self.folders[key] = OutputFolder(key[0], key[1])
        return self.folders[key]

    def _shown(self, side: str, pieces: list[Piece], out: list[Item], t: float,
               pid: int | None, stream: str | None = None) -> None:
        lines = [p.text for p in pieces if p.kind == "line"]
        if lines:
            self.timeline.apply(Event(t, side, "output", text="\n".join(lines) + "\n",
                                      stream=stream, pid=pid))
            self.last_new = self.session.now()
        out.extend(pieces)

    def _new(self, e: Event) -> bool:
        """Whether ``e`` is something new: not a judgement or a sample, and not a socket
        call that already happened the same way less than ``IDLE_AFTER`` s ago."""
        if e.kind in NOT_NEW:
            return False
        if e.kind not in ("call", "return", "raise"):
            return True
        key = (e.side, e.kind, e.name, e.args, e.result, e.error, e.errno)
        last = self._calls_seen.get(key)
        self._calls_seen[key] = e.t
        if len(self._calls_seen) > 5000:
            self._calls_seen = {k: t for k, t in self._calls_seen.items()
                                if e.t - t <= IDLE_AFTER}
        return last is None or e.t - last > IDLE_AFTER

    # -- idle

    def idle(self, stdin_open: bool = True) -> bool:
        """Nothing new for ``IDLE_AFTER`` s, the peer waits for no scripted line, and none of
        the learner's programs waits in ``input()`` for a line that may still come."""
        if self.session.now() - self.last_new < IDLE_AFTER:
            return False
        unread = self.session.snapshot(self.seen)  # not pulled yet: perhaps something new
        if any(e.kind not in NOT_NEW and e.kind != "output" for e in unread):
            return False
        if not self.quiet(stdin_open):
            return False
        return not any(d.ready(quiet=True) for d in self.drivers)

    def idle_text(self, key: str) -> str:
        """``watch.idle_end`` or ``watch.idle_wait``, with what the peer has done."""
        lang, peer = self.lang, ""
        for d in self.drivers:
            number, role = d.lesson.number, d.role
            record = self.session.sides.get(d.side)
            if not d.left:
                peer = msg("watch.peer_done", lang, number=number, role=role)
            elif record is not None and record.exit_code is not None:
                peer = msg("watch.peer_ended", lang, number=number, role=role, left=d.left)
            else:
                peer = msg("watch.peer_stuck", lang, number=number, role=role,
                           call=d.waits_in() or "?", left=d.left)
        return msg(key, lang, seconds=IDLE_AFTER, peer=peer)

    def end_idle(self) -> None:
        """The watch ends for idleness: note which of the learner's programs still ran."""
        self.ended_idle = self.idle_text("watch.idle_end")
        self.stopped_idle = {p.side for p in self.programs if p.learner
                             and self.session.sides[p.side].exit_code is None}

    # -- input

    def waiting(self) -> list[str]:
        """The sides waiting in ``input()`` now for a line from the learner (not the peer
        the lesson types into), the longest waiting first."""
        calls = []
        for side in self.session.sides:
            call = self.session.input_pending(side)
            if call is not None and self.session.sides[side].exit_code is None \
                    and not self.scripted(side):
                calls.append((call.t, side))
        return [side for _, side in sorted(calls)]

    def current_target(self) -> str | None:
        waiting = self.waiting()
        if self.target not in waiting:
            self.target = waiting[0] if waiting else None
        return self.target

    def switch(self) -> None:
        waiting = self.waiting()
        if waiting:
            i = waiting.index(self.target) if self.target in waiting else -1
            self.target = waiting[(i + 1) % len(waiting)]

    def send(self, text: str, side: str | None = None) -> bool:
        """Type ``text`` into ``side`` (default: the current target); False if nobody waits."""
        side = side or self.current_target()
        if side is None or side not in self.waiting():
            return False
        try:
            self.session.type(side, text, timeout=0.5)
        except (SessionError, OSError, ValueError):
            return False
        return True

    def send_eof(self, side: str) -> None:
        """End-of-file (Ctrl-D) to a side waiting in ``input()``, once per ``input()`` call
        (never to the peer: the lesson's program gets what the lesson types)."""
        call = self.session.input_pending(side)
        if call is None or self._eof_sent.get(side) is call or not self._is_learners(side):
            return
        self._eof_sent[side] = call
        try:
            self.session.eof(side)
        except (SessionError, OSError, ValueError):
            pass

    def _is_learners(self, side: str) -> bool:
        return any(p.side == side and p.learner for p in self.programs)

    def key(self, token: str) -> None:
        """One key typed in the watch terminal."""
        self.note = ""
        if token == "enter":
            if self.send(self.buffer):
                self.buffer = ""
            else:
                self.note = msg("watch.nobody", self.lang)
        elif token == "backspace":
            self.buffer = self.buffer[:-1]
        elif token == "kill":
            self.buffer = ""
        elif token == "tab":
            self.switch()
        elif token == "eof":
            side = self.current_target()
            if side is not None and not self.buffer:
                self.send_eof(side)
        elif len(token) == 1:
            self.buffer += token

    def prompt(self) -> "Text":
        """The lines under the view: the folds, what the peer's script has done, who gets
        what is typed, and the line being typed."""
        from rich.text import Text

        lang = self.lang
        text = Text()
        for fold in self.folds():
            text.append(fold_line(fold, lang) + "\n", style="dim")
        for d in (d for d in self.drivers if d.actions):
            text.append(msg("watch.peer_progress", lang, number=d.lesson.number, role=d.role,
                            done=d.done_count, total=len(d.actions)) + "\n", style="dim")
        if self.idle():
            text.append(self.idle_text("watch.idle_wait") + "\n", style="bold")
        target = self.current_target()
        if target is not None:
            call = self.session.input_pending(target)
            ask = (call.args or ("''",))[0] if call is not None else "''"
            text.append(msg("watch.waits", lang, side=side_label(target, lang), prompt=ask),
                        style="bold yellow")
            others = [s for s in self.waiting() if s != target]
            if others:
                text.append(msg("watch.tab", lang, side=side_label(others[0], lang)),
                            style="yellow")
        else:
            text.append(msg("watch.no_input", lang), style="dim")
        text.append("\n> ", style="bold")
        text.append(self.buffer)
        text.append("▏", style="blink")
        if self.note:
            text.append("  " + self.note, style="italic yellow")
        text.append("\n" + msg("watch.keys", lang), style="dim")
        return text


# ---------------------------------------------------------------- running it


def become_subreaper() -> None:
    """Linux: adopt the programs' orphans (a forked child whose parent was stopped), so that
    their exits are reaped at once and the teardown does not wait on zombies (some init
    processes, e.g. in containers, reap them late). For the ``watch`` command's process."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def run_watch(programs: list[Program], lang: str, *, console: "Console", title: str,
              peer: "tuple[Lesson, str] | None" = None, record: str | None = None,
              map_ports: bool | None = None, keys: bool | None = None) -> int:
    """Run a watch to its end; returns the exit status (0: every program of the learner
    ended with 0 or was idle at the end, 1: one did not, 130: Ctrl-C). ``keys``: read keys
    from the terminal (default: when stdin and stdout are terminals)."""
    from .view import LessonView
    from .watch_stream import live, stream

    watch = Watch(programs, lang, title=title, peer=peer, map_ports=map_ports)
    if keys is None:
        keys = console.is_terminal and sys.stdin.isatty()
    interrupted = False
    stopped_at: float | None = None
    try:
        try:
            watch.start()
            if console.is_terminal:
                live(watch, console, keys)
            else:
                stream(watch, console)
        except KeyboardInterrupt:
            interrupted = True
            stopped_at = watch.session.now()
    finally:
        with _no_interrupt():  # the teardown must finish: a second Ctrl-C waits for it
            watch.close()
            if record:
                with open(record, "w", encoding="utf-8") as f:
                    dump_jsonl(watch.session.sorted_events(), f)
    now = stopped_at if stopped_at is not None else watch.session.now()
    console.print(LessonView(watch.timeline, now, title=watch.title))
    for fold in watch.folds():
        console.print(fold_line(fold, lang), markup=False, highlight=False)
    if interrupted:
        sys.stderr.write(msg("watch.interrupted", lang) + "\n")
        sys.stderr.flush()
        return EXIT_INTERRUPTED
    if watch.ended_idle:
        console.print(watch.ended_idle, markup=False, highlight=False)
    return watch.exit_status()


class _no_interrupt:
    def __enter__(self) -> None:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def watch_command(exercise: object, script: str | os.PathLike) -> str:
    """The ``sockteach watch`` command that shows an exercise's program live with the
    lesson's peer: a server exercise with the lesson's client, a client exercise with its
    server (``watch_peer`` in ``exercise.toml`` overrides, e.g. ``"3:server"``)."""
    import shlex

    path = Path(script)
    try:
        rel = os.path.relpath(path.resolve())
        shown = rel if not rel.startswith("..") else str(path.resolve())
    except ValueError:
        shown = str(path.resolve())
    data = getattr(exercise, "data", {}) or {}
    number = getattr(exercise, "number", 0)
    peer = data.get("watch_peer")
    if not peer:
        want = "server" if str(getattr(exercise, "file", "")).startswith("client") else "client"
        try:
            from . import lessons

            roles = list(lessons.get(number).code)
        except Exception:
            roles = []
        role = next((r for r in roles if r == want), None) or next(
            (r for r in roles if r.startswith(want)), None)
        peer = f"{number}:{role}" if role else None
    command = f"sockteach watch {shlex.quote(shown)}"
    return f"{command} --peer {peer}" if peer else command
