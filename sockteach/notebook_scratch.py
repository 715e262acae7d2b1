"""Scratch folders of notebook kernels that were killed: marked with their owner, swept later.

A session's scratch folder (``$TMPDIR/sockteach-…``, see :func:`sockteach.session.scratch_dir`)
is removed when the session closes, or by ``atexit`` — but a kernel killed with ``kill -9``
(or the machine's OOM killer) runs neither, and the folder stays. So the notebook writes an
owner mark into each session's folder it starts — the kernel's pid and that process's start
time — and, the first time a later kernel plays or serves a lesson, removes every
``sockteach-*`` folder of this user whose owner is gone (no such pid, or a pid now reused by
a process started at another time). Folders without a mark (the command line's, which cleans
up after itself on Ctrl-C and SIGTERM) are never touched, nor are other users' folders.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

OWNER = ".sockteach-owner"  # in the session's folder: "<pid> <process start time>"
PREFIX = "sockteach-"
_swept = threading.Event()


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if there is none."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def folder_of(session: Any) -> Path:
    """A session's scratch folder (the one its trace channel lives in)."""
    return Path(session.channel_path).parent


def claim(session: Any) -> None:
    """Mark ``session``'s scratch folder as this process's."""
    started = _started(os.getpid())
    try:
        (folder_of(session) / OWNER).write_text(f"{os.getpid()} {started!r}\n", encoding="ascii")
    except OSError:
        pass  # no mark: the folder is only cleaned by its own session, as before


def orphaned(path: Path) -> bool:
    """Whether ``path`` is a marked scratch folder of this user whose owner is gone."""
    try:
        if path.is_symlink() or not path.is_dir() or path.stat().st_uid != os.getuid():
            return False
        pid_text, started_text = (path / OWNER).read_text(encoding="ascii").split()
        pid, started = int(pid_text), float(started_text)
    except (OSError, ValueError):
        return False
    now = _started(pid)
    return now is None or abs(now - started) > 1.0


def sweep(base: str | os.PathLike | None = None, force: bool = False) -> list[Path]:
    """Remove the orphaned scratch folders in ``base`` (default: the temp folder), once per
    process unless ``force``. Returns what was removed."""
    if _swept.is_set() and not force:
        return []
    _swept.set()
    removed = []
    root = Path(base or tempfile.gettempdir())
    try:
        candidates = sorted(root.glob(PREFIX + "*"))
    except OSError:
        return []
    for path in candidates:
        if path.name.startswith(PREFIX) and orphaned(path):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    return removed
