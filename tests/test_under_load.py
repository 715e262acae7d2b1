"""A program that dies at once keeps its traceback, however busy the machine is: its stderr is
captured inside the traced process, so nothing races the terminal. Graded 4 at a time while two
busy loops take both cores."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PROGRAMS, run_cli

EX03 = Path(__file__).parent / "fixtures" / "exercises" / "ex03"
CASES = {"bad_import": (EX03 / "bad_import.py", "ModuleNotFoundError: No module named 'socketserverr'"),
         "syntax": (PROGRAMS / "syntax_error.py", "SyntaxError")}


def test_tracebacks_survive_a_busy_machine(tmp_path):
    files = []
    for i in range(12):
        name = "bad_import" if i % 3 else "syntax"
        folder = tmp_path / f"{name}{i}"
        folder.mkdir()
        shutil.copy(CASES[name][0], folder / "server.py")
        files.append((name, folder))
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        result = run_cli("grade", "3", *[str(f) for _, f in files], "--jobs", "4",
                         "--format", "json", timeout=600)
    finally:
        for b in burners:
            b.kill()
            b.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    report = {Path(r["submission"]).name: r for r in json.loads(result.stdout)}
    assert len(report) == len(files)
    for name, folder in files:
        first = report[folder.name]["checks"][0]
        shown = first["message"] + "\n" + first.get("output", "")
        assert first["name"] == "runs" and not first["passed"], first
        assert CASES[name][1] in shown, (folder.name, first)


def test_a_busy_loop_is_called_busy_however_loaded_the_machine(tmp_path):
    """The grader asks the kernel whether the program is runnable, so a busy loop starved of
    CPU by a loaded machine (here eight busy loops on the cores) is still said to be busy."""
    from sockteach import exercises, grading

    busy = Path(__file__).parent / "fixtures" / "exercises" / "robust" / "busy_loop.py"
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(8)]
    try:
        result = grading.grade_one(exercises.get(3), busy, "en")
    finally:
        for b in burners:
            b.kill()
            b.wait(timeout=10)
    first = next(c for c in result.checks if not c.passed)
    assert first.name == "listens", str(result)
    assert "CPU busy" in first.message, str(result)
