"""Terminal renderables: the live lesson view, the lesson's end, code and the course list.

Nothing here prints: each function returns a rich renderable and ``LessonView`` yields through
``__rich_console__``, so the caller's ``Console`` (or ``Live``) does all output. Widths come
from rich's cell measurement, so Chinese text lines up.
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
from rich.table import Table
from rich.text import Text

from .i18n import msg, pick
from .model import Row, Timeline
from .narrator import side_label

if TYPE_CHECKING:  # pragma: no cover
    from .lessons import Lesson

_SIDE_COLORS = {"server": "cyan", "client": "green"}
_MORE_COLORS = ("magenta", "yellow", "blue", "bright_red", "bright_cyan")
_ROW_STYLES = {"call": "bold", "raise": "bold red", "repeat": "yellow", "output": "dim",
               "input": "italic", "exit": "bold", "start": "italic dim"}
WIDE = 110  # from this width on, narration and the TCP table sit side by side
COMPACT = 30  # below this height a diagnosis is one line of the narration, not a panel
MIN_ROWS = 3


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
    """The lesson as it happens: header, sequence table, per-side status, narration, TCP table.

    ``now`` is the session time (same clock as the events' ``t``) used for live timers.
    Without ``max_rows`` the table shows as many recent rows as fit ``options.max_height``.
    """

    def __init__(self, timeline: Timeline, now: float, title: str | None = None,
                 max_rows: int | None = None) -> None:
        self.timeline, self.now, self.title, self.max_rows = timeline, now, title, max_rows

    @property
    def lang(self) -> str:
        return self.timeline.lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        free = options.update(height=None)
        header = self._header()
        if header.plain:
            yield header
        bottom = self._bottom(options.max_width, options.max_height)
        rows = self.timeline.rows
        if self.max_rows is not None:
            shown = rows[-self.max_rows:] if self.max_rows > 0 else []
            yield self._table(shown, len(rows) - len(shown))
            yield bottom
            return
        budget = options.max_height - len(console.render_lines(bottom, free))
        if header.plain:
            budget -= len(console.render_lines(header, free))
        shown = rows[-max(budget, MIN_ROWS):]
        lines = console.render_lines(self._table(shown, len(rows) - len(shown)), free)
        while len(lines) > budget and len(shown) > MIN_ROWS:
            shown = shown[max(1, min(len(lines) - budget, len(shown) - MIN_ROWS)):]
            lines = console.render_lines(self._table(shown, len(rows) - len(shown)), free)
        for line in lines:
            yield from line
            yield Segment.line()
        yield bottom

    # -- parts

    def _header(self) -> Text:
        tl, lang = self.timeline, self.lang
        title = self.title
        if title is None and tl.lesson is not None:
            title = msg("view.lesson", lang, number=tl.lesson.number,
                        title=pick(tl.lesson.title, lang))
        text = Text(title or "", style="bold")
        if tl.step_title:
            if title:
                text.append("\n")
            text.append(msg("view.step", lang, title=tl.step_title), style="italic")
        return text

    def _table(self, rows: Sequence[Row], hidden: int) -> Table:
        tl, lang = self.timeline, self.lang
        clients = [s for s in tl.side_order if s != "server"]
        tag = len(clients) > 1
        head = Text(", ").join(Text(side_label(s, lang), style=f"bold {side_color(s)}")
                               for s in clients) if clients else Text(side_label("client", lang))
        footer = Text("\n").join(
            Text.assemble((msg("view.tag", lang, side=side_label(s, lang)) if tag else "",
                           side_color(s)),
                          tl.status(s, self.now))
            for s in clients)
        table = Table(box=box.SIMPLE, show_edge=False, expand=True, show_footer=True,
                      pad_edge=False, footer_style="bold")
        table.add_column(Text(side_label("server", lang), style=f"bold {side_color('server')}"),
                         footer=tl.status("server", self.now), ratio=3, overflow="fold")
        table.add_column(msg("view.wire", lang), ratio=2, justify="center", overflow="fold")
        table.add_column(head, footer=footer, ratio=3, overflow="fold")
        hidden += tl.dropped_rows
        if hidden:
            table.add_row("", Text(msg("view.earlier", lang, n=f"{hidden:,}"), style="dim"), "")
        for row in rows:
            table.add_row(*self._cells(row, tag))
        return table

    def _cells(self, row: Row, tag: bool) -> tuple[Text, Text, Text]:
        empty = Text()
        color = side_color(row.side)
        if row.kind == "step":
            return empty, Text(f"▶ {row.text}", style="bold underline"), empty
        if row.kind in ("wire", "nowire"):
            if row.kind == "nowire":
                wire = Text(row.text, style="dim")
            elif row.direction == "right":
                wire = Text(f"──▶ {row.text}", style=color)
            else:
                wire = Text(f"{row.text} ◀──", style=color)
            return empty, wire, empty
        body = row.text.rstrip("\n") if row.kind == "output" else row.text
        text = Text(body, style=f"{_ROW_STYLES.get(row.kind, '')} {color}".strip())
        if row.kind == "output" and row.count:
            more = msg("view.output_more", self.lang, n=f"{row.count:,}")
            text = Text.assemble((more + "\n", "dim"), text)
        if row.side == "server":
            return text, empty, empty
        if tag:
            label = msg("view.tag", self.lang, side=side_label(row.side, self.lang))
            text = Text.assemble((label, color), text)
        return empty, empty, text

    def _bottom(self, width: int, height: int) -> RenderableType:
        lang = self.lang
        compact = height < COMPACT
        keep = 2 if compact else 4 if height < 50 else 6
        lines = [Text(line.text, style=side_color(line.side) if line.side else "bold")
                 for line in self.timeline.narration[-keep:]]
        found = diagnoses_at(self.timeline, self.now)[:1] if compact else []
        if found:  # a short terminal: the newest diagnosis, one line, in the narration
            lines = lines[1:] + [Text("⚠ " + found[0].text, style="yellow", no_wrap=True,
                                      overflow="ellipsis")]
        narration = Panel(Group(*lines), title=msg("view.narration", lang), title_align="left",
                          border_style="dim")
        wide = width >= WIDE
        if compact and not wide:  # a short terminal: the kernel's table in one dim line
            return Group(narration, tcp_line(self.timeline, lang))
        tcp = Panel(tcp_table(self.timeline, lang, expand=not wide), expand=not wide,
                    title=msg("view.tcp.title", lang), title_align="left", border_style="dim")
        diagnosis = [] if compact else diagnosis_panel(self.timeline, self.now,
                                                       1 if height < 40 else 2)
        if not wide:
            return Group(narration, *diagnosis, tcp)
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1)
        grid.add_column(max_width=width // 2)
        grid.add_row(narration, tcp)
        return Group(*diagnosis, grid)


def diagnoses_at(timeline: Timeline, now: float) -> list:
    """The diagnoses that hold at ``now``, newest first."""
    from .diagnose import active

    return active(timeline.diagnoses, now)


def diagnosis_panel(timeline: Timeline, now: float, keep: int = 2) -> list[Panel]:
    """The diagnoses that hold at ``now`` (newest first, at most ``keep``) with their next
    steps, in a panel; an empty list when there are none."""
    found = diagnoses_at(timeline, now)[:keep]
    if not found:
        return []
    lang = timeline.lang
    parts = []
    for d in found:
        parts.append(Text("⚠ " + d.text, style="yellow"))
        parts.append(Text.assemble((msg("diagnose.next", lang), "bold"), d.next_step))
    return [Panel(Group(*parts), title=msg("diagnose.title", lang), title_align="left",
                  border_style="yellow")]


def tcp_line(timeline: Timeline, lang: str = "en") -> Text:
    """The kernel's TCP table on one line, for short terminals."""
    states = timeline.tcp_states
    if not states:
        table = tcp_table(timeline, lang)
        return table if isinstance(table, Text) else Text("")
    parts = [f"{state} {local}" + (f"↔{remote}" if state != "LISTEN" else "")
             for local, remote, state in states]
    return Text(msg("view.tcp.title", lang) + ": " + " · ".join(parts), style="dim")


def tcp_table(timeline: Timeline, lang: str = "en", expand: bool = True) -> RenderableType:
    """The kernel's TCP table (local, remote, state), or why there is none to show."""
    states = timeline.tcp_states
    if states is None:
        if timeline.tcp_note:
            return Text(msg("view.tcp.cannot", lang, reason=timeline.tcp_note), style="yellow")
        return Text(msg("view.tcp.unknown", lang), style="dim")
    if not states:
        return Text(msg("view.tcp.empty", lang), style="dim")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=expand)
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


def _diff(lesson: "Lesson", old: str, new: str, lang: str, title: str) -> RenderableType:
    texts = {name: _read(lesson, name) for name in (old, new)}
    for name, text in texts.items():
        if text is None:
            return Text(msg("view.missing_file", lang, file=name), style="yellow")
    diff = unified_diff(texts[old] or "", texts[new] or "", old, new)
    if not diff:
        return Text(msg("view.no_changes", lang, old=old, new=new), style="dim")
    syntax = Syntax(diff, "diff", theme="ansi_dark", background_color="default", word_wrap=True)
    return Panel(syntax, title=title, title_align="left", border_style="dim")


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


def lesson_end(lesson: "Lesson", lang: str = "en") -> RenderableType:
    """What the lesson taught, then each code change it made as a highlighted diff."""
    parts: list[RenderableType] = [
        Panel(Markdown(pick(lesson.learned, lang)), title=msg("view.learned", lang),
              title_align="left", border_style="green")
    ]
    for old, new in lesson.diffs:
        parts.append(_diff(lesson, old, new, lang, msg("view.changes", lang, old=old, new=new)))
    return Stack(*parts)


# ---------------------------------------------------------------- the course


def course_table(lessons: Iterable["Lesson"], lang: str = "en",
                 progress: Mapping[int, str] | None = None) -> Table:
    """The course for ``sockteach list``: number, title, summary (and progress, if given)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    table.add_column(msg("course.number", lang), justify="right", no_wrap=True)
    table.add_column(msg("course.title", lang), style="bold", ratio=2, overflow="fold")
    table.add_column(msg("course.summary", lang), ratio=3, overflow="fold")
    if progress is not None:
        table.add_column(msg("course.progress", lang), overflow="fold")
    for lesson in lessons:
        cells = [str(lesson.number), pick(lesson.title, lang), pick(lesson.summary, lang)]
        if progress is not None:
            cells.append(progress.get(lesson.number, ""))
        table.add_row(*cells)
    return table
