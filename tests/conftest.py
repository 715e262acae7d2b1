"""Shared fixtures: a clean environment for rendering, and no process left behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"
# Every process this test run starts inherits this marker, so the leak check below finds our
# processes only (not those of another test run on the same machine).
RUN_MARK = os.environ.setdefault("PYTEST_SOCKTEACH_RUN", f"{os.getpid()}-{os.urandom(4).hex()}")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the developers' tools (qa/) live beside the package
    sys.path.insert(1, str(ROOT))


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "LINES", "SOCKTEACH_LANG"):
        monkeypatch.delenv(var, raising=False)


def our_processes() -> list:
    """Processes started under our tracer (by any session) that are still running."""
    import psutil

    found = []
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            cmd = p.info["cmdline"] or []
            if p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(part.endswith("sockteach/tracer.py") for part in cmd):
                if p.environ().get("PYTEST_SOCKTEACH_RUN") == RUN_MARK:
                    found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.fixture(autouse=True)
def _no_stray_processes():
    """Every test must leave no traced process behind (they are killed, and the test fails)."""
    yield
    import psutil

    left = our_processes()
    if left:
        desc = [f"{p.pid} {' '.join(p.info['cmdline'] or [])}" for p in left]
        for p in left:
            try:
                p.kill()
            except psutil.Error:
                pass
        pytest.fail("processes left running:\n" + "\n".join(desc))


@pytest.fixture(scope="session", autouse=True)
def _nothing_of_ours_left_at_the_end():
    """After the whole run: no session still open, no scratch folder, no listening socket of
    this process (a traced process left would already have failed its test)."""
    yield
    import sys

    import psutil

    problems = []
    session = sys.modules.get("sockteach.session")
    if session is not None:
        problems += [f"session still open: {s.channel_path}" for s in list(session._LIVE)]
        problems += [f"scratch folder left: {p}" for p in list(session._SCRATCH) if p.exists()]
    problems += [f"listening: {c.laddr}" for c in psutil.Process().net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert not problems, "\n".join(problems)


def program(name: str) -> Path:
    return PROGRAMS / name


def run_cli(*args: str, timeout: float = 60, env: dict | None = None, cwd: str | None = None):
    """Run ``python -m sockteach ARGS`` as a real process without a tty."""
    import subprocess

    full_env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "sockteach", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=cwd)
