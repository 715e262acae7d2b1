"""The ``sockteach`` command's entry point: it takes charge of Ctrl-C and SIGTERM before
anything else is imported, so a signal at any moment ends the command with one line."""

import os
import signal
import sys

_MAIN_PID = os.getpid()


def on_signal(signum, frame):
    """Ctrl-C raises KeyboardInterrupt, SIGTERM SystemExit(143): the command unwinds, stops
    what it started and says so in one line. A process forked from it that has not yet become
    the program it runs (a side between fork and exec) just leaves: the unwinding is not its."""
    if os.getpid() != _MAIN_PID:
        os._exit(128 + signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def take_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)


def ignore_signals() -> None:
    """On the way out: a second Ctrl-C (or a late signal) must not cut the clean-up short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):  # not the main thread
            pass


# Commands whose every run gets a network namespace of its own (sockteach.sandbox), with
# (nominal_ports, true_addresses): may its sessions use the lessons' ports as they are (grade
# runs several at once: no), and may the tracer leave addresses alone (check and grade: no —
# a verdict must not depend on whether the machine allows namespaces).
NAMESPACED = {"lesson": (True, True), "watch": (True, True), "check": (True, False),
              "grade": (False, False)}


def command_of(argv: list[str]) -> str | None:
    """The command word of ``argv`` (``--lang X`` may come first), or None."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--lang":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def contain(argv: list[str]) -> int | None:
    """A namespaced command enters its namespace here, while the process is still one
    thread; where the kernel refuses, one line on stderr says which protections hold.
    An exit status when the command cannot go on (stranded in a namespace), else None."""
    command = command_of(argv)
    if command not in NAMESPACED or any(a in ("-h", "--help") for a in argv):
        return None
    from . import sandbox

    nominal_ports, true_addresses = NAMESPACED[command]
    if sandbox.enter(nominal_ports, true_addresses) or sandbox.reason() is None:
        return None
    from .cli import _peek_lang
    from .i18n import msg, pick_lang

    lang = pick_lang(_peek_lang(argv))
    if sandbox.stranded():
        line = msg("sandbox.stranded", lang, reason=sandbox.reason(), force=sandbox.FORCE_OFF)
    else:
        line = sandbox.fallback_line(lang)
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return 1 if sandbox.stranded() else None


def run() -> int:
    take_signals()
    try:
        status = contain(sys.argv[1:])
        if status is not None:
            return status
        from .cli import main
    except (KeyboardInterrupt, SystemExit) as exc:  # struck while the command was loading
        ignore_signals()
        interrupted = isinstance(exc, KeyboardInterrupt)
        from .i18n import msg, pick_lang

        sys.stderr.write(msg("cli.interrupted" if interrupted else "cli.terminated",
                             pick_lang()) + "\n")
        _exit_now(130 if interrupted else 143)
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code
    if code in (130, 143):
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Interrupted: everything it started is stopped and the line is written, so leave with
    that status now. (Left to the interpreter's exit, a Ctrl-C that came as a module was
    loading can still turn the status into "killed by SIGINT".)"""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
