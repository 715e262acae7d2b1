"""The grader's pure parts, in memory: results, reports, texts, progress, submission paths."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sockteach import exercises
from sockteach.grading import report
from sockteach.grading.result import CheckResult, Result
from sockteach.grading.texts import catalog
from sockteach.grading.trial import last_error, tail


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def sample(submission: str = "alice/server.py", passed: bool = False) -> Result:
    ex = exercises.get(1)
    checks = []
    for i, spec in enumerate(ex.checks):
        ok = passed or i < 3
        checks.append(CheckResult(spec.name, spec.title["en"], ok, spec.score if ok else 0,
                                  spec.score, "Sent b'hello', got b'hello\\n' <&>" if not ok
                                  else "fine", spec.hint["en"],
                                  "Traceback (most recent call last):\nValueError: x" if i == 3
                                  else "", i <= 3, 0.01))
    return Result(1, "An upper-case echo server", "server.py", checks, "en", submission, 0.5)


def test_check_json_has_exactly_the_documented_keys():
    d = sample().to_dict()
    assert set(d) == {"lesson", "passed", "score", "max_score", "checks"}
    assert d["lesson"] == 1 and d["passed"] is False and d["score"] == 3 and d["max_score"] == 5
    for c in d["checks"]:
        assert set(c) == {"name", "passed", "score", "max_score", "message", "hint"}
        assert isinstance(c["message"], str) and isinstance(c["hint"], str)
    assert d["checks"][0]["hint"] == ""  # passed: no hint
    assert "ValueError: x" in d["checks"][3]["message"]  # the traceback is part of the message
    assert "submission" in sample().to_dict(submission=True)


def test_checklist_renders_as_plain_text_and_for_jupyter():
    r = sample()
    text = str(r)
    assert text == repr(r)
    assert "✔ 1. starts without an error" in text and "✘ 4." in text and "– 5." in text
    assert "Sent b'hello', got b'hello\\n'" in text and "ValueError: x" in text
    assert "Hint:" in text and "Score 3/5" in text
    assert all(line == line.rstrip() for line in text.splitlines())
    bundle = r._repr_mimebundle_([], [])
    assert "text/html" in bundle and "starts without an error" in bundle["text/html"]
    assert "All checks passed" in str(sample(passed=True))


def test_report_formats_parse():
    ex = exercises.get(1)
    results = [sample("a/server.py"), sample("b/server.py", passed=True)]
    data = json.loads(report.to_json(results))
    assert [d["submission"] for d in data] == ["a/server.py", "b/server.py"]
    assert data[1]["passed"] is True
    rows = list(csv.DictReader(io.StringIO(report.to_csv(results, ex))))
    assert rows[0]["submission"] == "a/server.py" and rows[0]["score"] == "3"
    assert rows[0]["failed"] == "upper_reply several_messages" and rows[1]["passed"] == "true"
    gs = json.loads(report.to_gradescope(results[:1], 1.25))
    assert gs["score"] == 3 and gs["execution_time"] == 1.25
    assert len(gs["tests"]) == 5
    for t in gs["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(t)
        assert t["status"] in ("passed", "failed")
    assert "Hint:" in gs["tests"][3]["output"]
    root = ET.fromstring(report.to_junit(results, ex))
    assert root.tag == "testsuites" and root.get("failures") == "2"
    suites = root.findall("testsuite")
    assert len(suites) == 2 and len(suites[0].findall("testcase")) == 5
    failure = suites[0].findall("testcase")[3].find("failure")
    assert failure is not None and "<&>" in failure.get("message")  # escaped, parsed back


def test_summary_names_the_check_the_class_missed_most():
    ex = exercises.get(1)
    text = report.table_text([sample("a"), sample("b"), sample("c", passed=True)], ex, "en")
    assert "answers hello with HELLO" in text and "1/3" in text
    assert "Most missed: answers hello with HELLO — 2 of 3" in text


def test_grader_texts_have_the_same_keys_in_both_languages():
    en, zh = catalog("en"), catalog("zh")
    assert set(en) == set(zh)
    for key, value in en.items():
        names = {p.split("}")[0].split(":")[0] for p in value.split("{")[1:]}
        names_zh = {p.split("}")[0].split(":")[0] for p in zh[key].split("{")[1:]}
        assert names == names_zh, key


def test_last_error_and_tail():
    out = ('Traceback (most recent call last):\n  File "server.py", line 3, in <module>\n'
           '    phone.bind(x)\nOSError: [Errno 98] Address already in use\n')
    assert last_error(out) == "OSError: [Errno 98] Address already in use"
    assert last_error("  File \"client.py\", line 0\nSyntaxError: unknown encoding: x\n") \
        == "SyntaxError: unknown encoding: x"
    assert last_error("hello\nworld\n") is None
    long = "\n".join(str(i) for i in range(100))
    assert tail(long).splitlines()[-1] == "99" and len(tail(long).splitlines()) == 16


def test_progress_shows_the_last_check_and_keeps_a_pass(tmp_path):
    assert exercises.progress() == {}
    exercises.record(1, "started", path=str(tmp_path / "server.py"))
    assert exercises.progress() == {1: "started"}
    exercises.record(1, "failed", score=2, max_score=5, failed=["accepts"])
    assert exercises.progress() == {1: "✘ 2/5"}
    exercises.record(1, "passed", score=5, max_score=5, failed=[])
    exercises.record(1, "failed", score=1, max_score=5, failed=["listens"])
    # the list shows the last check (a failure), and that it passed before; the solution
    # stays unlocked
    assert exercises.progress() == {1: "✘ 1/5 (passed before)"} and exercises.passed(1)
    assert exercises.progress("zh") == {1: "✘ 1/5（以前通过过）"}
    exercises.record(1, "passed", score=5, max_score=5, failed=[])
    assert exercises.progress() == {1: "✔ passed"}
    assert exercises.progress("zh") == {1: "✔ 已通过"}
    assert exercises.records()[1]["last"]["failed"] == []


def test_a_submission_is_a_file_or_a_folder_with_one(tmp_path):
    ex = exercises.get(1)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "server.py").write_text("x")
    (tmp_path / "a" / "helper.py").write_text("x")
    assert exercises.resolve(ex, tmp_path / "a").name == "server.py"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mine.py").write_text("x")
    assert exercises.resolve(ex, tmp_path / "b").name == "mine.py"
    (tmp_path / "c").mkdir()
    for name in ("x.py", "y.py"):
        (tmp_path / "c" / name).write_text("x")
    with pytest.raises(exercises.NoSubmission, match="2 .py files"):
        exercises.resolve(ex, tmp_path / "c")
    with pytest.raises(exercises.NoSubmission, match="no such file"):
        exercises.resolve(ex, tmp_path / "missing")


def test_start_writes_the_starter_and_readme_and_never_overwrites(tmp_path):
    ex = exercises.get(3)
    script, readme = exercises.start(ex, tmp_path / "w", "zh")
    assert script.read_text(encoding="utf-8") == ex.starter.read_text(encoding="utf-8")
    assert "练习 3" in readme.read_text(encoding="utf-8")
    with pytest.raises(FileExistsError):
        exercises.start(ex, tmp_path / "w", "en")
    exercises.start(ex, tmp_path / "w", "en", force=True)
    assert "Exercise 3" in readme.read_text(encoding="utf-8")
    assert exercises.default_submission(ex) == script.resolve()
    assert exercises.default_dir(ex) == Path("sockteach-work") / "03-connection-loop"


def test_lessons_without_exercises_and_unknown_lessons_are_errors():
    with pytest.raises(exercises.NoExercise):
        exercises.get(99)
    assert [e.number for e in exercises.all_exercises()][:4] == [1, 2, 3, 4]


def test_jupyter_plain_text_of_a_result_has_no_colour_codes():
    import sockteach
    from conftest import ROOT

    result = sockteach.check(1, ROOT / "lessons/01-naive-echo/exercise/server.py", record=False)
    bundle = result._repr_mimebundle_()
    assert "\x1b[" not in bundle["text/plain"]
    assert "✘" in bundle["text/plain"] and "<" in bundle["text/html"]


def test_memory_asked_for_but_not_yet_touched_counts():
    """A program that allocates zeroed buffers (bytearray(N)) is not resident yet, but its
    address space — what RLIMIT_AS limits — grows: the grader says so, not 'CPU busy'."""
    from sockteach.events import Event
    from sockteach.grading import facts

    sample = Event(2.0, "server", "resource", seconds=1.2, count=30 << 20, vms=700 << 20,
                   text="runnable", pid=7)
    said = facts.doing([Event(0.1, "server", "call", name="accept", sock=3, pid=7),
                        Event(0.2, "server", "return", name="accept", sock=3, conn=4, pid=7),
                        sample], "en", started=0.0)
    assert "700 MiB" in said and "memory" in said, said
