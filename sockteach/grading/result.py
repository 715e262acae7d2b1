"""What grading returns: a checklist of verdicts that renders itself (terminal and Jupyter).

:class:`Result` is plain data plus rendering: ``print(result)`` and ``result`` in a REPL show
the checklist as text, rich consoles and Jupyter render it with colour. :meth:`Result.to_dict`
is the ``check --json`` object.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.jupyter import JupyterMixin
from rich.padding import Padding
from rich.text import Text

from .texts import sep, t


@dataclass
class CheckResult:
    """The verdict of one check."""

    name: str
    title: str
    passed: bool
    score: float
    max_score: float
    message: str
    hint: str = ""
    output: str = ""  # the program's own output or traceback, when it tells what happened
    checked: bool = True  # False: an earlier failure meant this could not be tried
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: name, passed, score, max_score, message, hint."""
        message = self.message
        if self.output:
            message += "\n\n" + self.output
        return {"name": self.name, "passed": self.passed, "score": _number(self.score),
                "max_score": _number(self.max_score), "message": message,
                "hint": "" if self.passed else self.hint}


@dataclass
class Result(JupyterMixin):
    """Every check of one submission. ``passed`` when all passed."""

    lesson: int
    title: str
    file: str
    checks: list[CheckResult]
    lang: str = "en"
    submission: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def failed(self) -> list[str]:
        """Names of the checks that did not pass."""
        return [c.name for c in self.checks if not c.passed]

    def to_dict(self, submission: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if submission:
            out["submission"] = self.submission
        out.update(lesson=self.lesson, passed=self.passed, score=_number(self.score),
                   max_score=_number(self.max_score),
                   checks=[c.to_dict() for c in self.checks])
        return out

    # ----- rendering -----------------------------------------------------------------------

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lang = self.lang
        head = Text()
        head.append(t("label.lesson", lang, n=self.lesson), style="bold")
        head.append(f" · {self.title} · ", style="bold")
        head.append(self.submission or self.file, style="bold cyan")
        yield head
        for i, c in enumerate(self.checks, start=1):
            if c.passed:
                mark, style = "✔", "green"
            else:
                mark, style = ("✘", "red") if c.checked else ("–", "dim")
            line = Text()
            line.append(f"{mark} ", style=f"bold {style}")
            line.append(f"{i}. {c.title}", style="bold" if c.checked else "dim")
            line.append(f"  {_number(c.score)}/{_number(c.max_score)}", style="dim")
            yield line
            body: list = [Text(c.message, style="" if c.checked else "dim")]
            if c.output and not c.passed:
                body.append(Text(t("label.output", lang), style="bold"))
                body.append(Padding(Text(c.output.rstrip("\n"), style="dim"), (0, 0, 0, 2),
                                    expand=False))
            if c.hint and not c.passed and c.checked:
                hint = Text()
                hint.append(t("label.hint", lang) + sep(lang), style="bold yellow")
                hint.append(c.hint)
                body.append(hint)
            yield Padding(Group(*body), (0, 0, 0, 4), expand=False)
        summary = Text()
        score = f"{_number(self.score)}/{_number(self.max_score)}"
        if self.passed:
            summary.append(t("label.all_passed", lang, score=score), style="bold green")
        else:
            summary.append(t("label.not_yet", lang, score=score, n=self.lesson), style="bold red")
        yield summary
        if not self.passed:
            yield from self._diagnosis()

    def _diagnosis(self) -> RenderResult:
        """What the diagnosis catalogue saw, and the command that shows it live."""
        from ..i18n import msg

        for d in self.extra.get("diagnoses", ()):
            yield Text("⚠ " + d.text, style="yellow")
            yield Padding(Text.assemble((msg("diagnose.next", self.lang), "bold"), d.next_step),
                          (0, 0, 0, 2), expand=False)
        if self.extra.get("watch"):
            yield Text(msg("diagnose.see_live", self.lang, command=self.extra["watch"]),
                       style="bold")

    def render(self, width: int = 100) -> str:
        """The checklist as plain text (no colour)."""
        buf = io.StringIO()
        console = Console(file=buf, width=width, color_system=None, force_terminal=False,
                          force_jupyter=False, highlight=False, emoji=False)
        console.print(self)
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"

    def __str__(self) -> str:
        return self.render()

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):  # noqa: ANN001
        """Jupyter: rich's HTML, and plain text without colour codes (nbconvert, nbgrader logs)."""
        data = JupyterMixin._repr_mimebundle_(self, include or (), exclude or (), **kwargs)
        if "text/plain" in data:
            data["text/plain"] = self.render()
        return data

    def __repr__(self) -> str:
        return self.render()


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x
