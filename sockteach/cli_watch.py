"""The ``watch`` and ``replay`` commands.

``add_commands(subparsers, lang_option)`` adds the sub-parsers; ``dispatch(args, lang)`` runs
one of them and returns the exit code (None when the command is not one of these). Bad input
raises :class:`sockteach.cli.UsageError` (exit 2, one line).
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:  # annotations are strings here
    from pathlib import Path
    from typing import Callable

COMMANDS = ("watch", "replay")


def add_commands(subparsers: argparse._SubParsersAction,
                 lang_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``watch`` and ``replay`` to the ``sockteach`` parser."""
    p = subparsers.add_parser(
        "watch", help="run your own program(s) under the tracer, narrated live",
        description="Run your own programs under the tracer in the lesson's live view: every "
                    "socket call narrated, who is blocked where, a diagnosis when it hangs. "
                    "Type into the program that waits in input() (Tab switches when several "
                    "wait). Output printed again and again shows as one line whose count "
                    "climbs. Ends when your programs end, or on Ctrl-C (exit 130); when "
                    "stdout is not a terminal, also once the peer has done what the lesson "
                    "does and nothing new has happened for a few seconds. Nothing is left "
                    "running.")
    p.add_argument("scripts", nargs="+", metavar="SCRIPT", help="your program(s), e.g. "
                   "server.py client.py")
    p.add_argument("--peer", metavar="N:ROLE", default=None,
                   help="add lesson N's ROLE program as the other side, driven as the "
                        "lesson drives it (the lesson's lines typed into it), e.g. 3:client "
                        "(your server with lesson 3's client) or 2:server")
    p.add_argument("--record", metavar="FILE", help="save every event as JSON lines "
                                                    "(sockteach replay FILE plays it back)")
    p.add_argument("--real-ports", action="store_true",
                   help="use the ports your programs ask for (default: the usual ports "
                        "8081, 8080… are mapped to free ones, so nothing stale collides)")
    lang_option(p)

    p = subparsers.add_parser(
        "replay", help="replay a --record file in the live view, or export it as a diagram",
        description="Replay a recorded run (sockteach lesson/watch --record FILE) in the same "
                    "view. In a terminal: ←/→ step one event back/forward, Space plays or "
                    "pauses, q quits. Not in a terminal: prints the final screen. --svg/--html "
                    "write the whole run as a sequence diagram (server | wire | client).")
    p.add_argument("file", metavar="FILE.jsonl", help="a file written by --record")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="play X times as fast as it happened (default 1)")
    p.add_argument("--svg", metavar="FILE", help="write the sequence diagram as SVG")
    p.add_argument("--html", metavar="FILE", help="write the sequence diagram as a "
                                                  "self-contained HTML page")
    lang_option(p)


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.05 <= value <= 100:
        raise argparse.ArgumentTypeError("--speed must be between 0.05 and 100")
    return value


def dispatch(args: argparse.Namespace, lang: str) -> int | None:
    """Run ``watch`` or ``replay``; None if ``args.command`` is neither."""
    command = getattr(args, "command", None)
    if command == "watch":
        return cmd_watch(args, lang)
    if command == "replay":
        return cmd_replay(args, lang)
    return None


def _usage(message: str) -> Exception:
    from .cli import UsageError

    return UsageError(message)


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _writable(path: str | None, lang: str) -> None:
    from .i18n import msg

    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise _usage(msg("cli.no_dir", lang, path=path))


def parse_peer(text: str, lang: str):
    """``"3:client"`` → (lesson 3, "client"); UsageError for anything else."""
    from . import lessons
    from .i18n import msg

    number, sep, role = text.partition(":")
    if not sep or not number.strip() or not role.strip():
        raise _usage(msg("watch.bad_peer", lang, text=text))
    try:
        lesson = lessons.get(number.strip())
    except lessons.UnknownLesson:
        raise _usage(msg("cli.unknown_lesson", lang, number=number.strip(),
                         count=len(lessons.course()))) from None
    role = role.strip()
    if role not in lesson.code:
        raise _usage(msg("cli.unknown_role", lang, role=role, lesson=lesson.number,
                         roles=", ".join(lesson.code)))
    return lesson, role


def cmd_watch(args: argparse.Namespace, lang: str) -> int:
    from .i18n import msg

    if sys.platform == "win32":
        raise _usage(msg("cli.no_pty", lang))
    from pathlib import Path

    scripts = []
    for s in args.scripts:
        path = Path(s)
        if not path.is_file():
            raise _usage(msg("watch.no_file", lang, path=s))
        scripts.append(path.resolve())
    peer = parse_peer(args.peer, lang) if args.peer else None
    _writable(args.record, lang)
    from .watch import become_subreaper, plan, run_watch, title

    become_subreaper()
    programs = plan(scripts, peer)
    return run_watch(programs, lang, console=_console(), title=title(programs, lang, peer),
                     peer=peer, record=args.record, map_ports=False if args.real_ports else None)


def cmd_replay(args: argparse.Namespace, lang: str) -> int:
    from . import replay
    from .i18n import msg

    from .events import VERSION, FormatError

    try:
        events = replay.load(args.file)
    except FormatError as exc:
        if exc.newer is None:
            raise _usage(msg("replay.bad_file", lang, path=args.file, error=exc)) from None
        raise _usage(msg("replay.newer", lang, path=args.file, version=exc.newer,
                         ours=VERSION)) from None
    except FileNotFoundError:
        raise _usage(msg("watch.no_file", lang, path=args.file)) from None
    except (OSError, ValueError, TypeError) as exc:
        raise _usage(msg("replay.bad_file", lang, path=args.file, error=exc)) from None
    if not events:
        raise _usage(msg("replay.empty", lang, path=args.file))
    for path in (args.svg, args.html):
        _writable(path, lang)
    explicit = getattr(args, "lang", None)
    from pathlib import Path

    run = replay.Replay(events, explicit, fallback=lang, name=Path(args.file).name)
    console = _console()
    if args.svg or args.html:
        from . import diagram

        if args.svg:
            diagram.save_svg(args.svg, run.events, run.lang, run.lesson, run.title)
            console.print(msg("replay.wrote", run.lang, path=args.svg))
        if args.html:
            diagram.save_html(args.html, run.events, run.lang, run.lesson, run.title)
            console.print(msg("replay.wrote", run.lang, path=args.html))
        return 0
    return replay.play(run, console=console, speed=args.speed)


def main(argv: list[str] | None = None) -> int:
    """Run only these commands (``python -m sockteach.cli_watch watch …``); the ``sockteach``
    command reaches the same code through :func:`dispatch`."""
    import signal

    from . import cli
    from .i18n import msg, pick_lang

    parser = cli._Parser(prog="sockteach")
    cli._lang_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=cli._Parser)
    add_commands(sub, cli._lang_option)
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = pick_lang(cli._peek_lang(argv))
    try:
        from .entry import take_signals

        take_signals()
    except (ValueError, AttributeError):
        pass
    try:
        args = parser.parse_args(argv)
        lang = pick_lang(getattr(args, "lang", None))
        code = dispatch(args, lang)
        return 2 if code is None else code
    except cli.UsageError as exc:
        sys.stderr.write(f"sockteach: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(msg("watch.interrupted", lang) + "\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
