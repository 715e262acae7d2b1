"""sockteach's speed figures, printed as a table. Run: python benchmarks/bench.py [--quick]

- start-up: `sockteach --help` against `python -c "import rich"` (target: at most 1.2x)
- each lesson with `--auto --fast` (target: under 3 s each)
- the tracer's cost: echo round trips per second, traced / untraced (target: at least 0.85),
  and the session's CPU per event beside it (target: a few µs)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRACER = ROOT / "sockteach" / "tracer.py"


def wall(cmd: list[str], repeat: int, **kw) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        # No timeout= here: with one, subprocess polls for the exit with growing sleeps,
        # which rounds a 35 ms run up to ~64 ms.
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SESSION_COST: list[float] = []  # µs of the session's CPU per event, one per traced run


def echo_rate(traced: bool, n: int) -> float:
    port = free_port()
    prefix = [sys.executable, str(TRACER)] if traced else [sys.executable]
    env = dict(os.environ)
    if traced:  # a real channel that someone drains, as under the runner
        from sockteach.session import Session

        session = Session(())
        env.update(SOCKTEACH_TRACE=session.channel_path, SOCKTEACH_LOOPBACK="1")
    server = subprocess.Popen(prefix + [str(HERE / "echo_pair.py"), "server", str(port)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        server.stdout.readline()  # "ready": it listens
        cpu = time.process_time()  # this process runs nothing else meanwhile: the session's
        out = subprocess.run(prefix + [str(HERE / "echo_pair.py"), "client", str(port), str(n)],
                             capture_output=True, text=True, timeout=120, env=env, check=True)
        if traced:
            session.settled(session.now(), timeout=10)
            cpu = time.process_time() - cpu
            SESSION_COST.append(cpu / max(1, len(session.events)) * 1e6)
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        server.kill()
        server.wait()
        if traced:
            session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeat = 3 if args.quick else 9
    rows: list[tuple[str, str, str, str]] = []

    base = wall([sys.executable, "-c", "import rich"], repeat)
    script = Path(sys.executable).with_name("sockteach")  # the installed command, as users run it
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sockteach"]
    cli = wall(command + ["--help"], repeat)
    rows.append(("start-up: sockteach --help / import rich", f"{cli * 1000:.0f} ms / {base * 1000:.0f} ms",
                 f"{cli / base:.2f}x", "<= 1.2x"))
    met = [cli / base <= 1.2]

    from sockteach import lessons

    for lesson in lessons.course():
        t = wall([sys.executable, "-m", "sockteach", "lesson", str(lesson.number), "--auto",
                  "--fast"], 1 if args.quick else 3, cwd="/tmp")
        rows.append((f"lesson {lesson.number} --auto --fast", f"{t:.2f} s", "", "< 3 s"))
        met.append(t < 3)

    n = 2000 if args.quick else 10000
    plains, traceds = [], []
    for _ in range(3 if args.quick else 7):  # alternate, so machine noise hits both alike
        plains.append(echo_rate(False, n))
        traceds.append(echo_rate(True, n))
    plain, traced = statistics.median(plains), statistics.median(traceds)
    rows.append(("tracer: echo round trips/s traced / plain", f"{traced:,.0f} / {plain:,.0f}",
                 f"{traced / plain:.2f}", ">= 0.85"))
    met.append(traced / plain >= 0.85)
    rows.append(("session: CPU per event (its reader threads)",
                 f"{statistics.median(SESSION_COST):.1f} µs", "", "a few µs"))
    met.append(statistics.median(SESSION_COST) <= 5)

    width = max(len(r[0]) for r in rows)
    print(f"{'figure'.ljust(width)}  {'measured':>22}  {'ratio':>6}  target")
    for (name, value, ratio, target), ok in zip(rows, met):
        print(f"{name.ljust(width)}  {value:>22}  {ratio:>6}  {target:<8} "
              f"{'ok' if ok else 'MISSED'}")
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
