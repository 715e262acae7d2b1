"""The course as data: ``lessons/index.toml`` lists the lesson folders in order.

Each folder holds ``lesson.toml`` (titles, scenario, diffs), ``explain.en.md``,
``explain.zh.md`` and the demo scripts. See ``docs/lesson-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .i18n import load_toml


class UnknownLesson(LookupError):
    """Raised for a lesson number that is not in the course."""


def lessons_root() -> Path:
    """Where the lesson data lives: inside the wheel, or the source tree's ``lessons/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_lessons", here.parent / "lessons"):
        if (candidate / "index.toml").is_file():
            return candidate
    raise FileNotFoundError("sockteach's lesson data is missing (no lessons/index.toml)")


@dataclass(frozen=True)
class Step:
    title: dict[str, str]
    say: dict[str, str]
    ask: dict[str, str] | None
    actions: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    path: Path
    title: dict[str, str]
    summary: dict[str, str]
    learned: dict[str, str]
    ports: tuple[int, ...]
    code: dict[str, str]
    diffs: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...]
    explain: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def file(self, name: str) -> Path:
        """A file of this lesson; ``NN-slug/file`` names a file of another lesson."""
        if "/" in name:
            return lessons_root() / name
        return self.path / name


def _load(number: int, folder: Path) -> Lesson:
    data = load_toml(folder / "lesson.toml")
    steps = tuple(
        Step(
            title=s.get("title", {}),
            say=s.get("say", {}),
            ask=s.get("ask"),
            actions=tuple(s.get("actions", ())),
        )
        for s in data.get("steps", ())
    )
    explain = {}
    for lang in ("en", "zh"):
        p = folder / f"explain.{lang}.md"
        if p.exists():
            explain[lang] = p.read_text(encoding="utf-8")
    return Lesson(
        number=number,
        slug=folder.name.split("-", 1)[1] if "-" in folder.name else folder.name,
        path=folder,
        title=data.get("title", {}),
        summary=data.get("summary", {}),
        learned=data.get("learned", {}),
        ports=tuple(data.get("ports", (8081,))),
        code=dict(data.get("code", {})),
        diffs=tuple((d["from"], d["to"]) for d in data.get("diff", ())),
        steps=steps,
        explain=explain,
        data=data,
    )


@lru_cache(maxsize=1)
def course() -> tuple[Lesson, ...]:
    """Every lesson, in course order (numbered from 1)."""
    root = lessons_root()
    index = load_toml(root / "index.toml")
    return tuple(_load(i, root / name) for i, name in enumerate(index["lessons"], start=1))


def get(number: int | str) -> Lesson:
    """Lesson ``number`` (1-based); :class:`UnknownLesson` if there is none."""
    try:
        n = int(number)
    except (TypeError, ValueError):
        raise UnknownLesson(str(number)) from None
    lessons = course()
    if not 1 <= n <= len(lessons):
        raise UnknownLesson(str(number))
    return lessons[n - 1]
