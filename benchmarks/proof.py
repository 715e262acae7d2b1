"""Every figure that shows the grader and the lessons hold, in one place.

    python benchmarks/proof.py            # everything (~25 min on 2 cores)
    python benchmarks/proof.py --quick    # smaller runs (~8 min)
    python benchmarks/proof.py --only load mutants

Each part runs the real commands in fresh processes and is also a script of its own:

- speed      benchmarks/bench.py: start-up, every lesson --auto --fast, the tracer's cost
- grader     benchmarks/bench_grader.py: check per exercise, grade throughput (--jobs 4)
- load       benchmarks/load.py: grade of 200 submissions with --jobs 8 and --jobs 1 —
             submissions/s, memory peaks, verdicts that differ, port collisions
- mutants    python -m qa.mutate --json: the share of non-equivalent mutants of every
             reference solution that the checks reject
- faults     tests/test_faults.py with many seeded runs: Ctrl-C/SIGTERM at random moments of
             every lesson, check and grade; sides killed from outside
- hostile    tests/test_grader_hostile.py: fork bomb, memory hog, 10 GB write, …

Exit code 0 when every part met its target.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = ("speed", "grader", "load", "mutants", "faults", "hostile")


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started


def speed(quick: bool) -> tuple[bool, list[str]]:
    code, out, _ = _run([sys.executable, str(HERE / "bench.py"), *(["--quick"] if quick else [])])
    return code == 0, out.rstrip().splitlines()


def grader(quick: bool) -> tuple[bool, list[str]]:
    code, out, _ = _run([sys.executable, str(HERE / "bench_grader.py"),
                         "--runs", "2" if quick else "5"])
    return code == 0, out.rstrip().splitlines()


def load(quick: bool) -> tuple[bool, list[str]]:
    count = "60" if quick else "200"
    code, out, _ = _run([sys.executable, str(HERE / "load.py"), "-n", count, "-j", "8"])
    return code == 0, out.rstrip().splitlines()


def mutants(quick: bool) -> tuple[bool, list[str]]:
    cmd = [sys.executable, "-m", "qa.mutate", "--json", "--jobs", "4"]
    if quick:
        cmd += ["1", "5", "12"]
    code, out, seconds = _run(cmd)
    try:
        reports = json.loads(out[out.index("["):])
    except ValueError:
        return False, ["mutation run gave no report:", *out.splitlines()[-20:]]
    lines = [f"{'exercise':>8} {'graded':>6} {'rejected':>8} {'equivalent':>10} {'gaps':>4} "
             f"{'rejected of non-equivalent':>27}"]
    total_relevant = total_rejected = 0
    for r in reports:
        relevant = r["graded"] - r["equivalent_count"]
        total_relevant += relevant
        total_rejected += relevant - len(r["gaps"])
        score = "—" if r["score"] is None else f"{100 * r['score']:.0f}%"
        lines.append(f"{r['number']:>8} {r['graded']:>6} {r['rejected']:>8} "
                     f"{r['equivalent_count']:>10} {len(r['gaps']):>4} {score:>27}")
    share = 100 * total_rejected / total_relevant if total_relevant else 0
    lines.append(f"all: {total_rejected} of {total_relevant} non-equivalent mutants rejected "
                 f"({share:.0f}%, target 100%) in {seconds:.0f} s")
    return code == 0 and total_rejected == total_relevant, lines


def faults(quick: bool) -> tuple[bool, list[str]]:
    runs = "2" if quick else "8"
    code, out, seconds = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/test_faults.py"],
                              env={"SOCKTEACH_FAULT_RUNS": runs,
                                   "SOCKTEACH_FAULT_SEED": str(int(time.time()))})
    tail = [line for line in out.splitlines() if re.search(r"passed|failed|Error", line)]
    return code == 0, [f"{runs} seeded runs per lesson, check and grade target "
                       f"({seconds:.0f} s):", *tail[-12:]]


def hostile(quick: bool) -> tuple[bool, list[str]]:
    code, out, seconds = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/test_grader_hostile.py"])
    tail = [line for line in out.splitlines() if re.search(r"passed|failed|Error", line)]
    return code == 0, [f"hostile submissions ({seconds:.0f} s):", *tail[-12:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="only these parts")
    args = parser.parse_args(argv)
    ok = True
    for name in args.only or PARTS:
        print(f"== {name}", flush=True)
        passed, lines = globals()[name](args.quick)
        for line in lines:
            print("  " + line)
        print(f"  -> {'ok' if passed else 'TARGET MISSED'}", flush=True)
        ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
