"""``sockteach run N ROLE`` as a learner meets it: the command in a real pty (pexpect), its
program traced and attached to that terminal, and real clients or servers over 127.0.0.1
written here in Python."""

from __future__ import annotations

import functools
import io
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ROOT
from sockteach.i18n import msg
from sockteach.session import free_port

pexpect = pytest.importorskip("pexpect")
psutil = pytest.importorskip("psutil")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMEOUT = 20


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("SOCKTEACH_")}
    out.update(PYTHONPATH=str(ROOT), NO_COLOR="1", **extra)
    return out


def spawn(*args: str):
    child = pexpect.spawn(sys.executable, list(args), encoding="utf-8", timeout=TIMEOUT,
                          dimensions=(50, 400), env=env(), cwd=str(ROOT))
    child.logfile_read = io.StringIO()
    return child


def screen(child) -> str:
    """What the terminal got, as text: colours removed, lines ending in \\n."""
    return ANSI.sub("", child.logfile_read.getvalue()).replace("\r\n", "\n")


def narration(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith("  · ")]


def tracer_env(pid: int) -> dict[str, str]:
    """The environment of the traced program a sockteach process started (waits for it)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for p in psutil.Process(pid).children(recursive=True):
            try:
                if any(part.endswith("tracer.py") for part in p.cmdline()):
                    return p.environ()
            except psutil.Error:
                continue
        time.sleep(0.05)  # polling for a process to appear, under a deadline
    raise AssertionError("the traced program never started")


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_for_text(path: Path, text: str, timeout: float = TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)  # polling a file another process writes, under a deadline
    raise AssertionError(f"{text!r} never appeared in {path}")


# ----- one server run: a client talks to it, then the learner presses Ctrl-C -----------------

@pytest.fixture(scope="module")
def server_run():
    port = free_port()
    child = spawn("-m", "sockteach", "run", "3", "server", "--port", str(port))
    try:
        child.expect(r"accept\(")
        program_env = tracer_env(child.pid)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"hi")
            assert c.recv(100) == b"HI"
        child.expect("b''")  # the server's recv saw the close
        child.expect("TIME_WAIT")  # the table with the listener and the closed connection
        child.sendintr()  # the learner's own Ctrl-C, typed in the program's terminal
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return {"port": port, "text": screen(child), "env": program_env,
            "status": child.exitstatus, "refused": refused(port)}


def test_run_with_port_narrates_the_port_the_program_really_uses(server_run):
    port, lines = server_run["port"], narration(server_run["text"])
    bind = next(line for line in lines if "bind(" in line)
    assert f"127.0.0.1:{port}" in bind
    assert not [line for line in lines if "8081" in line]
    assert any("TCP table" in line and f"127.0.0.1:{port}" in line for line in lines)
    assert f"--port {port}" in server_run["text"]  # the banner says where 8081 went


def test_the_kernel_table_after_ctrl_c_lists_no_listener_that_is_gone(server_run):
    lines = narration(server_run["text"])
    tables = [line for line in lines if "TCP table" in line]
    assert any("LISTEN" in line for line in tables)  # while it ran, there was a listener
    assert "TCP table" in lines[-1]  # the last word is the table taken after the exit
    assert "LISTEN" not in lines[-1]
    assert server_run["refused"]  # and that is the truth: nothing listens there


def test_the_learners_ctrl_c_is_not_reported_as_a_signal_from_outside(server_run):
    text = server_run["text"].replace("\n", " ")
    assert msg("run.ctrl_c", "en") in text
    assert "from outside" not in text
    assert server_run["status"] == 130


def test_on_a_terminal_the_output_is_not_folded(server_run):
    assert "SOCKTEACH_FOLD_OUTPUT" not in server_run["env"]
    assert msg("run.folded", "en") not in server_run["text"]


def test_the_learners_ctrl_c_in_chinese():
    port = free_port()
    child = spawn("-m", "sockteach", "--lang", "zh", "run", "3", "server", "--port", str(port))
    try:
        child.expect(r"accept\(")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    text = screen(child).replace("\n", "")
    assert msg("run.ctrl_c", "zh") in text
    assert child.exitstatus == 130


def test_a_sigint_sent_to_the_program_alone_is_not_called_the_learners():
    port = free_port()
    child = spawn("-m", "sockteach", "run", "3", "server", "--port", str(port))
    try:
        child.expect(r"accept\(")
        program = next(p for p in psutil.Process(child.pid).children(recursive=True)
                       if any(part.endswith("tracer.py") for part in p.cmdline()))
        program.send_signal(signal.SIGINT)  # from outside: sockteach itself got none
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    text = screen(child).replace("\n", " ")
    assert "KeyboardInterrupt" in text  # the program did get it
    assert msg("run.ctrl_c", "en") not in text


# ----- a client run: its input() prompt and the narration share the terminal ---------------

def test_narration_does_not_glue_onto_the_prompt_and_the_prompt_comes_back():
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(TIMEOUT)
    child = spawn("-m", "sockteach", "run", "3", "client", "--port", str(port))
    try:
        conn, _ = listener.accept()
        child.expect_exact(">>: ")
        child.expect("ESTABLISHED")
        conn.close()  # the server end closes: the client's socket goes to CLOSE_WAIT
        child.expect("CLOSE_WAIT")  # narrated while the client waits in input()
        child.expect_exact(">>: ")  # and the prompt is on the last line again
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
        listener.close()
    text = screen(child)
    assert not re.search(r"[^\n]  · ", text), text  # every narration line starts a line
    assert child.exitstatus == 0


@functools.lru_cache(maxsize=None)
def tracer_reports_output() -> bool:
    """Whether this tracer sends a program's output itself (event schema 2), as ``attach``
    needs to know what the program wrote on the terminal."""
    from sockteach.session import Session

    with Session(poll_tcp=False) as session:
        script = session.workdir / "prints.py"
        script.write_text("print('x', end='')\n")
        record = session.attach("server", script)
        session.wait_until(lambda: record.exit_code is not None, TIMEOUT, "the probe")
        session.wait_until(lambda: session.trace_done(record.pid), TIMEOUT, "its trace")
        return any(e.kind == "output" for e in session.snapshot())


def test_narration_does_not_glue_onto_program_output(tmp_path):
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent("""\
        import socket, sys
        sys.stdout.write("no newline here"); sys.stdout.flush()
        s = socket.socket()
        s.bind(("127.0.0.1", 8081))
        s.listen(1)
        s.accept()
    """))
    driver = ("import dataclasses, sys; from rich.console import Console; "
              "from sockteach import lessons, runner; "
              "lesson = dataclasses.replace(lessons.get('1'), code={'server': sys.argv[1]}); "
              "sys.exit(runner.run_side(lesson, 'server', 'en', console=Console(), "
              "port=int(sys.argv[2])))")
    child = spawn("-c", driver, str(script), str(free_port()))
    try:
        child.expect(r"accept\(")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    text = screen(child)
    assert "no newline here\n  · " in text, text
    # The terminal's own ^C echo may come between two narration lines before sockteach hears
    # of the Ctrl-C (Python runs its handler a moment later): that is not program output.
    assert not re.search(r"[^\n]  · ", text.replace("^C", "\n")), text


# ----- stdout not a terminal: the tracer folds repeated lines ------------------------------

def run_to_file(tmp_path: Path, port: int) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sockteach", "run", "1", "server", "--port", str(port)],
            stdout=f, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env(),
            cwd=str(ROOT), start_new_session=True)
    return proc, out


def ctrl_c(proc: subprocess.Popen) -> tuple[int, str]:
    """Ctrl-C as a terminal sends it: SIGINT to the whole group; the exit status, stderr."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, err.decode("utf-8", "replace")


def test_output_to_a_file_is_folded_and_said_once(tmp_path):
    port = free_port()
    proc, out = run_to_file(tmp_path, port)
    try:
        wait_for_text(out, "accept(")
        program_env = tracer_env(proc.pid)
    finally:
        status, err = ctrl_c(proc)
    assert program_env.get("SOCKTEACH_FOLD_OUTPUT") == "1"
    assert err.count(msg("run.folded", "en")) == 1
    assert status == 130


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def test_a_spin_printed_to_a_file_stays_small(tmp_path):
    port = free_port()
    proc, out = run_to_file(tmp_path, port)
    try:
        wait_for_text(out, "accept(")
        program = next(p for p in psutil.Process(proc.pid).children(recursive=True)
                       if any(part.endswith("tracer.py") for part in p.cmdline()))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"x")
            assert c.recv(10) == b"X"  # read, so that the close is a FIN: no reset follows
        # lesson 1's server: recv() returns b'' for ever after the close, printed each time
        deadline = time.monotonic() + TIMEOUT
        while cpu_seconds(program.pid) < 1.5:  # the spin has run a good while
            assert time.monotonic() < deadline, "the spin never ran"
            time.sleep(0.05)  # polling the program's CPU time, under a deadline
    finally:
        ctrl_c(proc)
    text = out.read_text(errors="replace")
    folded = [(line, int(n)) for line, n in
              re.findall(r"\[… (.*) (\d+) more times — sockteach folded", text)]
    assert folded, text[-2000:]
    left_out = sum((len(line) + 1) * n for line, n in folded)  # bytes not written
    assert left_out > 100_000  # what the spin printed and the file did not get
    assert out.stat().st_size < left_out / 10
