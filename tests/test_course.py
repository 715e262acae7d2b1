"""The course itself is checked: both languages, scripts that compile and run, valid scenarios.

Everything here reads the real lesson data through ``sockteach.lessons.course()``.
"""

from __future__ import annotations

import ast
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sockteach.i18n import LANGS, tomllib
from sockteach.lessons import Lesson, course, lessons_root

LESSONS = course()
IDS = [f"{lesson.number:02d}-{lesson.slug}" for lesson in LESSONS]

# ---------------------------------------------------------------------------------------------
# The action vocabulary of docs/lesson-format.md, as a table:
#   kind -> (required keys, optional keys).  A `wait` is split by what it waits for.

ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    "start": ({"start", "script"}, set()),
    "wait:call": ({"wait", "call"}, {"until", "result", "error", "errno", "timeout", "mark"}),
    "wait:exit": ({"wait", "exit"}, {"timeout"}),
    "wait:spin": ({"wait", "spin"}, {"timeout", "mark"}),
    "wait:output": ({"wait", "output"}, {"timeout", "mark"}),
    "type": ({"type", "text"}, {"timeout"}),
    "interrupt": ({"interrupt"}, set()),
    "kill": ({"kill"}, set()),
    "stop": ({"stop"}, set()),
    "hold": ({"hold"}, set()),
    "tcp": ({"tcp", "port"}, {"timeout"}),
    "new_ports": ({"new_ports"}, set()),
}
UNTIL = {"call", "return", "raise", "blocked"}
# Names the tracer reports: socket methods and input().
CALLS = {
    "accept", "bind", "listen", "connect", "connect_ex", "recv", "recv_into", "recvfrom",
    "send", "sendall", "sendto", "close", "shutdown", "setsockopt", "getsockopt",
    "settimeout", "setblocking", "input",
}
TCP_STATES = {
    "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
}
SIDE = re.compile(r"^(server|client)\d*$")


def action_kind(action: dict[str, Any]) -> str:
    """Which row of ACTIONS an action is; AssertionError if it is none or ambiguous."""
    if "wait" in action:
        what = [k for k in ("call", "exit", "spin", "output") if k in action]
        assert len(what) == 1, f"a wait needs exactly one of call/exit/spin/output: {action}"
        return f"wait:{what[0]}"
    heads = [k for k in ACTIONS if ":" not in k and k in action]
    assert len(heads) == 1, f"not exactly one known action verb: {action}"
    return heads[0]


def check_action(lesson: Lesson, action: dict[str, Any], started: set[str]) -> None:
    """Validate one action's keys and values; `started` collects the sides started so far."""
    kind = action_kind(action)
    required, optional = ACTIONS[kind]
    keys = set(action)
    assert required <= keys, f"{kind} misses {required - keys}: {action}"
    assert keys <= required | optional, f"{kind} has unknown keys {keys - required - optional}: {action}"
    if "timeout" in action:
        assert isinstance(action["timeout"], (int, float)) and action["timeout"] > 0, action

    if kind == "start":
        side, script = action["start"], action["script"]
        assert SIDE.match(side), f"bad side name {side!r}"
        assert script.endswith(".py") and "/" not in script, action
        assert lesson.file(script).is_file(), f"{lesson.path.name}: no script {script}"
        started.add(side)
        return
    if kind == "hold":
        assert isinstance(action["hold"], (int, float)) and 0 < action["hold"] <= 10, action
        return
    if kind == "new_ports":
        assert action["new_ports"] is True, action
        return
    if kind == "tcp":
        assert action["tcp"] in TCP_STATES, action
        assert action["port"] in lesson.ports, f"port {action['port']} not in {lesson.ports}"
        return

    side = action[kind.split(":")[0]]
    if kind == "stop" and side == "*":
        return
    assert side in started, f"{kind} on side {side!r} before it was started: {action}"
    if kind == "wait:call":
        assert action["call"] in CALLS, f"unknown call {action['call']!r}"
        assert action.get("until", "return") in UNTIL, action
        if "result" in action:
            assert isinstance(action["result"], str), "result filters are repr strings"
            assert action.get("until", "return") == "return", action
        if "error" in action or "errno" in action:
            assert action.get("until") == "raise", action
        if "error" in action:
            assert re.fullmatch(r"[A-Z]\w*(Error|Exception|Interrupt)", action["error"]), action
        if "errno" in action:
            assert isinstance(action["errno"], int) and not isinstance(action["errno"], bool)
    elif kind == "wait:exit":
        assert action["exit"] is True, action
    elif kind == "wait:spin":
        assert isinstance(action["spin"], int) and action["spin"] > 0, action
    elif kind in ("wait:output", "type"):
        value = action["output" if kind == "wait:output" else "text"]
        assert isinstance(value, str), action


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_measured_values_come_from_marks_seen_before(lesson: Lesson) -> None:
    """A ``{name}`` in a step's narration is a ``[measure]`` value whose marks earlier steps'
    waits set (the player fills it when the step begins); each measure is used somewhere."""
    measures = lesson.data.get("measure", {})
    marked: set[str] = set()
    used: set[str] = set()
    for i, step in enumerate(lesson.steps, start=1):
        for lang in LANGS:
            for text in (step.say.get(lang, ""), (step.ask or {}).get(lang, "")):
                for name in re.findall(r"\{(\w+)\}", text):
                    assert name in measures, f"step {i} ({lang}): {{{name}}} is not measured"
                    spec = measures[name]
                    needs = list(spec.get("seconds", ())) + ([spec["since"]] if "since" in spec else [])
                    assert set(needs) <= marked, f"step {i}: {{{name}}} needs marks {needs}"
                    used.add(name)
        marked |= {a["mark"] for a in step.actions if "mark" in a}
    assert used == set(measures), f"measured but never said: {set(measures) - used}"
    for name, spec in measures.items():
        assert ("seconds" in spec) != ("count" in spec), f"{name}: seconds or count"
        if "seconds" in spec:
            assert len(spec["seconds"]) == 2, name
        else:
            assert spec.get("call") in CALLS and spec.get("until", "return") in UNTIL, name


# ---------------------------------------------------------------------------------------------


def texts(table: Any) -> dict[str, str]:
    assert isinstance(table, dict), f"expected an {{en, zh}} table, got {table!r}"
    return table


def assert_both_langs(table: Any, what: str) -> None:
    t = texts(table)
    for lang in LANGS:
        assert isinstance(t.get(lang), str) and t[lang].strip(), f"{what}: missing {lang}"
    assert set(t) <= set(LANGS), f"{what}: unexpected languages {set(t) - set(LANGS)}"


def scripts(lesson: Lesson) -> list[Path]:
    return sorted(lesson.path.glob("*.py"))


def named_scripts(lesson: Lesson) -> set[str]:
    names = set(lesson.code.values())
    for a, b in lesson.diffs:
        names |= {a, b}
    for step in lesson.steps:
        names |= {a["script"] for a in step.actions if "start" in a and "script" in a}
    return names


def test_index_matches_folders() -> None:
    root = lessons_root()
    with (root / "index.toml").open("rb") as f:
        index = tomllib.load(f)["lessons"]
    assert index, "the course is empty"
    assert len(index) == len(set(index)), "a lesson is listed twice"
    folders = sorted(p.name for p in root.iterdir() if (p / "lesson.toml").is_file())
    assert sorted(index) == folders, "index.toml and the lesson folders disagree"


def test_lessons_numbered_in_order() -> None:
    assert [lesson.number for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))
    for lesson in LESSONS:
        assert lesson.path.name.startswith(f"{lesson.number:02d}-"), lesson.path.name


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_texts_in_both_languages(lesson: Lesson) -> None:
    assert_both_langs(lesson.title, "title")
    assert_both_langs(lesson.summary, "summary")
    assert_both_langs(lesson.learned, "learned")
    for lang in LANGS:
        lines = [line for line in lesson.learned[lang].splitlines() if line.strip()]
        assert 3 <= len(lines) <= 5, f"learned[{lang}] should be 3-5 lines, has {len(lines)}"
        assert "\n" not in lesson.summary[lang].strip(), "summary is one line"
    assert 4 <= len(lesson.steps) <= 9, f"{len(lesson.steps)} steps"
    for i, step in enumerate(lesson.steps, start=1):
        assert_both_langs(step.title, f"step {i} title")
        assert_both_langs(step.say, f"step {i} say")
        if step.ask is not None:
            assert_both_langs(step.ask, f"step {i} ask")
    assert any(step.ask for step in lesson.steps), "no prediction question in the lesson"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_explanations_exist(lesson: Lesson) -> None:
    for lang in LANGS:
        path = lesson.path / f"explain.{lang}.md"
        assert path.is_file(), f"missing {path.name}"
        text = lesson.explain[lang]
        assert text.startswith("# "), f"{path.name} should start with a title"
    assert len(lesson.explain["en"].split()) >= 250, "explain.en.md is too short"
    assert len(re.findall(r"[\u4e00-\u9fff]", lesson.explain["zh"])) >= 400, "explain.zh.md is too short"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_named_scripts_exist_and_compile(lesson: Lesson) -> None:
    names = named_scripts(lesson)
    assert names, "the lesson names no scripts"
    for name in names:
        path = lesson.file(name)
        assert path.is_file(), f"{lesson.path.name}: {name} does not exist"
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    for role, name in lesson.code.items():
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", role), f"bad role name {role!r}"
    for path in scripts(lesson):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_actions_use_the_vocabulary(lesson: Lesson) -> None:
    started: set[str] = set()
    for i, step in enumerate(lesson.steps, start=1):
        assert step.actions, f"step {i} has no actions"
        for action in step.actions:
            try:
                check_action(lesson, action, started)
            except AssertionError as e:
                raise AssertionError(f"{lesson.path.name} step {i}: {e}") from None
    assert "server" in started


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_scripts_use_loopback_and_the_nominal_port(lesson: Lesson) -> None:
    for path in scripts(lesson):
        src = path.read_text(encoding="utf-8")
        assert "from socket import *" in src, f"{path.name}: not in the tutorial's style"
        addresses = []
        for node in ast.walk(ast.parse(src)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"bind", "connect", "connect_ex", "sendto"}
            ):
                arg = node.args[-1] if node.args else None
                if node.func.attr == "sendto" and isinstance(arg, ast.Name):
                    continue  # UDP: a reply to the address recvfrom() returned (lesson 7)
                if "AF_UNIX" in src and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    addresses.append(arg.value)  # AF_UNIX: a relative socket file path (lesson 9)
                    assert not arg.value.startswith("/"), f"{path.name}: {arg.value!r} is absolute"
                    continue
                assert isinstance(arg, ast.Tuple) and len(arg.elts) == 2, (
                    f"{path.name}:{node.lineno}: address must be a literal (host, port) tuple"
                )
                host, port = (e.value if isinstance(e, ast.Constant) else None for e in arg.elts)
                addresses.append((host, port))
                assert host == "127.0.0.1", f"{path.name}:{node.lineno}: binds/connects {host!r}"
                assert port in lesson.ports, f"{path.name}:{node.lineno}: port {port!r}"
        assert addresses, f"{path.name} neither binds nor connects"


# ---------------------------------------------------------------------------------------------
# The demo pairs really run, with plain python, on a free port (the runner remaps 8081 the
# same way). Each case: server script, client script, what is typed, what the client must print,
# whether the server must survive the client.

RUNS = [
    ("01-naive-echo", "server.py", "client.py", "hello\n", "b'HELLO'", False),
    ("02-empty-message", "server.py", "client_fixed.py", "\nhello\n", "b'HELLO'", False),
    ("03-connection-loop", "server.py", "client.py", "hello\n\nquit\n", "b'HELLO'", True),
    ("03-connection-loop", "server.py", "client_reset.py", "", "b'PING'", True),
    ("04-address-in-use", "server.py", "client.py", "hello\nquit\n", "b'HELLO'", True),
    ("04-address-in-use", "server_fixed.py", "client.py", "hello\nquit\n", "b'HELLO'", True),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Linux: is 127.0.0.1:port in LISTEN (state 0A) in /proc/net/tcp?"""
    needle = f"0100007F:{port:04X} 00000000:0000 0A"
    return needle in Path("/proc/net/tcp").read_text()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
@pytest.mark.parametrize("folder,server,client,typed,expect,survives", RUNS)
def test_demo_pair_runs(tmp_path: Path, folder: str, server: str, client: str, typed: str,
                        expect: str, survives: bool) -> None:
    port = free_port()
    paths = {}
    for name in {server, client}:
        src = (lessons_root() / folder / name).read_text(encoding="utf-8")
        assert "8081" in src
        paths[name] = tmp_path / name
        paths[name].write_text(src.replace("8081", str(port)), encoding="utf-8")
    srv = subprocess.Popen([sys.executable, str(paths[server])], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not listening(port):
            assert srv.poll() is None, f"{server} exited with {srv.returncode}"
            assert time.monotonic() < deadline, f"{server} never listened"
            time.sleep(0.01)
        # A server that survives its client must serve a second one the same way.
        for _ in range(2 if survives else 1):
            done = subprocess.run([sys.executable, str(paths[client])], input=typed, text=True,
                                  capture_output=True, timeout=10)
            assert expect in done.stdout, f"{client} printed:\n{done.stdout}\n{done.stderr}"
            if survives:
                assert done.returncode == 0, done.stderr
                assert srv.poll() is None, f"{server} died after {client} left"
    finally:
        srv.kill()
        srv.wait(timeout=10)
