#!/usr/bin/env python3
"""Write the class notebooks, notebooks/{en,zh}/NN-slug.ipynb, from the lesson data.

Every text and every piece of code comes from the lessons (explanations, exercise task and
starter), from ``notebooks/hands-on.toml`` (the hands-on cells) and from the message catalogs
(``sockteach/messages/notebook.*.toml``); the lesson's code is loaded at run time by
``sockteach.show``, never pasted. The notebooks carry no outputs, and the same data always
gives the same bytes (cell ids are numbered), so they can be committed and compared.

    python scripts/make_notebooks.py           # (re)write the notebooks
    python scripts/make_notebooks.py --check   # exit 1 if a committed notebook is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from sockteach import exercises, lessons  # noqa: E402
from sockteach.i18n import LANGS, load_toml, msg, pick  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
HANDS_ON = NOTEBOOKS / "hands-on.toml"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _lang_arg(lang: str) -> str:
    return "" if lang == "en" else f', lang="{lang}"'


def _sections(markdown: str) -> tuple[str, list[str]]:
    """The title line of an explanation and its ``## `` sections, one string each."""
    lines = markdown.strip("\n").split("\n")
    title = ""
    if lines and lines[0].startswith("# "):
        title = lines.pop(0)[2:].strip()
    parts: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("## ") and any(s.strip() for s in parts[-1]):
            parts.append([])
        parts[-1].append(line)
    return title, ["\n".join(p).strip("\n") for p in parts if "\n".join(p).strip()]


def _demote(markdown: str) -> str:
    """Headings one level down (an exercise's ``# Exercise 1`` becomes ``## Exercise 1``)."""
    return re.sub(r"^(#+) ", r"#\1 ", markdown.strip("\n"), flags=re.M)


class _Cells:
    def __init__(self) -> None:
        self.cells: list[Any] = []

    def md(self, text: str) -> None:
        import nbformat.v4 as v4

        self.cells.append(v4.new_markdown_cell(text.strip("\n"), id=self._id()))

    def code(self, text: str) -> None:
        import nbformat.v4 as v4

        self.cells.append(v4.new_code_cell(text.strip("\n"), id=self._id()))

    def _id(self) -> str:
        return f"cell-{len(self.cells) + 1:02d}"


def build(lesson: lessons.Lesson, lang: str, hands_on: dict[str, list[dict]]) -> Any:
    """The notebook of ``lesson`` in ``lang`` (an ``nbformat`` node, no outputs)."""
    import nbformat.v4 as v4

    n = lesson.number
    la = _lang_arg(lang)
    cells = _Cells()
    _title, sections = _sections(lesson.explain.get(lang) or lesson.explain.get("en", ""))

    cells.md(f"# {msg('view.lesson', lang, number=n, title=pick(lesson.title, lang))}\n\n"
             + msg("notebook.cells.intro", lang, number=n, summary=pick(lesson.summary, lang)))
    cells.md(msg("notebook.cells.setup", lang))
    cells.code("import sockteach\nimport sockteach.notebook")

    cells.md(msg("notebook.cells.code", lang, number=n))
    for role in lesson.code:
        cells.code(f'sockteach.show({n}, "{role}"{la})')
    diffs = [role for role, name in lesson.code.items()
             if any(new in (name, f"{lesson.path.name}/{name}") for _old, new in lesson.diffs)]
    if diffs:
        cells.md(msg("notebook.cells.code_diff", lang))
        for role in diffs:
            cells.code(f'sockteach.show({n}, "{role}"{la}, diff=True)')

    cells.md(msg("notebook.cells.watch", lang, number=n))
    cells.code(f"sockteach.play({n}{la})")

    for section in sections:
        cells.md(section)

    cells.md(msg("notebook.cells.hands_on", lang, number=n))
    cells.code(f"srv = sockteach.serve({n}{la})")
    for item in hands_on.get(lesson.slug, []):
        if "md" in item:
            cells.md(pick(item["md"], lang))
        else:
            cells.code(pick(item["code"], lang).replace("{lang}", la))

    try:
        exercise = exercises.get(n)
    except exercises.NoExercise:
        exercise = None
    if exercise is not None:
        cells.md(_demote(exercise.readme(lang)))
        # Each lesson's files in a folder of its own: eleven lessons have a server.py.
        folder = lesson.path.name
        path = f"{folder}/{exercise.file}"
        cells.md(msg("notebook.cells.exercise_folder", lang, folder=folder, file=exercise.file))
        cells.code(f"sockteach.notebook.folder({n})")
        cells.md(msg("notebook.cells.exercise_write", lang, path=path))
        starter = exercise.starter.read_text(encoding="utf-8")
        cells.code(f"%%writefile {path}\n{starter}")
        cells.md(msg("notebook.cells.exercise_check", lang, number=n))
        cells.code(f'sockteach.check({n}, "{path}"{la})')
        cells.md(msg("notebook.cells.exercise_hint", lang, number=n))

    nb = v4.new_notebook(cells=cells.cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python"},
                   "sockteach": {"lesson": n, "lang": lang,
                                 "generated_by": "scripts/make_notebooks.py"}}
    return nb


def path_of(lesson: lessons.Lesson, lang: str) -> Path:
    return NOTEBOOKS / lang / f"{lesson.path.name}.ipynb"


def render_all() -> dict[Path, str]:
    """Every notebook's path and exact text."""
    import nbformat

    hands_on = load_toml(HANDS_ON) if HANDS_ON.is_file() else {}
    out: dict[Path, str] = {}
    for lesson in lessons.course():
        for lang in LANGS:
            nb = build(lesson, lang, hands_on)
            nbformat.validate(nb)
            text = nbformat.writes(nb)
            out[path_of(lesson, lang)] = text if text.endswith("\n") else text + "\n"
    return out


def stale() -> list[Path]:
    """Notebooks that are missing or differ from what the lesson data gives, and generated
    notebooks whose lesson is gone."""
    wanted = render_all()
    bad = [p for p, text in wanted.items()
           if not p.is_file() or p.read_text(encoding="utf-8") != text]
    for lang in LANGS:
        for p in sorted((NOTEBOOKS / lang).glob("*.ipynb")):
            if p not in wanted:
                bad.append(p)
    return bad


def write() -> list[Path]:
    """Write every notebook that changed; remove generated notebooks of removed lessons."""
    wanted = render_all()
    changed = []
    for p, text in wanted.items():
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            changed.append(p)
    for lang in LANGS:
        for p in sorted((NOTEBOOKS / lang).glob("*.ipynb")):
            if p not in wanted:
                p.unlink()
                changed.append(p)
    return changed


def _name(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for p in bad:
            print(f"out of date: {_name(p)}")
        if bad:
            print("run: python scripts/make_notebooks.py")
            return 1
        print(f"notebooks up to date ({len(render_all())})")
        return 0
    changed = write()
    for p in changed:
        print(f"wrote {_name(p)}")
    if not changed:
        print("notebooks up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
