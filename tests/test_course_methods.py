"""The whole course, played for real, uses every socket function of the tutorial's table and
both families it names.

Every lesson of ``lessons/index.toml`` plays with ``--auto --fast --record``, a few at a time
in separate processes; together their recorded call events must include each of the 20
methods, an AF_UNIX address (a path where AF_INET has an (ip, port) tuple) and UDP
(``recvfrom`` / ``sendto``).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import our_processes, run_cli
from sockteach.events import Event, load_jsonl
from sockteach.lessons import course

# The tutorial's table of socket functions (tutorial-source.txt), in its order.
METHODS = (
    "bind", "listen", "accept", "connect", "connect_ex", "recv", "send", "sendall",
    "recvfrom", "sendto", "getpeername", "getsockname", "getsockopt", "setsockopt", "close",
    "setblocking", "settimeout", "gettimeout", "fileno", "makefile",
)
PARALLEL = 3  # lessons at once: quick, without starving a 2-core machine
ADDRESSED = ("bind", "connect", "connect_ex")


def play(number: int, folder) -> tuple[int, subprocess.CompletedProcess, list[Event]]:
    record = folder / f"lesson{number:02d}.jsonl"
    done = subprocess.run([sys.executable, "-m", "sockteach", "lesson", str(number), "--auto",
                           "--fast", "--record", str(record)],
                          capture_output=True, text=True, timeout=180)
    events: list[Event] = []
    if record.is_file():
        with record.open(encoding="utf-8") as f:
            events = list(load_jsonl(f))
    return number, done, events


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[int, list[Event]]:
    """Every lesson of the course, played once; its recorded events by lesson number."""
    folder = tmp_path_factory.mktemp("course")
    numbers = [lesson.number for lesson in course()]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda n: play(n, folder), numbers))
    failed = [f"lesson {n} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr}"
              for n, done, _ in results if done.returncode != 0]
    assert not failed, "\n\n".join(failed)
    left = our_processes()
    assert not left, [" ".join(q.info["cmdline"] or []) for q in left]
    return {n: events for n, _, events in results}


def address(arg: str) -> object:
    try:
        return ast.literal_eval(arg)
    except (ValueError, SyntaxError):
        return None


def test_sockteach_list_shows_at_least_ten_lessons():
    done = run_cli("list", env={"COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    numbers = {int(m.group(1)) for m in re.finditer(r"^\s*(\d+)\s{2,}\S", done.stdout, re.M)}
    assert len(course()) >= 10
    assert numbers >= set(range(1, 11)), done.stdout
    assert numbers == {lesson.number for lesson in course()}, done.stdout


def test_every_method_of_the_tutorial_is_called_in_some_lesson(recorded):
    where: dict[str, set[int]] = {}
    for n, events in recorded.items():
        for e in events:
            if e.kind == "call" and e.name:
                where.setdefault(e.name, set()).add(n)
    missing = [m for m in METHODS if m not in where]
    assert not missing, (f"no lesson calls {missing}; calls seen: "
                         + ", ".join(f"{m} {sorted(ls)}" for m, ls in sorted(where.items())))


def test_both_families_and_udp_appear(recorded):
    unix, inet, udp = set(), set(), set()
    for n, events in recorded.items():
        for e in events:
            if e.kind != "call":
                continue
            if e.name in ADDRESSED and e.args:
                value = address(e.args[0])
                if isinstance(value, str):  # AF_UNIX: a path
                    unix.add(n)
                elif isinstance(value, tuple):  # AF_INET: (ip, port)
                    inet.add(n)
            if e.name in ("recvfrom", "sendto"):
                udp.add(n)
    assert unix, "no lesson binds or connects an AF_UNIX path"
    assert inet, "no lesson binds or connects an AF_INET (ip, port) address"
    assert udp, "no lesson calls recvfrom() or sendto() (UDP)"
    # and they are real: the UDP datagrams arrived, the AF_UNIX client got its answer
    returns = [e for n in udp for e in recorded[n] if e.kind == "return" and e.name == "recvfrom"]
    assert returns, "recvfrom() never returned"
    assert any(e.kind == "return" and e.name == "recv" and e.result not in ("b''", None)
               for n in unix for e in recorded[n])


def test_every_lesson_narrates_and_leaves_nothing_running(recorded):
    for n, events in recorded.items():
        kinds = {e.kind for e in events}
        assert {"step", "call", "return", "exit"} <= kinds, (n, kinds)
    assert not our_processes()
