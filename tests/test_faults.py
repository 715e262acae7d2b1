"""Faults at random moments: Ctrl-C and SIGTERM strike ``sockteach lesson N``, ``check`` and
``grade`` at a moment drawn from a seeded generator, in a terminal (pexpect) or in a pipe.

Every run must end within 2 s of the signal with one line that says so (no traceback), and
leave no process, no listening socket and no temporary file. A side killed from outside in
the middle of a lesson is reported as such, and the lesson ends cleanly.

The moment is *when the fault strikes*, not a synchronisation: the test never relies on
anything having happened by then. Moments past the end of the command are allowed (it must
then have ended normally and cleanly too).

    SOCKTEACH_FAULT_SEED=7 SOCKTEACH_FAULT_RUNS=20 pytest tests/test_faults.py   # many runs

Each failure names its seed, moment, signal and mode, so a run can be repeated exactly.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import psutil
import pytest

from conftest import ROOT, RUN_MARK, our_processes
from sockteach.i18n import msg
from sockteach.events import Event
from sockteach.narrator import narrate, side_label

SEED = int(os.environ.get("SOCKTEACH_FAULT_SEED", "20261124"))
RUNS = int(os.environ.get("SOCKTEACH_FAULT_RUNS", "2"))
FIXTURES = Path(__file__).parent / "fixtures" / "exercises"
ENDS_WITHIN = 2.0  # seconds from the signal to: the command ended and nothing of it is left
# sockteach's own traceback (a learner's or a lesson's program may show one: that is content)
OUR_TRACEBACK = re.compile(r'File "[^"]*(/sockteach/|<frozen )')
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")


def _fixtures(number: int) -> list[Path]:
    return sorted((FIXTURES / f"ex{number:02d}").glob("*.py"))


def _window(kind: str, number: int) -> float:
    """About how long (s) the command runs uninterrupted on a 2-core machine: the moments are
    drawn from it (one that falls after the end tests a normal, clean end)."""
    if kind == "lesson":
        return {8: 1.9, 9: 1.6, 12: 2.7}.get(number, 1.4)
    if kind == "check":
        return {5: 1.3, 8: 3.7}.get(number, 0.5)
    return 2.5


@dataclass
class Plan:
    kind: str
    number: int
    run: int
    seed: str
    sig: int = 0
    moment: float = 0.0
    tty: bool = False
    lang: str = "en"
    argv: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"{' '.join(self.argv)} | seed {self.seed!r}: {signal.Signals(self.sig).name} "
                f"after {self.moment:.3f} s, {'tty' if self.tty else 'pipe'}, {self.lang} "
                f"(repeat: SOCKTEACH_FAULT_SEED={SEED})")


def plan(kind: str, number: int, run: int) -> Plan:
    seed = f"{SEED}:{kind}:{number}:{run}"
    rng = random.Random(seed)
    p = Plan(kind, number, run, seed)
    # every target gets both signals; which one comes first depends on the seed
    p.sig = (signal.SIGINT, signal.SIGTERM)[(run + rng.randrange(2)) % 2]
    p.moment = rng.uniform(0.0, _window(kind, number))
    p.tty = rng.random() < 0.5
    p.lang = rng.choice(["en", "zh"])
    if kind == "lesson":
        p.argv = ["lesson", str(number), "--auto", "--fast"]
    elif kind == "check":
        p.argv = ["check", str(number), str(rng.choice(_fixtures(number)))]
    else:
        p.argv = ["grade", str(number), *map(str, _fixtures(number)),
                  "--jobs", str(rng.choice([1, 2, 4]))]
    return p


def _listening() -> set[tuple[str, int]]:
    """Loopback TCP sockets in LISTEN held by a process of this test run."""
    found = set()
    for c in psutil.net_connections("inet"):
        if c.status != psutil.CONN_LISTEN or not c.laddr or not c.pid:
            continue
        try:
            ours = psutil.Process(c.pid).environ().get("PYTEST_SOCKTEACH_RUN") == RUN_MARK
        except psutil.Error:
            continue
        if ours and c.laddr.ip in ("127.0.0.1", "::1"):
            found.add((c.laddr.ip, c.laddr.port))
    return found


@dataclass
class Outcome:
    code: int | None
    output: str  # stdout (and stderr, in a terminal)
    errors: str  # stderr (pipe mode only)
    seconds: float | None  # from the signal to the end; None when it ended before


def _env(tmp: Path, lang: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "LINES")}
    (tmp / "tmp").mkdir()
    env.update(TMPDIR=str(tmp / "tmp"), SOCKTEACH_HOME=str(tmp / "home"), SOCKTEACH_LANG=lang)
    return env


def _gone(pid: int, deadline: float) -> None:
    """Wait (until ``deadline``) for the command's processes to be gone."""
    while time.monotonic() < deadline:
        if not our_processes():
            return
        time.sleep(0.02)  # polling a condition with a deadline


def _in_charge(pid: int, deadline: float) -> None:
    """Wait until the command has taken charge of SIGTERM (its entry point does that first).

    Before that, Python itself is still starting (~20 ms): a signal then ends it the way Python
    does. The moments are counted from here."""
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt"))
        except (OSError, StopIteration):
            return  # it has ended already (or no /proc): the run goes on and says so
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.005)  # polling a condition with a deadline
    raise AssertionError("the command did not start within 20 s")


def _strike_tty(p: Plan, env: dict[str, str]) -> Outcome:
    child = pexpect.spawn(sys.executable, ["-m", "sockteach", *p.argv], env=env,
                          encoding="utf-8", dimensions=(40, 110), timeout=None, cwd=str(ROOT))
    try:
        _in_charge(child.pid, time.monotonic() + 20)
        try:
            child.expect(pexpect.EOF, timeout=p.moment)  # drain its output until the moment
            child.wait()
            return Outcome(child.exitstatus if child.exitstatus is not None
                           else -(child.signalstatus or 0), child.before, "", None)
        except pexpect.TIMEOUT:
            pass
        struck = time.monotonic()
        if p.sig == signal.SIGINT:
            child.sendintr()  # the terminal's Ctrl-C: SIGINT to its foreground process group
        else:
            child.kill(signal.SIGTERM)
        try:
            child.expect(pexpect.EOF, timeout=ENDS_WITHIN)
        except pexpect.TIMEOUT:
            return Outcome(None, child.before, "", None)
        child.wait()
        _gone(child.pid, struck + ENDS_WITHIN)
        code = child.exitstatus if child.exitstatus is not None else -(child.signalstatus or 0)
        return Outcome(code, child.before, "", time.monotonic() - struck)
    finally:
        child.close(force=True)


def _strike_pipe(p: Plan, env: dict[str, str]) -> Outcome:
    proc = subprocess.Popen([sys.executable, "-m", "sockteach", *p.argv], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT),
                            start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        _in_charge(proc.pid, time.monotonic() + 20)
        try:
            out, err = proc.communicate(timeout=p.moment)  # drains its output until the moment
            return Outcome(proc.returncode, out, err, None)
        except subprocess.TimeoutExpired:
            pass
        struck = time.monotonic()
        if p.sig == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)  # a shell's Ctrl-C: the whole job gets it
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=ENDS_WITHIN)
        except subprocess.TimeoutExpired:
            return Outcome(None, "", "", None)
        _gone(proc.pid, struck + ENDS_WITHIN)
        return Outcome(proc.returncode, out, err, time.monotonic() - struck)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _targets() -> list[tuple[str, int, int]]:
    out = []
    for run in range(RUNS):
        out += [("lesson", n, run) for n in range(1, 13)]
        out += [("check", n, run) for n in range(1, 13)]
        out += [("grade", n, run) for n in (1, 3, 4, 6, 9, 11)]
    return out


@pytest.mark.parametrize("kind, number, run", _targets(),
                         ids=[f"{k}{n}-run{r}" for k, n, r in _targets()])
def test_a_signal_at_a_random_moment_ends_the_command_cleanly(kind, number, run, tmp_path):
    p = plan(kind, number, run)
    listening = _listening()
    env = _env(tmp_path, p.lang)
    outcome = (_strike_tty if p.tty else _strike_pipe)(p, env)
    where = p.describe()
    text = ANSI.sub("", outcome.output + outcome.errors)

    assert outcome.code is not None, f"still running {ENDS_WITHIN} s after the signal: {where}"
    assert not OUR_TRACEBACK.search(text), f"{where}\n{text[-3000:]}"
    if outcome.seconds is None or outcome.code in (0, 1):
        # The moment came after its end, or as it was ending (its work done, it ignores a late
        # signal on the way out): a normal, clean end.
        assert outcome.code in (0, 1), f"{where}: exit {outcome.code}\n{text[-2000:]}"
        assert msg("cli.interrupted", p.lang) not in text, where
        # struck while still at work, it must not carry on as if nothing happened
        assert outcome.seconds is None or outcome.seconds < 0.5, \
            f"{where}: the signal was ignored; it ended normally {outcome.seconds:.2f} s later"
    else:
        expected = {signal.SIGINT: 130, signal.SIGTERM: 143}[p.sig]
        assert outcome.code == expected, f"{where}: exit {outcome.code}\n{text[-2000:]}"
        line = msg("cli.interrupted" if p.sig == signal.SIGINT else "cli.terminated", p.lang)
        if p.tty:
            lines = [x.strip() for x in text.splitlines() if x.strip()]
            # the last line: the view's last frame (left behind on the alternate screen),
            # the terminal's echo of ^C, then the message
            assert lines and lines[-1].endswith(line), f"{where}\n{text[-2000:]}"
            assert text.count(line) == 1, f"{where}\n{text[-2000:]}"
        else:
            assert outcome.errors.strip() == line, f"{where}\nstderr: {outcome.errors!r}"
        assert outcome.seconds <= ENDS_WITHIN, f"{where}: took {outcome.seconds:.2f} s"

    left = our_processes()
    assert not left, f"{where}: left running {[p.info['cmdline'] for p in left]}"
    assert not (_listening() - listening), f"{where}: a listening socket was left"
    strays = [str(x.relative_to(tmp_path)) for x in tmp_path.rglob("*")
              if x.parent.name == "tmp" or x.name.startswith(".progress-")]
    assert not strays, f"{where}: temporary files left: {strays}"


# ----- a side killed from outside ------------------------------------------------------------


def _first_side(proc: subprocess.Popen, deadline: float) -> psutil.Process | None:
    """The first traced side the lesson started (polled until ``deadline``)."""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            for c in psutil.Process(proc.pid).children(recursive=True):
                if any(part.endswith("tracer.py") for part in c.cmdline()):
                    return c
        except psutil.Error:
            pass
        time.sleep(0.01)  # polling a condition with a deadline
    return None


def _has_socket(process: psutil.Process) -> bool:
    """Whether ``process`` holds a socket (its fds, not psutil.net_connections: the lesson
    runs in a network namespace of its own, whose sockets this process's /proc/net omits)."""
    fds = f"/proc/{process.pid}/fd"
    try:
        names = os.listdir(fds)
    except OSError:  # gone already
        return False
    for fd in names:
        try:
            if os.readlink(f"{fds}/{fd}").startswith("socket:"):
                return True
        except OSError:
            continue
    return False


@pytest.mark.parametrize("number", range(1, 13))
def test_a_side_killed_from_outside_is_reported_and_the_lesson_ends_cleanly(number, tmp_path):
    rng = random.Random(f"{SEED}:kill:{number}")
    lang = rng.choice(["en", "zh"])
    env = _env(tmp_path, lang)
    env["COLUMNS"] = "400"  # one narration line per event: no wrapping to match across
    proc = subprocess.Popen([sys.executable, "-m", "sockteach", "lesson", str(number),
                             "--auto", "--fast"], env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(ROOT), stdin=subprocess.DEVNULL)
    try:
        side = _first_side(proc, time.monotonic() + 20)
        assert side is not None, "the lesson started no side"
        name = side.environ()["SOCKTEACH_SIDE"]
        # the moment: as soon as that side has made its first socket call (it is needed later)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if _has_socket(side) or side.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.Error:
                break
            time.sleep(0.01)  # polling a condition with a deadline
        side.kill()
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    text = out + err
    assert "Traceback" not in text, text[-3000:]
    told = narrate(Event(0.0, name, "exit", code=-signal.SIGKILL, text="outside"), lang)
    assert told in text, text[-3000:]
    # the first side is needed later in every lesson: it cannot go on, and the last line says
    # which side was killed, and that the lesson did not do it
    assert proc.returncode == 1, text[-2000:]
    why = msg("scenario.killed_outside", lang, side=side_label(name, lang), signame="SIGKILL")
    assert text.rstrip().splitlines()[-1].endswith(why), text[-2000:]
    assert not our_processes()
    assert not list((tmp_path / "tmp").iterdir())
