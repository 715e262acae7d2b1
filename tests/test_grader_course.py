"""The course is checked: every lesson with an exercise has a starter that fails, a reference
solution that passes, and its texts and hints in both languages."""

from __future__ import annotations

import ast

import pytest

from sockteach import exercises, grading, lessons

EXERCISES = exercises.all_exercises()
NUMBERS = [e.number for e in EXERCISES]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def test_lessons_one_to_four_have_exercises():
    assert {1, 2, 3, 4} <= set(NUMBERS)


@pytest.mark.parametrize("number", NUMBERS)
def test_exercise_data_is_complete_in_both_languages(number):
    ex = exercises.get(number)
    assert ex.scenario in grading.PURE
    assert ex.starter.is_file() and ex.solution.is_file()
    ast.parse(ex.solution.read_text(encoding="utf-8"))
    starter = ex.starter.read_text(encoding="utf-8")
    ast.parse(starter)
    assert "TODO" in starter
    for lang in ("en", "zh"):
        assert ex.title.get(lang)
        assert (ex.folder / f"README.{lang}.md").is_file() and ex.readme(lang).strip()
        assert (ex.folder / f"hints.{lang}.md").is_file() and ex.hints(lang).strip()
        for c in ex.checks:
            assert c.title.get(lang), (c.name, lang)
            assert c.hint.get(lang), (c.name, lang)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ex.readme("zh") + ex.hints("zh"))
    for lang in ("en", "zh"):
        assert f"sockteach check {number}" in ex.readme(lang)
    names = [c.name for c in ex.checks]
    assert len(names) == len(set(names)) >= 5
    assert all(c.score > 0 for c in ex.checks)


def test_the_starters_fail_and_the_solutions_pass():
    jobs = []
    for ex in EXERCISES:
        jobs.append((ex, ex.starter, False))
        jobs.append((ex, ex.solution, True))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: grading.grade_one(j[0], j[1], "en"), jobs))
    for (ex, path, should_pass), result in zip(jobs, results):
        assert result.passed is should_pass, f"lesson {ex.number} {path.name}:\n{result}"
        # every check of the exercise got a verdict or says why not
        assert [c.name for c in result.checks] == [c.name for c in ex.checks]
        if should_pass:
            assert result.score == ex.max_score
        else:
            assert any(c.checked and not c.passed for c in result.checks), str(result)


def test_the_solution_is_graded_in_chinese_too():
    ex = exercises.get(3)
    result = grading.grade_one(ex, ex.solution, "zh")
    assert result.passed, str(result)
    text = str(result)
    assert "全部检查通过" in text and "客户端离开后" in text


def test_the_reference_of_lesson_4_is_needed_the_lesson_3_server_fails_the_restart():
    lesson3 = lessons.get(3)
    result = grading.grade_one(exercises.get(4), lesson3.file("server.py"), "en")
    assert result.failed == ["restart"], str(result)
    assert "Address already in use" in result.check("restart").message
