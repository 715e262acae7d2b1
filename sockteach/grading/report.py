"""Reports of a batch of results: a table and a per-check summary (rich renderables), and the
machine formats — JSON, CSV, Gradescope ``results.json``, JUnit XML — as plain strings."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from ..exercises import Exercise
from ..i18n import pick
from .result import Result, _number
from .texts import t


def render(fmt: str, results: Sequence[Result], exercise: Exercise, lang: str,
           seconds: float = 0.0) -> str:
    if fmt == "json":
        return to_json(results)
    if fmt == "csv":
        return to_csv(results, exercise)
    if fmt == "gradescope":
        return to_gradescope(results, seconds)
    if fmt == "junit":
        return to_junit(results, exercise)
    if fmt == "table":
        return table_text(results, exercise, lang)
    raise ValueError(f"unknown format {fmt!r}")


def to_json(results: Sequence[Result]) -> str:
    """A JSON array of the ``check --json`` objects, each with ``submission``."""
    return json.dumps([r.to_dict(submission=True) for r in results], ensure_ascii=False,
                      indent=1) + "\n"


def to_csv(results: Sequence[Result], exercise: Exercise) -> str:
    """One row per submission: passed, score, max_score, each check's score, failed checks."""
    buf = io.StringIO()
    names = [c.name for c in exercise.checks]
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "passed", "score", "max_score", *names, "failed"])
    for r in results:
        by_name = {c.name: c for c in r.checks}
        writer.writerow([r.submission, "true" if r.passed else "false", _number(r.score),
                         _number(r.max_score),
                         *[_number(by_name[n].score) if n in by_name else 0 for n in names],
                         " ".join(r.failed)])
    return buf.getvalue()


def _test_output(check) -> str:
    text = check.message
    if check.output and not check.passed:
        text += "\n\n" + check.output
    if check.hint and not check.passed and check.checked:
        text += "\n\nHint: " + check.hint
    return text


def to_gradescope(results: Sequence[Result], seconds: float = 0.0) -> str:
    """Gradescope's ``results.json``: total score and one test per check. With several
    submissions, the test names start with the submission."""
    tests = []
    many = len(results) > 1
    for r in results:
        for i, c in enumerate(r.checks, start=1):
            name = f"{i}. {c.title}"
            tests.append({
                "name": f"{r.submission}: {name}" if many else name,
                "number": str(i),
                "score": _number(c.score),
                "max_score": _number(c.max_score),
                "status": "passed" if c.passed else "failed",
                "output": _test_output(c),
                "output_format": "text",
                "visibility": "visible",
            })
    total = sum(r.score for r in results)
    passed = sum(r.passed for r in results)
    data = {
        "score": _number(total),
        "execution_time": round(seconds, 3),
        "output": (f"{passed} of {len(results)} submissions passed every check."
                   if many else results[0].render() if results else ""),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def to_junit(results: Sequence[Result], exercise: Exercise) -> str:
    """JUnit XML: a testsuite per submission, a testcase per check, ``<failure>`` when it failed."""
    root = ET.Element("testsuites", name=f"sockteach lesson {exercise.number}",
                      tests=str(sum(len(r.checks) for r in results)),
                      failures=str(sum(len(r.failed) for r in results)),
                      time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=str(r.submission), tests=str(len(r.checks)),
                              failures=str(len(r.failed)), errors="0", skipped="0",
                              time=f"{r.seconds:.3f}")
        for c in r.checks:
            case = ET.SubElement(suite, "testcase",
                                 classname=f"lesson{exercise.number}.{r.submission}",
                                 name=c.name, time=f"{c.seconds:.3f}")
            if not c.passed:
                failure = ET.SubElement(case, "failure", message=c.message.splitlines()[0][:500],
                                        type="failed" if c.checked else "not checked")
                failure.text = _test_output(c)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------- for people


def results_table(results: Sequence[Result], exercise: Exercise, lang: str) -> Table:
    """One row per submission: ✔/✘ per check, and the score."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(t("cli.submission", lang), overflow="fold")
    for i, c in enumerate(exercise.checks, start=1):
        table.add_column(str(i), justify="center", no_wrap=True)
    table.add_column(t("cli.score", lang), justify="right", no_wrap=True)
    for r in results:
        by_name = {c.name: c for c in r.checks}
        marks = []
        for spec in exercise.checks:
            c = by_name.get(spec.name)
            marks.append("[green]✔[/]" if c and c.passed else
                         "[red]✘[/]" if c and c.checked else "[dim]–[/]")
        score = f"{_number(r.score)}/{_number(r.max_score)}"
        table.add_row(str(r.submission), *marks, f"[bold green]{score}[/]" if r.passed else score)
    return table


def summary(results: Sequence[Result], exercise: Exercise, lang: str) -> Table:
    """Pass rate per check; the caption names the check the class missed most."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column(t("cli.check", lang), overflow="fold")
    table.add_column(t("cli.passed", lang), justify="right", no_wrap=True)
    table.add_column(t("cli.rate", lang), no_wrap=True)
    count = len(results)
    worst = None
    for i, spec in enumerate(exercise.checks, start=1):
        ok = sum(1 for r in results for c in r.checks if c.name == spec.name and c.passed)
        rate = ok / count if count else 0.0
        bar = "█" * round(rate * 10) + "·" * (10 - round(rate * 10))
        colour = "green" if rate == 1 else ("yellow" if rate >= 0.5 else "red")
        table.add_row(str(i), pick(spec.title, lang), f"{ok}/{count}",
                      f"[{colour}]{bar}[/] {rate:.0%}")
        # "Most missed": checks that really failed (not the ones skipped after a failure).
        missed = sum(1 for r in results for c in r.checks
                     if c.name == spec.name and c.checked and not c.passed)
        if missed and (worst is None or missed > worst[1]):
            worst = (pick(spec.title, lang), missed)
    if worst is None:
        table.caption = t("cli.all_clean", lang)
    else:
        table.caption = t("cli.most_missed", lang, title=worst[0], failed=worst[1], count=count)
    return table


def table_text(results: Sequence[Result], exercise: Exercise, lang: str, width: int = 100) -> str:
    """The table and the summary as plain text (for ``--format table --out FILE``)."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False,
                      force_jupyter=False, highlight=False)
    console.print(results_table(results, exercise, lang))
    console.print(summary(results, exercise, lang))
    return buf.getvalue()
