"""The whole run as a sequence diagram: server | wire | client, time flowing down.

A pure function of the events (through the same :class:`~sockteach.model.Timeline` rows the
live view shows): each call, return, error, spin, printed line and exit is a row on its side's
lane; bytes that crossed are arrows across the wire with their ``repr``; a call that blocked
is a bar on its side's lifeline, as long as it waited; steps are bands across; diagnoses are
notes. :func:`svg` writes hand-made SVG (no scripts, fonts from the system); :func:`html` a
self-contained page with the SVG, the diagnoses and the narration.
"""

from __future__ import annotations

import bisect
import html as html_escape
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from rich.cells import cell_len

from .events import Event, order_key
from .i18n import msg
from .model import Timeline
from .narrator import side_label

if TYPE_CHECKING:  # pragma: no cover
    from .diagnose import Diagnosis
    from .lessons import Lesson

WIDTH = 980
TIME_X = 8  # time labels
S0, S1 = 78, 410  # server lane
C0, C1 = 570, WIDTH - 10  # client lane
S_LIFE, C_LIFE = S1 - 4, C0 + 4  # lifelines, where arrows start and end
CHAR = 7.8  # width of one cell at FONT px (monospace fonts differ: a generous guess)
FONT = 12
LINE = 16
PAD = 5
HEAD = 86
FONTS = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', " \
        "'Noto Sans Mono CJK SC', monospace"
COLORS = {"cyan": "#00838f", "green": "#2e7d32", "magenta": "#ad1457", "yellow": "#9e7700",
          "blue": "#1565c0", "bright_red": "#c62828", "bright_cyan": "#0097a7"}


def _color(side: str) -> str:
    from .view import side_color

    return COLORS.get(side_color(side), "#333333")


def _esc(text: str) -> str:
    return html_escape.escape(text, quote=True)


def wrap(text: str, cells: int) -> list[str]:
    """``text`` cut into lines of at most ``cells`` terminal cells (CJK counts two), at a
    space when there is one in the second half of the line."""
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for ch in para:
            if cell_len(line + ch) > cells and line:
                cut = line.rfind(" ")
                if cut > len(line) // 2:
                    out.append(line[:cut])
                    line = line[cut + 1:]
                else:
                    out.append(line)
                    line = ""
            line += ch
        out.append(line)
    return out or [""]


@dataclass
class _Item:
    """One laid-out entry: a timeline row or a diagnosis note."""

    t: float
    kind: str
    side: str
    lines: list[str]
    direction: str | None = None
    y: float = 0.0
    height: float = 0.0


def _lane_cells() -> int:
    return int((S1 - S0 - 2 * PAD - 8) / CHAR)


def _items(timeline: Timeline, diagnoses: Iterable["Diagnosis"], lang: str) -> list[_Item]:
    clients = [s for s in timeline.side_order if s != "server"]
    tag = len(clients) > 1
    lane = _lane_cells()
    full = int((C1 - S0 - 2 * PAD - 20) / CHAR)
    wire = int((C_LIFE - S_LIFE - 8) / CHAR)
    items: list[_Item] = []
    for row in timeline.rows:
        text = row.text.rstrip("\n")
        if row.kind == "output" and row.count:
            text = msg("view.output_more", lang, n=f"{row.count:,}") + "\n" + text
        if row.kind == "step":
            items.append(_Item(row.t, "step", row.side, wrap("▶ " + text, full)))
        elif row.kind in ("wire", "nowire"):
            items.append(_Item(row.t, row.kind, row.side, wrap(text, wire), row.direction))
        else:
            if tag and row.side != "server":
                text = msg("view.tag", lang, side=side_label(row.side, lang)) + text
            items.append(_Item(row.t, row.kind, row.side, wrap(text, lane)))
    for d in diagnoses:
        note = _Item(d.t, "diagnosis", d.side,
                     wrap("⚠ " + d.text, full) + wrap("→ " + d.next_step, full))
        at = bisect.bisect_right([i.t for i in items], d.t)
        items.insert(at, note)
    return items


def _blocked_spans(events: list[Event]) -> list[tuple[str, float, float | None, str]]:
    """(side, from, to, call) for each call that was judged blocked."""
    calls: dict[tuple, Event] = {}
    blocked: dict[tuple, float] = {}
    spans = []
    for e in events:
        key = (e.side, e.pid, e.sock, e.name)
        if e.kind == "call":
            calls[key] = e
        elif e.kind == "blocked" and key in calls:
            blocked.setdefault(key, calls[key].t)
        elif e.kind in ("return", "raise") and key in calls:
            call = calls.pop(key)
            if key in blocked:
                spans.append((e.side, blocked.pop(key), e.t, f"{call.name}()"))
        elif e.kind == "exit":
            for k in [k for k in blocked if k[0] == e.side and (e.pid is None or k[1] == e.pid)]:
                spans.append((e.side, blocked.pop(k), e.t, f"{k[3]}()"))
    for key, start in blocked.items():
        spans.append((key[0], start, None, f"{key[3]}()"))
    return spans


def svg(events: list[Event], lang: str = "en", lesson: "Lesson | None" = None,
        title: str | None = None) -> str:
    """The run as an SVG sequence diagram (a string)."""
    events = sorted(events, key=order_key)
    timeline = Timeline.from_events(events, lang, lesson, max_rows=1_000_000,
                                    max_lines=1_000_000, max_events=10_000_000)
    items = _items(timeline, timeline.diagnoses, lang)
    y = HEAD
    for item in items:
        item.y = y
        item.height = len(item.lines) * LINE + 2 * PAD
        y += item.height + 4
    height = y + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
           f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="{_esc(FONTS)}" '
           f'font-size="{FONT}">',
           f"<title>{_esc(title or 'sockteach')}</title>",
           f'<rect width="{WIDTH}" height="{height:.0f}" fill="#ffffff"/>']
    # heading and lanes
    out.append(f'<text x="{S0}" y="24" font-size="16" font-weight="bold">'
               f"{_esc(title or '')}</text>")
    clients = [s for s in timeline.side_order if s != "server"] or ["client"]
    heads = [(S0, _esc(side_label("server", lang)), _color("server"), "start"),
             ((S_LIFE + C_LIFE) / 2, _esc(msg("diagram.wire", lang)), "#666666", "middle"),
             (C1, _esc(", ".join(side_label(s, lang) for s in clients)), _color(clients[0]),
              "end")]
    for x, text, color, anchor in heads:
        out.append(f'<text x="{x:.0f}" y="58" font-size="14" font-weight="bold" fill="{color}" '
                   f'text-anchor="{anchor}">{text}</text>')
    out.append(f'<text x="{TIME_X}" y="58" fill="#999999">{_esc(msg("diagram.time", lang))}'
               "</text>")
    out.append(f'<line x1="{TIME_X}" y1="68" x2="{C1}" y2="68" stroke="#999999"/>')
    out.append(f'<rect x="{S_LIFE + 6}" y="70" width="{C_LIFE - S_LIFE - 12}" '
               f'height="{height - 80:.0f}" fill="#f6f6f6"/>')
    for x, side in ((S_LIFE, "server"), (C_LIFE, clients[0])):
        out.append(f'<line x1="{x}" y1="70" x2="{x}" y2="{height - 10:.0f}" '
                   f'stroke="{_color(side)}" stroke-dasharray="4 3" stroke-opacity="0.6"/>')
    # blocked calls: bars on the lifelines
    times = [i.t for i in items]

    def y_at(t: float | None) -> float:
        if t is None:
            return height - 10
        k = bisect.bisect_left(times, t)
        return items[k].y if k < len(items) else height - 10

    for side, start, end, call in _blocked_spans(events):
        x = S_LIFE - 7 if side == "server" else C_LIFE + 1
        top, bottom = y_at(start), y_at(end)
        if bottom <= top:
            continue
        seconds = (end if end is not None else events[-1].t) - start
        label = f"{call} {msg('diagram.blocked', lang, seconds=seconds)}"
        out.append(f'<rect x="{x}" y="{top:.1f}" width="6" height="{bottom - top:.1f}" '
                   f'fill="#ef6c00" fill-opacity="0.75"><title>{_esc(label)}</title></rect>')
    # rows
    last_label = None
    for item in items:
        label = f"{item.t:.3f} s"
        if label != last_label and item.kind != "diagnosis":
            out.append(f'<text x="{TIME_X}" y="{item.y + PAD + FONT:.1f}" fill="#999999" '
                       f'font-size="10">{label}</text>')
            last_label = label
        out.extend(_draw(item))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _text(x: float, y: float, lines: list[str], color: str, anchor: str = "start",
          extra: str = "") -> list[str]:
    out = [f'<text x="{x:.1f}" y="{y:.1f}" fill="{color}" text-anchor="{anchor}"{extra} '
           f'xml:space="preserve">']
    for i, line in enumerate(lines):
        dy = "0" if i == 0 else str(LINE)
        out.append(f'<tspan x="{x:.1f}" dy="{dy}">{_esc(line)}</tspan>')
    out.append("</text>")
    return ["".join(out)]


def _draw(item: _Item) -> list[str]:
    top, h = item.y, item.height
    base = top + PAD + FONT - 1
    color = _color(item.side)
    widest = max(cell_len(line) for line in item.lines) * CHAR + 2 * PAD
    if item.kind == "step":
        return [f'<rect x="{S0}" y="{top:.1f}" width="{C1 - S0}" height="{h:.1f}" '
                f'fill="#e8eaf6"/>'] + _text(S0 + PAD, base, item.lines, "#1a237e",
                                             extra=' font-weight="bold"')
    if item.kind == "diagnosis":
        return [f'<rect x="{S0}" y="{top:.1f}" width="{C1 - S0}" height="{h:.1f}" rx="4" '
                f'fill="#fff8e1" stroke="#f9a825"/>'] + _text(S0 + PAD, base, item.lines,
                                                              "#6d4c00")
    if item.kind in ("wire", "nowire"):
        mid = (S_LIFE + C_LIFE) / 2
        y = top + h - 4
        label = _text(mid, base - 2, item.lines, color if item.kind == "wire" else "#777777",
                      "middle")
        if item.kind == "nowire":
            return [f'<line x1="{S_LIFE + 10}" y1="{y:.1f}" x2="{C_LIFE - 10}" y2="{y:.1f}" '
                    f'stroke="#999999" stroke-dasharray="2 4"/>'] + label
        x1, x2 = (S_LIFE, C_LIFE) if item.direction == "right" else (C_LIFE, S_LIFE)
        tip = -8 if item.direction == "right" else 8
        return [f'<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="{color}" '
                f'stroke-width="1.5"/>',
                f'<path d="M{x2},{y:.1f} l{tip},-4 l0,8 z" fill="{color}"/>'] + label
    server = item.side == "server"
    width = min(widest, S1 - S0)
    x = S_LIFE - 10 - width if server else C_LIFE + 10
    boxed = {"call": ("#ffffff", color), "raise": ("#ffebee", "#c62828"),
             "repeat": ("#fffde7", "#f9a825")}
    out = []
    fill_color = color
    if item.kind in boxed:
        fill, stroke = boxed[item.kind]
        out.append(f'<rect x="{x:.1f}" y="{top + 1:.1f}" width="{width:.1f}" '
                   f'height="{h - 2:.1f}" rx="3" fill="{fill}" stroke="{stroke}"/>')
        if item.kind == "raise":
            fill_color = "#c62828"
    extra = {"exit": ' font-weight="bold"', "input": ' font-style="italic"',
             "start": ' font-style="italic"', "call": ' font-weight="bold"'}.get(item.kind, "")
    if item.kind in ("output", "start"):
        fill_color = "#777777"
    return out + _text(x + PAD, base, item.lines, fill_color, extra=extra)


def html(events: list[Event], lang: str = "en", lesson: "Lesson | None" = None,
         title: str | None = None) -> str:
    """A self-contained HTML page (no scripts): the diagram, the diagnoses, the narration."""
    events = sorted(events, key=order_key)
    timeline = Timeline.from_events(events, lang, lesson, max_rows=1_000_000,
                                    max_lines=1_000_000, max_events=10_000_000)
    parts = ["<!DOCTYPE html>", f'<html lang="{_esc(lang)}">', "<head>", '<meta charset="utf-8">',
             f"<title>{_esc(title or 'sockteach')}</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
             "svg{max-width:100%;height:auto;border:1px solid #ddd}"
             ".diag{background:#fff8e1;border:1px solid #f9a825;padding:.5em 1em;margin:.5em 0}"
             "ol.narration{font-family:ui-monospace,monospace;font-size:13px}"
             ".t{color:#999}</style>", "</head>", "<body>",
             f"<h1>{_esc(title or 'sockteach')}</h1>",
             svg(events, lang, lesson, title)]
    if timeline.diagnoses:
        parts.append(f"<h2>{_esc(msg('diagnose.title', lang))}</h2>")
        for d in timeline.diagnoses:
            parts.append(f'<div class="diag"><p><span class="t">{d.t:.3f} s</span> ⚠ '
                         f"{_esc(d.text)}</p><p><b>{_esc(msg('diagnose.next', lang))}</b>"
                         f"{_esc(d.next_step)}</p></div>")
    parts.append(f"<h2>{_esc(msg('diagram.narration', lang))}</h2>")
    parts.append('<ol class="narration">')
    for line in timeline.narration:
        parts.append(f'<li><span class="t">{line.t:.3f} s</span> {_esc(line.text)}</li>')
    parts += ["</ol>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def save_svg(path: str | Path, events: list[Event], lang: str = "en",
             lesson: "Lesson | None" = None, title: str | None = None) -> None:
    Path(path).write_text(svg(events, lang, lesson, title), encoding="utf-8")


def save_html(path: str | Path, events: list[Event], lang: str = "en",
              lesson: "Lesson | None" = None, title: str | None = None) -> None:
    Path(path).write_text(html(events, lang, lesson, title), encoding="utf-8")
