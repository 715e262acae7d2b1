"""Hostile submissions — a fork bomb (also one that escapes with setsid and double forks), a
memory hog, a 10 GB file, a connection beyond loopback (refused by the tracer before anything
is sent), a loop that ignores SIGTERM, 100 MB printed without a newline — each gets a failing
verdict that says what happened, within its deadline, and the machine is left as it was: no
process, no listening socket, no file in the temp folder, the grader's memory bounded, the
free disk space as before. Real processes throughout, under the grader's limits only."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from conftest import run_cli
from sockteach import exercises, grading
from sockteach.grading.texts import catalog
from sockteach.grading.trial import Budget, Trial, rlimits
from sockteach.i18n import tomllib

HOSTILE = Path(__file__).parent / "fixtures" / "exercises" / "hostile"
with (HOSTILE / "hostile.toml").open("rb") as _f:
    CASES = tomllib.load(_f)
MARK = f"{os.getpid()}-{os.urandom(4).hex()}"  # every process of this file carries it
RSS_GROWTH = 200 << 20  # the grader's own memory may grow this much, no more
DISK_DROP = 32 << 20  # free disk space may drop this much (e.g. filesystem metadata), no more
NEW_TEXTS = ("fork_bomb", "memory", "memory_growing", "file_size", "file_killed", "term_ignored", "network")


def ours() -> list[psutil.Process]:
    """Live processes (not zombies) that carry this file's marker, wherever they moved."""
    found = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if p.pid == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if p.environ().get("HOSTILE_RUN") == MARK:
                found.append(p)
        except psutil.Error:
            continue
    return found


def listening() -> set[tuple]:
    """Listening TCP sockets of this process and of its children."""
    found = set()
    for p in [psutil.Process()] + psutil.Process().children(recursive=True):
        try:
            conns = p.net_connections(kind="inet")
        except psutil.Error:
            continue
        found |= {(p.pid, c.laddr) for c in conns if c.status == psutil.CONN_LISTEN}
    return found


def _grade(name: str) -> tuple[grading.Result, float]:
    case = CASES[name]
    started = time.monotonic()
    result = grading.grade_one(exercises.get(case["lesson"]), HOSTILE / case["file"], "en")
    return result, time.monotonic() - started


def _disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """Every case graded three at a time, with the machine's state before and after: the temp
    folder (a fresh TMPDIR), processes, listening sockets, the grader's memory, disk space."""
    from concurrent.futures import ThreadPoolExecutor

    tmp = tmp_path_factory.mktemp("hostile-tmp")
    saved = {k: os.environ.get(k) for k in ("TMPDIR", "HOSTILE_RUN")}
    os.environ.update(TMPDIR=str(tmp), HOSTILE_RUN=MARK)
    tempfile.tempdir = None  # gettempdir() caches its answer: make it read TMPDIR again
    cases = list(CASES)
    before = {"procs": ours(), "listening": listening(), "tmp": sorted(tmp.rglob("*")),
              "free": _disk_free(tmp), "rss": psutil.Process().memory_info().rss}
    peak = [before["rss"]]
    done = threading.Event()

    def sample() -> None:  # a polling period, not a synchronisation
        while not done.wait(0.02):
            peak[0] = max(peak[0], psutil.Process().memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            graded = dict(zip(cases, pool.map(_grade, cases)))
    finally:
        done.set()
        sampler.join(timeout=2)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        tempfile.tempdir = None
    after = {"procs": ours(), "listening": listening(), "tmp": sorted(tmp.rglob("*")),
             "rss_peak": peak[0]}
    # Freed blocks may come back only when the filesystem commits: poll, with a deadline.
    deadline = time.monotonic() + 10
    while before["free"] - _disk_free(tmp) > DISK_DROP and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the condition above, which has its deadline
    after["free"] = _disk_free(tmp)
    yield {"graded": graded, "before": before, "after": after, "tmp": tmp}
    for p in after["procs"]:  # a failed test must not leave its processes to the machine
        try:
            p.kill()
        except psutil.Error:
            pass


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_submission_fails_clearly_within_its_deadline(name, machine):
    case = CASES[name]
    result, seconds = machine["graded"][name]
    assert not result.passed, str(result)
    first = next(c for c in result.checks if not c.passed)
    assert first.name == case["check"], str(result)
    says = case["says"] if isinstance(case["says"], list) else [case["says"]]
    assert any(s in first.message + "\n" + first.output for s in says), str(result)
    assert "Traceback" not in first.message and "grader itself failed" not in str(result)
    assert seconds < case["seconds"], f"{name} took {seconds:.1f} s:\n{result}"


def test_the_machine_is_left_as_it_was(machine):
    before, after = machine["before"], machine["after"]
    assert not after["procs"], [f"{p.pid} {p.info}" for p in after["procs"]]
    assert after["listening"] <= before["listening"], after["listening"] - before["listening"]
    assert after["tmp"] == before["tmp"] == [], after["tmp"]
    grew = after["rss_peak"] - before["rss"]
    assert grew < RSS_GROWTH, f"the grader grew by {grew / 2**20:.0f} MiB"
    dropped = before["free"] - after["free"]
    assert dropped < DISK_DROP, f"free disk space dropped by {dropped / 2**20:.0f} MiB"


def test_the_big_file_was_cut_at_16_mib_in_both_folders(machine):
    result, _ = machine["graded"]["big_file"]
    out = result.check("runs").output
    assert "the temp folder: [Errno 27] File too large" in out, out  # tempfile's folder
    assert "OSError: [Errno 27] File too large" in out, out  # its own folder


def test_the_limits_are_those_the_readme_names():
    limits = rlimits()
    import resource

    assert limits[resource.RLIMIT_AS] == (1 << 30, 1 << 30)
    assert limits[resource.RLIMIT_FSIZE] == (16 << 20, 16 << 20)
    assert limits[resource.RLIMIT_CPU] == (10, 12)
    if hasattr(resource, "RLIMIT_NPROC"):
        soft, hard = limits[resource.RLIMIT_NPROC]
        assert 0 < soft == hard < 1 << 20


def test_every_new_message_exists_in_english_and_chinese():
    for key in NEW_TEXTS:
        en, zh = catalog("en").get(f"doing.{key}"), catalog("zh").get(f"doing.{key}")
        assert en and zh and en != zh, key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), key


def test_the_verdict_is_in_chinese_too(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    result = grading.grade_one(exercises.get(1), HOSTILE / "big_file.py", "zh")
    first = result.check(result.failed[0])
    assert "写了超过 16 MiB（评分器的限额）" in first.message, str(result)
    assert list(tmp_path.iterdir()) == []


def test_a_program_that_ignores_sigterm_is_killed_after_its_grace(tmp_path):
    script = tmp_path / "server.py"
    shutil.copyfile(HOSTILE / "ignores_sigterm.py", script)
    trial = Trial(script, "server", "en", Budget(20))
    try:
        rec = trial.start()
        addr = trial.wait(lambda: trial.listen_address(rec), 5)
        assert addr, trial.output(rec)
        peer, error = trial.connect(addr)
        assert error is None
        assert trial.wait(lambda: (trial.cpu_seconds(rec) or 0) > 0.2, 5), "no busy loop"
        started = time.monotonic()
        trial.close()  # the teardown: SIGTERM (ignored), SIGKILL after 0.5 s
        took = time.monotonic() - started
    finally:
        trial.close()
    assert rec.exit_code == -signal.SIGKILL and rec.forced
    assert took < 3, f"the teardown took {took:.1f} s"
    assert "it ignores Ctrl-C and SIGTERM), so it was killed with SIGKILL" in trial.ending(rec)
    assert not psutil.pid_exists(rec.pid) or psutil.Process(rec.pid).status() == "zombie"


@pytest.mark.parametrize("name", ["fork_bomb_setsid", "stdout_flood"])
def test_the_cli_says_what_happened_without_a_traceback(name, tmp_path):
    case = CASES[name]
    started = time.monotonic()
    r = run_cli("check", str(case["lesson"]), str(HOSTILE / case["file"]), timeout=60,
                env={"SOCKTEACH_HOME": str(tmp_path / "home"), "SOCKTEACH_LANG": "en",
                     "HOSTILE_RUN": MARK, "TMPDIR": str(tmp_path)})
    took = time.monotonic() - started
    assert r.returncode != 0, r.stdout
    assert case["says"] in " ".join(r.stdout.split()), r.stdout
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout.split("output:")[0]
    assert took < case["seconds"] + 5, f"took {took:.1f} s"
    assert not ours()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
