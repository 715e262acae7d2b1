"""The ``sockteach`` command: parses arguments, calls the library, sets the exit code.

Exit codes: 0 done, 1 the lesson or check did not succeed, 2 bad input, 130 interrupted.
Heavy modules (rich, pexpect) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:  # annotations are strings here
    from typing import NoReturn, Sequence

from .i18n import msg, pick_lang

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input from the command line: one line, exit 2."""


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized like it would be, without importing shutil (start-up)."""

    def __init__(self, prog: str, **kwargs: object) -> None:
        if kwargs.get("width") is None:
            kwargs["width"] = _columns() - 2
        super().__init__(prog, **kwargs)  # type: ignore[arg-type]


def _columns() -> int:
    """What shutil.get_terminal_size() would say: $COLUMNS, else the terminal, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _lang_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "zh"), default=argparse.SUPPRESS,
                   help="language: en or zh (default: $SOCKTEACH_LANG, else the locale)")


class _Shallow:
    """Stands in for the sub-parsers when only the top-level help is wanted: each command is
    listed with its help line, and its own arguments are not built (that is most of the
    start-up time of ``sockteach --help``)."""

    def __init__(self, sub: argparse._SubParsersAction) -> None:
        self.sub = sub

    def add_parser(self, name: str, **kwargs: object) -> "_Ignored":
        self.sub.add_parser(name, help=kwargs.get("help"), add_help=False)
        return _Ignored()


class _Ignored:
    def __getattr__(self, name: str):  # add_argument, add_mutually_exclusive_group, …
        return lambda *args, **kwargs: self


def _top_level_help(argv: list[str]) -> bool:
    """Whether ``argv`` asks for the top-level help only (no command named)."""
    words = [a for a in argv if not a.startswith("-")]
    return any(a in ("-h", "--help") for a in argv) and not words


def build_parser(shallow: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sockteach",
        description="Learn TCP sockets by watching real ones work. "
                    "用真实的 socket 学习 TCP 网络编程。",
        epilog="Start with: sockteach lesson 1",
    )
    _lang_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if shallow:
        sub = _Shallow(sub)  # type: ignore[assignment]

    p = sub.add_parser("list", help="the lessons, with titles (default command)")
    _lang_option(p)

    p = sub.add_parser("lesson", help="play lesson N: a real server and client, narrated")
    p.add_argument("number", help="lesson number")
    _lang_option(p)
    p.add_argument("--auto", action="store_true", help="play without pausing between steps")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="scale the visible pauses: 2 plays twice as fast, 0.5 half as fast")
    p.add_argument("--fast", action="store_true",
                   help="the fastest pace that still shows every event (implies --auto)")
    p.add_argument("--record", metavar="FILE", help="save every event as JSON lines")
    p.add_argument("--svg", metavar="FILE", help="save the final screen as an SVG picture")

    p = sub.add_parser("show", help="show a lesson's code, highlighted")
    p.add_argument("number", help="lesson number")
    p.add_argument("role", nargs="?", default=None, help="which file: server, client, … (default: all)")
    p.add_argument("--diff", action="store_true", help="the change from the previous stage")
    _lang_option(p)

    p = sub.add_parser("run", help="run one side of a lesson in this terminal, narrated "
                                   "(classroom: server in one terminal, client in another)")
    p.add_argument("number", help="lesson number")
    p.add_argument("role", help="server or client")
    p.add_argument("--port", type=int, default=None, metavar="P",
                   help="use port P instead of the lesson's (e.g. when 8081 is taken); "
                        "give both terminals the same P")
    _lang_option(p)

    from . import cli_doctor, cli_exercises, cli_watch

    cli_exercises.add_commands(sub, _lang_option)
    cli_watch.add_commands(sub, _lang_option)
    cli_doctor.add_commands(sub, _lang_option)
    return parser


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.05 <= value <= 20:
        raise argparse.ArgumentTypeError("--speed must be between 0.05 and 20")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = pick_lang(_peek_lang(argv))
    try:
        from .entry import take_signals

        take_signals()
    except (ValueError, AttributeError):  # not the main thread / no SIGTERM
        pass
    try:
        args = build_parser(shallow=_top_level_help(argv)).parse_args(argv)
        lang = pick_lang(getattr(args, "lang", None))
        return _dispatch(args, lang)
    except UsageError as exc:
        _say(f"sockteach: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _end_quietly()
        _say(msg("cli.interrupted", lang))
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        if exc.code == 128 + signal.SIGTERM:
            _end_quietly()
            _say(msg("cli.terminated", lang))
        raise
    finally:
        _end_quietly()


def _end_quietly() -> None:
    """On the way out: no further signal can cut the clean-up short or print a traceback,
    and whatever an interrupted command left is stopped and removed."""
    from .entry import ignore_signals

    ignore_signals()
    session = sys.modules.get("sockteach.session")
    if session is not None:
        session.cleanup()


def _peek_lang(argv: list[str]) -> str | None:
    for i, a in enumerate(argv):
        if a.startswith("--lang="):
            return a.split("=", 1)[1]
        if a == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _say(line: str) -> None:
    try:  # what the view still had in stdout's buffer goes first, not after this line
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _lesson(number: str, lang: str):
    from . import lessons

    try:
        return lessons.get(number)
    except lessons.UnknownLesson:
        raise UsageError(msg("cli.unknown_lesson", lang, number=number,
                             count=len(lessons.course()))) from None


def _dispatch(args: argparse.Namespace, lang: str) -> int:
    command = args.command or "list"
    if command == "list":
        return _cmd_list(lang)
    if sys.platform == "win32" and command in ("lesson", "run"):
        raise UsageError(msg("cli.no_pty", lang))
    if command == "lesson":
        return _cmd_lesson(args, lang)
    if command == "show":
        return _cmd_show(args, lang)
    if command == "run":
        return _cmd_run(args, lang)
    from . import cli_doctor, cli_exercises, cli_watch

    for module in (cli_exercises, cli_watch, cli_doctor):
        status = module.dispatch(args, lang)
        if status is not None:
            return status
    raise UsageError(f"unknown command {command!r}")


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _cmd_list(lang: str) -> int:
    from . import exercises, lessons
    from .screen_text import safe_glyphs
    from .view import course_table

    console = _console()
    console.print(course_table(lessons.course(), lang, progress=exercises.progress(lang),
                               safe=safe_glyphs(lang, console.is_terminal)))
    return EXIT_OK


def _cmd_lesson(args: argparse.Namespace, lang: str) -> int:
    from .runner import run_lesson
    from .scenario import Pace

    lesson = _lesson(args.number, lang)
    for path in (args.record, args.svg):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UsageError(msg("cli.no_dir", lang, path=path))
    console = _console()
    interactive = console.is_terminal and sys.stdin.isatty() and not (args.auto or args.fast)
    return run_lesson(lesson, lang, console=console, interactive=interactive,
                      pace=Pace(args.speed, args.fast), record=args.record, svg=args.svg)


def _cmd_show(args: argparse.Namespace, lang: str) -> int:
    from .view import code_view

    lesson = _lesson(args.number, lang)
    roles = [args.role] if args.role else list(lesson.code)
    for role in roles:
        if role not in lesson.code:
            raise UsageError(msg("cli.unknown_role", lang, role=role, lesson=lesson.number,
                                 roles=", ".join(lesson.code)))
    console = _console()
    for role in roles:
        console.print(code_view(lesson, role, lang, diff=args.diff))
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, lang: str) -> int:
    from .runner import run_side

    lesson = _lesson(args.number, lang)
    if args.role not in lesson.code:
        raise UsageError(msg("cli.unknown_role", lang, role=args.role, lesson=lesson.number,
                             roles=", ".join(lesson.code)))
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    return run_side(lesson, args.role, lang, console=_console(), port=args.port)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
