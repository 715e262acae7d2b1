"""Record the grading runs of every exercise fixture once, for the judges' in-memory tests.

    python scripts/record_fixtures.py [N ...]

For each exercise given (default: every one), grades every file in
tests/fixtures/exercises/exNN/ for real and saves its run as
tests/fixtures/recorded/exNN/<name>.jsonl — only after checking that the run got the verdict
its table (verdicts.toml; good_* pass) expects, and that judging the saved events again gives
the same verdicts and messages. A run that does not is reported and not saved. The exit code
is the number of such runs (0: all recorded). The project's .gitignore ignores ``*.jsonl``:
a new recorded file is added with ``git add -f``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from sockteach import events, exercises, grading  # noqa: E402
from sockteach.i18n import tomllib  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "exercises"
RECORDED = ROOT / "tests" / "fixtures" / "recorded"


def expected_problem(path: Path, result: grading.Result, table: dict) -> str | None:
    """Why ``result`` is not what the fixture table says, or None."""
    if path.stem.startswith("good_"):
        return None if result.passed else "should pass"
    row = table[path.stem]
    if result.failed != row["failed"]:
        return f"should fail {row['failed']}, failed {result.failed}"
    first = next(c for c in result.checks if not c.passed)
    if row["says"] not in first.message + "\n" + first.output:
        return f"the first failure should say {row['says']!r}"
    return None


HEAD, TAIL = 2_000, 4_000  # characters of a side's output kept at its start and its end


def compact(recorded: list) -> list:
    """The run with the middle of a long output (a flood) left out: the judges read what a
    program printed for its end (the traceback, the last lines) and for what it printed after
    a line was typed. Whether the verdicts survive the cut is checked before it is saved."""
    total: dict = {}
    for e in recorded:
        if e.kind == "output":
            total[e.side] = total.get(e.side, 0) + len(e.text or "")
    seen: dict = {}
    out = []
    for e in recorded:
        if e.kind == "output" and total[e.side] > 2 * (HEAD + TAIL):
            start = seen.get(e.side, 0)
            seen[e.side] = start + len(e.text or "")
            if start >= HEAD and seen[e.side] <= total[e.side] - TAIL:
                e = replace(e, text=f"[… {len(e.text or ''):,} characters]\n")
        out.append(e)
    return out


def same(a: grading.Result, b: grading.Result) -> bool:
    def key(r: grading.Result) -> list:
        return [(c.name, c.passed, c.message, c.output, c.checked) for c in r.checks]
    return key(a) == key(b)


def record(number: int) -> int:
    folder = FIXTURES / f"ex{number:02d}"
    with (folder / "verdicts.toml").open("rb") as f:
        table = tomllib.load(f)
    out = RECORDED / f"ex{number:02d}"
    out.mkdir(parents=True, exist_ok=True)
    exercise = exercises.get(number)
    bad = 0
    for path in sorted(folder.glob("*.py")):
        result = grading.grade_one(exercise, path, "en", events=True, name=path.name)
        recorded = result.extra.pop("events")
        problem = expected_problem(path, result, table)
        if problem is None:
            buf = io.StringIO()
            events.dump_jsonl(compact(recorded), buf)
            again = grading.rejudge(number, list(events.load_jsonl(io.StringIO(buf.getvalue()))),
                                    lang="en", name=path.name)
            if not same(result, again):
                problem = "judged again from its events, it got other verdicts or messages"
        if problem is not None:
            bad += 1
            print(f"ex{number:02d}/{path.name}: NOT recorded: {problem}\n{result}")
            continue
        target = out / f"{path.stem}.jsonl"
        target.write_text(buf.getvalue(), encoding="utf-8")
        print(f"ex{number:02d}/{path.name}: {len(recorded)} events, "
              f"{target.stat().st_size:,} bytes")
    return bad


def main(argv: list[str]) -> int:
    numbers = [int(a) for a in argv] or [ex.number for ex in exercises.all_exercises()]
    return min(sum(record(n) for n in numbers), 125)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
