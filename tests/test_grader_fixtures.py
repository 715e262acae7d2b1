"""Known-good submissions in different styles pass; known-broken ones fail exactly the checks
their table (``verdicts.toml``) lists, with the message it names. Graded twice, with
--jobs 4 and --jobs 1, they get the same verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sockteach import exercises, grading
from sockteach.i18n import tomllib

FIXTURES = Path(__file__).parent / "fixtures" / "exercises"
# every exercise with a fixture set (tests/fixtures/exercises/exNN/verdicts.toml)
NUMBERS = sorted(int(p.parent.name[2:]) for p in FIXTURES.glob("ex[0-9][0-9]/verdicts.toml"))


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKTEACH_HOME", str(tmp_path / "home"))


def table(number: int) -> dict:
    with (FIXTURES / f"ex{number:02d}" / "verdicts.toml").open("rb") as f:
        return tomllib.load(f)


def files(number: int) -> list[Path]:
    return sorted((FIXTURES / f"ex{number:02d}").glob("*.py"))


def first_failure_text(result) -> tuple[str, str]:
    first = next(c for c in result.checks if not c.passed)
    return first.name, first.message + "\n" + first.output


@pytest.mark.parametrize("number", NUMBERS)
def test_the_fixture_set_is_rich_enough(number):
    expected = table(number)
    good = [p for p in files(number) if p.stem.startswith("good_")]
    bad = [p for p in files(number) if p.stem.startswith("bad_")]
    assert len(good) >= (3 if number <= 4 else 2) and len(bad) >= 5
    assert {p.stem for p in bad} == set(expected)
    ex = exercises.get(number)
    names = [c.name for c in ex.checks]
    firsts = set()
    for stem, row in expected.items():
        assert row["failed"] and set(row["failed"]) <= set(names), stem
        firsts.add(min(row["failed"], key=names.index))
    assert len(firsts) >= 5, f"bad fixtures must break at least 5 different checks: {firsts}"


def test_every_exercise_has_a_fixture_set():
    assert NUMBERS == [ex.number for ex in exercises.all_exercises()]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("number", NUMBERS)
def test_every_fixture_gets_its_expected_verdict(number):
    expected = table(number)
    paths = files(number)
    results = grading.grade(number, paths, jobs=4, lang="en")
    wrong = []
    for path, result in zip(paths, results):
        assert result.submission == str(path)
        if path.stem.startswith("good_"):
            if not result.passed:
                wrong.append(f"{path.name} should pass:\n{result}")
            continue
        row = expected[path.stem]
        if result.failed != row["failed"]:
            wrong.append(f"{path.name} should fail {row['failed']}, failed {result.failed}:\n"
                         f"{result}")
            continue
        _name, text = first_failure_text(result)
        if row["says"] not in text:
            wrong.append(f"{path.name}: the first failure should say {row['says']!r}:\n{result}")
    assert not wrong, "\n\n".join(wrong)


def verdicts(results) -> list[tuple]:
    return [(r.submission, r.passed, r.score, tuple((c.name, c.passed) for c in r.checks))
            for r in results]


def test_jobs_4_gives_the_same_verdicts_as_jobs_1_and_grading_is_repeatable():
    # A mix of fast and slow, good and broken, from the exercise with the most moving parts.
    paths = [p for p in files(3)] + [FIXTURES / "ex03" / "good_tutorial.py"] * 2
    one = grading.grade(3, paths, jobs=1)
    four = grading.grade(3, paths, jobs=4)
    assert verdicts(one) == verdicts(four)
    assert verdicts(one)[-1] == verdicts(one)[-2]  # the same file graded twice in one batch
