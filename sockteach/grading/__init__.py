"""The grader: the session plus pure judges.

``check(N, path)`` grades one submission of lesson N's exercise and returns a :class:`Result`
(a checklist that renders itself). ``grade(N, paths, jobs=J)`` grades many in parallel (each in
its own sessions). A submission runs from a temporary copy, under the tracer, with rlimits, on
ports the grader owns, against the grader's own peers — the exercise's *driver*
(``drive_*.py``), which records everything in the event stream and decides nothing. The
exercise's *judge* (``judge_*.py``) then reads that stream alone and gives the verdicts, so
``rejudge(N, events)`` of a recorded run (``check --record``) gives the same ones.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from .. import exercises
from ..exercises import Exercise, NoSubmission
from ..i18n import pick, pick_lang
from ..session import remove_scratch, scratch_dir
from ..events import Event, order_key
from .result import CheckResult, Result
from .texts import t
from .drive import Drive
from .judging import Context as JudgeContext
from .judging import exercise_of, stream
from .trial import Budget

__all__ = ["check", "grade", "grade_one", "rejudge", "Result", "CheckResult", "RUN_BUDGET",
           "OtherExercise", "PURE"]

RUN_BUDGET = 25.0  # seconds for one submission, every check included


# Each exercise's scenario → (its driver module, its judge module).
PURE = {
    "echo_server": ("drive_servers", "judge_servers"),
    "loop_server": ("drive_servers", "judge_servers"),
    "restartable_server": ("drive_servers", "judge_servers"),
    "line_client": ("drive_client", "judge_client"),
    "sendall_server": ("drive_sendall_server", "judge_sendall_server"),
    "framed_server": ("drive_framed_server", "judge_framed_server"),
    "udp_server": ("drive_udp_server", "judge_udp_server"),
    "idle_server": ("drive_idle_server", "judge_idle_server"),
    "unix_server": ("drive_unix_server", "judge_unix_server"),
    "line_server": ("drive_line_server", "judge_line_server"),
    "concurrent_server": ("drive_concurrent", "judge_concurrent"),
    "closing_server": ("drive_closing", "judge_closing"),
}


def _parts(exercise: Exercise):
    """(driver, judge) of the exercise: ``run(drive)`` and ``judge(events, ctx)``."""
    import importlib

    names = PURE.get(exercise.scenario)
    if names is None:
        raise KeyError(f"lesson {exercise.number}: no grader for scenario "
                       f"{exercise.scenario!r}")
    driver, judge = (importlib.import_module(f".{n}", __package__) for n in names)
    return driver.run, judge.judge


def check(number: int | str, path: str | os.PathLike | None = None, *, lang: str | None = None,
          record: bool = True, budget: float = RUN_BUDGET, events: bool = False) -> Result:
    """Grade ``path`` (default: the file ``sockteach start N`` wrote) against lesson
    ``number``'s exercise. Records progress unless ``record=False``.

    With ``events``, ``result.extra["events"]`` holds the run's event stream (what
    ``check --record`` saves and :func:`rejudge` judges again).

    Raises :class:`sockteach.exercises.NoExercise` for a lesson without exercise and
    :class:`sockteach.exercises.NoSubmission` when ``path`` holds no submission.
    """
    exercise = exercises.get(number)
    lang = pick_lang(lang)
    target = exercises.default_submission(exercise) if path is None else Path(path)
    script = exercises.resolve(exercise, target)
    result = grade_one(exercise, script, lang, budget=budget, name=str(path or target),
                       events=events)
    if not result.passed:
        from ..watch import watch_command

        result.extra["watch"] = watch_command(exercise, script)
    if record:
        exercises.record(exercise.number, "passed" if result.passed else "failed",
                         score=result.score, max_score=result.max_score,
                         failed=result.failed, submission=str(script))
    return result


def grade_one(exercise: Exercise, path: str | os.PathLike, lang: str = "en", *,
              budget: float = RUN_BUDGET, cancel: threading.Event | None = None,
              name: str | None = None, events: bool = False) -> Result:
    """Grade one submission (a file, or a folder holding one). Never raises for a broken
    submission: every problem becomes a failed check that says what happened."""
    started = time.monotonic()
    title = pick(exercise.title, lang)
    label = name if name is not None else str(path)
    try:
        script = exercises.resolve(exercise, path)
    except NoSubmission as exc:
        return _result(exercise, lang, label, {}, None, started, missing=str(exc))
    run_budget = Budget(budget, cancel)
    workdir = scratch_dir("sockteach-grade-")
    drive, judge = _parts(exercise)
    d = Drive(exercise, workdir / exercise.file, lang, run_budget)
    error = None
    try:
        _copy_submission(script, Path(path), workdir, exercise.file)
        drive(d)
    except Exception as exc:  # a grader bug must not pass or crash a batch: say so
        error = f"{type(exc).__name__}: {exc}"
    finally:
        for trial in d.trials:
            try:
                trial.close()
            except Exception:
                pass
        remove_scratch(workdir)
    recorded = stream([trial.session for trial in d.trials], budget, exercise.number)
    verdicts, stopped_at = {}, None
    try:  # after a grader bug too: what was checked before it stands
        sheet = judge(recorded, JudgeContext(exercise, lang))
        verdicts, stopped_at = sheet.verdicts, sheet.stopped_at
    except Exception as exc:
        error = error or f"{type(exc).__name__}: {exc}"
    result = _result(exercise, lang, label, verdicts, stopped_at, started, error=error,
                     title=title)
    if events:
        result.extra["events"] = recorded
    if not result.passed:
        _diagnose(result, recorded, lang, live=True)
    return result


def rejudge(number: int | str, recorded: list[Event], *, lang: str | None = None,
            name: str = "") -> Result:
    """The verdicts of a recorded grading run of exercise ``number``, judged again from its
    events alone (``sockteach check N FILE --record run.jsonl`` saved them). Raises
    :class:`OtherExercise` for a recording of another exercise."""
    exercise = exercises.get(number)
    lang = pick_lang(lang)
    _drive, judge = _parts(exercise)
    recorded = list(recorded)
    other = exercise_of(recorded)
    if other is not None and other != exercise.number:
        raise OtherExercise(other)
    started = time.monotonic()
    sheet = judge(recorded, JudgeContext(exercise, lang))
    result = _result(exercise, lang, name, sheet.verdicts, sheet.stopped_at, started)
    if not result.passed:
        _diagnose(result, recorded, lang, live=False)
    return result


class OtherExercise(ValueError):
    """The recording is of another exercise (``args[0]``: its number)."""


def _diagnose(result: Result, recorded: list[Event], lang: str, live: bool) -> None:
    """What the diagnosis catalogue recognises in the runs of a failed submission (with the
    kernel's table as it is now, when the runs were live)."""
    try:
        from .. import kernel
        from ..diagnose import explain
        from .judging import trials

        rows = kernel.read_rows() if live and kernel.available() else None
        runs = [sorted((e for e in tr.events if e.kind not in GRADER_KINDS), key=order_key)
                for tr in trials(recorded)]
        found = explain(runs, lang, rows)
    except Exception:  # a diagnosis is a help: it must never break grading
        return
    if found:
        result.extra["diagnoses"] = found


GRADER_KINDS = ("mark", "resource", "watchdog")  # the grader's own notes, not the programs'


def _copy_submission(script: Path, given: Path, workdir: Path, name: str) -> None:
    """The submission goes into a fresh folder as the exercise's file name; a folder
    submission brings its other small .py files along (helpers it may import)."""
    shutil.copyfile(script, workdir / name)
    if given.is_dir():
        for p in sorted(given.glob("*.py"))[:20]:
            if p.resolve() != script.resolve() and p.name != name and p.stat().st_size < 200_000:
                shutil.copyfile(p, workdir / p.name)


def _result(exercise: Exercise, lang: str, label: str, verdicts: dict, stopped_at: str | None,
            started: float, *, missing: str | None = None, error: str | None = None,
            title: str | None = None) -> Result:
    checks = []
    reason_title = None
    if stopped_at is not None:
        reason_title = pick(exercise.check_spec(stopped_at).title, lang)
    for spec in exercise.checks:
        ctitle = pick(spec.title, lang)
        hint = pick(spec.hint, lang)
        v = verdicts.get(spec.name)
        if v is not None:
            checks.append(CheckResult(spec.name, ctitle, v.passed, spec.score if v.passed else 0,
                                      spec.score, v.message, hint, v.output, True, v.seconds))
            continue
        if missing is not None:
            message = missing
        elif error is not None:
            message = t("grader_error", lang, error=error)
        elif reason_title is not None:
            message = t("not_checked", lang, title=reason_title)
        else:
            message = t("not_reached", lang)
        checks.append(CheckResult(spec.name, ctitle, False, 0, spec.score, message, hint, "",
                                  False))
    return Result(exercise.number, title or pick(exercise.title, lang), exercise.file, checks,
                  lang, label, round(time.monotonic() - started, 3))


def grade(number: int | str, paths: Iterable[str | os.PathLike], *, jobs: int = 1,
          lang: str | None = None, budget: float = RUN_BUDGET,
          on_result: Callable[[Result], None] | None = None,
          cancel: threading.Event | None = None) -> list[Result]:
    """Grade many submissions, ``jobs`` at a time; results in the order of ``paths``.
    ``on_result`` is called (from worker threads) as each one finishes."""
    exercise = exercises.get(number)
    lang = pick_lang(lang)
    paths = [str(p) for p in paths]
    cancel = cancel or threading.Event()

    def one(p: str) -> Result:
        result = grade_one(exercise, p, lang, budget=budget, cancel=cancel, name=p)
        if on_result is not None:
            on_result(result)
        return result

    if jobs <= 1 or len(paths) <= 1:
        return [one(p) for p in paths]
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sockteach-grade")
    try:
        futures = [pool.submit(one, p) for p in paths]
        return [f.result() for f in futures]
    except BaseException:
        cancel.set()  # every wait ends at once; every session closes its processes
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
