"""A network namespace of the run's own — and the fallback when there is none.

Real processes throughout: `sockteach lesson` as the command runs it, a Session inside a
namespace a child process entered, and the same as the user `nobody` (an ordinary user needs a
user namespace too). The pytest process itself never changes namespace. The only address other
than loopback used here is TEST-NET-1 (192.0.2.1), and only by programs that first checked that
``lo`` is their only interface — inside a namespace of their own, where it has no route.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sockteach import entry, sandbox
from sockteach.events import load_jsonl
from sockteach.i18n import msg

ROOT = Path(__file__).resolve().parent.parent
VENV_SITE = (Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
             / "site-packages")
FALLBACK_EN = msg("sandbox.fallback", "en", reason="X").split("(X)")[0]
FALLBACK_ZH = msg("sandbox.fallback", "zh", reason="X").split("（X）")[0]

# A learner's program: binds the wildcard address, then — only if lo is its only interface —
# tries an address that has no route there.
PROGRAM = textwrap.dedent("""
    import socket
    s = socket.socket()
    s.bind(("", 8081))
    s.listen()
    print("local", s.getsockname())
    if [name for _, name in socket.if_nameindex()] == ["lo"]:
        c = socket.socket()
        try:
            c.connect(("192.0.2.1", 9))
        except OSError as exc:
            print("connect errno", exc.errno)
""")

# Runs PROGRAM in a Session, inside a namespace (argv[2] == "enter") or not; prints JSON.
RUNNER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from sockteach import sandbox
    entered = sandbox.enter() if sys.argv[2] == "enter" else False
    from sockteach.events import to_dict
    from sockteach.session import Session
    session = Session((8081,))
    try:
        session.start("server", sys.argv[3])
        code = session.wait_exit("server", 20)
        events = [to_dict(e) for e in session.sorted_events()]
        ports = dict(session.port_map)
    finally:
        session.close()
    print(json.dumps({"entered": entered, "reason": sandbox.reason(), "code": code,
                      "events": events, "ports": ports}))
""")


def run_session(tmp_path: Path, how: str, python: str = sys.executable,
                as_user: tuple[str, ...] = (), env: dict | None = None) -> dict:
    program = tmp_path / "server.py"
    program.write_text(PROGRAM)
    program.chmod(0o644)
    out = subprocess.run([*as_user, python, "-c", RUNNER, str(ROOT), how, str(program)],
                         capture_output=True, text=True, timeout=60, cwd="/",
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def listen_real(result: dict) -> list:
    return [e["real"] for e in result["events"]
            if e["kind"] == "return" and e.get("name") == "listen"]


def output(result: dict) -> str:
    return "".join(e.get("text", "") for e in result["events"] if e["kind"] == "output")


def check_inside(result: dict) -> None:
    if not result["entered"]:
        pytest.skip(f"this machine refuses network namespaces: {result['reason']}")
    assert result["code"] == 0, output(result)
    assert result["ports"] == {"8081": 8081}  # the lesson's own port, not remapped
    # '' binds truly (no loopback substitution): the kernel listens on 0.0.0.0 — and only
    # loopback exists, so that is still loopback only
    assert listen_real(result) == [["0.0.0.0", 8081]]
    assert "local ('0.0.0.0', 8081)" in output(result)
    # nothing can leave: the kernel itself has no route (not the tracer's refusal)
    raised = [e for e in result["events"] if e["kind"] == "raise" and e.get("name") == "connect"]
    assert [e["errname"] for e in raised] == ["ENETUNREACH"]
    assert "connect errno 101" in output(result)


def test_a_session_inside_a_namespace_rewrites_no_address(tmp_path: Path) -> None:
    check_inside(run_session(tmp_path, "enter"))


def test_outside_a_namespace_ports_are_remapped_and_wildcards_go_to_loopback(tmp_path: Path):
    result = run_session(tmp_path, "stay")
    assert not result["entered"] and result["code"] == 0
    real = result["ports"]["8081"]
    assert real != 8081 and listen_real(result) == [["127.0.0.1", real]]
    assert "connect errno" not in output(result)  # lo is not alone here: never tried


def as_nobody() -> tuple[str, tuple[str, ...]]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to become 'nobody' (this run is an ordinary user "
                    "already: the tests above were that case)")
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that 'nobody' may run")
    return python, (setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups")


def test_an_ordinary_user_gets_a_namespace_too(tmp_path: Path) -> None:
    python, user = as_nobody()
    probe = subprocess.run([*user, python, str(ROOT / "sockteach" / "sandbox.py")],
                           capture_output=True, text=True, timeout=30, cwd="/")
    if probe.returncode != 0:
        pytest.skip(f"'nobody' cannot run the probe here: {probe.stderr[-300:]}")
    answer = json.loads(probe.stdout)
    if answer.get("netns") is not True:
        pytest.skip(f"this machine refuses 'nobody' a user namespace: {answer.get('netns')}")
    assert answer["uid"] == 65534 and answer["user_namespace"] is True
    assert answer["packet"] is True and answer["unreachable"] is True
    # and a whole session as nobody: the learner's program runs there, nothing rewritten
    env = {"PYTHONPATH": f"{ROOT}:{VENV_SITE}", "TMPDIR": "/tmp"}
    check = subprocess.run([*user, "env", f"PYTHONPATH={env['PYTHONPATH']}", python, "-c",
                            "import sockteach.session"], capture_output=True, timeout=30, cwd="/")
    if check.returncode != 0:
        pytest.skip("'nobody' cannot import this checkout's dependencies")
    tmp = Path("/tmp") / f"sockteach-nobody-{os.getpid()}"
    tmp.mkdir(mode=0o755, exist_ok=True)
    try:
        check_inside(run_session(tmp, "enter", python, user, env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def play(tmp_path: Path, *extra: str, env: dict | None = None):
    record = tmp_path / "lesson.jsonl"
    result = subprocess.run([sys.executable, "-m", "sockteach", "lesson", "1", "--auto", "--fast",
                             "--record", str(record), *extra], capture_output=True, text=True,
                            timeout=120, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    with record.open(encoding="utf-8") as f:
        return result, list(load_jsonl(f))


def test_a_lesson_runs_in_its_namespace_with_the_lessons_own_port(tmp_path: Path) -> None:
    if sandbox.probe().get("netns") is not True:
        pytest.skip("this machine refuses network namespaces")
    result, events = play(tmp_path)
    assert FALLBACK_EN not in result.stderr
    binds = [e for e in events if e.kind == "call" and e.name == "bind"]
    assert binds and all(e.real is None for e in binds)  # nothing rewritten
    listens = [e.real for e in events if e.kind == "return" and e.name == "listen"]
    assert listens and all(real[1] == 8081 for real in listens)


@pytest.mark.parametrize("lang, line", [("en", FALLBACK_EN), ("zh", FALLBACK_ZH)])
def test_forced_fallback_says_so_once_and_runs_as_before(tmp_path: Path, lang: str, line: str):
    result, events = play(tmp_path, "--lang", lang, env={sandbox.FORCE_OFF: "1"})
    said = [ln for ln in result.stderr.splitlines() if ln.startswith(line)]
    assert len(said) == 1 and f"{sandbox.FORCE_OFF}=1" in said[0]
    assert len(result.stderr.strip().splitlines()) == 1  # that line and nothing else
    binds = [e for e in events if e.kind == "call" and e.name == "bind"]
    assert binds and all(e.real is not None and e.real[1] != 8081 for e in binds)  # remapped


def test_commands_that_get_a_namespace() -> None:
    assert entry.command_of(["--lang", "zh", "lesson", "1"]) == "lesson"
    assert entry.command_of(["--lang=en", "check", "3"]) == "check"
    assert entry.command_of(["--help"]) is None


def test_two_lessons_at_once_both_use_port_8081(tmp_path: Path) -> None:
    if sandbox.probe().get("netns") is not True:
        pytest.skip("this machine refuses network namespaces")
    records = [tmp_path / f"run{i}.jsonl" for i in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "sockteach", "lesson", "1", "--fast",
                               "--record", str(r)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for r in records]
    try:
        errors = [p.communicate(timeout=120)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
    assert [p.returncode for p in procs] == [0, 0], errors
    for record in records:
        with record.open(encoding="utf-8") as f:
            listens = [e.real for e in load_jsonl(f) if e.kind == "return" and e.name == "listen"]
        assert listens and all(real[1] == 8081 for real in listens)  # each in its own namespace


def test_a_refusing_kernel_leaves_the_process_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal path in memory: unshare() fails as in a container's seccomp profile."""
    import errno

    def refuse(flags: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(sandbox, "_unshare", refuse)
    monkeypatch.delenv(sandbox.MARKER, raising=False)
    monkeypatch.delenv(sandbox.FORCE_OFF, raising=False)
    monkeypatch.setattr(sandbox, "_state", dict(sandbox._state))
    before = socket_names()
    assert sandbox.enter() is False
    assert not sandbox.inside() and not sandbox.nominal_ports() and not sandbox.true_addresses()
    assert sandbox.reason() == "Operation not permitted"
    assert "Operation not permitted" in sandbox.fallback_line("en")
    assert "Operation not permitted" in sandbox.fallback_line("zh")
    assert sandbox.MARKER not in os.environ and socket_names() == before


def socket_names() -> list[str]:
    import socket

    return [name for _, name in socket.if_nameindex()]


@pytest.mark.parametrize("way_back", [True, False])
def test_a_loopback_that_will_not_come_up(monkeypatch: pytest.MonkeyPatch, way_back: bool,
                                          capsys: pytest.CaptureFixture):
    """In memory (unshare() made a no-op): lo refuses; with a way back to the machine's
    namespace the run falls back as usual, without one the command must stop."""
    import errno

    class Libc:
        def setns(self, fd: int, flags: int) -> int:
            return 0 if way_back else -1

    def refuse_lo() -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(sandbox, "_unshare", lambda flags: None)
    monkeypatch.setattr(sandbox, "_map_self", lambda uid, gid: None)
    monkeypatch.setattr(sandbox, "loopback_up", refuse_lo)
    monkeypatch.setattr(sandbox, "_libc", Libc)
    monkeypatch.delenv(sandbox.MARKER, raising=False)
    monkeypatch.delenv(sandbox.FORCE_OFF, raising=False)
    fresh = dict(sandbox._state)
    monkeypatch.setattr(sandbox, "_state", dict(fresh))
    assert sandbox.enter() is False and not sandbox.inside()
    assert sandbox.reason() == "Operation not permitted"
    assert sandbox.stranded() is (not way_back)
    # the command: one line on stderr; it goes on (None) or stops (1)
    monkeypatch.setattr(sandbox, "_state", dict(fresh))
    status = entry.contain(["--lang", "zh", "lesson", "1"])
    err = capsys.readouterr().err.splitlines()
    key = "sandbox.fallback" if way_back else "sandbox.stranded"
    head = msg(key, "zh", reason="\0", force="\0").split("\0")[0]
    assert status == (None if way_back else 1)
    assert len(err) == 1 and err[0].startswith(head) and "Operation not permitted" in err[0]
