"""Load: a class graded 8 at a time on this machine gets the verdicts it gets one at a time.

``benchmarks/load.py`` does the full run (200 submissions, ``--jobs 8`` against ``--jobs 1``)
and prints the figures; here a smaller class of exercise 4 — whose checks restart the server on
the same port, so a port collision shows as a wrong verdict — keeps CI short.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from conftest import ROOT, our_processes

_spec = importlib.util.spec_from_file_location("bench_load", ROOT / "benchmarks" / "load.py")
load = sys.modules["bench_load"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)  # type: ignore[union-attr]

EXERCISE = 4
COUNT = int(os.environ.get("SOCKTEACH_LOAD_COUNT", "40"))
GRADER_MB = 300  # the grader's own resident memory, whatever the class size


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    where = tmp_path_factory.mktemp("class")
    made = load.make_class(EXERCISE, COUNT, where / "class")
    env = {**os.environ, "SOCKTEACH_HOME": str(where / "home")}
    # every distinct submission once, one at a time; then the whole class 8 at a time
    firsts = {}
    for folder, stem in made.items():
        firsts.setdefault(stem, folder)
    serial = load.grade(EXERCISE, list(firsts.values()), 1, env)
    parallel = load.grade(EXERCISE, list(made), 8, env)
    return made, firsts, serial, parallel


def test_eight_at_a_time_gives_every_submission_the_verdict_it_gets_alone(graded):
    made, firsts, serial, parallel = graded
    assert parallel.exit_code == 0 and serial.exit_code == 0, parallel.stderr + serial.stderr
    assert len(parallel.results) == len(made)
    alone = {stem: load.failed(serial.results[folder]) for stem, folder in firsts.items()}
    differ = [f"{folder} ({stem}): {load.failed(parallel.results[folder])} != {alone[stem]}"
              for folder, stem in made.items()
              if load.failed(parallel.results[folder]) != alone[stem]]
    assert not differ, "\n".join(differ)


def test_no_port_collision_and_the_known_verdicts(graded):
    made, _, _, parallel = graded
    known = load.expected_verdicts(EXERCISE)
    assert {"good_tutorial", "bad_lesson3"} <= set(made.values())  # both sides of the restart
    assert load.collisions(parallel, made, known) == []


def test_the_graders_memory_stays_bounded_and_nothing_is_left(graded):
    _, _, _, parallel = graded
    assert 0 < parallel.grader_peak_mb < GRADER_MB, parallel.grader_peak_mb
    assert parallel.peak_processes > 2  # it did run several submissions at once
    assert not our_processes()


def test_the_benchmark_reports_every_figure(tmp_path, capsys):
    """The full benchmark's report, on a tiny class (2 submissions, one at a time)."""
    code = load.main(["-n", "2", "-e", "1", "-j", "2", "--json"])
    out = capsys.readouterr().out
    import json

    report = json.loads(out)
    assert code == 0, out
    assert [r["jobs"] for r in report["runs"]] == [2, 1]
    for r in report["runs"]:
        assert r["submissions_per_second"] > 0 and r["grader_peak_mb"] > 0
        assert r["unexpected_verdicts"] == []
    assert report["differ_between_runs"] == []


def test_make_class_lays_out_one_folder_per_student(tmp_path):
    made = load.make_class(1, 5, tmp_path)
    assert sorted(Path(f).name for f in made) == [f"student-{i:03d}" for i in range(5)]
    assert all((Path(f) / "server.py").is_file() for f in made)
    assert len(set(made.values())) == 5  # cycles through different fixtures
