"""The exercise commands as a learner and a teacher use them: real ``sockteach`` processes."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import run_cli
from sockteach import exercises

FIXTURES = Path(__file__).parent / "fixtures" / "exercises"
GOOD = FIXTURES / "ex01" / "good_with_sendall.py"
BAD = FIXTURES / "ex01" / "bad_not_upper.py"


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SOCKTEACH_HOME", str(home))
    return {"SOCKTEACH_HOME": str(home), "SOCKTEACH_LANG": "en"}


def test_a_learner_starts_checks_gets_hints_and_then_the_solution(tmp_path, env):
    r = run_cli("start", "1", env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    script = tmp_path / "sockteach-work" / "01-naive-echo" / "server.py"
    starter = exercises.get(1).starter.read_text(encoding="utf-8")
    assert script.read_text(encoding="utf-8") == starter
    assert "Exercise 1" in (script.parent / "README.md").read_text(encoding="utf-8")

    again = run_cli("start", "1", env=env, cwd=str(tmp_path))
    assert again.returncode == 2 and "--force" in again.stderr

    r = run_cli("solution", "1", env=env, cwd=str(tmp_path))
    assert r.returncode == 1 and "sockteach check 1" in r.stdout + r.stderr
    assert "phone.listen(5)" not in r.stdout

    r = run_cli("check", "1", env=env, cwd=str(tmp_path))  # the starter, where start wrote it
    assert r.returncode == 1, r.stderr
    assert "✘ 2. listens on a loopback port" in r.stdout and "Hint:" in r.stdout
    r = run_cli("hint", "1", env=env, cwd=str(tmp_path))
    assert r.returncode == 0 and "listens on a loopback port" in r.stdout
    assert "phone.listen(5)" in r.stdout

    shutil.copyfile(exercises.get(1).solution, script)
    r = run_cli("check", "1", env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All checks passed — 5/5" in r.stdout
    r = run_cli("list", env=env, cwd=str(tmp_path))
    assert "✔ passed" in r.stdout
    r = run_cli("solution", "1", env=env, cwd=str(tmp_path))
    assert r.returncode == 0 and "phone.listen(5)" in r.stdout


def test_check_json_is_one_object_on_stdout_even_with_force_color(tmp_path, env):
    r = run_cli("check", "1", str(BAD), "--json", env={**env, "FORCE_COLOR": "true"},
                cwd=str(tmp_path))
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert "\x1b[" not in r.stdout
    assert set(data) == {"lesson", "passed", "score", "max_score", "checks"}
    assert data["lesson"] == 1 and data["passed"] is False
    assert data["score"] == 3 and data["max_score"] == 5
    upper = next(c for c in data["checks"] if c["name"] == "upper_reply")
    assert set(upper) == {"name", "passed", "score", "max_score", "message", "hint"}
    assert "Sent b'hello', expected b'HELLO' back, got b'hello'" in upper["message"]
    assert upper["hint"]

    r = run_cli("check", "1", str(GOOD), "--json", env=env, cwd=str(tmp_path))
    assert r.returncode == 0 and json.loads(r.stdout)["passed"] is True


def test_check_speaks_chinese(tmp_path, env):
    r = run_cli("check", "1", str(BAD), "--lang", "zh", env=env, cwd=str(tmp_path))
    assert r.returncode == 1
    assert "发送 b'hello'，应该收到 b'HELLO'，实际收到 b'hello'" in r.stdout
    assert "提示：" in r.stdout


def test_a_recorded_check_judged_again_gives_the_same_verdicts_and_exit_code(tmp_path, env):
    record = tmp_path / "run.jsonl"
    r = run_cli("check", "1", str(BAD), "--json", "--record", str(record), env=env,
                cwd=str(tmp_path))
    assert r.returncode == 1, r.stderr
    checked = json.loads(r.stdout)
    assert record.read_text(encoding="utf-8").startswith('{"format": "sockteach-events"')
    again = run_cli("rejudge", "1", str(record), "--json", env=env, cwd=str(tmp_path))
    assert again.returncode == 1, again.stderr
    assert json.loads(again.stdout) == checked
    shown = run_cli("rejudge", "1", str(record), env=env, cwd=str(tmp_path))
    assert shown.returncode == 1 and "got b'hello'" in shown.stdout

    good = tmp_path / "good.jsonl"
    r = run_cli("check", "1", str(GOOD), "--record", str(good), env=env, cwd=str(tmp_path))
    assert r.returncode == 0 and "rejudge 1" in r.stderr
    assert run_cli("rejudge", "1", str(good), env=env, cwd=str(tmp_path)).returncode == 0
    other = run_cli("rejudge", "3", str(good), env=env, cwd=str(tmp_path))
    assert other.returncode == 2 and "exercise 1" in other.stderr
    no_run = tmp_path / "no-run.jsonl"
    no_run.write_text(record.read_text(encoding="utf-8").splitlines()[0] + "\n"
                      + '{"t": 0, "side": "server", "kind": "exit", "code": 0}\n', encoding="utf-8")
    r = run_cli("rejudge", "1", str(no_run), env=env, cwd=str(tmp_path))
    assert r.returncode == 2 and "no grading run" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("args", [
    ("rejudge", "1", "no-such-record.jsonl"),
    ("rejudge", "1", str(GOOD)),  # a Python file, not a record
    ("rejudge", "99", str(GOOD)),
    ("check", "1", str(GOOD), "--record", "no-such-folder/run.jsonl"),
    ("check", "99", str(GOOD)),
    ("check", "1", "no-such-file.py"),
    ("check", "1"),  # nothing started here
    ("start", "0"),
    ("hint", "x"),
    ("grade", "1", "no-such-folder"),
    ("grade", "1", str(GOOD), "--jobs", "0"),
    ("grade", "1", str(GOOD), "--format", "xml"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, env, args):
    r = run_cli(*args, env=env, cwd=str(tmp_path))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("sockteach: ") and r.stdout == ""


def test_a_folder_is_a_submission(tmp_path, env):
    named = tmp_path / "alice"
    named.mkdir()
    shutil.copyfile(GOOD, named / "server.py")
    (named / "notes.py").write_text("# not the submission\n")
    other = tmp_path / "bob"
    other.mkdir()
    shutil.copyfile(BAD, other / "my_server.py")
    empty = tmp_path / "carol"
    empty.mkdir()
    r = run_cli("grade", "1", str(named), str(other), str(empty), "--format", "json",
                env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["submission"] for d in data] == [str(named), str(other), str(empty)]
    assert [d["passed"] for d in data] == [True, False, False]
    assert "no server.py and no .py file" in data[2]["checks"][0]["message"]


@pytest.fixture(scope="module")
def graded_formats(tmp_path_factory):
    """One small batch, graded once per format by the real command."""
    out = {}
    tmp = tmp_path_factory.mktemp("grade")
    env = {"SOCKTEACH_HOME": str(tmp / "home"), "SOCKTEACH_LANG": "en"}
    for fmt in ("json", "csv", "gradescope", "junit", "table"):
        r = run_cli("grade", "1", str(GOOD), str(BAD), "--jobs", "2", "--format", fmt,
                    env={**env, "COLUMNS": "200"}, cwd=str(tmp))
        assert r.returncode == 0, r.stderr
        out[fmt] = r.stdout
    r = run_cli("grade", "1", str(GOOD), "--format", "gradescope", "--out",
                str(tmp / "results.json"), env=env, cwd=str(tmp))
    assert r.returncode == 0 and r.stdout == ""
    out["gradescope_one"] = (tmp / "results.json").read_text(encoding="utf-8")
    return out


def test_grade_json(graded_formats):
    data = json.loads(graded_formats["json"])
    assert [(d["submission"], d["passed"]) for d in data] == [(str(GOOD), True), (str(BAD), False)]
    for d in data:
        assert set(d) == {"submission", "lesson", "passed", "score", "max_score", "checks"}


def test_grade_csv(graded_formats):
    rows = list(csv.DictReader(io.StringIO(graded_formats["csv"])))
    assert [r["passed"] for r in rows] == ["true", "false"]
    assert rows[1]["upper_reply"] == "0" and rows[1]["runs"] == "1"
    assert rows[1]["failed"] == "upper_reply several_messages"


def test_grade_gradescope(graded_formats):
    one = json.loads(graded_formats["gradescope_one"])
    assert one["score"] == 5 and len(one["tests"]) == 5
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in one["tests"])
    both = json.loads(graded_formats["gradescope"])
    assert both["score"] == 8 and len(both["tests"]) == 10
    failed = [t for t in both["tests"] if t["status"] == "failed"]
    assert len(failed) == 2 and all(t["name"].startswith(str(BAD)) for t in failed)
    assert all({"name", "score", "max_score", "status", "output"} <= set(t) for t in both["tests"])


def test_grade_junit(graded_formats):
    root = ET.fromstring(graded_formats["junit"])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(GOOD), str(BAD)]
    assert [s.get("failures") for s in suites] == ["0", "2"]
    failures = suites[1].findall("testcase/failure")
    assert "expected b'HELLO' back, got b'hello'" in failures[0].get("message")


def test_grade_table_has_the_summary(graded_formats):
    text = graded_formats["table"]
    assert str(BAD) in text and "5/5" in text and "3/5" in text
    assert "Pass rate" in text and "Most missed: answers hello with HELLO — 1 of 2" in text
    assert "\x1b[" not in text


def test_the_python_api(tmp_path, monkeypatch):
    import sockteach

    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))
    result = sockteach.check(4, exercises.get(4).solution)
    assert result.passed and result.score == result.max_score == 7
    assert [c.name for c in result.checks] == ["runs", "listens", "echo", "next_client", "restart"]
    assert "All checks passed" in str(result) and "TIME_WAIT" in str(result)
    assert exercises.progress() == {4: "✔ passed"}
    with pytest.raises(exercises.NoSubmission):
        sockteach.check(4, tmp_path / "nothing.py")


def test_grade_on_a_terminal_shows_the_summary_and_a_machine_format_stays_clean(tmp_path, env):
    import os
    import sys

    import pexpect

    full = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    full.update(env, TERM="xterm-256color", COLUMNS="160")
    child = pexpect.spawn(sys.executable, ["-m", "sockteach", "grade", "1", str(GOOD), str(BAD),
                                           "--jobs", "2"], cwd=str(tmp_path), env=full,
                          encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "Pass rate" in child.before and "Most missed" in child.before
    assert "2 submission(s) graded" in child.before

    out = tmp_path / "report.csv"
    child = pexpect.spawn(sys.executable, ["-m", "sockteach", "grade", "1", str(GOOD), "--format",
                                           "csv", "--out", str(out)], cwd=str(tmp_path), env=full,
                          encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "Wrote" in child.before and "Pass rate" in child.before  # a person is watching
    text = out.read_text(encoding="utf-8")
    assert text.startswith("submission,passed,score") and "\x1b[" not in text
