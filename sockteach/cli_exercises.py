"""The exercise commands: ``start``, ``check``, ``hint``, ``solution`` and ``grade``.

``add_commands(subparsers, lang_option)`` adds the sub-parsers; ``dispatch(args, lang)`` runs
one of them and returns the exit code (None when the command is not one of these). Exit codes:
0 all checks passed (``grade``: grading done), 1 a check failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:  # annotations are strings here
    from pathlib import Path
    from typing import Callable

COMMANDS = ("start", "check", "rejudge", "hint", "solution", "grade")
FORMATS = ("table", "json", "csv", "gradescope", "junit")


def add_commands(subparsers: argparse._SubParsersAction,
                 lang_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the exercise sub-commands to the ``sockteach`` parser."""
    p = subparsers.add_parser("start", help="write exercise N's starter and task into a folder")
    p.add_argument("number", help="lesson number")
    p.add_argument("dir", nargs="?", default=None,
                   help="where to write (default: ./sockteach-work/NN-slug/)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    lang_option(p)

    p = subparsers.add_parser("check", help="check your exercise N: real processes, a checklist",
                              description="Run your program for real against the grader's "
                                          "peers and print a checklist. Exit code: 0 every "
                                          "check passed, 1 a check failed, 2 bad input.")
    p.add_argument("number", help="lesson number")
    p.add_argument("path", nargs="?", default=None,
                   help="your file, or a folder holding it (default: ./FILE when it is "
                        "here, else the file 'start' wrote)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.add_argument("--record", metavar="FILE",
                   help="also save the run's events to FILE (JSON lines; see 'rejudge')")
    lang_option(p)

    p = subparsers.add_parser("rejudge", help="judge a recorded check of exercise N again",
                              description="Give the verdicts of a run saved with 'check N "
                                          "PATH --record FILE', from its events alone. Exit "
                                          "code: as 'check' (0 passed, 1 a check failed, 2 bad "
                                          "input).")
    p.add_argument("number", help="lesson number")
    p.add_argument("file", help="the record 'check --record' saved")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    lang_option(p)

    p = subparsers.add_parser("hint", help="hints for exercise N")
    p.add_argument("number", help="lesson number")
    lang_option(p)

    p = subparsers.add_parser("solution", help="the reference solution of exercise N "
                                               "(once your checks pass)")
    p.add_argument("number", help="lesson number")
    p.add_argument("--force", action="store_true", help="show it anyway (teachers)")
    lang_option(p)

    p = subparsers.add_parser("grade", help="grade many submissions of exercise N (teachers)",
                              description="Grade many submissions in parallel. Exit code: 0 "
                                          "when grading is done (whatever the verdicts), 2 bad "
                                          "input.")
    p.add_argument("number", help="lesson number")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="submission files, or folders each holding one submission")
    p.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="J",
                   help="grade J submissions at a time (default 1)")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (default), json, csv, gradescope (results.json) or junit (XML)")
    p.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")
    lang_option(p)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("--jobs must be between 1 and 64")
    return value


def dispatch(args: argparse.Namespace, lang: str) -> int | None:
    """Run the exercise command in ``args``; None if ``args.command`` is not one of them."""
    command = getattr(args, "command", None)
    if command not in COMMANDS:
        return None
    if sys.platform == "win32" and command in ("check", "grade"):
        from .cli import UsageError
        from .i18n import msg

        raise UsageError(msg("cli.no_pty", lang))
    return {"start": cmd_start, "check": cmd_check, "rejudge": cmd_rejudge, "hint": cmd_hint,
            "solution": cmd_solution, "grade": cmd_grade}[command](args, lang)


# ---------------------------------------------------------------- helpers


def _usage(message: str) -> Exception:
    from .cli import UsageError

    return UsageError(message)


def _exercise(number: str, lang: str):
    from . import exercises, lessons
    from .grading.texts import t

    try:
        lessons.get(number)
    except lessons.UnknownLesson:
        raise _usage(t("cli.unknown_lesson", lang, n=number,
                       count=len(lessons.course()))) from None
    try:
        return exercises.get(number)
    except exercises.NoExercise:
        have = ", ".join(str(e.number) for e in exercises.all_exercises())
        raise _usage(t("cli.no_exercise", lang, n=number, have=have)) from None


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(highlight=False, stderr=stderr)


# ---------------------------------------------------------------- commands


def cmd_start(args: argparse.Namespace, lang: str) -> int:
    from . import exercises
    from .grading.texts import t

    exercise = _exercise(args.number, lang)
    try:
        script, readme = exercises.start(exercise, args.dir, lang, force=args.force)
    except FileExistsError as exc:
        raise _usage(t("cli.exists", lang, path=str(exc))) from None
    except OSError as exc:
        raise _usage(str(exc)) from None
    console = _console()
    console.print(t("cli.started", lang, script=script, readme=readme))
    console.print(t("cli.next", lang, script=script, n=exercise.number))
    return 0


def cmd_check(args: argparse.Namespace, lang: str) -> int:
    from . import exercises, grading
    from .grading.texts import t

    from .i18n import msg

    exercise = _exercise(args.number, lang)
    if args.path is None:
        target, why = _default_target(exercise)
        if not target.exists():
            raise _usage(t("cli.missing_default", lang, path=target, n=exercise.number))
        shown = f"./{target}" if why == "here" else target
        sys.stderr.write(msg(f"check.which_{why}", lang, path=shown) + "\n")
    else:
        from pathlib import Path

        target = Path(args.path)
    try:
        script = exercises.resolve(exercise, target)
    except exercises.NoSubmission as exc:
        raise _usage(t("cli.no_submission", lang, error=str(exc))) from None
    record = getattr(args, "record", None)
    if record and not os.path.isdir(os.path.dirname(os.path.abspath(record))):
        raise _usage(t("cli.no_record_folder", lang, path=record))
    with _running(exercise, script, lang):
        result = grading.check(exercise.number, target, lang=lang, record=True,
                               events=bool(record))
    if record:
        from .events import dump_jsonl

        try:
            with open(record, "w", encoding="utf-8") as f:
                dump_jsonl(result.extra.pop("events", ()), f)
        except OSError as exc:
            raise _usage(f"{record}: {exc.strerror or exc}") from None
    _show(result, args.json)
    if record and not args.json:
        _console(stderr=True).print(t("cli.record_written", lang, path=record,
                                      n=exercise.number))
    return 0 if result.passed else 1


def _show(result, as_json: bool) -> None:
    import json

    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        _console().print(result)


def cmd_rejudge(args: argparse.Namespace, lang: str) -> int:
    from . import grading
    from .events import FormatError, load_jsonl
    from .grading.texts import t

    exercise = _exercise(args.number, lang)
    try:
        with open(args.file, encoding="utf-8") as f:
            recorded = list(load_jsonl(f))
    except FileNotFoundError:
        raise _usage(t("cli.no_submission", lang,
                       error=f"{args.file}: no such file")) from None
    except (OSError, UnicodeDecodeError, FormatError, TypeError, ValueError) as exc:
        raise _usage(t("cli.bad_record", lang, path=args.file, error=exc)) from None
    if not any(e.kind == "mark" and e.name == "trial" for e in recorded):
        raise _usage(t("cli.no_run", lang, path=args.file))
    try:
        result = grading.rejudge(exercise.number, recorded, lang=lang, name=args.file)
    except grading.OtherExercise as exc:
        raise _usage(t("cli.record_other", lang, path=args.file, other=exc.args[0],
                       n=exercise.number)) from None
    _show(result, args.json)
    return 0 if result.passed else 1


def _default_target(exercise) -> "tuple[Path, str]":
    """``check N`` without a PATH: ``./<file>`` when it is here ("here"), else the file
    ``start`` wrote or the work folder's ("work")."""
    from pathlib import Path

    from . import exercises

    here = Path(exercise.file)
    if here.is_file():
        return here, "here"
    return exercises.default_submission(exercise), "work"


class _running:
    """While the checks run: a spinner on stderr (a terminal only) naming the file and the
    checks, with the time so far, so that the screen is never blank for seconds."""

    def __init__(self, exercise, script: "Path", lang: str) -> None:
        self.status = None
        if not sys.stderr.isatty():
            return
        from rich.console import Console

        from .i18n import msg, pick

        names = msg("check.sep", lang).join(pick(c.title, lang) for c in exercise.checks)
        self.text = msg("check.running", lang, file=script, count=len(exercise.checks),
                        checks=names)
        self.console = Console(stderr=True, highlight=False)
        self.msg, self.lang = msg, lang
        self.started = time.monotonic()

    def __enter__(self) -> "_running":
        if hasattr(self, "console"):
            import threading

            from .session import signals_held

            # A Ctrl-C half-way through starting the spinner would leave it drawing after the
            # interrupt's message: it waits until the spinner is whole (then __exit__ runs).
            with signals_held():
                self.done = threading.Event()
                self.status = self.console.status(self.msg("check.elapsed", self.lang,
                                                           seconds="0.0"), spinner="line")
                self.status.start()
                self.console.print(self.text, markup=False)  # stays on screen after it
                self.ticker = threading.Thread(target=self._tick, daemon=True)
                self.ticker.start()
        return self

    def _tick(self) -> None:
        while not self.done.wait(0.2):
            self.status.update(self.msg("check.elapsed", self.lang,
                                        seconds=f"{time.monotonic() - self.started:.1f}"))

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            from .session import signals_held

            with signals_held():  # stopped whole, before any message that follows
                self.done.set()
                self.ticker.join(timeout=1)
                self.status.stop()


def cmd_hint(args: argparse.Namespace, lang: str) -> int:
    from rich.markdown import Markdown

    from . import exercises
    from .grading.texts import t
    from .i18n import pick

    exercise = _exercise(args.number, lang)
    console = _console()
    last = (exercises.records().get(exercise.number, {}).get("last") or {})
    failed = [n for n in last.get("failed", ()) if n in {c.name for c in exercise.checks}]
    if failed:
        spec = exercise.check_spec(failed[0])
        console.print(t("cli.last_failed", lang, title=pick(spec.title, lang)), style="bold")
        console.print(pick(spec.hint, lang))
        console.print()
    console.print(Markdown(exercise.hints(lang)))
    return 0


def cmd_solution(args: argparse.Namespace, lang: str) -> int:
    from rich.syntax import Syntax

    from . import exercises
    from .grading.texts import t

    exercise = _exercise(args.number, lang)
    if not (args.force or exercises.passed(exercise.number)):
        sys.stderr.write(t("cli.locked", lang, n=exercise.number) + "\n")
        return 1
    code = exercise.solution.read_text(encoding="utf-8")
    _console().print(Syntax(code, "python", line_numbers=True, word_wrap=True))
    return 0


def cmd_grade(args: argparse.Namespace, lang: str) -> int:
    import threading

    from . import grading
    from .grading import report
    from .grading.texts import t

    exercise = _exercise(args.number, lang)
    for p in args.paths:
        if not os.path.exists(p):
            raise _usage(t("cli.no_submission", lang, error=f"{p}: no such file or folder"))
    if args.out and not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise _usage(f"{args.out}: no such folder")

    stdout_tty = sys.stdout.isatty()
    show_progress = stdout_tty and sys.stderr.isatty()
    started = time.monotonic()
    cancel = threading.Event()
    progress = None
    task = None
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
            TimeElapsedColumn

        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(),
                            console=_console(stderr=True), transient=True)
        task = progress.add_task(f"lesson {exercise.number}", total=len(args.paths))
        progress.start()
    try:
        results = grading.grade(exercise.number, args.paths, jobs=args.jobs, lang=lang,
                                cancel=cancel,
                                on_result=(lambda r: progress.advance(task)) if progress else None)
    finally:
        if progress is not None:
            progress.stop()
    seconds = time.monotonic() - started

    fmt = args.format
    if fmt == "table":
        text = None
    else:
        text = report.render(fmt, results, exercise, lang, seconds=seconds)
    if args.out:
        if text is None:
            text = report.table_text(results, exercise, lang)
        with open(args.out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        if stdout_tty:
            console = _console()
            console.print(report.summary(results, exercise, lang))
            console.print(t("cli.graded", lang, count=len(results), seconds=seconds,
                            passed=sum(r.passed for r in results)))
            console.print(t("cli.wrote", lang, path=args.out, format=fmt))
    elif text is None:
        console = _console()
        console.print(report.results_table(results, exercise, lang))
        console.print(report.summary(results, exercise, lang))
        console.print(t("cli.graded", lang, count=len(results), seconds=seconds,
                        passed=sum(r.passed for r in results)))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run only the exercise commands (``python -m sockteach.cli_exercises check 1 …``); the
    ``sockteach`` command reaches the same code through :func:`dispatch`."""
    from . import cli
    from .i18n import pick_lang

    parser = cli._Parser(prog="sockteach")
    cli._lang_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=cli._Parser)
    add_commands(sub, cli._lang_option)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        code = dispatch(args, pick_lang(getattr(args, "lang", None)))
        return 2 if code is None else code
    except cli.UsageError as exc:
        sys.stderr.write(f"sockteach: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
