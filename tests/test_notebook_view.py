"""The notebook's browser view, in memory on events; its scratch sweep, interrupt and folders.

The view is checked on its HTML: the sequence is one grid whose every cell sits in its
column (so nothing depends on how wide a glyph is); a ``<pre>``'s text is exactly the file;
the final frame folds the whole timeline. The browser itself: test_notebook_browser.py.
"""

from __future__ import annotations

import _thread
import io
import os
import subprocess
import sys
import threading
from contextlib import redirect_stdout
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, our_processes
from sockteach import lessons, notebook_html, notebook_scratch
from sockteach.events import Event
from sockteach.model import Timeline
from sockteach.view import unified_diff

SOCK = {"family": "AF_INET", "socktype": "SOCK_STREAM"}


class _Tree(HTMLParser):
    """Just enough of a DOM: each element's tag, attributes, text and children."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = {"tag": "root", "attrs": {}, "kids": [], "text": []}
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = {"tag": tag, "attrs": dict(attrs), "kids": [], "text": []}
        self.stack[-1]["kids"].append(node)
        self.stack[-1]["text"].append(node)
        self.stack.append(node)

    def handle_endtag(self, tag):
        while len(self.stack) > 1:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        self.stack[-1]["text"].append(data)


def _parse(markup: str) -> dict:
    tree = _Tree()
    tree.feed(markup)
    return tree.root


def _text(node: dict) -> str:
    """textContent (style elements excluded)."""
    if node["tag"] == "style":
        return ""
    return "".join(part if isinstance(part, str) else _text(part) for part in node["text"])


def _find(node: dict, pred) -> list[dict]:
    found = [node] if pred(node) else []
    for kid in node["kids"]:
        found += _find(kid, pred)
    return found


def _classes(node: dict) -> set[str]:
    return set((node["attrs"].get("class") or "").split())


def _events(n_messages: int = 3) -> list[Event]:
    """A small run: a server and a client over loopback, with Chinese output and a step."""
    ev = [Event(0.0, "kernel", "step", title="客户端连上来", text="服务端在 accept() 里等待。"),
          Event(0.01, "server", "call", name="bind", args=("('127.0.0.1', 8081)",), sock=3,
                addr=["127.0.0.1", 8081], mode="blocking", pid=10, **SOCK),
          Event(0.02, "server", "return", name="bind", result="None", sock=3, pid=10, **SOCK),
          Event(0.03, "server", "call", name="listen", args=("5",), sock=3, pid=10,
                mode="blocking", **SOCK),
          Event(0.04, "server", "return", name="listen", result="None", sock=3, pid=10,
                local=["127.0.0.1", 8081], **SOCK),
          Event(0.05, "server", "call", name="accept", args=(), sock=3, pid=10,
                mode="blocking", **SOCK),
          Event(0.06, "client", "call", name="connect", args=("('127.0.0.1', 8081)",), sock=3,
                addr=["127.0.0.1", 8081], mode="blocking", pid=20, **SOCK),
          Event(0.07, "client", "return", name="connect", result="None", sock=3, pid=20,
                local=["127.0.0.1", 40000], peer=["127.0.0.1", 8081], **SOCK),
          Event(0.08, "server", "return", name="accept", sock=3, conn=5, pid=10,
                result="(<socket fd=5>, ('127.0.0.1', 40000))", peer=["127.0.0.1", 40000],
                **SOCK)]
    t = 0.1
    for i in range(n_messages):
        payload = f"hi{i}".encode()
        ev += [Event(t, "client", "call", name="send", args=(repr(payload),), sock=3, pid=20,
                     data=payload.hex(), mode="blocking", **SOCK),
               Event(t + 0.001, "client", "return", name="send", result=str(len(payload)),
                     nbytes=len(payload), sock=3, pid=20, **SOCK),
               Event(t + 0.002, "server", "call", name="recv", args=("1024",), sock=5, pid=10,
                     size=1024, mode="blocking", **SOCK),
               Event(t + 0.003, "server", "return", name="recv", result=repr(payload), sock=5,
                     pid=10, nbytes=len(payload), data=payload.hex(), **SOCK),
               Event(t + 0.004, "server", "output", text=f"客户端发来的消息是 {payload!r}\n",
                     stream="stdout", pid=10)]
        t += 0.01
    ev.append(Event(t, "kernel", "tcp", states=(("127.0.0.1:8081", "127.0.0.1:40000",
                                                   "ESTABLISHED"),)))
    return ev


def _timeline(lang: str, n: int = 3) -> Timeline:
    return Timeline.from_events(_events(n), lang)


def _placed(grid: dict) -> list[tuple[int, dict]]:
    """Each cell of a 3-column grid with the column the browser puts it in (a cell with
    ``stk-span`` takes a row of its own, from the first column)."""
    out, col = [], 0
    for cell in grid["kids"]:
        if "stk-span" in _classes(cell):
            out.append((-1, cell))
            col = 0
            continue
        out.append((col, cell))
        col = (col + 1) % 3
    return out


# ---------------------------------------------------------------- the sequence grid


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_cell_of_the_sequence_sits_in_its_column(lang):
    timeline = _timeline(lang)
    page = notebook_html.frame(timeline, 1.0, "第 1 课" if lang == "zh" else "Lesson 1")
    grids = _find(_parse(page.html), lambda n: "stk-seq" in _classes(n))
    assert len(grids) == 1
    placed = _placed(grids[0])
    columns = {"server": 0, "wire": 1, "client": 2}
    named = [(col, cell["attrs"]["data-col"]) for col, cell in placed
             if cell["attrs"].get("data-col") in columns]
    assert named, "no cell names its column"
    assert all(col == columns[name] for col, name in named), named
    texts = {name: [] for name in columns}
    for col, cell in placed:
        if cell["attrs"].get("data-col") in columns:
            texts[cell["attrs"]["data-col"]].append(_text(cell))
    assert any("b'hi2'" in t for t in texts["server"])  # the server's recv
    assert any("b'hi2'" in t for t in texts["wire"])  # the bytes on the wire
    assert any("send(b'hi2')" in t for t in texts["client"])
    if lang == "zh":
        assert any("客户端发来的消息是" in t for t in texts["server"])  # CJK output, its column


def test_a_live_frame_shows_the_newest_rows_and_the_summary_folds_them_all():
    timeline = _timeline("en", n=30)
    rows = timeline.rows
    assert len(rows) > notebook_html.LIVE_ROWS + 10
    live = _parse(notebook_html.frame(timeline, 1.0, "Lesson 1").html)
    grid = _find(live, lambda n: "stk-seq" in _classes(n))[0]
    row_cells = [c for c in grid["kids"] if c["attrs"].get("data-col") in ("server", "client")
                 and not _classes(c) & {"stk-head", "stk-foot"}]
    wire_cells = [c for c in grid["kids"] if c["attrs"].get("data-col") == "wire"
                  and "stk-head" not in _classes(c)]
    assert len(row_cells) + len(wire_cells) <= notebook_html.LIVE_ROWS
    assert "b'hi29'" in _text(grid) and "b'hi0'" not in _text(grid)
    assert "earlier rows" in _text(grid)
    final = _parse(notebook_html.summary(timeline, 1.0, "Lesson 1").html)
    details = _find(final, lambda n: n["tag"] == "details")
    assert details and all("open" not in d["attrs"] for d in details)
    folded = _find(details[0], lambda n: "stk-seq" in _classes(n))[0]
    assert "b'hi0'" in _text(folded) and "b'hi29'" in _text(folded)
    # Outside the folds the final frame is the summary, not the timeline.
    outside = [k for k in final["kids"][0]["kids"] if k["tag"] != "details"]
    assert not any(_find(k, lambda n: "stk-seq" in _classes(n)) for k in outside)


def test_the_summary_says_why_it_ended_and_carries_the_diagram():
    timeline = _timeline("zh")
    page = notebook_html.summary(timeline, 1.0, "第 1 课", note="已中断", diagram_svg="<svg></svg>")
    tree = _parse(page.html)
    assert "已中断" in _text(tree)
    assert _find(tree, lambda n: n["tag"] == "svg")
    assert "服务端：" in page.text  # the full-width colon of the Chinese labels


# ---------------------------------------------------------------- code


def _lesson_files():
    for lesson in lessons.course():
        for role, name in lesson.code.items():
            yield lesson, role, name


@pytest.mark.parametrize("lesson,role,name", list(_lesson_files()),
                         ids=lambda x: getattr(x, "slug", str(x)))
def test_the_code_as_copied_is_the_file(lesson, role, name):
    page = notebook_html.code_view(lesson, role, "en")
    pres = _find(_parse(page.html), lambda n: n["tag"] == "pre")
    assert len(pres) == 1
    assert _text(pres[0]) == lesson.file(name).read_text(encoding="utf-8")
    # One line element per line, nothing between them: numbers come from CSS counters.
    lines = [k for k in pres[0]["kids"] if "ln" in _classes(k)]
    assert len(lines) == len(lesson.file(name).read_text(encoding="utf-8").splitlines())


def test_a_diff_as_copied_is_the_diff_and_its_lines_are_marked():
    seen = set()
    for lesson in lessons.course():
        for old, new in lesson.diffs:
            page = notebook_html.changes(lesson, old, new, "zh", "改动")
            pre = _find(_parse(page.html), lambda n: n["tag"] == "pre")[0]
            diff = unified_diff(lesson.file(old).read_text(encoding="utf-8"),
                                lesson.file(new).read_text(encoding="utf-8"), old, new)
            assert _text(pre) == diff
            for k in pre["kids"]:
                line = _text(k)
                if line.startswith(("+++", "---")):
                    continue
                want = {"+": "d-add", "-": "d-del", "@": "d-hunk"}.get(line[:1])
                if want:
                    assert want in _classes(k), line
                    seen.add(want)
                else:
                    assert not _classes(k) & {"d-add", "d-del", "d-hunk"}, line
    assert seen == {"d-add", "d-del", "d-hunk"}


# ---------------------------------------------------------------- check()


def test_the_checklist_wraps_and_keeps_every_message():
    from sockteach.grading.result import CheckResult, Result

    long = "recv() returned b'' 362,173 times: " + "the server spins " * 20
    result = Result(3, "Connection loop", "server.py", lang="zh", checks=[
        CheckResult("starts", "启动时不报错", True, 1, 1, "程序启动了，没有报错。"),
        CheckResult("spin", "客户端离开时不空转", False, 0, 1, long, hint="if not data: break",
                    output="Traceback (most recent call last):\n  ...\n"),
        CheckResult("next", "为下一个客户端服务", False, 0, 2, "没试", checked=False)])
    page = notebook_html.checklist(result)
    tree = _parse(page.html)
    text = _text(tree)
    for piece in ("启动时不报错", long, "if not data: break", "Traceback", "1/1", "0/2"):
        assert piece in text
    assert page.text == result.render()
    # No box of a fixed width (that it fits the cell is measured in the browser test).
    assert "width" not in page.body


# ---------------------------------------------------------------- scratch folders


def _dead_pid() -> tuple[int, float]:
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    started = psutil.Process(child.pid).create_time()
    child.communicate(b"\n", timeout=10)
    return child.pid, started


def test_sweep_removes_the_folders_of_owners_that_are_gone(tmp_path):
    import psutil

    me = psutil.Process(os.getpid()).create_time()
    pid, started = _dead_pid()
    folders = {}
    for name, mark in [("dead", f"{pid} {started!r}"), ("mine", f"{os.getpid()} {me!r}"),
                       ("reused", f"{os.getpid()} {me - 1000!r}"), ("unmarked", None),
                       ("garbled", "not a mark")]:
        path = tmp_path / f"sockteach-{name}"
        (path / "work").mkdir(parents=True)
        if mark is not None:
            (path / notebook_scratch.OWNER).write_text(mark)
        folders[name] = path
    other = tmp_path / "other-dead"
    other.mkdir()
    (other / notebook_scratch.OWNER).write_text(f"{pid} {started!r}")
    removed = notebook_scratch.sweep(tmp_path, force=True)
    assert sorted(p.name for p in removed) == ["sockteach-dead", "sockteach-reused"]
    assert not folders["dead"].exists() and not folders["reused"].exists()
    assert all(folders[n].exists() for n in ("mine", "unmarked", "garbled"))
    assert other.exists()


def test_a_kernel_killed_with_sigkill_leaves_a_folder_the_next_one_removes(tmp_path):
    import signal

    code = ("import sys\n"
            "from sockteach.session import Session\n"
            "from sockteach import notebook_scratch\n"
            "s = Session([8081])\n"
            "notebook_scratch.claim(s)\n"
            "print(notebook_scratch.folder_of(s), flush=True)\n"
            "sys.stdin.read()\n")
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, text=True)
    try:
        folder = Path(child.stdout.readline().strip())
        assert folder.parent == tmp_path and folder.is_dir()
        assert notebook_scratch.sweep(tmp_path, force=True) == []  # its owner is alive
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert folder.is_dir(), "kill -9 ran no clean-up"
    assert notebook_scratch.sweep(tmp_path, force=True) == [folder]
    assert not folder.exists()


# ---------------------------------------------------------------- interrupt, folders


def test_an_interrupt_stops_the_lesson_and_shows_what_happened_until_then():
    from sockteach import notebook

    out = io.StringIO()
    started = threading.Event()

    def press_ctrl_c() -> None:
        ready = threading.Event()
        for _ in range(400):  # until the lesson's processes run (20 s at most)
            if our_processes():
                break
            ready.wait(0.05)
        started.set()
        _thread.interrupt_main()

    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    with redirect_stdout(out), pytest.raises(notebook.LessonInterrupted) as caught:
        notebook.play(3, lang="en", speed=1.0)
    presser.join(timeout=30)
    assert started.is_set()
    message = caught.value._render_traceback_()
    assert message == ["Interrupted: every process this lesson started has been stopped."]
    shown = out.getvalue()
    assert message[0] in shown
    # The stopping is ours: no side is shown killed, no reset blamed on the lesson.
    assert "SIGTERM" not in shown and "SIGKILL" not in shown
    assert "ConnectionResetError" not in shown
    assert not our_processes()


def test_lesson_interrupted_shows_as_one_line_in_a_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from sockteach.notebook import LessonInterrupted\n"
        "raise LessonInterrupted('Interrupted: stopped.')"),
        nbformat.v4.new_code_cell("print('not run')")])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    (error,) = nb.cells[0].outputs
    assert error.output_type == "error" and error.traceback == ["Interrupted: stopped."]
    assert issubclass(__import__("sockteach.notebook").notebook.LessonInterrupted,
                      KeyboardInterrupt)


def test_each_lesson_writes_its_files_in_a_folder_of_its_own(tmp_path):
    import nbformat

    from sockteach import notebook

    made = notebook.folder(3, base=tmp_path)
    assert made == tmp_path / "03-connection-loop" and made.is_dir()
    for lang in ("en", "zh"):
        written = []
        for path in sorted((ROOT / "notebooks" / lang).glob("*.ipynb")):
            cells = [c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "code"]
            for i, source in enumerate(cells):
                if source.startswith("%%writefile "):
                    target = source.split("\n", 1)[0].split(" ", 1)[1]
                    assert target.startswith(path.stem + "/"), (path, target)
                    folder_cell = f"sockteach.notebook.folder({int(path.stem[:2])})"
                    assert folder_cell in cells[:i], path
                    written.append(target)
        assert len(written) == len(set(written)) >= 10, written
