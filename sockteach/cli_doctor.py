"""The ``doctor`` command: what this machine allows sockteach to do, and what that means.

It tries things rather than guessing: a network namespace, ``lo`` brought up, a packet socket
on it and a connect that must not leave are all tried in a forked child
(:func:`sockteach.sandbox.probe`), so this process stays as it was. Always exit 0.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

COMMANDS = ("doctor",)
CGROUP_ROOT = "/sys/fs/cgroup"


def add_commands(subparsers: argparse._SubParsersAction,
                 lang_option: "Callable[[argparse.ArgumentParser], None]") -> None:
    p = subparsers.add_parser("doctor", help="what this machine allows: namespaces, packet "
                                             "capture, cgroups, terminal, language")
    lang_option(p)


def dispatch(args: argparse.Namespace, lang: str) -> int | None:
    if getattr(args, "command", None) == "doctor":
        return cmd_doctor(args, lang)
    return None


def cgroup_v2() -> tuple[bool, str]:
    """(True, the cgroup's folder) if this process's cgroup v2 is writable and offers the
    memory and pids controllers, else (False, why not)."""
    if not os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return False, "no cgroup v2 hierarchy at /sys/fs/cgroup: cgroup v1 or hybrid"
    path = CGROUP_ROOT
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    path = os.path.join(CGROUP_ROOT, line[3:].strip().lstrip("/"))
        with open(os.path.join(path, "cgroup.controllers")) as f:
            controllers = f.read().split()
    except OSError as exc:
        return False, exc.strerror or str(exc)
    missing = [c for c in ("memory", "pids") if c not in controllers]
    if missing:
        return False, f"{path}: no {' or '.join(missing)} controller"
    if not os.access(path, os.W_OK):
        return False, f"{path} is not writable by this user"
    return True, path


def terminal(lang: str) -> str:
    from .i18n import msg

    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())
    except (AttributeError, ValueError, OSError):
        return msg("doctor.terminal_none", lang)
    return msg("doctor.terminal_size", lang, columns=size.columns, lines=size.lines)


def lang_source(option: str | None) -> str:
    if option:
        return "--lang"
    for var in ("SOCKTEACH_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        if os.environ.get(var):
            return f"${var}={os.environ[var]}"
    return "default"


def report(lang: str, probe: dict, cgroup: tuple[bool, str],
           option: str | None = None) -> list[str]:
    """The doctor's lines for ``probe`` (sandbox.probe()) and ``cgroup`` (cgroup_v2())."""
    from . import sandbox
    from .i18n import msg

    yes, no = msg("doctor.yes", lang), msg("doctor.no", lang)

    def no_because(reason: object) -> str:
        return msg("doctor.because", lang, answer=no, reason=reason)

    lines = [msg("doctor.title", lang), ""]
    netns = probe.get("netns")
    if netns is True:
        how = msg("doctor.netns_user" if probe.get("user_namespace") else "doctor.netns_root",
                  lang)
        lines.append(msg("doctor.netns", lang, answer=yes + how))
        lines.append("  " + msg("doctor.netns_means", lang))
        unreachable = probe.get("unreachable")
        lines.append(msg("doctor.unreachable", lang, answer="ENETUNREACH" if unreachable is True
                         else no_because(unreachable)))
    elif netns == f"{sandbox.FORCE_OFF}=1":
        lines.append(msg("doctor.netns", lang, answer=no_because(netns)))
        lines.append("  " + msg("doctor.forced", lang))
    else:
        lines.append(msg("doctor.netns", lang, answer=no_because(netns)))
        lines.append("  " + msg("doctor.netns_refused", lang, reason=netns))
    packet = probe.get("packet", netns if netns is not True else "?")
    lines.append(msg("doctor.packet", lang, answer=yes if packet is True else no_because(packet)))
    lines.append("  " + (msg("doctor.packet_means", lang) if packet is True
                         else msg("doctor.packet_no", lang, reason=packet)))
    ok, where = cgroup
    lines.append(msg("doctor.cgroup", lang, answer=yes if ok else no))
    lines.append("  " + (msg("doctor.cgroup_yes", lang, path=where) if ok
                         else msg("doctor.cgroup_no", lang, reason=where)))
    lines.append(msg("doctor.terminal", lang, answer=terminal(lang)))
    encoding = getattr(sys.stdout, "encoding", None) or "?"
    lines.append(msg("doctor.locale", lang, language=lang, source=lang_source(option),
                     encoding=encoding))
    lines.append("")
    lines.append(msg("doctor.outside", lang))
    return lines


def cmd_doctor(args: argparse.Namespace, lang: str) -> int:
    from . import sandbox

    lines = report(lang, sandbox.probe(), cgroup_v2(), getattr(args, "lang", None))
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0
