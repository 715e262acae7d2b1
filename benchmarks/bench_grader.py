"""Grader speed: ``sockteach check`` on the reference solutions, and ``sockteach grade`` throughput.

    python benchmarks/bench_grader.py [--runs 5] [--lesson 1] [--count 40] [--jobs 4]

Targets (issue 3): the median wall time of ``sockteach check N SOLUTION`` is under 2 s for each
of lessons 1–4; ``sockteach grade`` of 40 submissions (half correct, half broken, from
``tests/fixtures/exercises``) with ``--jobs 4`` does at least 1 submission per second. Both are
measured on the real command, in a fresh process, as a learner or a teacher would run it.
Exit code 0 when both targets are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "exercises"
CHECK_TARGET = 2.0  # seconds, median
GRADE_TARGET = 1.0  # submissions per second


def run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sockteach", *args], capture_output=True,
                          text=True, env=env, timeout=600)
    return time.perf_counter() - started, proc


def bench_check(runs: int, env: dict[str, str]) -> bool:
    from sockteach import exercises

    ok = True
    print(f"sockteach check N SOLUTION — median of {runs} runs (target < {CHECK_TARGET:g} s)")
    for ex in exercises.all_exercises():
        times = []
        for _ in range(runs):
            seconds, proc = run(["check", str(ex.number), str(ex.solution), "--json"], env)
            if proc.returncode != 0 or not json.loads(proc.stdout)["passed"]:
                print(f"  lesson {ex.number}: the reference solution did not pass!\n{proc.stdout}"
                      f"{proc.stderr}")
                return False
            times.append(seconds)
        median = statistics.median(times)
        good = median < CHECK_TARGET
        ok &= good
        print(f"  lesson {ex.number}: median {median:.2f} s  (min {min(times):.2f}, "
              f"max {max(times):.2f})  {'ok' if good else 'TOO SLOW'}")
    return ok


def bench_grade(lesson: int, count: int, jobs: int, env: dict[str, str]) -> bool:
    folder = FIXTURES / f"ex{lesson:02d}"
    good = sorted(folder.glob("good_*.py"))
    bad = sorted(folder.glob("bad_*.py"))
    work = Path(tempfile.mkdtemp(prefix="sockteach-bench-"))
    try:
        picks = list(itertools.islice(itertools.cycle(good), count // 2)) + \
            list(itertools.islice(itertools.cycle(bad), count - count // 2))
        paths = []
        for i, source in enumerate(picks):
            sub = work / f"student{i:03d}"
            sub.mkdir()
            shutil.copyfile(source, sub / source.name)
            paths.append(str(sub))
        seconds, proc = run(["grade", str(lesson), *paths, "--jobs", str(jobs),
                             "--format", "json"], env)
        if proc.returncode != 0:
            print(proc.stderr)
            return False
        results = json.loads(proc.stdout)
        passed = sum(r["passed"] for r in results)
        rate = len(results) / seconds
        good_rate = rate >= GRADE_TARGET
        print(f"sockteach grade {lesson}: {len(results)} submissions ({count // 2} correct, "
              f"{count - count // 2} broken), --jobs {jobs}, {os.cpu_count()} CPUs")
        print(f"  {seconds:.1f} s, {rate:.2f} submissions/s (target ≥ {GRADE_TARGET:g})  "
              f"{'ok' if good_rate else 'TOO SLOW'};  {passed} passed")
        if passed != count // 2:
            print(f"  WRONG VERDICTS: {passed} passed, expected {count // 2}")
            return False
        return good_rate
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lesson", type=int, default=None,
                        help="grade throughput for this lesson (default: every exercise)")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="sockteach-bench-home-")
    env = {**os.environ, "SOCKTEACH_HOME": home, "SOCKTEACH_LANG": "en"}
    env.pop("FORCE_COLOR", None)
    try:
        ok = bench_check(args.runs, env)
        lessons = [args.lesson] if args.lesson else [1, 2, 3, 4]
        for lesson in lessons:
            ok &= bench_grade(lesson, args.count, args.jobs, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
