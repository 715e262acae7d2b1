"""Load: ``sockteach grade`` of a whole class at once.

Makes a class of N submissions — copies of one exercise's fixtures, correct and broken, each in
its own folder as GitHub Classroom lays them out — grades it with ``--jobs J`` and with
``--jobs 1``, and reports:

- submissions per second of each run;
- port collisions: a verdict that differs from the fixture's known verdict
  (``tests/fixtures/exercises/exNN/verdicts.toml``), or between the two runs, and any
  "Address already in use" the fixture does not expect;
- memory: the peak resident memory of the grader process itself, and of everything running
  at once (the grader and the submissions it runs), sampled every 50 ms; and the peak number
  of processes.

    python benchmarks/load.py                      # 200 submissions of exercise 4, -j 8 and -j 1
    python benchmarks/load.py -n 40 -e 1 -j 4 --no-serial --json

Exit code 0 when no verdict differs and no collision was seen, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "exercises"
IN_USE = "Address already in use"


def expected_verdicts(exercise: int) -> dict[str, dict]:
    """Fixture file stem → {"failed": [...], "says": ...}; correct ones fail nothing."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    folder = FIXTURES / f"ex{exercise:02d}"
    with (folder / "verdicts.toml").open("rb") as f:
        known = tomllib.load(f)
    out = {}
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("good_"):
            out[path.stem] = {"failed": []}
        elif path.stem in known:
            out[path.stem] = known[path.stem]
    return out


def make_class(exercise: int, count: int, where: Path) -> dict[str, str]:
    """``count`` submission folders under ``where``; returns folder → fixture stem."""
    from sockteach import exercises

    name = exercises.get(exercise).file
    stems = list(expected_verdicts(exercise))
    folder = FIXTURES / f"ex{exercise:02d}"
    made = {}
    for i, stem in zip(range(count), itertools.cycle(stems)):
        sub = where / f"student-{i:03d}"
        sub.mkdir(parents=True)
        shutil.copyfile(folder / f"{stem}.py", sub / name)
        made[str(sub)] = stem
    return made


@dataclass
class Run:
    jobs: int
    seconds: float = 0.0
    results: dict[str, dict] = field(default_factory=dict)  # submission → result dict
    grader_peak_mb: float = 0.0
    total_peak_mb: float = 0.0
    peak_processes: int = 0
    exit_code: int = 0
    stderr: str = ""

    @property
    def per_second(self) -> float:
        return len(self.results) / self.seconds if self.seconds else 0.0


def grade(exercise: int, folders: list[str], jobs: int, env: dict[str, str] | None = None) -> Run:
    """Run ``sockteach grade`` as a teacher would, sampling its memory while it runs."""
    run = Run(jobs)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sockteach", "grade", str(exercise), *folders,
                             "--jobs", str(jobs), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, stdin=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        try:
            grader = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.wait(0.05):  # a sampling period, not a synchronisation
            try:
                own = grader.memory_info().rss
                total, count = own, 1
                for child in grader.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                        count += 1
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            run.grader_peak_mb = max(run.grader_peak_mb, own / 2**20)
            run.total_peak_mb = max(run.total_peak_mb, total / 2**20)
            run.peak_processes = max(run.peak_processes, count)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=3600)
    finally:
        done.set()
        sampler.join(5)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    run.seconds = time.perf_counter() - started
    run.exit_code, run.stderr = proc.returncode, err
    for item in json.loads(out or "[]"):
        run.results[item["submission"]] = item
    return run


def failed(result: dict) -> list[str]:
    return [c["name"] for c in result["checks"] if not c["passed"]]


def collisions(run: Run, made: dict[str, str], known: dict[str, dict]) -> list[str]:
    """Submissions whose verdict is not the fixture's, or that met a port already in use
    where the fixture does not expect it."""
    wrong = []
    for sub, stem in made.items():
        result = run.results.get(sub)
        if result is None:
            wrong.append(f"{sub} ({stem}): no result")
            continue
        expected = known[stem]
        text = " ".join(c["message"] for c in result["checks"])
        if failed(result) != list(expected["failed"]):
            wrong.append(f"{sub} ({stem}): failed {failed(result)}, expected "
                         f"{expected['failed']}")
        elif IN_USE in text and IN_USE not in expected.get("says", ""):
            wrong.append(f"{sub} ({stem}): {IN_USE}")
    return wrong


def differences(a: Run, b: Run) -> list[str]:
    return [sub for sub in a.results
            if sub not in b.results or failed(a.results[sub]) != failed(b.results[sub])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=200, help="submissions (200)")
    parser.add_argument("-e", "--exercise", type=int, default=4, help="exercise (4)")
    parser.add_argument("-j", "--jobs", type=int, default=8, help="parallel jobs (8)")
    parser.add_argument("--no-serial", action="store_true", help="skip the --jobs 1 run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    known = expected_verdicts(args.exercise)
    env = {**os.environ, "SOCKTEACH_HOME": tempfile.mkdtemp(prefix="sockteach-load-home-")}
    with tempfile.TemporaryDirectory(prefix="sockteach-load-") as tmp:
        made = make_class(args.exercise, args.count, Path(tmp))
        folders = list(made)
        runs = [grade(args.exercise, folders, args.jobs, env)]
        if not args.no_serial and args.jobs != 1:
            runs.append(grade(args.exercise, folders, 1, env))
    shutil.rmtree(env["SOCKTEACH_HOME"], ignore_errors=True)

    report = {"exercise": args.exercise, "submissions": args.count,
              "cores": os.cpu_count(), "runs": []}
    bad = []
    for run in runs:
        wrong = collisions(run, made, known)
        bad += wrong
        report["runs"].append({
            "jobs": run.jobs, "seconds": round(run.seconds, 2),
            "submissions_per_second": round(run.per_second, 2),
            "grader_peak_mb": round(run.grader_peak_mb, 1),
            "total_peak_mb": round(run.total_peak_mb, 1),
            "peak_processes": run.peak_processes, "unexpected_verdicts": wrong[:20],
            "exit_code": run.exit_code})
    if len(runs) == 2:
        diff = differences(runs[0], runs[1])
        report["differ_between_runs"] = diff[:20]
        bad += diff
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"grade of {args.count} submissions of exercise {args.exercise} "
              f"on {os.cpu_count()} cores")
        for r in report["runs"]:
            print(f"  --jobs {r['jobs']}: {r['seconds']} s, {r['submissions_per_second']} "
                  f"submissions/s; memory peak: grader {r['grader_peak_mb']} MB, everything "
                  f"{r['total_peak_mb']} MB, {r['peak_processes']} processes; "
                  f"unexpected verdicts: {len(r['unexpected_verdicts'])}")
            for line in r["unexpected_verdicts"]:
                print("     ", line)
        if "differ_between_runs" in report:
            print(f"  verdicts that differ between the runs: "
                  f"{len(report['differ_between_runs'])}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
