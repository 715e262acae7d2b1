"""The class notebooks: generated from the lesson data, and every one runs headless.

Each notebook is executed in a real Jupyter kernel (nbclient + ipykernel from the test extra),
with an explicit per-cell timeout, in a copy under a temporary folder (its ``%%writefile``
cells write there). A cell must not show an error, nor write to stderr (graders such as
nbgrader fail such a cell), and the played lesson must show its key narration.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import ROOT, our_processes

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from nbclient import NotebookClient  # noqa: E402

CELL_TIMEOUT = 120  # seconds per cell (nbclient has no timeout unless told)
# Narration each played lesson must show, the same in both languages.
KEY_NARRATION = {
    "01-naive-echo": ["b''", "b'HELLO'"],
    "02-empty-message": ["send(b'')", "b'HELLO'"],
    "03-connection-loop": ["ConnectionResetError", "b'HI'"],
    "04-address-in-use": ["98", "TIME_WAIT", "SO_REUSEADDR"],
    "05-send-sendall": ["(1000000 bytes)", "sendall("],
    "06-byte-stream": ["b'helloworld'", "b'world'"],
    "07-udp": ["sendto(b''", "recvfrom("],
    "08-timeouts": ["TimeoutError", "BlockingIOError", "111"],
    "09-af-unix": ["bind('echo.sock')", "98", "111"],
    "10-socket-as-file": ["8192", "makefile('rwb')", "b'THREE\\n'"],
    "11-many-clients": ["b'HI'", "setblocking(False)"],
    "12-connection-states": ["CLOSE_WAIT", "FIN_WAIT2", "SYN_SENT"],
}


def _make_notebooks():
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  ROOT / "scripts" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*/*.ipynb"))


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return output.get("data", {}).get("text/plain", "")


def _problems(nb) -> list[str]:
    """Error outputs and stderr output, with the cell they came from."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error" or (out.output_type == "stream"
                                              and out.name == "stderr"):
                found.append(f"cell {cell.id} ({cell.source.splitlines()[0]!r}):\n{_text(out)}")
    return found


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """What the kernel inherits: the fastest pace, and progress records kept out of $HOME."""
    monkeypatch.setenv("SOCKTEACH_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))
    return tmp_path


def _client(nb, cwd: Path) -> NotebookClient:
    return NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                          resources={"metadata": {"path": str(cwd)}},
                          shutdown_kernel="graceful")


# ---------------------------------------------------------------- generated, up to date


def test_notebooks_are_up_to_date():
    stale = _make_notebooks().stale()
    assert not stale, ("out of date (run python scripts/make_notebooks.py): "
                       + ", ".join(str(p.relative_to(ROOT)) for p in stale))


def test_one_notebook_per_lesson_and_language_without_outputs():
    from sockteach import lessons

    names = {p.relative_to(ROOT / "notebooks").as_posix() for p in _notebooks()}
    wanted = {f"{lang}/{lesson.path.name}.ipynb"
              for lesson in lessons.course() for lang in ("en", "zh")}
    assert names == wanted
    for path in _notebooks():
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path
        lang = path.parent.name
        plays = [c.source for c in nb.cells if c.source.startswith("sockteach.play(")]
        assert len(plays) == 1, path
        assert ('lang="zh"' in plays[0]) == (lang == "zh"), plays[0]


def test_check_mode_reports_a_changed_notebook(tmp_path, monkeypatch):
    mk = _make_notebooks()
    monkeypatch.setattr(mk, "NOTEBOOKS", tmp_path)
    assert mk.main(["--check"]) == 1  # nothing written yet
    assert mk.main([]) == 0
    assert mk.main(["--check"]) == 0
    first = sorted(tmp_path.glob("en/*.ipynb"))[0]
    first.write_text(first.read_text(encoding="utf-8").replace("sockteach.play", "play"),
                     encoding="utf-8")
    assert mk.main(["--check"]) == 1
    # The same data gives the same bytes.
    assert mk.render_all() == mk.render_all()


# ---------------------------------------------------------------- in this process


def test_show_and_hint_read_the_lesson_files():
    import sockteach
    from sockteach import lessons

    lesson = lessons.get(1)
    shown = sockteach.show(1, "server")
    code = lesson.file("server.py").read_text(encoding="utf-8")
    for line in code.strip().splitlines():
        assert line.strip() in shown.text
    bundle = shown._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert "<script" not in bundle["text/html"] and "phone" in bundle["text/html"]
    assert "client_fixed.py" in sockteach.show(2, "client_fixed", diff=True).text
    assert "listen" in repr(sockteach.hint(1))
    assert "提示" in sockteach.hint(1, lang="zh")._repr_markdown_()


def test_play_outside_a_kernel_prints_the_end_only():
    from sockteach import notebook

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        notebook.play(1, fast=True)
    assert err.getvalue() == ""
    assert "b''" in out.getvalue()
    assert not our_processes()


def test_serve_outside_a_kernel(monkeypatch):
    import socket

    from sockteach import notebook

    srv = notebook.serve(3)
    try:
        again = notebook.serve(3)  # the same cell, run again: the first one stops
        assert not srv.running and again.running
        assert again.port != srv.port
        with socket.create_connection(again.address, timeout=5) as s:
            s.sendall(b"hi")
            assert s.recv(1024) == b"HI"
        # The trace arrives on its own channel: wait for it (an event, not a sleep).
        again.session.wait_until(
            lambda: any(e.kind == "return" and e.name == "recv" and e.result == "b'hi'"
                        for e in again.events), 10, "the server's recv() to be traced")
    finally:
        notebook.stop_all()
    assert not again.running
    assert not our_processes()


# ---------------------------------------------------------------- executed in a kernel


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_runs_headless(path, kernel_env):
    work = kernel_env / "work"
    work.mkdir()
    copy = work / path.name
    shutil.copyfile(path, copy)
    nb = nbformat.read(copy, as_version=4)
    _client(nb, work).execute()
    problems = _problems(nb)
    assert not problems, "\n\n".join(problems)
    code = [c for c in nb.cells if c.cell_type == "code"]
    play = next(c for c in code if c.source.startswith("sockteach.play("))
    shown = "\n".join(_text(o) for o in play.outputs)
    for key in KEY_NARRATION[path.stem]:
        assert key in shown, f"{key!r} not in the played lesson's output:\n{shown[-3000:]}"
    assert any("text/html" in o.get("data", {}) for o in play.outputs)
    serve = next(c for c in code if c.source.startswith("srv = sockteach.serve("))
    assert serve.outputs and "server" in _text(serve.outputs[0])
    check = next(c for c in code if c.source.startswith("sockteach.check("))
    assert check.outputs, "the exercise check showed nothing"
    # The notebook's checklist (it wraps in the cell), not the 115-column terminal one.
    assert any('data-sockteach="check"' in o.get("data", {}).get("text/html", "")
               for o in check.outputs), check.outputs
    # The play cell's last frame is the summary, the timeline folded behind <details>.
    frames = [o.get("data", {}).get("text/html", "") for o in play.outputs]
    assert 'data-sockteach="summary"' in frames[0] and "<details>" in frames[0]
    assert not our_processes()


@pytest.mark.timeout(180)
def test_serve_cell_run_again_and_kernel_shutdown(kernel_env):
    """Re-running the serve cell stops the old server and never hits "address in use"; a
    server still running when the kernel shuts down is stopped with it."""
    v4 = nbformat.v4
    cells = [
        v4.new_code_cell("import sockteach\nservers = []"),
        v4.new_code_cell("srv = sockteach.serve(1)\nservers.append(srv)"),
        v4.new_code_cell(
            "first, last = servers[0], servers[-1]\n"
            "assert len(servers) == 3 and first is not last\n"
            "assert not first.running and not servers[1].running and last.running\n"
            "from socket import *\n"
            "phone=socket(AF_INET,SOCK_STREAM)\n"
            "phone.settimeout(10)\n"
            "phone.connect(srv.address)\n"
            "phone.send(b'hello')\n"
            "print(phone.recv(1024))"),
    ]
    nb = v4.new_notebook(cells=cells)
    client = _client(nb, kernel_env)
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        for _ in range(3):  # the same cell, three times
            client.execute_cell(nb.cells[1], 1)
        client.execute_cell(nb.cells[2], 2)
        assert our_processes(), "the last server should still be running"
    problems = _problems(nb)
    assert not problems, "\n\n".join(problems)
    assert "b'HELLO'" in _text(nb.cells[2].outputs[0])
    # setup_kernel() shut the kernel down: the server went with it.
    assert not our_processes()


def test_wait_tcp_waits_for_the_kernels_table_and_says_when_it_does_not_come():
    import socket

    from sockteach import kernel, notebook

    if not kernel.available():
        pytest.skip("the kernel's TCP table is read from /proc/net/tcp (Linux)")
    srv = notebook.serve(12, lang="en")  # lesson 12's server never closes conn
    try:
        with pytest.raises(TimeoutError, match="no connection in CLOSE_WAIT within 0.3 s"):
            srv.wait_tcp("CLOSE_WAIT", timeout=0.3)  # nobody connected yet
        s = socket.create_connection(srv.address, timeout=5)
        s.sendall(b"hello")
        assert s.recv(1024)
        s.close()
        assert srv.wait_tcp("CLOSE_WAIT") is srv
        rows = [row for e in srv.events if e.kind == "tcp" for row in e.states or ()]
        assert any(state == "CLOSE_WAIT" for _, _, state in rows)
    finally:
        notebook.stop_all()
    assert not our_processes()
