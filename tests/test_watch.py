"""``sockteach watch``: the learner's programs, live and narrated; typing into them; Ctrl-C
ends everything (forks, floods and endless programs included); check's failures end with the
watch command that shows them."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, our_processes, program
from sockteach import exercises, lessons
from sockteach.watch import Keys, plan, role_of, watch_command

LESSON3_SOLUTION = ROOT / "lessons" / "03-connection-loop" / "exercise" / "solution.py"


def watch_cmd(*args: str) -> list[str]:
    """The watch command line (``python -m sockteach.cli_watch`` until the main CLI has it)."""
    return [sys.executable, "-m", "sockteach.cli_watch", "watch", *args]


def run_watch(*args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env["COLUMNS"] = "100"
    return subprocess.run(watch_cmd(*args), input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(ROOT))


# ---------------------------------------------------------------- pure parts


def test_sides_are_named_by_role(tmp_path):
    a = tmp_path / "my_server.py"
    b = tmp_path / "talk.py"
    c = tmp_path / "serve.py"
    a.write_text("pass\n")
    b.write_text("from socket import *\ns=socket()\ns.connect(('127.0.0.1',8081))\n")
    c.write_text("from socket import *\ns=socket()\ns.bind(('',8081))\ns.listen(5)\n")
    assert [role_of(p) for p in (a, b, c)] == ["server", "client", "server"]
    names = [(p.side, p.script.name) for p in plan([b, c, b])]
    assert names == [("server", "serve.py"), ("client", "talk.py"), ("client2", "talk.py")]
    with_peer = plan([b], (lessons.get(3), "client"))  # the peer decides the other role
    assert [(p.side, p.learner) for p in with_peer] == [("server", True), ("client", False)]
    assert with_peer[1].script == lessons.get(3).file("client.py")


def test_keys_are_tokens():
    keys = Keys(0)
    assert list(keys.tokens("hé\r\x7f\t\x1b[C\x1b[D\x04\x15\x1bOH\x1b[4~")) == [
        "h", "é", "enter", "backspace", "tab", "right", "left", "eof", "kill", "home", "end"]
    assert list(keys.tokens("\x1b")) == ["esc"]


def test_watch_command_for_each_exercise():
    for ex in exercises.all_exercises():
        if ex.number > 4:
            continue
        cmd = watch_command(ex, ROOT / "work" / ex.file)
        peer = {1: "1:client", 2: "2:server", 3: "3:client", 4: "4:client"}[ex.number]
        assert cmd.endswith(f"--peer {peer}"), cmd
        assert cmd.startswith("sockteach watch ")


# ---------------------------------------------------------------- not a terminal


def test_stdin_lines_go_to_the_program_waiting_in_input():
    result = run_watch(str(program("echo_client.py")), "--peer", "3:server",
                       stdin="hello\nquit\n")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "client: send(b'hello')" in out and "server: recv() got b'hello'" in out, out
    # what the client printed (its prompt may come before or after the echo of the typing)
    assert re.search(r"^client │ (>>: )?b'HELLO'$", out, re.M), out
    assert "Watching echo_client.py · with lesson 3's server" in out  # the final screen
    assert not our_processes()


def test_end_of_stdin_is_end_of_file_for_input():
    result = run_watch(str(program("echo_client.py")), "--peer", "3:server", stdin="hi\n")
    assert result.returncode == 1  # input() raised EOFError: the program failed
    assert "EOFError" in result.stdout
    assert not our_processes()


def test_a_hang_is_diagnosed_and_sigint_ends_it():
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    proc = subprocess.Popen(watch_cmd(str(program("diag_echo_server.py")),
                                      str(program("diag_empty_client.py"))),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    seen = ""
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen += line
            if line.startswith("Next step:"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert "⚠ server and client are both blocked in recv()" in seen
    assert proc.returncode == 130
    assert err.strip() == "Interrupted — everything watch started has been stopped."
    final = out[out.index("Watching diag_echo_server.py"):]
    assert "⚠ server and client are both blocked" in final  # as it was at Ctrl-C
    assert not our_processes()


@pytest.mark.parametrize("args, words", [
    (["nosuch.py"], "no such file: nosuch.py"),
    ([str(program("asks.py")), "--peer", "3"], "--peer takes LESSON:ROLE"),
    ([str(program("asks.py")), "--peer", "99:client"], "no lesson 99"),
    ([str(program("asks.py")), "--peer", "3:nosuch"], "has no 'nosuch' file"),
    ([str(program("asks.py")), "--record", "/no/such/dir/x.jsonl"], "folder does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    result = run_watch(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr


# ---------------------------------------------------------------- in a terminal


def spawn_watch(*args: str, rows: int = 40):
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    return pexpect.spawn(sys.executable, watch_cmd(*args)[1:], encoding="utf-8", timeout=15,
                         dimensions=(rows, 110), cwd=str(ROOT), env=env)


def ctrl_c(child) -> float:
    import pexpect

    started = time.monotonic()
    child.sendintr()
    child.expect(pexpect.EOF, timeout=10)
    took = time.monotonic() - started
    child.close(force=True)
    return took


def test_type_into_the_learners_client_in_a_terminal(tmp_path):
    record = tmp_path / "run.jsonl"
    child = spawn_watch(str(program("echo_client.py")), "--peer", "3:server",
                        "--record", str(record))
    try:
        child.expect(r"client waits in input\('>>: '\)")
        child.send("hel")
        child.send("lo\r")
        child.expect("HELLO")
        took = ctrl_c(child)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before
    assert took < 2, took
    text = record.read_text(encoding="utf-8")
    assert '"kind": "input", "text": "hello"' in text and "b'HELLO'" in text
    assert not our_processes()


@pytest.mark.parametrize("name", ["forker.py", "diag_flood.py", "diag_forever.py"])
def test_ctrl_c_ends_forks_floods_and_endless_programs(name):
    child = spawn_watch(str(program(name)))
    try:
        child.expect("Ctrl-C ends everything")
        if name == "forker.py":
            child.expect("accept")
        elif name == "diag_flood.py":
            child.expect("flood flood")
        took = ctrl_c(child)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before[-2000:]
    assert took < 2, took
    assert "Traceback" not in child.before
    assert not our_processes()


# ---------------------------------------------------------------- check → watch


def test_check_failure_ends_with_the_watch_command_that_shows_it(tmp_path, monkeypatch):
    import sockteach

    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    starter = work / "server.py"
    starter.write_bytes(exercises.get(3).starter.read_bytes())
    result = sockteach.check(3, "work/server.py", record=False)
    assert not result.passed
    text = str(result)
    assert "⚠ server: recv() returned b''" in text  # the diagnosis of the spin
    command = "sockteach watch work/server.py --peer 3:client"
    assert text.rstrip().endswith("See it live: " + command)
    # and that command shows the failing situation: the spin, live
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    proc = subprocess.Popen([sys.executable, "-m", "sockteach.cli_watch",
                             *shlex.split(command)[1:]], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(tmp_path))
    seen = ""
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("hello\nquit\n")
        proc.stdin.close()
        proc.stdin = None  # written and closed: communicate() has nothing to send
        for line in proc.stdout:
            seen += line
            if "it spins" in line:
                break
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert "server: recv() got b'hello'" in seen and "it spins" in seen
    assert proc.returncode == 130
    assert not our_processes()


def test_wired_into_the_sockteach_command():
    import argparse

    from sockteach import cli

    parser = cli.build_parser()
    commands = next(a.choices for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction))
    if "watch" not in commands:
        pytest.skip("sockteach.cli does not add cli_watch's commands yet")
    assert "replay" in commands
    result = subprocess.run([sys.executable, "-m", "sockteach", "watch", "nosuch.py"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "no such file: nosuch.py" in result.stderr
