"""``sockteach watch``: the learner's own programs under the tracer, in the lesson view.

Each script runs as a side of a :class:`~sockteach.session.Session`, named by its role: a
script whose file name says ``server`` (or ``client``) has that role; otherwise one that calls
``listen(``/``accept(`` (or uses ``socketserver``) is a server, any other a client. Names repeat
as ``client2``, ``server2``… ``--peer N:ROLE`` adds lesson N's ROLE script as the other side.
Servers start first (each until it listens, at most ``LISTEN_WAIT`` s), then clients.

The programs' nominal ports (8081, 8080 and other usual ones) are mapped to free ports of the
session, so the programs of one watch reach each other and nothing stale gets in the way.

Typing: a line typed in the watch terminal goes to the program that waits in ``input()``;
when several wait, Tab switches between them (the view says which one gets the line).
Without a terminal on stdin, each line read from stdin goes to the first program that waits
in ``input()`` (``@client2 text`` names one); once stdin is exhausted, a program that asks
for input gets end-of-file, as with ``python prog.py < file``.

It ends when every one of the learner's programs has ended (the peer is then stopped), or on
Ctrl-C (exit 130); either way nothing it started is left running.
"""

from __future__ import annotations

import codecs
import os
import queue
import re
import select
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from . import kernel
from .events import Event, dump_jsonl
from .i18n import msg
from .model import Timeline
from .narrator import narrate, side_label
from .runner import Feed
from .session import Session, SessionError, WaitTimeout

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.text import Text

    from .lessons import Lesson

# The nominal ports mapped for the learner's programs (the same list the grader maps).
PORTS = (8081, 8080, 8000, 8082, 8888, 9000, 9090, 9999, 5000, 12345)
LISTEN_WAIT = 3.0  # seconds a server may take to listen before the clients start anyway
EXIT_OK, EXIT_FAIL, EXIT_INTERRUPTED = 0, 1, 130
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


# ---------------------------------------------------------------- keys


class Keys:
    """Keys from a terminal without echo or line editing (Ctrl-C still raises
    KeyboardInterrupt). ``read(timeout)`` returns tokens: a character, or "enter",
    "backspace", "tab", "eof" (Ctrl-D), "kill" (Ctrl-U), "left", "right", "up", "down",
    "home", "end", "esc"."""

    _SEQ = {"[A": "up", "[B": "down", "[C": "right", "[D": "left", "[H": "home", "[F": "end",
            "OA": "up", "OB": "down", "OC": "right", "OD": "left", "OH": "home", "OF": "end",
            "[1~": "home", "[4~": "end", "[5~": "pageup", "[6~": "pagedown"}
    _CTRL = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace",
             "\t": "tab", "\x04": "eof", "\x15": "kill"}

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.old = None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""
        self.closed = False

    def __enter__(self) -> "Keys":
        import termios

        self.old = termios.tcgetattr(self.fd)
        new = termios.tcgetattr(self.fd)
        new[3] &= ~(termios.ECHO | termios.ICANON)
        new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSANOW, new)
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        if self.old is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.old)

    def read(self, timeout: float) -> list[str]:
        if self.closed:  # the terminal went away: nothing more to read, but keep the pace
            select.select([], [], [], timeout)
            return []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        data = os.read(self.fd, 1024)
        if not data:
            self.closed = True
            return ["eof"]
        return list(self.tokens(self.decoder.decode(data)))

    def tokens(self, text: str) -> Iterator[str]:
        text = self.pending + text
        self.pending = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                rest = text[i + 1:]
                for seq, name in self._SEQ.items():
                    if rest.startswith(seq):
                        yield name
                        i += 1 + len(seq)
                        break
                else:
                    m = re.match(r"[\[O][0-9;]*[A-Za-z~]", rest)
                    i += 1 + (len(m.group(0)) if m else 0)
                    if not m:
                        yield "esc"
                continue
            if ch in self._CTRL:
                if not (ch == "\n" and i > 0 and text[i - 1] == "\r"):
                    yield self._CTRL[ch]
            elif ch >= " ":
                yield ch
            i += 1


# ---------------------------------------------------------------- the watch


class Watch:
    """The session of a watch, its view model, and the input routing."""

    def __init__(self, programs: list[Program], lang: str, *, title: str,
                 map_ports: bool = True, blocked_after: float = 0.3) -> None:
        self.programs = programs
        self.lang = lang
        self.title = title
        self.session = Session(PORTS, blocked_after=blocked_after, map_ports=map_ports)
        rows = kernel.read_rows if kernel.available() else None
        self.feed = Feed(self.session, lang, None, Timeline(lang=lang, kernel_rows=rows))
        self.timeline = self.feed.timeline
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
            if p.role != "server":
                continue

            def ready(rec=rec, side=p.side) -> bool:
                return rec.exit_code is not None or s.input_pending(side) is not None or any(
                    e.kind in ("return", "raise") and e.name in ("listen", "bind")
                    and e.pid == rec.pid for e in s.snapshot(self.feed.seen))
            try:
                s.wait_until(ready, LISTEN_WAIT, f"{p.side} to listen")
            except WaitTimeout:
                pass

    def finished(self) -> bool:
        """Every one of the learner's programs has ended."""
        sides = [self.session.sides.get(p.side) for p in self.programs if p.learner]
        return all(rec is not None and rec.exit_code is not None for rec in sides)

    def exit_status(self) -> int:
        codes = [self.session.sides[p.side].exit_code for p in self.programs if p.learner]
        return EXIT_OK if all(code == 0 for code in codes) else EXIT_FAIL

    def pull(self) -> list[Event]:
        return self.feed.pull()

    def close(self) -> None:
        self.session.close()
        self.pull()

    # -- input

    def waiting(self) -> list[str]:
        """The sides waiting in ``input()`` now, the longest waiting first."""
        calls = []
        for side in self.session.sides:
            call = self.session.input_pending(side)
            if call is not None and self.session.sides[side].exit_code is None:
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
        if side is None or self.session.input_pending(side) is None:
            return False
        try:
            self.session.type(side, text, timeout=0.5)
        except (SessionError, OSError, ValueError):
            return False
        return True

    def send_eof(self, side: str) -> None:
        """End-of-file (Ctrl-D) to a side waiting in ``input()``, once per ``input()`` call."""
        call = self.session.input_pending(side)
        if call is None or self._eof_sent.get(side) is call:
            return
        self._eof_sent[side] = call
        try:
            self.session.eof(side)
        except (SessionError, OSError, ValueError):
            pass

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
        """The lines under the view: who gets what is typed, and the line being typed."""
        from rich.text import Text

        lang = self.lang
        target = self.current_target()
        text = Text()
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


class _Above:
    """``main`` rendered in the height left above ``footer`` (which is always shown)."""

    def __init__(self, main: object, footer: object) -> None:
        self.main, self.footer = main, footer

    def __rich_console__(self, console, options):  # type: ignore[no-untyped-def]
        from rich.segment import Segment

        free = options.update(height=None)
        lines = console.render_lines(self.footer, free, pad=False)
        height = max(10, (options.height or options.max_height) - len(lines))
        yield from console.render(self.main, options.update(height=height))
        for line in lines:
            yield from line
            yield Segment.line()


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
              record: str | None = None, map_ports: bool = True,
              keys: bool | None = None) -> int:
    """Run a watch to its end; returns the exit status (0: every program of the learner
    ended with 0, 1: one did not, 130: Ctrl-C). ``keys``: read keys from the terminal
    (default: when stdin and stdout are terminals)."""
    from .view import LessonView

    watch = Watch(programs, lang, title=title, map_ports=map_ports)
    if keys is None:
        keys = console.is_terminal and sys.stdin.isatty()
    interrupted = False
    stopped_at: float | None = None
    try:
        try:
            watch.start()
            if console.is_terminal:
                _live(watch, console, keys)
            else:
                _stream(watch, console)
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
    if interrupted:
        sys.stderr.write(msg("watch.interrupted", lang) + "\n")
        sys.stderr.flush()
        return EXIT_INTERRUPTED
    return watch.exit_status()


class _no_interrupt:
    def __enter__(self) -> None:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _live(watch: Watch, console: "Console", keys: bool) -> None:
    from rich.live import Live

    from .view import LessonView

    def render():  # type: ignore[no-untyped-def]
        watch.pull()
        view = LessonView(watch.timeline, watch.session.now(), title=watch.title)
        return _Above(view, watch.prompt())

    lines = None if keys else _LineFeeder(watch)
    with Live(get_renderable=render, console=console, refresh_per_second=6, screen=True,
              redirect_stdout=False, redirect_stderr=False) as live:
        if keys:
            with Keys(sys.stdin.fileno()) as reader:
                while not watch.finished():
                    tokens = reader.read(0.1)
                    for token in tokens:
                        watch.key(token)
                    if tokens:
                        live.refresh()
        else:
            assert lines is not None
            while not watch.finished():
                lines.step()
                _wait(watch, 0.1)


def _stream(watch: Watch, console: "Console") -> None:
    """stdout is not a terminal: the narration as it happens, one line each, the programs'
    output, and each diagnosis when it first appears."""
    from rich.text import Text

    lang = watch.lang
    done = threading.Event()
    told = 0
    last_repeat: dict[tuple, float] = {}

    def printer() -> None:
        nonlocal told
        while True:
            finished = done.wait(0.1)
            for e in sorted(watch.pull(), key=lambda e: e.t):
                if e.kind == "repeat":
                    key = (e.side, e.name)
                    if e.t - last_repeat.get(key, -10.0) < 0.25:
                        continue
                    last_repeat[key] = e.t
                if e.kind == "output":
                    lines = (e.text or "").rstrip("\n").split("\n")
                    more = len(lines) - 20
                    for line in lines[:20]:
                        console.print(Text(f"{side_label(e.side, lang)} │ {line}", style="dim"))
                    if more > 0:
                        console.print(Text(msg("view.output_more", lang, n=f"{more:,}"),
                                           style="dim"))
                    continue
                line = narrate(e, lang)
                if line:
                    console.print(line, markup=False, highlight=False)
            found = watch.timeline.diagnoses
            for d in found[told:]:
                console.print(Text("⚠ " + d.text, style="yellow"))
                console.print(Text(msg("diagnose.next", lang) + d.next_step))
            told = len(found)
            if finished:
                return

    thread = threading.Thread(target=printer, name="sockteach-watch-narration", daemon=True)
    thread.start()
    feeder = _LineFeeder(watch)
    try:
        while not watch.finished():
            feeder.step()
            _wait(watch, 0.1)
    finally:
        done.set()
        thread.join(timeout=5)


def _wait(watch: Watch, seconds: float) -> None:
    """Until the next event or ``seconds``, whichever comes first."""
    with watch.session.cond:
        watch.session.cond.wait(seconds)


class _LineFeeder:
    """Lines read from stdin (not a terminal), handed to the programs waiting in input()."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.held: str | None = None
        self.ended = False
        threading.Thread(target=self._read, name="sockteach-watch-stdin", daemon=True).start()

    def _read(self) -> None:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            self.lines.put(None)
            return
        try:
            for raw in iter(stream.readline, b""):
                self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        self.lines.put(None)

    def step(self) -> None:
        w = self.watch
        while True:
            if self.held is None:
                try:
                    item = self.lines.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.ended = True
                    break
                self.held = item
            text, side = self.held, None
            m = re.match(r"@(\w+) ?(.*)$", text)
            if m and m.group(1) in w.session.sides:
                side, text = m.group(1), m.group(2)
            waiting = w.waiting()
            if (side is None and not waiting) or (side is not None and side not in waiting):
                return  # hold the line until a program asks
            if not w.send(text, side or waiting[0]):
                return
            self.held = None
        if self.ended and self.held is None:
            for side in w.waiting():
                w.send_eof(side)


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
