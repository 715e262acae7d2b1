"""Terminal renderables: the live lesson view, the lesson's end, code and the course list.

Nothing here prints: each function returns a rich renderable and ``LessonView`` yields through
``__rich_console__``, so the caller's ``Console`` (or ``Live``) does all output. Widths come
from rich's cell measurement, so Chinese text lines up; text wraps the way Chinese is set and
draws without characters of ambiguous width where a terminal may draw them wide
(:mod:`sockteach.screen_text`). The live view fits the terminal it is drawn in, at every frame
(so a resize is followed): see :class:`LessonView`.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.jupyter import JupyterMixin
from rich.markdown import Markdown
from rich.panel import Panel
from rich.segment import Segment
from rich.syntax import Syntax
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from .i18n import msg, pick
from .model import Row, Timeline
from .narrator import side_label
from .screen_text import Wrapped, plain, safe_glyphs

if TYPE_CHECKING:  # pragma: no cover
    from .lessons import Lesson

_SIDE_COLORS = {"server": "cyan", "client": "green"}
_MORE_COLORS = ("magenta", "yellow", "blue", "bright_red", "bright_cyan")
_ROW_STYLES = {"call": "bold", "raise": "bold red", "repeat": "yellow", "output": "dim",
               "input": "italic", "exit": "bold", "start": "italic dim"}
WIDE = 110  # from this width on, narration and the TCP table sit side by side
MIN_ROWS = 3  # the timeline keeps this many rows while other parts can still shrink
MIN_WIDTH, MIN_HEIGHT = 80, 24  # the smallest terminal the live view is laid out for
SIMPLE_ASCII = box.Box("    \n    \n -- \n    \n    \n -- \n    \n    \n", ascii=True)
SIMPLE_HEAD_ASCII = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def side_color(side: str) -> str:
    """The colour of a side: server cyan, client green, client2, client3… the others."""
    if side in _SIDE_COLORS:
        return _SIDE_COLORS[side]
    digits = "".join(ch for ch in side if ch.isdigit())
    return _MORE_COLORS[(int(digits) if digits else 0) % len(_MORE_COLORS)]


class Stack(JupyterMixin):
    """Renderables one under the other (a ``Group`` that notebooks can display too)."""

    def __init__(self, *renderables: RenderableType) -> None:
        self.renderables = renderables

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.renderables


# ---------------------------------------------------------------- the live lesson view


class LessonView(JupyterMixin):
    """The lesson as it happens: header, the step and its explanation, sequence table,
    per-side status, narration, diagnosis, TCP table, and the prompt (``[Enter] to go on``).

    ``now`` is the session time (same clock as the events' ``t``) used for live timers.
    Without ``max_rows`` the view fits ``options.max_height``: the header, the step's
    explanation and the prompt are always whole; the diagnosis, the narration, the kernel's
    table and the timeline's rows shrink or fold to make room. ``live``: this is the whole
    screen, so below :data:`MIN_WIDTH` × :data:`MIN_HEIGHT` it says how big a terminal it
    needs (with the step and the prompt still shown). ``prompt``: a line, or its parts (put
    on one line when they fit). ``safe``: draw only characters of one agreed width
    (:mod:`sockteach.screen_text`; by default on a terminal, from the language and locale).
    """

    def __init__(self, timeline: Timeline, now: float, title: str | None = None,
                 max_rows: int | None = None, prompt: str | Sequence[str] | None = None,
                 live: bool = False,
                 safe: bool | None = None) -> None:
        self.timeline, self.now, self.title, self.max_rows = timeline, now, title, max_rows
        self.prompt, self.live = prompt, live
        self.choice = safe
        self.safe = bool(safe)

    @property
    def lang(self) -> str:
        return self.timeline.lang

    def _s(self, text: str) -> str:
        return plain(text) if self.safe else text

    def _text(self, text: str, style: str = "") -> Wrapped:
        return Wrapped(self._s(text), style=style)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.max_height
        self.safe = safe_glyphs(self.lang, console.is_terminal) if self.choice is None \
            else self.choice
        if self.live and (width < MIN_WIDTH or height < MIN_HEIGHT):
            yield from self._too_small(console, options)
            return
        free = options.update(height=None)

        def count(*parts: RenderableType) -> int:
            return sum(len(console.render_lines(p, free)) for p in parts)

        top = [p for p in (self._header(), self._step()) if p is not None]
        prompt = self._prompt(width)
        rest = height - count(*top, *([prompt] if prompt else []))
        rows = self.timeline.rows
        yield from top
        if self.max_rows is not None:
            shown = rows[-self.max_rows:] if self.max_rows > 0 else []
            yield self._table(shown, len(rows) - len(shown))
            yield self._bottoms(width, height)[0]
        else:
            yield from self._fitted(console, free, rest, width, height)
        if prompt:
            yield prompt

    def _fitted(self, console: Console, free: ConsoleOptions, room: int, width: int,
                height: int) -> RenderResult:
        """The table and the bottom parts in ``room`` lines: the richest bottom that leaves
        the table its newest :data:`MIN_ROWS` rows, then as many rows as fit."""
        rows = self.timeline.rows
        bottoms = self._bottoms(width, height)
        least = min(MIN_ROWS, len(rows))
        least_lines = len(console.render_lines(self._table(rows[len(rows) - least:],
                                                           len(rows) - least), free))
        heights: dict[int, int] = {}

        def height_of(k: int) -> int:
            if k not in heights:
                bottom = bottoms[k]
                heights[k] = len(console.render_lines(bottom, free)) if bottom is not None else 0
            return heights[k]

        # the first (richest) bottom that fits; each is shorter than the one before: the
        # first, else a search
        low, high = (0, 0) if height_of(0) + least_lines <= room else (1, len(bottoms) - 1)
        while low < high:
            mid = (low + high) // 2
            if height_of(mid) + least_lines <= room:
                high = mid
            else:
                low = mid + 1
        chosen, bottom_lines = bottoms[low], height_of(low)
        budget = room - bottom_lines

        def table_lines(n: int) -> list:
            shown = rows[len(rows) - n:] if n else []
            return console.render_lines(self._table(shown, len(rows) - n), free)

        # the most rows that fit: a first guess from the rows' own line counts (the table's
        # head, rules and footer take the rest), then one row at a time
        overhead = len(table_lines(0))
        n, used = 0, overhead
        for row in reversed(rows):
            used += row.text.rstrip("\n").count("\n") + 1
            if used > budget:
                break
            n += 1
        best = table_lines(n)
        while len(best) > budget and n > 0:
            n = max(0, n - max(1, (len(best) - budget) // 2))
            best = table_lines(n)
        while n < len(rows) and len(best) < budget:
            more = table_lines(n + 1)
            if len(more) > budget:
                break
            n, best = n + 1, more
        if len(best) <= budget:
            for line in best:
                yield from line
                yield Segment.line()
        if chosen is not None:
            yield chosen

    def _too_small(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Too small a terminal: what it needs, the step and its explanation (as much as
        fits, marked when cut), and the prompt on the last lines."""
        lang, width, height = self.lang, options.max_width, options.max_height
        free = options.update(height=None)
        notice = console.render_lines(self._text(msg(
            "view.too_small", lang, width=width, height=height, min_width=MIN_WIDTH,
            min_height=MIN_HEIGHT), "bold yellow"), free)
        prompt = self._prompt(width)
        asked = console.render_lines(prompt, free) if prompt else []
        step = []
        if self.timeline.step_title:
            step += console.render_lines(self._text(msg(
                "view.step", lang, title=self.timeline.step_title), "bold"), free)
        if self.timeline.step_text:
            step += console.render_lines(self._text(self.timeline.step_text), free)
        room = height - len(notice) - len(asked)
        if len(step) > room:
            more = console.render_lines(self._text(msg("view.cut", lang), "dim"), free)
            step = step[:max(room - len(more), 0)] + more
        for line in [*notice, *step, *asked][-height:] if height > 0 else []:
            yield from line
            yield Segment.line()

    # -- parts

    def _header(self) -> Text | None:
        tl, lang = self.timeline, self.lang
        title = self.title
        if title is None and tl.lesson is not None:
            title = msg("view.lesson", lang, number=tl.lesson.number,
                        title=pick(tl.lesson.title, lang))
        return self._text(title, "bold") if title else None

    def _step(self) -> RenderableType | None:
        tl, lang = self.timeline, self.lang
        if not tl.step_title and not tl.step_text:
            return None
        label = self._s(msg("view.step", lang, title=tl.step_title or ""))
        if not tl.step_text:
            return self._text(label, "italic")
        return Panel(self._text(tl.step_text), title=Wrapped(label, style="bold"),
                     title_align="left", border_style="blue", box=self._box())

    def _prompt(self, width: int) -> Text | None:
        """The prompt: its parts on one line when they fit, else each on its own line (so
        that ``[Enter] to go on`` is never broken in two)."""
        parts = [self.prompt] if isinstance(self.prompt, str) else list(self.prompt or ())
        parts = [self._s(p) for p in parts if p]
        if not parts:
            return None
        one = "  ".join(parts)
        return Wrapped(one if cell_len(one) <= width else "\n".join(parts), style="bold yellow")

    def _box(self) -> box.Box:
        return box.ASCII if self.safe else box.ROUNDED

    def _table(self, rows: Sequence[Row], hidden: int) -> Table:
        tl, lang = self.timeline, self.lang
        clients = [s for s in tl.side_order if s != "server"]
        tag = len(clients) > 1
        head = Text(", ").join(self._text(side_label(s, lang), f"bold {side_color(s)}")
                               for s in clients) if clients else \
            self._text(side_label("client", lang))
        footer = Text("\n").join(
            Wrapped.assemble((self._s(msg("view.tag", lang, side=side_label(s, lang)))
                              if tag else "", side_color(s)),
                             self._s(tl.status(s, self.now)))
            for s in clients)
        table = Table(box=SIMPLE_ASCII if self.safe else box.SIMPLE, show_edge=False,
                      expand=True, show_footer=True, pad_edge=False, footer_style="bold")
        table.add_column(self._text(side_label("server", lang), f"bold {side_color('server')}"),
                         footer=self._text(tl.status("server", self.now)), ratio=3,
                         overflow="fold")
        table.add_column(self._s(msg("view.wire", lang)), ratio=2, justify="center",
                         overflow="fold")
        table.add_column(head, footer=footer, ratio=3, overflow="fold")
        hidden += tl.dropped_rows
        if hidden:
            table.add_row("", self._text(msg("view.earlier", lang, n=f"{hidden:,}"), "dim"), "")
        for row in rows:
            table.add_row(*self._cells(row, tag))
        return table

    def _cells(self, row: Row, tag: bool) -> tuple[Text, Text, Text]:
        empty = Text()
        color = side_color(row.side)
        if row.kind == "step":
            return empty, self._text(f"▶ {row.text}", "bold underline"), empty
        if row.kind in ("wire", "nowire"):
            if row.kind == "nowire":
                wire = self._text(row.text, "dim")
            elif row.direction == "right":
                wire = self._text(f"──▶ {row.text}", color)
            else:
                wire = self._text(f"{row.text} ◀──", color)
            return empty, wire, empty
        body = row.text.rstrip("\n") if row.kind == "output" else row.text
        text = self._text(body, f"{_ROW_STYLES.get(row.kind, '')} {color}".strip())
        if row.kind == "output" and row.count:
            more = self._s(msg("view.output_more", self.lang, n=f"{row.count:,}"))
            text = Wrapped.assemble((more + "\n", "dim"), text)
        if row.side == "server":
            return text, empty, empty
        if tag:
            label = self._s(msg("view.tag", self.lang, side=side_label(row.side, self.lang)))
            text = Wrapped.assemble((label, color), text)
        return empty, empty, text

    def _bottoms(self, width: int, height: int) -> list[RenderableType | None]:
        """The parts under the table, richest first: each next one is shorter."""
        lang = self.lang
        said = [line for line in self.timeline.narration if line.kind != "step"]
        found = diagnoses_at(self.timeline, self.now)

        def narration(keep: int, warn: bool = False) -> Panel | None:
            lines: list[RenderableType] = [
                self._text(line.text, side_color(line.side) if line.side else "bold")
                for line in (said[-keep:] if keep else [])]
            if warn and found:
                lines.append(self._text("⚠ " + found[0].text, "yellow"))
            if not lines:
                return None
            return Panel(Group(*lines), title=self._s(msg("view.narration", lang)),
                         title_align="left", border_style="dim", box=self._box())

        def tcp_panel(expand: bool) -> Panel:
            return Panel(tcp_table(self.timeline, lang, expand=expand, safe=self.safe),
                         expand=expand, title=self._s(msg("view.tcp.title", lang)),
                         title_align="left", border_style="dim", box=self._box())

        def diagnosis(keep: int, steps: bool = True) -> list[Panel]:
            return diagnosis_panel(self.timeline, self.now, keep, steps=steps, safe=self.safe)

        def stack(*parts: RenderableType | None) -> RenderableType | None:
            kept = [p for p in parts if p is not None]
            return Group(*kept) if kept else None

        wide = width >= WIDE
        tcp_one = tcp_line(self.timeline, lang, safe=self.safe)
        most = 6 if height >= 50 else 4
        variants: list[RenderableType | None] = []
        for keep, diag in ((most, 2 if height >= 40 else 1), (4, 1), (2, 1)):
            if wide:
                grid = Table.grid(expand=True, padding=(0, 1))
                grid.add_column(ratio=1)
                grid.add_column(max_width=width // 2)
                grid.add_row(narration(keep) or Text(""), tcp_panel(False))
                variants.append(stack(*diagnosis(diag), grid))
            else:
                variants.append(stack(narration(keep), *diagnosis(diag), tcp_panel(True)))
        variants += [
            stack(narration(2), *diagnosis(1, steps=False), tcp_one),
            stack(narration(2, warn=True), tcp_one),
            stack(narration(1, warn=True), tcp_one),
            stack(narration(0, warn=True)),
            None,
        ]
        return variants


def diagnoses_at(timeline: Timeline, now: float) -> list:
    """The diagnoses that hold at ``now``, newest first."""
    from .diagnose import active

    return active(timeline.diagnoses, now)


def diagnosis_panel(timeline: Timeline, now: float, keep: int = 2, steps: bool = True,
                    safe: bool = False) -> list[Panel]:
    """The diagnoses that hold at ``now`` (newest first, at most ``keep``) with their next
    steps (unless not ``steps``), in a panel; an empty list when there are none."""
    found = diagnoses_at(timeline, now)[:keep]
    if not found:
        return []
    lang = timeline.lang
    s = plain if safe else str
    parts = []
    for d in found:
        parts.append(Wrapped(s("⚠ " + d.text), style="yellow"))
        if steps:
            parts.append(Wrapped.assemble((s(msg("diagnose.next", lang)), "bold"),
                                          s(d.next_step)))
    return [Panel(Group(*parts), title=s(msg("diagnose.title", lang)), title_align="left",
                  border_style="yellow", box=box.ASCII if safe else box.ROUNDED)]


def tcp_line(timeline: Timeline, lang: str = "en", safe: bool = False) -> Text:
    """The kernel's TCP table on one line (folded if need be), for short terminals."""
    states = timeline.tcp_states
    if not states:
        table = tcp_table(timeline, lang, safe=safe)
        return table if isinstance(table, Text) else Text("")
    parts = [f"{state} {local}" + (f"↔{remote}" if state != "LISTEN" else "")
             for local, remote, state in states]
    line = msg("view.tcp.line", lang, title=msg("view.tcp.title", lang),
               states=msg("view.tcp.sep", lang).join(parts))
    return Wrapped(plain(line) if safe else line, style="dim")


def tcp_table(timeline: Timeline, lang: str = "en", expand: bool = True,
              safe: bool = False) -> RenderableType:
    """The kernel's TCP table (local, remote, state), or why there is none to show."""
    states = timeline.tcp_states
    s = plain if safe else str
    if states is None:
        if timeline.tcp_note:
            return Wrapped(s(msg("view.tcp.cannot", lang, reason=timeline.tcp_note)),
                           style="yellow")
        return Wrapped(s(msg("view.tcp.unknown", lang)), style="dim")
    if not states:
        return Wrapped(s(msg("view.tcp.empty", lang)), style="dim")
    table = Table(box=SIMPLE_HEAD_ASCII if safe else box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, expand=expand)
    for key in ("local", "remote", "state"):
        table.add_column(msg(f"view.tcp.{key}", lang), overflow="fold")
    for local, remote, state in states:
        table.add_row(local, remote, Text(state, style="bold"))
    return table


# ---------------------------------------------------------------- code and diffs


def _read(lesson: "Lesson", name: str) -> str | None:
    try:
        return lesson.file(name).read_text(encoding="utf-8")
    except OSError:  # also FileNotFoundError from a missing lessons/ tree
        return None


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """A unified diff of two texts, as ``diff -u`` prints it."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name,
                                 lineterm="")
    return "\n".join(lines)


def _diff(lesson: "Lesson", old: str, new: str, lang: str, title: str,
          safe: bool = False) -> RenderableType:
    texts = {name: _read(lesson, name) for name in (old, new)}
    for name, text in texts.items():
        if text is None:
            return Text(msg("view.missing_file", lang, file=name), style="yellow")
    diff = unified_diff(texts[old] or "", texts[new] or "", old, new)
    if not diff:
        return Text(msg("view.no_changes", lang, old=old, new=new), style="dim")
    syntax = Syntax(diff, "diff", theme="ansi_dark", background_color="default", word_wrap=True)
    return Panel(syntax, title=title, title_align="left", border_style="dim",
                 box=box.ASCII if safe else box.ROUNDED)


def _previous(lesson: "Lesson", name: str) -> str | None:
    """The earlier stage a lesson's file is diffed against (its diff entry's ``from``)."""
    for old, new in lesson.diffs:
        if new == name or new == f"{lesson.path.name}/{name}":
            return old
    return None


def code_view(lesson: "Lesson", role: str, lang: str = "en", diff: bool = False) -> RenderableType:
    """The lesson's code for ``role`` (server, client…), or with ``diff`` its changes since
    the previous stage. A role the lesson does not have raises ``LookupError``."""
    name = lesson.code.get(role)
    if name is None:
        raise LookupError(msg("view.unknown_role", lang, number=lesson.number, role=role,
                              roles=", ".join(lesson.code) or "-"))
    if diff:
        old = _previous(lesson, name)
        if old is None:
            return Text(msg("view.no_previous", lang, file=name))
        return _diff(lesson, old, name, lang, msg("view.diff_title", lang, file=name))
    code = _read(lesson, name)
    if code is None:
        return Text(msg("view.missing_file", lang, file=name), style="yellow")
    syntax = Syntax(code.rstrip("\n"), "python", line_numbers=True, theme="ansi_dark",
                    background_color="default", word_wrap=True)
    return Panel(syntax, title=name, title_align="left", border_style="dim")


def lesson_end(lesson: "Lesson", lang: str = "en", safe: bool = False) -> RenderableType:
    """What the lesson taught, then each code change it made as a highlighted diff (with
    ``safe``, only characters of one agreed width outside the code)."""
    learned = pick(lesson.learned, lang)
    body: RenderableType = Wrapped(plain(learned.strip("\n"))) if safe else Markdown(learned)
    s = plain if safe else str
    parts: list[RenderableType] = [
        Panel(body, title=s(msg("view.learned", lang)), title_align="left",
              border_style="green", box=box.ASCII if safe else box.ROUNDED)
    ]
    for old, new in lesson.diffs:
        parts.append(_diff(lesson, old, new, lang, s(msg("view.changes", lang, old=old, new=new)),
                           safe))
    return Stack(*parts)


# ---------------------------------------------------------------- the course


def course_table(lessons: Iterable["Lesson"], lang: str = "en",
                 progress: Mapping[int, str] | None = None, safe: bool = False) -> Table:
    """The course for ``sockteach list``: number, title, summary (and progress, if given);
    with ``safe``, only characters of one agreed width."""
    s = plain if safe else str
    table = Table(box=SIMPLE_HEAD_ASCII if safe else box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, expand=True)
    table.add_column(msg("course.number", lang), justify="right", no_wrap=True)
    table.add_column(msg("course.title", lang), style="bold", ratio=2, overflow="fold")
    table.add_column(msg("course.summary", lang), ratio=3, overflow="fold")
    if progress is not None:
        table.add_column(msg("course.progress", lang), overflow="fold")
    for lesson in lessons:
        cells = [str(lesson.number), pick(lesson.title, lang), pick(lesson.summary, lang)]
        if progress is not None:
            cells.append(progress.get(lesson.number, ""))
        table.add_row(*(Wrapped(s(cell)) for cell in cells))
    return table
