"""A lesson notebook in a real browser: JupyterLab 4 in headless Chromium, every cell run.

JupyterLab listens on 127.0.0.1 only, on a free port, with a token, in a temporary root
folder holding copies of the notebooks; it is shut down (kernels included) when the test
ends, also when it fails. Chromium is the system's (Debian's ``chromium``, or
``$SOCKTEACH_CHROMIUM``), driven by Playwright's Python package with a new empty profile.
Where either is missing the test says so and skips.

It asserts on the page: no error and no stderr output; the code as copied (the ``<pre>``'s
text) is the lesson's file, its lines' boxes neither overlap nor paint a background; in
English and Chinese the sequence's cells start at their column header's left edge; the
check's output fits its cell (no horizontal scrolling); every text of the views has a
contrast of 4.5:1 or more in the light and the dark theme. And an interrupt while a lesson
plays shows one line, no traceback, and stops "Run all".

``SOCKTEACH_SCREENSHOTS=folder`` also saves screenshots there (light and dark theme).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = os.environ.get("SOCKTEACH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LESSON = "03-connection-loop"  # server.py has the tutorial's Chinese comments; it has a check
RUN_TIMEOUT = 240  # seconds for "run all" to finish
SHOTS = os.environ.get("SOCKTEACH_SCREENSHOTS")


def _need() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[browser]')")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("JupyterLab is not installed (pip install -e '.[browser]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set "
                    "SOCKTEACH_CHROMIUM)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status


class Lab:
    """A JupyterLab server on 127.0.0.1, stopped by :meth:`stop` (kernels with it)."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.token = uuid.uuid4().hex
        settings = home / "lab-settings"
        news = settings / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True)  # no "Would you like to get notified about news?" toast
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = dict(os.environ, SOCKTEACH_NOTEBOOK_FAST="1", SOCKTEACH_HOME=str(home / "st"),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_CONFIG_DIR=str(home / "cfg"))
        self.log = open(home / "lab.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
             "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=root)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab ended ({self.proc.returncode}): "
                                   + (home / "lab.log").read_text(errors="replace")[-2000:])
            try:
                if _get(f"{self.url}/api/status?token={self.token}") == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not answer within 60 s")
            try:
                self.proc.wait(timeout=0.25)  # a wait with a deadline, not a sleep
            except subprocess.TimeoutExpired:
                pass

    def interrupt(self, path: str) -> None:
        """Interrupt the kernel of the notebook at ``path`` (what the stop button does)."""
        with urllib.request.urlopen(f"{self.url}/api/sessions?token={self.token}",
                                    timeout=10) as answer:
            sessions = json.load(answer)
        (kernel,) = [s["kernel"]["id"] for s in sessions if s["path"] == path]
        _get(f"{self.url}/api/kernels/{kernel}/interrupt?token={self.token}", method="POST")

    def stop(self) -> None:
        try:
            _get(f"{self.url}/api/shutdown?token={self.token}", method="POST")
        except (OSError, urllib.error.URLError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _need()
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    for lang in ("en", "zh"):
        (root / lang).mkdir(parents=True)
        shutil.copyfile(ROOT / "notebooks" / lang / f"{LESSON}.ipynb",
                        root / lang / f"{LESSON}.ipynb")
    server = Lab(root, home)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # new and empty
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def _run_all(page, lab: Lab, lang: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{lang}/{LESSON}.ipynb?reset&token={lab.token}")  # no tabs restored
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'", timeout=90_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    if SHOTS:  # a live frame, while the lesson plays (if the screenshot can catch one)
        from playwright.sync_api import Error as PlaywrightError

        try:
            page.wait_for_function("() => document.querySelectorAll("
                                   "'[data-sockteach=\"frame\"] .stk-seq > div').length > 24",
                                   timeout=20_000, polling="raf")
            # it is redrawn 5 times a second: a picture of where it is, not of the element
            box = page.locator('[data-sockteach="frame"]').first.bounding_box()
            page.screenshot(path=str(Path(SHOTS) / f"{lang}-live-frame.png"), clip=box)
        except PlaywrightError:  # none caught (a timeout), or it was replaced meanwhile
            pass
    # Done: every code cell has its number (or one failed, and "Run all" stopped there),
    # none waits ([*]), and the kernel is idle.
    page.wait_for_function("""() => {
        const nb = window.jupyterapp.shell.currentWidget;
        const cells = nb.content.widgets.filter(c => c.model.type === 'code');
        const failed = cells.some(c => c.model.toJSON().outputs.some(
            o => o.output_type === 'error'));
        const prompts = [...document.querySelectorAll('.jp-Notebook .jp-InputArea-prompt')];
        return (failed || cells.every(c => c.model.executionCount !== null))
            && nb.sessionContext.session.kernel.status === 'idle'
            && !prompts.some(p => p.textContent.includes('*'));
    }""", timeout=RUN_TIMEOUT * 1000, polling=500)


def _shoot(page, lang: str, theme: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("summary", "code", "check"):
        _shot(page, f'[data-sockteach="{kind}"]', folder / f"{lang}-{theme}-{kind}.png")


def _shot(page, selector: str, path: Path) -> None:
    """A screenshot of the first element ``selector`` finds, in a window tall enough."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2400})
    try:
        loc = page.locator(selector).first
        loc.scroll_into_view_if_needed()
        loc.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)


CONTRAST = """(selector) => {
    // The lowest contrast ratio (WCAG) of any text in `selector`, against what is behind it.
    const rgba = s => { const m = s.match(/[\\d.]+/g).map(Number);
                        return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const over = (top, below) => top.slice(0, 3).map((c, i) =>
        c * top[3] + below[i] * (1 - top[3])).concat([1]);
    const background = el => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] === 1) break;
        }
        let bg = [255, 255, 255, 1];
        for (const c of layers.reverse()) bg = over(c, bg);
        return bg;
    };
    const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
    let worst = [99, ''];
    for (const el of document.querySelectorAll(selector)) {
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !el.getClientRects().length) continue;
        const bg = background(el);
        const fg = over(rgba(getComputedStyle(el).color), bg);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        const ratio = (a + 0.05) / (b + 0.05);
        if (ratio < worst[0]) worst = [ratio, el.className + ': ' + el.textContent.slice(0, 40)
                                       + ' ' + getComputedStyle(el).color];
    }
    return worst;
}"""
READABLE = 4.5  # WCAG AA for normal text


def _line_boxes(page) -> list:
    """For every code box: whether its lines' boxes overlap, and any line's background."""
    return page.evaluate("""() => [...document.querySelectorAll('pre.stk-code')].map(pre => {
        const lines = [...pre.querySelectorAll(':scope > .ln')];
        const rects = lines.map(l => l.getBoundingClientRect());
        const overlaps = rects.slice(1).filter((r, i) => r.top < rects[i].bottom - 0.5).length;
        const painted = lines.filter(l => getComputedStyle(l).backgroundColor
                                          !== 'rgba(0, 0, 0, 0)').length;
        return {lines: lines.length, overlaps, painted};
    })""")


def _set_theme(page, theme: str) -> None:
    page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme',"
                  f" {{theme: 'JupyterLab {theme.title()}'}})")
    light = "true" if theme == "light" else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")


def _left_edges(page) -> dict:
    """Per column of the final sequence grid: its header's left edge and every cell's."""
    return page.evaluate("""() => {
        const frame = document.querySelector('[data-sockteach="summary"]');
        frame.querySelectorAll('details').forEach(d => d.open = true);
        const grid = frame.querySelector('.stk-seq');
        const out = {};
        for (const col of ['server', 'wire', 'client']) {
            const cells = [...grid.querySelectorAll(`:scope > [data-col="${col}"]`)];
            out[col] = {head: cells[0].getBoundingClientRect().left,
                        cells: cells.slice(1).map(c => c.getBoundingClientRect().left),
                        text: cells.map(c => c.textContent).join('\\n')};
        }
        return out;
    }""")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_notebook_in_jupyterlab(lab, browser, lang):
    from sockteach import lessons

    lesson = lessons.get(int(LESSON[:2]))
    page = browser.new_page()
    try:
        _run_all(page, lab, lang)
        # No error and no stderr: in the notebook's outputs, and on the page.
        problems = page.evaluate("""() => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            const found = [];
            for (const cell of nb.model.cells) {
                if (cell.type !== 'code') continue;
                for (const out of cell.toJSON().outputs) {
                    if (out.output_type === 'error'
                        || (out.output_type === 'stream' && out.name === 'stderr'))
                        found.push(cell.toJSON().source + ' → ' + JSON.stringify(out));
                }
            }
            return found.concat([...document.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.textContent));
        }""")
        assert problems == [], problems
        # The code as copied is the file.
        copied = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            'pre.stk-code[data-file]')].map(p => [p.dataset.file, p.textContent]))""")
        assert copied, "no code shown"
        for name, text in copied.items():
            assert text == lesson.file(name).read_text(encoding="utf-8"), name
        # Highlighted lines do not cover each other (an underscore stays visible): line
        # boxes do not overlap and none paints a background.
        boxes = _line_boxes(page)
        assert boxes and all(b["lines"] for b in boxes), boxes
        assert all(b["overlaps"] == 0 and b["painted"] == 0 for b in boxes), boxes
        # Every text of the views reads, in the light theme and in the dark one.
        for theme in ("light", "dark"):
            _set_theme(page, theme)
            for part in ("code", "frame", "summary", "check", "serve"):
                worst = page.evaluate(CONTRAST, f'[data-sockteach="{part}"] *')
                assert worst[0] >= READABLE, (theme, part, worst)
            _shoot(page, lang, theme)
        _set_theme(page, "light")
        # Columns line up: every cell of the sequence starts where its header starts.
        edges = _left_edges(page)
        if SHOTS:
            _shot(page, '[data-sockteach="summary"] details',
                  Path(SHOTS) / f"{lang}-light-timeline.png")
        for col, found in edges.items():
            assert found["cells"], f"no {col} cells"
            assert all(abs(x - found["head"]) < 0.5 for x in found["cells"]), (col, found)
        assert edges["server"]["head"] < edges["wire"]["head"] < edges["client"]["head"]
        if lang == "zh":
            assert any("\u4e00" <= ch <= "\u9fff" for col in edges.values()
                       for ch in col["text"]), "no Chinese in the zh timeline"
        # The check's output fits its cell.
        fits = page.evaluate("""() => {
            const check = document.querySelector('[data-sockteach="check"]');
            if (!check) return null;
            const area = check.closest('.jp-OutputArea-output') || check;
            return [check.scrollWidth, check.clientWidth, area.scrollWidth, area.clientWidth];
        }""")
        assert fits is not None, "the check showed no checklist"
        assert fits[0] <= fits[1] and fits[2] <= fits[3], fits
        page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    finally:
        page.close()


@pytest.mark.timeout(300)
def test_an_interrupt_shows_one_line_and_stops_run_all(lab, browser):
    """Interrupting the kernel while a lesson plays: the summary of what happened until
    then, one line saying so (no traceback), and "Run all" stops there."""
    import nbformat

    from sockteach.i18n import msg

    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("import os, sockteach, sockteach.notebook\n"
                         "os.environ.pop('SOCKTEACH_NOTEBOOK_FAST', None)  # the real pace"),
        v4.new_code_cell("sockteach.play(3)"),
        v4.new_code_cell("print('not run')")])
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                  "name": "python3"}}
    nbformat.write(nb, lab.root / "interrupt.ipynb")
    page = browser.new_page()
    try:
        page.goto(f"{lab.url}/lab/tree/interrupt.ipynb?reset&token={lab.token}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
            " === 'idle'", timeout=90_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        # The lesson is under way: its live frame has rows.
        page.wait_for_function("() => document.querySelectorAll("
                               "'[data-sockteach=\"frame\"] .stk-seq > div').length > 12",
                               timeout=60_000, polling=100)
        lab.interrupt("interrupt.ipynb")
        page.wait_for_function("""() => {
            const nb = window.jupyterapp.shell.currentWidget;
            const play = nb.content.model.cells.get(1);
            return play.executionCount !== null && nb.sessionContext.session.kernel.status
                === 'idle' && play.toJSON().outputs.some(o => o.output_type === 'error');
        }""", timeout=60_000, polling=200)
        cells = page.evaluate("() => [1, 2].map(i => window.jupyterapp.shell.currentWidget"
                              ".content.model.cells.get(i).toJSON())")
        play, after = cells
        errors = [o for o in play["outputs"] if o["output_type"] == "error"]
        assert [e["traceback"] for e in errors] == [[msg("notebook.interrupted", "en")]]
        assert not [o for o in play["outputs"] if o.get("name") == "stderr"]
        frames = [o["data"]["text/html"] for o in play["outputs"] if "data" in o]
        assert 'data-sockteach="summary"' in frames[0]
        assert after["outputs"] == [] and after["execution_count"] is None  # run-all stopped
        page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    finally:
        page.close()
