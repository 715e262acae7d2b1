"""The notebook's own view, made for the browser: HTML and CSS, no character cells.

Each function returns a :class:`Page` (HTML with a plain-text twin). Layout is a CSS grid
(the sequence: server | wire | client, with its headers in the same grid, so columns line up
whatever the glyphs are, Chinese included); text wraps inside the cell's width. Colours come
from JupyterLab's theme variables (``--jp-…``) with fallbacks for Notebook, VS Code and
nbconvert, and a palette of its own for the sides, diffs and code (each colour 5:1 or more
against the theme's background), switched by the theme's
``data-jp-theme-light`` (or VS Code's theme kind) so light and dark both read.

Code is a plain ``<pre>``: its text (``textContent``, what a copy gives) is exactly the file;
highlighting colours the text only (no per-line background boxes, an explicit
``line-height``), and line numbers are CSS counters outside the text.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .i18n import msg, pick
from .narrator import side_label

if TYPE_CHECKING:  # pragma: no cover
    from .grading.result import Result
    from .lessons import Lesson
    from .model import Row, Timeline

LIVE_ROWS = 14  # rows of the sequence a live frame shows (the newest)
LIVE_LINES = 6  # lines of narration a live frame shows
FG = "var(--jp-content-font-color1, var(--vscode-editor-foreground, #1f1f1f))"
MUTED = "var(--jp-content-font-color2, var(--vscode-descriptionForeground, #555))"
BG = "var(--jp-layout-color1, var(--vscode-editor-background, #ffffff))"
BG2 = "var(--jp-layout-color2, rgba(127,127,127,.08))"
BORDER = "var(--jp-border-color1, rgba(127,127,127,.45))"
MONO = "var(--jp-code-font-family, ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace)"
UI = "var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif)"
# Own palette: light values first, dark ones under the dark theme's selectors.
LIGHT = {"server": "#00639c", "client": "#1b6e20", "c2": "#9c1b5a", "c3": "#7a5300",
         "c4": "#3949ab", "add": "#116329", "del": "#b3261e", "hunk": "#6a3fa0",
         "warn": "#7a4f00", "warn-bg": "rgba(249,168,37,.14)", "err": "#b3261e",
         "kw": "#0b6e0b", "def": "#1a4fd6", "str": "#a31515", "num": "#116644",
         "com": "#4f6f6f", "op": "#7b30c9"}
DARK = {"server": "#6cc4ff", "client": "#7ddc84", "c2": "#f48fb1", "c3": "#ffd166",
        "c4": "#9fa8ff", "add": "#7ddc84", "del": "#ff8a80", "hunk": "#c9a2ff",
        "warn": "#ffd166", "warn-bg": "rgba(255,209,102,.12)", "err": "#ff8a80",
        "kw": "#7ee787", "def": "#79c0ff", "str": "#ffa198", "num": "#a5d6ff",
        "com": "#9ab0b0", "op": "#d2a8ff"}
DARK_SELECTORS = ('[data-jp-theme-light="false"] .stk', 'body.vscode-dark .stk',
                  'body.vscode-high-contrast .stk')
TOKENS = {  # pygments token type → the palette's colour (own colours: JupyterLab's dark
    # theme keeps a comment colour, #408080, that reads at 4.2:1 only)
    "Keyword": "kw", "Name.Builtin": "kw", "Name.Function": "def", "Name.Class": "def",
    "Literal.String": "str", "Literal.Number": "num", "Comment": "com",
    "Operator.Word": "kw", "Operator": "op",
}


def _palette(values: dict[str, str]) -> str:
    return ";".join(f"--stk-{k}:{v}" for k, v in values.items())


STYLE = "".join([
    f".stk{{{_palette(LIGHT)};color:{FG};font-family:{UI};font-size:13px;line-height:1.45;"
    "max-width:100%;box-sizing:border-box;overflow-wrap:anywhere}",
    "".join(f"{sel}{{{_palette(DARK)}}}" for sel in DARK_SELECTORS),
    ".stk *{box-sizing:border-box}",
    f".stk h4{{margin:.2em 0 .4em;font-size:14px;color:{FG}}}",
    f".stk .stk-muted{{color:{MUTED}}}",
    f".stk .stk-box{{border:1px solid {BORDER};border-radius:4px;padding:.35em .6em;"
    "margin:.45em 0;min-width:0}",
    f".stk .stk-label{{font-weight:bold;color:{MUTED};font-size:12px;margin-bottom:.2em}}",
    # the sequence: one grid, headers included
    ".stk .stk-seq{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr) "
    "minmax(0,3fr);column-gap:.8em;row-gap:.15em;margin:.3em 0}",
    f".stk .stk-seq>div{{min-width:0;font-family:{MONO};white-space:pre-wrap}}",
    f".stk .stk-seq>.stk-head{{font-family:{UI};font-weight:bold;white-space:normal;"
    f"border-bottom:1px solid {BORDER};padding-bottom:.15em}}",
    f".stk .stk-seq>.stk-foot{{font-family:{UI};font-weight:bold;white-space:normal;"
    f"border-top:1px solid {BORDER};padding-top:.15em}}",
    ".stk .stk-wire{text-align:center}",
    ".stk .stk-span{grid-column:1 / -1;text-align:center}",
    ".stk .stk-server{color:var(--stk-server)}.stk .stk-client{color:var(--stk-client)}",
    ".stk .stk-c2{color:var(--stk-c2)}.stk .stk-c3{color:var(--stk-c3)}"
    ".stk .stk-c4{color:var(--stk-c4)}",
    ".stk .k-call,.stk .k-exit{font-weight:bold}.stk .k-input,.stk .k-start{font-style:italic}",
    f".stk .k-output,.stk .k-nowire,.stk .k-start{{color:{MUTED}}}",
    ".stk .k-raise{color:var(--stk-err);font-weight:bold}.stk .k-step{font-weight:bold;"
    "text-decoration:underline}",
    ".stk .stk-diag{border:1px solid var(--stk-warn);background:var(--stk-warn-bg);"
    "border-radius:4px;padding:.35em .6em;margin:.45em 0}",
    ".stk .stk-diag .stk-label{color:var(--stk-warn)}",
    ".stk .stk-two{display:grid;grid-template-columns:repeat(auto-fit,minmax(18em,1fr));"
    "gap:0 .8em}",
    ".stk ol.stk-lines{margin:0;padding-left:2.2em}.stk ol.stk-lines li{margin:.05em 0}",
    ".stk table.stk-tcp{border-collapse:collapse;font-family:" + MONO + "}",
    # (JupyterLab right-aligns the cells of tables in outputs)
    f".stk table.stk-tcp th{{text-align:left !important;color:{MUTED};"
    f"border-bottom:1px solid {BORDER};padding:0 1em 0 0}}"
    ".stk table.stk-tcp td{padding:0 1em 0 0;text-align:left !important}",
    # code: plain text in a <pre>, colours on the text only, numbers outside the text
    f".stk pre.stk-code{{font-family:{MONO};font-size:13px;line-height:1.5;margin:0;"
    f"padding:.3em 0;white-space:pre-wrap;overflow-wrap:anywhere;background:none;color:{FG};"
    "counter-reset:ln;border:0}",
    ".stk pre.stk-code .ln{display:block;padding-left:3.6em;text-indent:-3.6em}",
    f".stk pre.stk-code.numbered .ln::before{{counter-increment:ln;content:counter(ln);"
    f"display:inline-block;width:2.8em;margin-right:.8em;text-align:right;color:{MUTED};"
    "text-indent:0;user-select:none;-webkit-user-select:none}",
    ".stk pre.stk-code.diff .ln{padding-left:.4em;text-indent:0}",
    ".stk .d-add{color:var(--stk-add)}.stk .d-del{color:var(--stk-del)}"
    ".stk .d-hunk{color:var(--stk-hunk)}.stk .d-file{font-weight:bold}",
    "".join(f".stk .t-{name.replace('.', '-')}{{color:var(--stk-{color})}}"
            for name, color in TOKENS.items()),
    f".stk details{{margin:.4em 0}}.stk summary{{cursor:pointer;color:{MUTED};"
    "font-weight:bold}",
    ".stk .stk-svg{overflow-x:auto;max-width:100%}.stk .stk-svg svg{max-width:100%;height:auto}",
    ".stk .stk-check .ok{color:var(--stk-add)}.stk .stk-check .bad{color:var(--stk-del)}",
    ".stk .stk-check ol{list-style:none;padding:0;margin:.3em 0}"
    ".stk .stk-check li{margin:.25em 0}",
    ".stk .stk-check .body{margin-left:1.6em}",
    f".stk .stk-check pre{{font-family:{MONO};white-space:pre-wrap;overflow-wrap:anywhere;"
    f"margin:.2em 0;color:{MUTED};background:none}}",
])


def esc(text: str) -> str:
    return html.escape(text, quote=True)


class Page:
    """HTML for notebooks (its own ``<style>``, scoped to ``.stk``), plain text elsewhere."""

    def __init__(self, body: str, text: str, kind: str = "view") -> None:
        self.body, self.text, self.kind = body, text, kind

    @property
    def html(self) -> str:
        return (f'<div class="stk stk-{self.kind}" data-sockteach="{self.kind}">'
                f"<style>{STYLE}</style>{self.body}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __add__(self, other: "Page") -> "Page":
        return Page(self.body + other.body, self.text.rstrip("\n") + "\n" + other.text,
                    self.kind)


# ---------------------------------------------------------------- pieces


def side_class(side: str | None) -> str:
    """The colour class of a side: server, client, then client2, client3… in turn."""
    if not side:
        return ""
    if side in ("server", "client"):
        return f"stk-{side}"
    digits = "".join(ch for ch in side if ch.isdigit())
    return f"stk-c{2 + (int(digits) if digits else 0) % 3}"


def _cell(text: str, classes: str, role: str) -> str:
    return f'<div class="{classes}" data-col="{role}">{esc(text)}</div>'


def _row_cells(row: "Row", tag: bool, lang: str) -> tuple[list[str], str]:
    """The three grid cells of one row, and its plain-text line."""
    kind = f"k-{row.kind}"
    color = side_class(row.side)
    if row.kind == "step":
        text = f"▶ {row.text}"
        return [_cell(text, f"stk-span {kind}", "span")], text
    if row.kind in ("wire", "nowire"):
        if row.kind == "nowire":
            text = row.text
        elif row.direction == "right":
            text = f"──▶ {row.text}"
        else:
            text = f"{row.text} ◀──"
        return (["<div></div>", _cell(text, f"stk-wire {kind} {color}", "wire"), "<div></div>"],
                f"{'':>4}{text}")
    body = row.text.rstrip("\n") if row.kind == "output" else row.text
    if row.kind == "output" and row.count:
        body = msg("view.output_more", lang, n=f"{row.count:,}") + "\n" + body
    if row.side != "server" and tag:
        body = msg("view.tag", lang, side=side_label(row.side, lang)) + body
    if row.side == "server":
        return [_cell(body, f"{kind} {color}", "server"), "<div></div>", "<div></div>"], body
    return (["<div></div>", "<div></div>", _cell(body, f"{kind} {color}", "client")],
            f"{'':>8}{body}")


def sequence(timeline: "Timeline", rows: Sequence["Row"], hidden: int, now: float) -> Page:
    """The sequence of rows as one grid: headers, rows, each side's status at ``now``."""
    lang = timeline.lang
    clients = [s for s in timeline.side_order if s != "server"] or ["client"]
    tag = len(clients) > 1
    head_clients = ", ".join(f'<span class="{side_class(s)}">{esc(side_label(s, lang))}</span>'
                             for s in clients)
    cells = [f'<div class="stk-head stk-server" data-col="server">'
             f'{esc(side_label("server", lang))}</div>',
             f'<div class="stk-head stk-wire" data-col="wire">{esc(msg("view.wire", lang))}</div>',
             f'<div class="stk-head" data-col="client">{head_clients}</div>']
    text = [f"{side_label('server', lang)} | {msg('view.wire', lang)} | "
            + ", ".join(side_label(s, lang) for s in clients)]
    hidden += timeline.dropped_rows
    if hidden:
        earlier = msg("view.earlier", lang, n=f"{hidden:,}")
        cells.append(_cell(earlier, "stk-span stk-muted", "span"))
        text.append(earlier)
    for row in rows:
        row_cells, line = _row_cells(row, tag, lang)
        cells.extend(row_cells)
        text.append(line)
    server_status = timeline.status("server", now)
    client_status = " · ".join(
        (msg("view.tag", lang, side=side_label(s, lang)) if tag else "") + timeline.status(s, now)
        for s in clients if timeline.status(s, now))
    cells += [_cell(server_status, "stk-foot stk-server", "server"),
              '<div class="stk-foot"></div>',
              _cell(client_status, "stk-foot stk-client", "client")]
    text.append(msg("view.tag", lang, side=side_label("server", lang)) + server_status)
    if client_status:
        text.append(msg("view.tag", lang, side=", ".join(side_label(s, lang) for s in clients))
                    + client_status)
    return Page(f'<div class="stk-seq">{"".join(cells)}</div>', "\n".join(text) + "\n")


def narration(lines: Iterable[Any], title: str, numbered: bool = False) -> Page:
    """Lines of narration (``.text``, ``.side``) in a box, coloured by side."""
    items = [f'<li class="{side_class(line.side)}">{esc(line.text)}</li>' for line in lines]
    texts = [line.text for line in lines] if isinstance(lines, list) else []
    tag = "ol" if numbered else "ul"
    style = "" if numbered else ' style="list-style:none;padding-left:0"'
    body = (f'<div class="stk-box"><div class="stk-label">{esc(title)}</div>'
            f'<{tag} class="stk-lines"{style}>{"".join(items)}</{tag}></div>')
    return Page(body, title + "\n" + "".join(t + "\n" for t in texts))


def tcp(timeline: "Timeline") -> Page:
    """The kernel's TCP table, or why there is none."""
    lang = timeline.lang
    title = msg("view.tcp.title", lang)
    states = timeline.tcp_states
    if states is None:
        note = (msg("view.tcp.cannot", lang, reason=timeline.tcp_note) if timeline.tcp_note
                else msg("view.tcp.unknown", lang))
        inner, text = f'<div class="stk-muted">{esc(note)}</div>', note
    elif not states:
        note = msg("view.tcp.empty", lang)
        inner, text = f'<div class="stk-muted">{esc(note)}</div>', note
    else:
        heads = "".join(f"<th>{esc(msg(f'view.tcp.{k}', lang))}</th>"
                        for k in ("local", "remote", "state"))
        body = "".join(f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td><b>{esc(s)}</b></td></tr>"
                       for a, b, s in states)
        inner = f'<table class="stk-tcp"><tr>{heads}</tr>{body}</table>'
        text = "\n".join(f"{a}  {b}  {s}" for a, b, s in states)
    return Page(f'<div class="stk-box"><div class="stk-label">{esc(title)}</div>{inner}</div>',
                f"{title}\n{text}\n")


def diagnoses(found: Sequence[Any], lang: str) -> Page:
    """Diagnoses (``.text``, ``.next_step``) in a warning box; nothing when there are none."""
    if not found:
        return Page("", "")
    title = msg("diagnose.title", lang)
    parts, text = [], [title]
    for d in found:
        parts.append(f"<div>⚠ {esc(d.text)}</div><div><b>{esc(msg('diagnose.next', lang))}</b>"
                     f"{esc(d.next_step)}</div>")
        text += ["⚠ " + d.text, msg("diagnose.next", lang) + d.next_step]
    return Page(f'<div class="stk-diag"><div class="stk-label">{esc(title)}</div>'
                f'{"".join(parts)}</div>', "\n".join(text) + "\n")


def heading(timeline: "Timeline", title: str | None) -> Page:
    """The lesson's title and the step under way."""
    parts, text = [], []
    if title:
        parts.append(f"<h4>{esc(title)}</h4>")
        text.append(title)
    if timeline.step_title:
        step = msg("view.step", timeline.lang, title=timeline.step_title)
        parts.append(f'<div class="stk-muted"><i>{esc(step)}</i></div>')
        text.append(step)
    return Page("".join(parts), "".join(t + "\n" for t in text))


def details(summary: str, inner: Page, open_: bool = False) -> Page:
    """``inner`` folded behind a ``<details>``; its plain text is kept in full."""
    attr = " open" if open_ else ""
    return Page(f"<details{attr}><summary>{esc(summary)}</summary>{inner.body}</details>",
                summary + "\n" + inner.text)


# ---------------------------------------------------------------- frames of play()


def frame(timeline: "Timeline", now: float, title: str | None) -> Page:
    """A live frame: the newest rows, statuses, the last lines of narration, the diagnoses
    that hold now and the kernel's table."""
    from .view import diagnoses_at

    rows = timeline.rows
    shown = rows[-LIVE_ROWS:]
    lang = timeline.lang
    lines = timeline.narration[-LIVE_LINES:]
    bottom = narration(lines, msg("view.narration", lang)) + tcp(timeline)
    page = (heading(timeline, title) + sequence(timeline, shown, len(rows) - len(shown), now)
            + diagnoses(diagnoses_at(timeline, now)[:2], lang)
            + Page(f'<div class="stk-two">{bottom.body}</div>', bottom.text))
    page.kind = "frame"
    return page


def summary(timeline: "Timeline", now: float, title: str | None, note: str | None = None,
            diagram_svg: str | None = None) -> Page:
    """The final frame: what ended how, the diagnoses, the kernel's last table; the whole
    timeline, the diagram and every line of narration folded behind ``<details>``."""
    lang = timeline.lang
    rows = timeline.rows
    sides = [s for s in timeline.side_order]
    label = {s: msg("view.tag", lang, side=side_label(s, lang)) for s in sides}
    status = "".join(f'<div class="{side_class(s)}"><b>{esc(label[s])}</b>'
                     f"{esc(timeline.status(s, now))}</div>" for s in sides)
    status_text = "".join(f"{label[s]}{timeline.status(s, now)}\n" for s in sides)
    page = heading(timeline, title)
    if note:
        page += Page(f'<div class="stk-diag">{esc(note)}</div>', note + "\n")
    page += Page(f'<div class="stk-box">{status}</div>', status_text)
    page += diagnoses(timeline.diagnoses, lang) + tcp(timeline)
    page += details(msg("notebook.view.timeline_all", lang, n=len(rows)),
                    sequence(timeline, rows, 0, now))
    if diagram_svg:
        page += details(msg("notebook.view.diagram", lang),
                        Page(f'<div class="stk-svg">{diagram_svg}</div>', ""))
    lines = timeline.narration
    page += details(msg("notebook.narration_all", lang, n=len(lines)),
                    narration(lines, msg("view.narration", lang), numbered=True))
    page.kind = "summary"
    return page


def note(text: str, kind: str = "note") -> Page:
    return Page(f'<div class="stk-diag">{esc(text)}</div>', text + "\n", kind)


# ---------------------------------------------------------------- code


def _highlight(code: str) -> list[str]:
    """``code`` as Python, one HTML string per line (tokens coloured, text unchanged)."""
    from pygments.lexers import PythonLexer

    lines, current = [], []
    for token, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(code):
        name = next((n for n in TOKENS if str(token).startswith("Token." + n)), None)
        pieces = value.split("\n")
        for i, piece in enumerate(pieces):
            if i:
                lines.append("".join(current))
                current = []
            if piece:
                current.append(f'<span class="t-{name.replace(".", "-")}">{esc(piece)}</span>'
                               if name else esc(piece))
    lines.append("".join(current))
    return lines


def code_box(name: str, code: str, numbered: bool = True) -> Page:
    """A file's code: its name, then a ``<pre>`` whose text is exactly ``code``."""
    lines = _highlight(code)
    if code.endswith("\n"):
        lines = lines[:-1]
    body = "".join(f'<span class="ln">{line}\n</span>' for line in lines[:-1])
    body += f'<span class="ln">{lines[-1]}{chr(10) if code.endswith(chr(10)) else ""}</span>' \
        if lines else ""
    cls = "stk-code numbered" if numbered else "stk-code"
    return Page(f'<div class="stk-box"><div class="stk-label">{esc(name)}</div>'
                f'<pre class="{cls}" data-file="{esc(name)}">{body}</pre></div>',
                f"{name}\n{code}" + ("" if code.endswith("\n") else "\n"), "code")


def diff_box(title: str, diff: str) -> Page:
    """A unified diff in a ``<pre>`` (its text is exactly ``diff``): + and - lines coloured."""
    out = []
    lines = diff.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(("+++", "---")):
            cls = "d-file"
        elif line.startswith("@@"):
            cls = "d-hunk"
        elif line.startswith("+"):
            cls = "d-add"
        elif line.startswith("-"):
            cls = "d-del"
        else:
            cls = ""
        end = "\n" if i < len(lines) - 1 else ""
        out.append(f'<span class="ln {cls}">{esc(line)}{end}</span>')
    return Page(f'<div class="stk-box"><div class="stk-label">{esc(title)}</div>'
                f'<pre class="stk-code diff">{"".join(out)}</pre></div>',
                f"{title}\n{diff}\n", "code")


def code_view(lesson: "Lesson", role: str, lang: str, diff: bool = False) -> Page:
    """What ``sockteach.show`` shows for one role: the file, or its diff from the stage
    before; a message when there is none (the same checks as the terminal's view)."""
    from .view import _previous, _read

    name = lesson.code.get(role)
    if name is None:
        raise LookupError(msg("view.unknown_role", lang, number=lesson.number, role=role,
                              roles=", ".join(lesson.code) or "-"))
    if not diff:
        code = _read(lesson, name)
        if code is None:
            return note(msg("view.missing_file", lang, file=name))
        return code_box(name, code)
    old = _previous(lesson, name)
    if old is None:
        return note(msg("view.no_previous", lang, file=name))
    return changes(lesson, old, name, lang, msg("view.diff_title", lang, file=name))


def changes(lesson: "Lesson", old: str, new: str, lang: str, title: str) -> Page:
    from .view import _read, unified_diff

    texts = {n: _read(lesson, n) for n in (old, new)}
    for n, text in texts.items():
        if text is None:
            return note(msg("view.missing_file", lang, file=n))
    diff = unified_diff(texts[old] or "", texts[new] or "", old, new)
    if not diff:
        return note(msg("view.no_changes", lang, old=old, new=new))
    return diff_box(title, diff)


def lesson_changes(lesson: "Lesson", lang: str) -> Page:
    """Each code change the lesson made, as a diff."""
    page = Page("", "", "code")
    for old, new in lesson.diffs:
        page += changes(lesson, old, new, lang, msg("view.changes", lang, old=old, new=new))
    return page


def learned_markdown(lesson: "Lesson", lang: str) -> str:
    return f"**{msg('view.learned', lang)}**\n\n{pick(lesson.learned, lang)}"


# ---------------------------------------------------------------- check()


def checklist(result: "Result") -> Page:
    """A grading result as a checklist that wraps in the cell (no fixed width)."""
    from .grading.texts import sep, t

    lang = result.lang
    score = lambda x: str(int(x)) if float(x).is_integer() else str(x)  # noqa: E731
    items = []
    for i, c in enumerate(result.checks, start=1):
        mark, cls = ("✔", "ok") if c.passed else (("✘", "bad") if c.checked else ("–", "stk-muted"))
        body = [f"<div>{esc(c.message)}</div>"]
        if c.output and not c.passed:
            body.append(f"<div><b>{esc(t('label.output', lang))}</b></div>"
                        f"<pre>{esc(c.output.rstrip(chr(10)))}</pre>")
        if c.hint and not c.passed and c.checked:
            body.append(f'<div><b style="color:var(--stk-warn)">'
                        f"{esc(t('label.hint', lang) + sep(lang))}</b>{esc(c.hint)}</div>")
        muted = "" if c.checked else ' class="stk-muted"'
        items.append(f'<li data-check="{esc(c.name)}"{muted}><b class="{cls}">{mark}</b> '
                     f"<b>{i}. {esc(c.title)}</b> <span class=\"stk-muted\">"
                     f"{score(c.score)}/{score(c.max_score)}</span>"
                     f'<div class="body">{"".join(body)}</div></li>')
    total = f"{score(result.score)}/{score(result.max_score)}"
    if result.passed:
        end = f'<div class="ok"><b>{esc(t("label.all_passed", lang, score=total))}</b></div>'
    else:
        end = (f'<div class="bad"><b>'
               f'{esc(t("label.not_yet", lang, score=total, n=result.lesson))}</b></div>')
        for d in result.extra.get("diagnoses", ()):
            end += (f'<div class="stk-diag">⚠ {esc(d.text)}<br><b>'
                    f"{esc(msg('diagnose.next', lang))}</b>{esc(d.next_step)}</div>")
        if result.extra.get("watch"):
            end += (f"<div><b>{esc(msg('diagnose.see_live', lang, command=result.extra['watch']))}"
                    "</b></div>")
    head = (f"<h4>{esc(t('label.lesson', lang, n=result.lesson))} · {esc(result.title)} · "
            f'<span class="stk-server">{esc(result.submission or result.file)}</span></h4>')
    body = f'<div class="stk-check">{head}<ol>{"".join(items)}</ol>{end}</div>'
    return Page(body, result.render(), "check")
