"""Broken submissions of every kind get a failing verdict that says what happened, within the
deadline, and leave no process behind (the autouse fixture in conftest checks that)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil
import pytest

from sockteach import exercises, grading
from sockteach.i18n import tomllib

ROBUST = Path(__file__).parent / "fixtures" / "exercises" / "robust"
with (ROBUST / "robust.toml").open("rb") as _f:
    CASES = tomllib.load(_f)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def _grade(name: str) -> tuple[grading.Result, float]:
    case = CASES[name]
    started = time.monotonic()
    result = grading.grade_one(exercises.get(case["lesson"]), ROBUST / case["file"], "en")
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def graded() -> dict:
    """Every case, graded three at a time (their deadlines overlap instead of adding up)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(CASES, pool.map(_grade, CASES)))


@pytest.mark.parametrize("name", list(CASES))
def test_a_broken_submission_fails_with_a_message_that_says_what_happened(name, graded):
    case = CASES[name]
    result, seconds = graded[name]
    assert not result.passed
    first = next(c for c in result.checks if not c.passed)
    assert first.name == case["check"], str(result)
    assert case["says"] in first.message + "\n" + first.output, str(result)
    assert seconds < case["seconds"], f"{name} took {seconds:.1f} s:\n{result}"
    # every later check says it was not checked (or failed on its own), none passes silently
    after = result.checks[[c.name for c in result.checks].index(first.name) + 1:]
    assert all(c.message for c in after)


def test_nothing_of_the_robustness_runs_is_left(graded):
    mine = psutil.Process()
    left = [p for p in mine.children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    assert not left, left


def test_the_whole_run_has_a_deadline():
    started = time.monotonic()
    result = grading.grade_one(exercises.get(1), ROBUST / "never_listens.py", "en", budget=1.0)
    assert time.monotonic() - started < 3
    assert result.check("listens").passed is False
    assert "ran out of time" in result.check("listens").message


def test_cancelling_a_batch_ends_every_wait_at_once():
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    started = time.monotonic()
    results = grading.grade(1, [ROBUST / "never_listens.py"] * 2, jobs=2, cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 2.5
    assert not any(r.passed for r in results)


def test_submissions_cannot_reach_beyond_loopback(tmp_path):
    script = tmp_path / "server.py"
    script.write_text(
        "from socket import *\n"
        "phone=socket(AF_INET,SOCK_STREAM)\n"
        "phone.bind(('192.0.2.1',8081))\n"
        "phone.listen(5)\n")
    result = grading.grade_one(exercises.get(1), script, "en")
    first = result.check(result.failed[0])
    assert first.name in ("runs", "listens")  # the tracer refuses bind() before it runs
    assert "only loopback addresses" in first.message and "192.0.2.1" in first.message


def test_submissions_run_with_limits_in_a_scratch_folder(tmp_path):
    script = tmp_path / "server.py"
    script.write_text(
        "import os, resource\n"
        "from socket import *\n"
        "print('cwd', os.getcwd())\n"
        "print('cpu', resource.getrlimit(resource.RLIMIT_CPU))\n"
        "print('as', resource.getrlimit(resource.RLIMIT_AS))\n"
        "open('scratch.txt', 'w').write('x')\n"
        "raise SystemExit(3)\n")
    result = grading.grade_one(exercises.get(1), script, "en")
    out = result.check("runs").output or result.check("listens").output
    assert "cpu (10, 12)" in out and "as (1073741824, 1073741824)" in out
    assert str(tmp_path) not in out and "sockteach-grade-" in out
    assert not (tmp_path / "scratch.txt").exists()
