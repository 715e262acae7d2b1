"""Exercises as data, the learner's work folder, and progress records.

Each lesson with an exercise has ``lessons/NN-slug/exercise/``:

================== =====================================================================
``exercise.toml``  file name, grading scenario, title, the checks (name, title, hint, score)
``server.py`` …    the starter (named like the learner's file), with TODOs
``solution.py``    the reference solution
``README.*.md``    the task statement, English and Chinese
``hints.*.md``     hints, English and Chinese
================== =====================================================================

Progress is a small JSON file: ``$SOCKTEACH_HOME/progress.json`` (default
``~/.local/share/sockteach/progress.json``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import lessons
from .i18n import LANGS, pick, tomllib


class NoExercise(LookupError):
    """The lesson has no exercise (or there is no such lesson); the message says which."""


class NoSubmission(LookupError):
    """A path that holds no gradable submission; the message says why."""


@dataclass(frozen=True)
class CheckSpec:
    """One check as the exercise data describes it (the logic lives in ``grading``)."""

    name: str
    title: dict[str, str]
    hint: dict[str, str]
    score: float = 1.0


@dataclass(frozen=True)
class Exercise:
    number: int
    slug: str
    folder: Path
    file: str  # the learner's file name: server.py or client.py
    scenario: str
    title: dict[str, str]
    checks: tuple[CheckSpec, ...]
    solution_file: str = "solution.py"
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def starter(self) -> Path:
        return self.folder / self.file

    @property
    def solution(self) -> Path:
        return self.folder / self.solution_file

    @property
    def max_score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def workdir_name(self) -> str:
        return f"{self.number:02d}-{self.slug}"

    def check_spec(self, name: str) -> CheckSpec:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def readme(self, lang: str) -> str:
        return _read_lang(self.folder, "README", lang)

    def hints(self, lang: str) -> str:
        return _read_lang(self.folder, "hints", lang)


def _read_lang(folder: Path, stem: str, lang: str) -> str:
    for candidate in (f"{stem}.{lang}.md", f"{stem}.en.md"):
        p = folder / candidate
        if p.is_file():
            return p.read_text(encoding="utf-8")
    return ""


def _load(lesson: lessons.Lesson) -> Exercise | None:
    folder = lesson.path / "exercise"
    spec = folder / "exercise.toml"
    if not spec.is_file():
        return None
    with spec.open("rb") as f:
        data = tomllib.load(f)
    checks = tuple(
        CheckSpec(name=c["name"], title=dict(c.get("title", {})), hint=dict(c.get("hint", {})),
                  score=float(c.get("score", 1)))
        for c in data.get("checks", ())
    )
    return Exercise(number=lesson.number, slug=lesson.slug, folder=folder, file=data["file"],
                    scenario=data["scenario"], title=dict(data.get("title", {})), checks=checks,
                    solution_file=data.get("solution", "solution.py"), data=data)


def get(number: int | str) -> Exercise:
    """The exercise of lesson ``number``; :class:`NoExercise` if there is none."""
    try:
        lesson = lessons.get(number)
    except lessons.UnknownLesson:
        raise NoExercise(f"there is no lesson {number} (the course has "
                         f"{len(lessons.course())} lessons)") from None
    exercise = _load(lesson)
    if exercise is None:
        raise NoExercise(f"lesson {lesson.number} has no exercise")
    return exercise


def all_exercises() -> list[Exercise]:
    """Every exercise of the course, in order."""
    out = []
    for lesson in lessons.course():
        ex = _load(lesson)
        if ex is not None:
            out.append(ex)
    return out


def title(exercise: Exercise, lang: str) -> str:
    return pick(exercise.title, lang)


# ---------------------------------------------------------------- the learner's folder


WORK = "sockteach-work"


def default_dir(exercise: Exercise, base: str | os.PathLike | None = None) -> Path:
    """``./sockteach-work/NN-slug/`` (relative to ``base``, default the current folder) —
    or, run inside a work folder, that folder itself: ``base`` is already
    ``sockteach-work/NN-slug`` (the exercise's own) or ``sockteach-work/`` (add ``NN-slug``),
    or it is another exercise's folder in ``sockteach-work/`` (its sibling)."""
    where = Path(base or ".")
    here = where.resolve()
    if here.name == WORK:
        return where / exercise.workdir_name
    if here.parent.name == WORK:
        return where if here.name == exercise.workdir_name else where / ".." / \
            exercise.workdir_name
    return where / WORK / exercise.workdir_name


def start(exercise: Exercise, directory: str | os.PathLike | None, lang: str,
          force: bool = False) -> tuple[Path, Path]:
    """Write the starter and a README (in ``lang``) into ``directory``; return their paths.

    Raises :class:`FileExistsError` (naming the file) instead of overwriting, unless ``force``.
    """
    target = Path(directory) if directory is not None else default_dir(exercise)
    script = target / exercise.file
    readme = target / "README.md"
    if not force:
        for p in (script, readme):
            if p.exists():
                raise FileExistsError(str(p))
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exercise.starter, script)
    readme.write_text(exercise.readme(lang), encoding="utf-8")
    record(exercise.number, "started", path=str(script.resolve()))
    return script, readme


def resolve(exercise: Exercise, path: str | os.PathLike) -> Path:
    """The submission file at ``path``: the file itself, or in a folder the exercise's file
    name, else the folder's only ``.py`` file. :class:`NoSubmission` otherwise."""
    p = Path(path)
    if p.is_file():
        return p
    if p.is_dir():
        named = p / exercise.file
        if named.is_file():
            return named
        pys = sorted(q for q in p.glob("*.py") if q.is_file())
        if len(pys) == 1:
            return pys[0]
        if not pys:
            raise NoSubmission(f"{p}: no {exercise.file} and no .py file in this folder")
        raise NoSubmission(f"{p}: no {exercise.file}, and {len(pys)} .py files — "
                           "which one is the submission?")
    raise NoSubmission(f"{p}: no such file or folder")


def default_submission(exercise: Exercise) -> Path:
    """Where ``check N`` looks without a PATH: the file ``start`` wrote, else the default."""
    rec = records().get(exercise.number, {})
    written = rec.get("path")
    if written and Path(written).is_file():
        return Path(written)
    return default_dir(exercise) / exercise.file


# ---------------------------------------------------------------- progress


def home() -> Path:
    """sockteach's data folder: ``$SOCKTEACH_HOME``, else ``$XDG_DATA_HOME/sockteach``, else
    ``~/.local/share/sockteach``."""
    if os.environ.get("SOCKTEACH_HOME"):
        return Path(os.environ["SOCKTEACH_HOME"])
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]) / "sockteach"
    return Path.home() / ".local" / "share" / "sockteach"


def _progress_file() -> Path:
    return home() / "progress.json"


def records() -> dict[int, dict[str, Any]]:
    """Everything recorded, by lesson number (an unreadable file counts as empty)."""
    try:
        data = json.loads(_progress_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for key, value in (data.get("lessons") or {}).items():
        try:
            out[int(key)] = dict(value)
        except (TypeError, ValueError):
            continue
    return out


def record(number: int, status: str, **extra: Any) -> None:
    """Record ``status`` ("started", "passed", "failed") for a lesson. A pass is kept: a later
    failed check shows in ``last`` but the lesson stays passed. Writes atomically."""
    all_records = records()
    rec = all_records.get(number, {})
    best = rec.get("status")
    if status == "started":
        if best is None:
            rec["status"] = "started"
    elif status == "passed" or best != "passed":
        rec["status"] = status
    if "path" in extra:
        rec["path"] = extra.pop("path")
    if extra:
        rec["last"] = {**extra, "status": status, "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    all_records[number] = rec
    path = _progress_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=str(path.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"lessons": {str(k): v for k, v in sorted(all_records.items())}}, f,
                          ensure_ascii=False, indent=1)
            os.replace(tmp, path)
        except BaseException:  # Ctrl-C or SIGTERM half-way: no stray temporary file
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass  # progress is a convenience: never fail a check because it cannot be saved


_SHOW = {
    "en": {"passed": "✔ passed", "failed": "✘ {score}", "started": "started",
           "before": "✘ {score} (passed before)"},
    "zh": {"passed": "✔ 已通过", "failed": "✘ {score}", "started": "已开始",
           "before": "✘ {score}（以前通过过）"},
}


def progress(lang: str = "en") -> dict[int, str]:
    """Short progress text per lesson for ``sockteach list``, from the *last* check run:
    "✔ passed", "✘ 3/5" (with "passed before" when an earlier check passed), "started"."""
    words = _SHOW.get(lang if lang in LANGS else "en", _SHOW["en"])
    out = {}
    for number, rec in records().items():
        best = rec.get("status")
        last = rec.get("last") or {}
        status = last.get("status") if last.get("status") in ("passed", "failed") else best
        if status == "failed" and best == "passed":
            status = "before"
        if status not in words:
            continue
        score = ""
        if "score" in last and "max_score" in last:
            score = f"{_num(last['score'])}/{_num(last['max_score'])}"
        out[number] = words[status].format(score=score).strip()
    return out


def passed(number: int) -> bool:
    return records().get(number, {}).get("status") == "passed"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
