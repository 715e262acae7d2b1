"""Jupyter: play a lesson, serve a lesson's server, show a lesson's code — as HTML.

No ipywidgets and no JavaScript. Every view is HTML and CSS made for the browser
(:mod:`sockteach.notebook_html`, with a plain-text twin) shown with ``IPython.display``; a
live view is one display handle updated a few times a second, which JupyterLab, Notebook,
VS Code and nbclient all keep. Nothing here writes to stderr (graders such as nbgrader fail
a cell that does). Scratch folders of a kernel that was killed are removed by the next one
(:mod:`sockteach.notebook_scratch`).

- :func:`play` plays lesson N in the cell, like ``sockteach lesson N --auto``.
- :func:`serve` starts lesson N's server in the background (the learner is the client, in
  the next cells) and narrates into the cell that started it; :meth:`Server.stop` ends it.
  Calling ``serve`` again for the same lesson (re-running the cell) stops the previous one
  first, and every server still running is stopped when the kernel shuts down or restarts.
- :func:`show` returns the lesson's code, highlighted, loaded from the lesson's files.
- :func:`hint` returns the hints of exercise N; :func:`folder` makes lesson N's folder for
  its hands-on files. In a kernel, ``sockteach.check()``'s result shows as a checklist
  that wraps in the cell.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import notebook_html as view_html
from . import notebook_scratch as scratch
from .i18n import msg, pick_lang
from .notebook_html import Page

if TYPE_CHECKING:  # pragma: no cover
    from .events import Event
    from .lessons import Lesson

__all__ = ["play", "serve", "show", "hint", "folder", "Server", "Page", "Rendered", "Markdown",
           "stop_all", "LessonInterrupted"]

LIVE_LINES = 40  # lines of narration a live serve() view shows
REFRESH = 0.2  # seconds between live updates (5 a second)
TICK = 1.0  # a live view with nothing new is still redrawn this often (its timers move)
FAST_ENV = "SOCKTEACH_NOTEBOOK_FAST"  # "1": play() at the fastest pace (tests, CI)

Rendered = Page  # the name earlier versions exported


class LessonInterrupted(KeyboardInterrupt):
    """The kernel was interrupted while a lesson played. A KeyboardInterrupt (so "Run all"
    stops there), shown by IPython as its one-line message, not as a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


# ---------------------------------------------------------------- the kernel


def _shell() -> Any:
    """The IPython kernel's shell, or None outside a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def _env_fast() -> bool:
    return os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no")


class _Ticker:
    """Calls ``tick`` every ``period`` seconds on a daemon thread until stopped. An error in
    ``tick`` ends the ticking and is kept in ``error``: nothing is printed."""

    def __init__(self, tick: Callable[[], None], period: float, name: str) -> None:
        self.tick, self.period = tick, period
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "_Ticker":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> "_Ticker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._done.wait(self.period):
            try:
                self.tick()
            except BaseException as exc:  # noqa: BLE001 - a thread must not print a traceback
                self.error = exc
                return


class _Display:
    """One updatable output. In a kernel: a display handle; ``parent`` (the request of the
    cell that made it) routes updates made later, from any thread, back to that cell.
    Outside a kernel nothing is shown until :meth:`final`."""

    def __init__(self, first: Page) -> None:
        self.shell = _shell()
        self.handle = None
        self.parent = None
        self.last = first.html
        if self.shell is not None:
            from IPython.display import display

            self.parent = self.shell.get_parent() if hasattr(self.shell, "get_parent") else None
            self.handle = display(first, display_id=True)

    @property
    def live(self) -> bool:
        return self.handle is not None

    def update(self, obj: Page, everywhere: bool = True) -> None:
        """Replace the output. Sent twice when the cell that made it is not the one running
        now: parented to its own cell (JupyterLab routes by cell) and, with ``everywhere``,
        to the running cell (nbclient reads only the running cell's messages, and finds the
        output by its id). A cell that was run again has lost the output: update it with
        ``everywhere=False`` (nbclient fails on an update of an output it cleared)."""
        if self.handle is None:
            return
        if obj.html == self.last:
            return  # nothing changed: send nothing
        self.last = obj.html
        pub = getattr(self.shell, "display_pub", None)
        setter = getattr(pub, "set_thread_parent", None)
        if setter is None or not self.parent:
            self.handle.update(obj)
            return
        token = setter(self.parent)
        try:
            self.handle.update(obj)
        finally:
            pub.reset_thread_parent(token)
        if everywhere and _msg_id(pub.parent_header) != _msg_id(self.parent):
            self.handle.update(obj)

    def final(self, obj: Page) -> None:
        if self.handle is None:
            print(obj.text, end="")
        else:
            self.update(obj)


def _msg_id(message: Any) -> Any:
    """The msg_id of a message or of a header (ipykernel keeps either, depending on where)."""
    if not isinstance(message, dict):
        return None
    return (message.get("header") or message).get("msg_id")


def _show(obj: Any) -> None:
    """Display ``obj`` as one more output of the running cell (printed outside a kernel)."""
    if _shell() is None:
        print(obj.text, end="")
        return
    from IPython.display import display

    display(obj)


# ---------------------------------------------------------------- play


def play(number: int | str, lang: str | None = None, speed: float = 1.0,
         fast: bool = False) -> None:
    """Play lesson ``number`` in this cell: real processes, a live view (the newest rows of
    the sequence, the narration, the kernel's table), then the summary — the whole timeline,
    the sequence diagram and every line of narration folded below it — what the lesson
    taught and its code changes.

    ``speed`` scales the visible pauses (2: twice as fast); ``fast`` (or the environment
    variable ``SOCKTEACH_NOTEBOOK_FAST=1``) plays at the fastest pace that shows each event.
    The cell blocks while the lesson plays; interrupting the kernel stops every process, and
    the summary shows what happened up to the interrupt (not the stopping itself).
    """
    from .diagram import svg
    from .lessons import get
    from .runner import Feed, lesson_title
    from .scenario import Pace, Player, ScenarioError
    from .session import Session

    scratch.sweep()
    lesson = get(number)
    lang = pick_lang(lang)
    pace = Pace(speed=speed, fast=bool(fast) or _env_fast())
    title = lesson_title(lesson, lang)
    session = Session(lesson.ports, blocked_after=pace.blocked_after)
    scratch.claim(session)
    feed = Feed(session, lang, lesson)

    def refresh() -> None:
        feed.pull()
        out.update(view_html.frame(feed.timeline, session.now(), title))

    failure: str | None = None
    interrupted = False
    end = 0.0
    try:
        out = _Display(view_html.frame(feed.timeline, session.now(), title))
        ticker = _Ticker(refresh, REFRESH, "sockteach-notebook-view")
        with ticker if out.live else contextlib.nullcontext():
            try:
                Player(lesson, session, lang, pace).run()
                session.hold(pace.hold(1.0))
            except ScenarioError as exc:
                failure = str(exc)
            except KeyboardInterrupt:
                interrupted = True
                # What the lesson did ends here: the stopping that follows (the processes
                # killed, their connections reset) is ours, not the lesson's.
                for record in session.sides.values():
                    record.signalled = True
                end = session.now()
                feed.pull()
    finally:
        session.close()
    if not interrupted:
        feed.pull()
        end = session.now()
    events = session.snapshot()[:feed.seen]
    note = failure
    if interrupted:
        note = msg("notebook.interrupted", lang)
    try:
        picture = svg(events, lang, lesson, title) if events else None
    except Exception:  # noqa: BLE001 - the summary is shown without its diagram
        picture = None
    out.final(view_html.summary(feed.timeline, end, title, note, picture))
    if interrupted:
        raise LessonInterrupted(msg("notebook.interrupted", lang))
    if failure is None:
        _show(Markdown(view_html.learned_markdown(lesson, lang)))
        changes = view_html.lesson_changes(lesson, lang)
        if changes.body:
            _show(changes)


# ---------------------------------------------------------------- serve

_RUNNING: dict[tuple[int, str], "Server"] = {}
_RUNNING_LOCK = threading.Lock()


class Server:
    """One side of a lesson — its server — running in the background, narrated into the
    cell that started it. The learner's own code is the client: it is not traced, so it
    connects to the real address, :attr:`address` (``('127.0.0.1', port)``)."""

    def __init__(self, lesson: "Lesson", role: str, lang: str) -> None:
        from .runner import Feed
        from .session import Session

        self.lesson, self.role, self.lang = lesson, role, lang
        self.nominal = lesson.ports[0]
        scratch.sweep()
        self.session = Session(lesson.ports, blocked_after=0.5)
        scratch.claim(self.session)
        self.feed = Feed(self.session, lang, lesson)
        self.port: int = self.session.port_map[self.nominal]
        self.host = "127.0.0.1"
        self.note: str | None = None  # why the server is not listening, when it is not
        self._stopped: str | None = None  # the message shown once stopped
        self._lock = threading.RLock()
        self._out: _Display | None = None
        self._ticker: _Ticker | None = None
        self._shown = (-1, 0.0)

    # -- what the learner uses

    @property
    def address(self) -> "tuple[str, int] | str":
        """Where the server listens: pass it to ``connect``. For an AF_UNIX server, the path
        of its socket file (it runs in a private folder)."""
        import ast

        for e in reversed(self.session.snapshot()):
            if e.side == "server" and e.kind == "call" and e.name == "bind" and e.args:
                try:
                    where = ast.literal_eval(e.args[0])
                except (ValueError, SyntaxError):
                    break
                if isinstance(where, str):
                    return str(self.session.workdir / where)
                break
        return (self.host, self.port)

    @property
    def running(self) -> bool:
        record = self.session.sides.get("server")
        return self._stopped is None and record is not None and record.exit_code is None

    @property
    def events(self) -> list["Event"]:
        """Every event so far (the server's socket calls, its output, the TCP table), by time."""
        return self.session.sorted_events()

    @property
    def narration(self) -> list[str]:
        """The narration so far, one line each."""
        with self._lock:
            self.feed.pull()
            return [line.text for line in self.feed.timeline.narration]

    def stop(self) -> None:
        """Stop the server and everything it started; the narration shows it stopped."""
        self._close(msg("notebook.serve.stopped", self.lang))

    def type(self, text: str = "", timeout: float = 10.0) -> "Server":
        """Type ``text`` and Enter into the server, when it waits in ``input()`` (some
        servers wait for Enter before they read: the lesson says so)."""
        self.session.type("server", text, timeout)
        self._refresh(force=True)
        return self

    def interrupt(self, timeout: float = 5.0) -> "Server":
        """Press Ctrl-C in the server's terminal and wait (up to ``timeout``) until it ends."""
        from .session import SessionError

        if self.running:
            self.session.interrupt("server")
            try:
                self.session.wait_exit("server", timeout)
            except SessionError:
                pass
        self._refresh(force=True)
        return self

    def wait_tcp(self, state: str, timeout: float = 5.0) -> "Server":
        """Wait (up to ``timeout`` s) until the kernel's table, as the narration shows it, has
        a connection of this server in ``state`` — e.g. ``srv.wait_tcp("CLOSE_WAIT")``."""
        from .session import SessionError

        def seen() -> bool:
            return any(e.kind == "tcp" and any(row[2] == state for row in e.states or ())
                       for e in self.session.snapshot())

        try:
            self.session.wait_until(seen, timeout, f"the kernel's table to show {state}")
        except SessionError:
            raise TimeoutError(msg("notebook.serve.no_state", self.lang, state=state,
                                   seconds=f"{timeout:g}")) from None
        self._refresh(force=True)
        return self

    def restart(self, role: str | None = None, timeout: float = 10.0) -> "Server":
        """Start the server again on the same port — e.g. right after :meth:`interrupt` to
        meet "Address already in use" (lesson 4). ``role`` picks another of the lesson's
        files (``"server_fixed"``)."""
        if self._stopped is not None:
            raise RuntimeError(self._stopped)
        if role is not None:
            self.role = _role(self.lesson, role, self.lang)
        if self.running:
            self.session.stop("server")
        self._start(timeout)
        self._refresh(force=True)
        return self

    # -- display

    def view(self, lines: int | None = None) -> Page:
        """The narration so far (its last ``lines`` lines, or all), as shown under the cell
        that started the server."""
        with self._lock:
            self.feed.pull()
            timeline = self.feed.timeline
            lang = self.lang
            file = self.lesson.code[self.role]
            head = msg("notebook.serve.title", lang, number=self.lesson.number, file=file)
            address = msg("notebook.serve.address", lang, host=self.host, port=self.port,
                          nominal=self.nominal)
            said = timeline.narration
            if lines is not None:
                said = said[-lines:]
            if self._stopped is not None:
                status = self._stopped
            else:
                status = msg("notebook.serve.status", lang,
                             status=timeline.status("server", self.session.now()))
            esc = view_html.esc
            page = Page(f"<h4>{esc(head)}</h4><div class=\"stk-server\">{esc(address)}</div>",
                        f"{head}\n{address}\n", "serve")
            if said:
                page += view_html.narration(list(said), msg("view.narration", lang))
            else:
                nothing = msg("notebook.serve.nothing_yet", lang)
                page += Page(f'<div class="stk-box stk-muted">{esc(nothing)}</div>',
                             nothing + "\n")
            page += Page(f'<div class="stk-server"><b>{esc(status)}</b></div>', status + "\n")
            if self.note:
                page += view_html.note(self.note)
            page += view_html.tcp(timeline)
            page.kind = "serve"
            return page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return self.view()._repr_mimebundle_()

    def __repr__(self) -> str:
        return self.view().text

    # -- internals

    def _launch(self) -> None:
        """Start the server, wait until it listens, show the narration under this cell and
        keep it up to date from a background thread."""
        self._start(10.0)
        self._out = _Display(self.view(LIVE_LINES))
        if self._out.live:
            self._ticker = _Ticker(self._refresh, REFRESH, "sockteach-notebook-serve").start()

    def _start(self, timeout: float) -> None:
        from .session import SessionError

        script = self.lesson.file(self.lesson.code[self.role])
        self.note = None
        record = self.session.start("server", script, copy=True)

        def listening_or_ended() -> bool:
            if record.exit_code is not None:
                return True
            mine = [e for e in self.session.events if e.side == "server" and e.pid == record.pid]
            if any(e.kind == "return" and e.name == "listen" for e in mine):
                return True
            # A UDP server (lesson 7) never listens: bound, and then waiting for a datagram
            # (or for Enter before it reads), it is ready for the learner's client.
            bound = [i for i, e in enumerate(mine) if e.kind == "return" and e.name == "bind"]
            return bool(bound) and any(e.kind == "call" and e.name in (
                "recvfrom", "recvfrom_into", "input") for e in mine[bound[0]:])

        try:
            self.session.wait_until(listening_or_ended, timeout, "the server to listen")
        except SessionError as exc:
            self.note = msg("notebook.serve.not_listening", self.lang, file=script.name,
                            reason=str(exc))

    def _refresh(self, force: bool = False, everywhere: bool = True) -> None:
        """Redraw the narration cell when something happened (or the timers moved)."""
        if self._out is None:
            return
        with self._lock:
            count = len(self.session.events)
            now = time.monotonic()
            seen, when = self._shown
            if not force and count == seen and now - when < TICK:
                return
            self._shown = (count, now)
            view = self.view(LIVE_LINES)
        self._out.update(view, everywhere)

    def _close(self, why: str, quiet: bool = False, everywhere: bool = True) -> None:
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped = why
        if self._ticker is not None:
            self._ticker.stop()
        self.session.close()
        with _RUNNING_LOCK:
            key = (self.lesson.number, self.role)
            if _RUNNING.get(key) is self:
                del _RUNNING[key]
        if not quiet and self._out is not None:
            try:
                self._refresh(force=True, everywhere=everywhere)
            except Exception:  # noqa: BLE001 - the kernel may be going away
                pass


def _role(lesson: "Lesson", role: str, lang: str) -> str:
    if role not in lesson.code:
        raise LookupError(msg("notebook.serve.no_role", lang, number=lesson.number, role=role,
                              roles=", ".join(lesson.code)))
    return role


def serve(number: int | str, lang: str | None = None, *, role: str = "server") -> Server:
    """Start lesson ``number``'s server in the background and narrate it into this cell.

    Returns a :class:`Server`: connect your own client to ``srv.address``; ``srv`` shows the
    narration so far; ``srv.stop()`` ends it. Serving the same lesson again (re-running the
    cell) stops the previous server first; the kernel stops every server when it shuts down
    or restarts. Each server gets a fresh free port, so nothing fails with "address in use".
    """
    from .lessons import get

    lesson = get(number)
    lang = pick_lang(lang)
    role = _role(lesson, role, lang)
    key = (lesson.number, role)
    with _RUNNING_LOCK:
        previous = _RUNNING.pop(key, None)
    if previous is not None:  # most likely its cell was run again, and its output is gone
        previous._close(msg("notebook.serve.replaced", previous.lang), everywhere=False)
    server = Server(lesson, role, lang)
    with _RUNNING_LOCK:
        _RUNNING[key] = server
    try:
        server._launch()
    except BaseException:
        server._close("", quiet=True)
        raise
    return server


def stop_all(quiet: bool = False) -> None:
    """Stop every server :func:`serve` started in this process."""
    with _RUNNING_LOCK:
        servers = list(_RUNNING.values())
        _RUNNING.clear()
    for server in servers:
        try:
            server._close(msg("notebook.serve.stopped", server.lang), quiet=quiet)
        except Exception:  # noqa: BLE001 - at exit, stop the others anyway
            pass


atexit.register(stop_all, True)


def _check_bundle(result: Any) -> dict[str, str]:
    return view_html.checklist(result)._repr_mimebundle_()


def register_formatters() -> bool:
    """In a kernel, show ``sockteach.check()``'s result as the notebook's checklist (it wraps
    in the cell) instead of its 115-column terminal rendering. True when registered."""
    shell = _shell()
    formatter = getattr(getattr(shell, "display_formatter", None), "mimebundle_formatter", None)
    if formatter is None:
        return False
    from .grading.result import Result

    formatter.for_type(Result, _check_bundle)
    return True


if register_formatters():  # imported in a kernel: a killed kernel's folders go now
    scratch.sweep()


# ---------------------------------------------------------------- code and hints


def show(number: int | str, role: str | None = None, lang: str | None = None,
         diff: bool = False) -> Page:
    """Lesson ``number``'s code for ``role`` (``"server"``, ``"client"``…; default: every
    file), highlighted and read from the lesson's files; ``diff=True``: the change from the
    previous stage. In a notebook the code is a plain ``<pre>``: copying it gives the file."""
    from .lessons import get

    lesson = get(number)
    lang = pick_lang(lang)
    roles = [role] if role is not None else list(lesson.code)
    page = Page("", "", "code")
    for r in roles:
        page += view_html.code_view(lesson, r, lang, diff=diff)
    return page


def folder(number: int | str, base: str | os.PathLike | None = None) -> Path:
    """The folder of lesson ``number``'s hands-on files, ``NN-slug/`` next to the notebook
    (in ``base``, default the current folder), created if missing: each lesson's
    ``server.py`` has a place of its own."""
    from .lessons import get

    path = Path(base or ".") / get(number).path.name
    path.mkdir(parents=True, exist_ok=True)
    return path


class Markdown:
    """Markdown text: rendered as Markdown in a notebook, shown as is elsewhere."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def hint(number: int | str, lang: str | None = None) -> Markdown:
    """The hints of exercise ``number``."""
    from .exercises import get

    return Markdown(get(number).hints(pick_lang(lang)))
