"""``sockteach watch --peer N:client`` drives the lesson's client as the lesson does; the watch
ends by itself when stdout is not a terminal and the programs are idle (and says so, en/zh);
a spinning server's output is folded into a few lines. Real processes over loopback."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, our_processes
from sockteach import lessons
from sockteach.events import load_jsonl
from sockteach.i18n import msg
from sockteach.watch import IDLE_AFTER
from sockteach.watch_peer import scripted_actions

DEADLINE = 60  # seconds: generous, the machine is shared


def run(args, cwd, lang="en"):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env["COLUMNS"] = "1000"  # one line per sentence, so a sentence can be looked for whole
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "sockteach.cli_watch", "watch", *args,
                             "--lang", lang], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=DEADLINE, env=env, cwd=str(cwd))
    return result, time.monotonic() - started


def learners_copy(tmp_path, lesson: int, name: str, rel: str):
    path = tmp_path / name
    shutil.copy(lessons.get(lesson).path / rel, path)
    return path


def received(events, side):
    """The bytes each of ``side``'s recv() calls got, in order."""
    out = []
    for e in events:
        if e.side == side and e.kind == "return" and e.name == "recv":
            out.append(e.payload if e.data is not None else ast.literal_eval(e.result))
    return out


def idle_sentence(lang, number, role):
    return msg("watch.idle_end", lang, seconds=IDLE_AFTER,
               peer=msg("watch.peer_done", lang, number=number, role=role))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_3_client_types_the_lessons_lines_and_the_watch_ends_when_idle(tmp_path, lang):
    server = learners_copy(tmp_path, 3, "server.py", "exercise/solution.py")
    record = tmp_path / "run.jsonl"
    result, took = run([str(server), "--peer", "3:client", "--record", str(record)], tmp_path,
                       lang)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert took < DEADLINE
    assert idle_sentence(lang, 3, "client") in result.stdout, result.stdout[-2000:]
    with open(record, encoding="utf-8") as f:
        events = list(load_jsonl(f))
    lines = [a["text"] for a in scripted_actions(lessons.get(3), "client") if "type" in a]
    typed = [e.text for e in events if e.side == "client" and e.kind == "input"]
    assert typed == lines  # the lesson's lines, in order, each typed once
    # lesson 3's client sends each line but 'quit' (it leaves on quit) and then closes
    sent = [t.encode() for t in lines if t and t != "quit"]
    assert received(events, "server") == sent + [b""]
    assert received(events, "client") == [t.upper() for t in sent]
    assert not any(e.kind == "raise" and e.error == "EOFError" for e in events)
    assert not our_processes()


def test_lesson_1_spinning_server_prints_a_bounded_number_of_lines(tmp_path):
    server = learners_copy(tmp_path, 1, "server.py", "server.py")
    result, _ = run([str(server), "--peer", "1:client"], tmp_path)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr
    assert idle_sentence("en", 1, "client") in out
    streamed = out[:out.index("Watching server.py")].splitlines()
    spin = streamed[next(i for i, line in enumerate(streamed)
                         if line.startswith("server: recv() returned b''")):]
    # ~100,000 turns of the spin in a few seconds: a handful of lines, not one per turn (the
    # client's own ending is among them)
    assert len(spin) < 30 and len(streamed) < 70, "\n".join(streamed)
    # each line the spin prints again folds on its own, its count climbing
    counts = [int(m.group(1).replace(",", "")) for m in
              re.finditer(r"^server │ b''  \(×([\d,]+)", out, re.M)]
    assert len(counts) >= 2 and counts == sorted(counts) and counts[-1] > counts[0] > 2, out
    assert sum(line == "server │ b''" for line in streamed) <= 2
    # the spin's narration climbs too: a few lines, not one per repeat
    spins = [line for line in streamed if line.startswith("server: recv() returned b''")]
    assert 1 <= len(spins) <= 4, spins
    assert not our_processes()


def test_the_watch_says_why_a_stuck_peer_cannot_go_on(tmp_path):
    # a server that reads and never answers: lesson 3's client waits in recv(), not input()
    server = tmp_path / "server.py"
    server.write_text("from socket import *\ns=socket()\ns.bind(('127.0.0.1',8081))\n"
                      "s.listen(5)\nc,a=s.accept()\nwhile True:\n    if not c.recv(1024):"
                      "break\n")
    result, _ = run([str(server), "--peer", "3:client"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    left = len(scripted_actions(lessons.get(3), "client")) - 1
    stuck = msg("watch.peer_stuck", "en", number=3, role="client", call="recv", left=left)
    assert msg("watch.idle_end", "en", seconds=IDLE_AFTER, peer=stuck) in result.stdout
    assert not our_processes()


def test_in_a_terminal_it_says_it_waits_for_ctrl_c(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    server = learners_copy(tmp_path, 3, "server.py", "exercise/solution.py")
    record = tmp_path / "run.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    child = pexpect.spawn(sys.executable, ["-m", "sockteach.cli_watch", "watch", str(server),
                                           "--peer", "3:client", "--record", str(record)],
                          encoding="utf-8", timeout=30, dimensions=(40, 400), cwd=str(ROOT),
                          env=env)
    try:
        child.expect("The watch goes on until you press Ctrl-C")
        child.sendintr()
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    with open(record, encoding="utf-8") as f:
        events = list(load_jsonl(f))
    lines = [a["text"] for a in scripted_actions(lessons.get(3), "client") if "type" in a]
    assert [e.text for e in events if e.side == "client" and e.kind == "input"] == lines
    assert not our_processes()


def test_the_lessons_ctrl_c_comes_once_nothing_happens(tmp_path):
    # lesson 4 presses Ctrl-C in its server; a server never waits in input(), so the watch
    # presses it once nothing has happened for a while: the learner's client then reads b''
    client = tmp_path / "client.py"
    client.write_text("from socket import *\ns=socket()\ns.connect(('127.0.0.1',8081))\n"
                      "print('got', s.recv(1024))\n")
    assert [list(a) for a in scripted_actions(lessons.get(4), "server")] == [["interrupt"]]
    record = tmp_path / "run.jsonl"
    result, _ = run([str(client), "--peer", "4:server", "--record", str(record)], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "client │ got b''" in result.stdout
    with open(record, encoding="utf-8") as f:
        events = list(load_jsonl(f))
    assert received(events, "client") == [b""]
    server_exit = next(e for e in events if e.side == "server" and e.kind == "exit")
    client_exit = next(e for e in events if e.side == "client" and e.kind == "exit")
    assert server_exit.t < client_exit.t  # the server ended first: the watch did not stop it
    assert not our_processes()
