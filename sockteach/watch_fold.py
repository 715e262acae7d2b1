"""Folding a program's repeated identical output into one line whose count climbs.

A spinning server prints the same few lines again and again (lesson 1: ``server===>`` and
``b''``, a million times a minute). ``watch`` shows such a run once, as one line:
``server │ server===> ⏎ b''  (×1,598,157)``.

Two sources, one :class:`Fold`:

- version 2: the tracer folds the repetition itself into ``repeat`` events with
  ``name="output"``, ``text``, ``stream`` and ``count`` (repeats after the first, which came as
  an ordinary ``output`` event): :meth:`OutputFolder.repeat`.
- version 1 (and any output not folded by the tracer): ``output`` events carry batches of text;
  :meth:`OutputFolder.feed` finds a block of up to :data:`MAX_PERIOD` lines repeated at least
  :data:`FOLD_FROM` times in a row. The session keeps only the first characters of a big batch
  and says ``[… N more characters]``; inside a fold those characters are counted as not kept
  (``cut``), never guessed into the count.

Pure: text in, :class:`Piece` values out (and :func:`fold_line`, a fold as a sentence). One
folder per side and stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .i18n import msg
from .narrator import side_label

MAX_PERIOD = 4  # lines in the longest block that is folded
FOLD_FROM = 3  # repetitions in a row before a block is folded (two stay as they are)
_CUT = re.compile(r"\[… ([\d,]+) more characters\]")  # the session's mark (session.py)


@dataclass
class Fold:
    """A block of output lines printed ``count`` times in a row (as seen); ``cut``: characters
    the session did not keep while it went on; ``ended``: something else came after it."""

    side: str
    stream: str
    block: tuple[str, ...]
    count: int
    cut: int = 0
    ended: bool = False

    @property
    def text(self) -> str:
        return " ⏎ ".join(self.block)


@dataclass(frozen=True)
class Piece:
    """What to show of a side's output: a ``line``, or a fold that ``start``s or ``end``s."""

    kind: str  # "line", "start", "end"
    side: str
    text: str = ""
    fold: Fold | None = field(default=None, compare=False)


class OutputFolder:
    """One side's stream of output, with its repeated blocks folded (see the module doc)."""

    def __init__(self, side: str, stream: str = "stdout") -> None:
        self.side, self.stream = side, stream
        self.partial = ""  # the start of a line not yet ended by a newline
        self.history: list[str] = []  # the last lines, shown or held
        self.held = 0  # how many of history's last lines are not shown yet
        self.fold: Fold | None = None  # the fold going on now
        self.phase = 0  # the line of the block expected next
        self.resync = False  # after a cut: the text goes on somewhere inside the block
        self.last: Fold | None = None  # the latest fold, until a normal line follows it
        self.maybe: str | None = None  # a line that may be a piece cut by the session

    # -- input

    def feed(self, text: str, release: bool = True) -> list[Piece]:
        """Output text as it came; returns what to show now. A line not yet ended is held
        (until the rest of it, or :meth:`tick`); with ``release=False`` the last few lines
        are held too, until :meth:`release` (so a repetition written in many small pieces
        folds as early as one written at once)."""
        text = text.replace("\r\n", "\n").replace("\r", "")
        *lines, self.partial = (self.partial + text).split("\n")
        out: list[Piece] = []
        for line in lines:
            out += self._line(line)
        if self.maybe is not None:  # the session's cut mark comes in the same text: no cut
            piece, self.maybe = self.maybe, None
            out += self._line_after(piece, None)
        if release:
            out += self._release()
        return out

    def release(self) -> list[Piece]:
        """The lines held by ``feed(..., release=False)``, to be shown now."""
        return self._release()

    def tick(self) -> list[Piece]:
        """Nothing more came for now: show a held unended line (a prompt such as ``>>: ``),
        unless it is the start of the folded block's next line."""
        if not self.partial or self._fragment(self.partial):
            return []
        line, self.partial = self.partial, ""
        return self._line(line) + self._release()

    def repeat(self, text: str, count: int) -> list[Piece]:
        """A version-2 ``repeat`` event: ``text`` printed again, ``count`` times after the first."""
        block = tuple(text.replace("\r\n", "\n").rstrip("\n").split("\n"))
        total = count + 1
        if self.fold is not None and self.fold.block == block:
            self.fold.count = max(self.fold.count, total)
            return []
        out = self.end()
        self.fold = self.last = Fold(self.side, self.stream, block, total)
        return out + [Piece("start", self.side, self.fold.text, self.fold)]

    def end(self) -> list[Piece]:
        """The side stopped (or the watch ends): the fold going on ends, held text shows."""
        out: list[Piece] = []
        if self.partial and not self._fragment(self.partial):
            out += self._line(self.partial)
        self.partial = ""
        out += self._release()
        if self.fold is not None:
            out.append(self._end_fold())
        return out

    # -- inside

    def _fragment(self, text: str) -> bool:
        return self.fold is not None and self.fold.block[self.phase].startswith(text)

    def _line(self, line: str) -> list[Piece]:
        cut = _CUT.fullmatch(line)
        fold = self.fold
        if fold is not None and self.maybe is not None:
            # the line before could be the start of a block line, ended by the session's cut
            piece, self.maybe = self.maybe, None
            if cut:
                fold.cut += len(piece)
            else:
                return self._line_after(piece, None) + self._line(line)
        if fold is not None and not cut and not self.resync and line != fold.block[self.phase] \
                and fold.block[self.phase].startswith(line):
            self.maybe = line
            return []
        return self._line_after(line, cut)

    def _line_after(self, line: str, cut: "re.Match[str] | None") -> list[Piece]:
        fold = self.fold
        if fold is not None:
            if cut:  # the session dropped characters here: the block goes on somewhere
                fold.cut += int(cut.group(1).replace(",", ""))
                self.resync = True
                return []
            if self.resync:
                if line in fold.block:
                    self.phase = fold.block.index(line)
                    self.resync = False
                elif any(b.endswith(line) or b.startswith(line) for b in fold.block):
                    fold.cut += len(line) + 1  # a piece of a line cut by the session
                    return []
            if not self.resync and line == fold.block[self.phase]:
                self.phase = (self.phase + 1) % len(fold.block)
                if self.phase == 0:
                    fold.count += 1
                return []
            out = [self._end_fold()]
        else:
            out = []
        self.history = (self.history + [line])[-FOLD_FROM * MAX_PERIOD:]
        self.held += 1
        for period in range(1, MAX_PERIOD + 1):
            need = FOLD_FROM * period
            if len(self.history) < need:
                break
            tail = self.history[-need:]
            block = tail[:period]
            if tail == block * FOLD_FROM:
                # the copies after the first that are still held are not shown one by one
                shown_first = max(0, self.held - (need - period))
                out += self._show(self.held, shown_first)
                self.history, self.held = [], 0
                self.fold = self.last = Fold(self.side, self.stream, tuple(block), FOLD_FROM)
                self.phase = 0
                out.append(Piece("start", self.side, self.fold.text, self.fold))
                return out
        if self.held > (FOLD_FROM - 1) * MAX_PERIOD:
            out += self._show(self.held, 1)
            self.held -= 1
        return out

    def _show(self, held: int, n: int) -> list[Piece]:
        """The first ``n`` of the last ``held`` lines of history, as lines."""
        start = len(self.history) - held
        lines = self.history[start:start + n]
        if lines:
            self.last = None
        return [Piece("line", self.side, line) for line in lines]

    def _release(self) -> list[Piece]:
        out = self._show(self.held, self.held)
        self.held = 0
        return out

    def _end_fold(self) -> Piece:
        fold = self.fold
        assert fold is not None
        fold.ended = True
        self.fold, self.phase, self.resync, self.maybe = None, 0, False, None
        self.history, self.held = [], 0
        return Piece("end", self.side, fold.text, fold)


def fold_line(fold: Fold, lang: str) -> str:
    """``server │ server===> ⏎ b''  (×1,598,157)``: a fold as one line."""
    key = "watch.fold_cut" if fold.cut else "watch.fold"
    return msg(key, lang, side=side_label(fold.side, lang), text=fold.text,
               count=f"{fold.count:,}", cut=f"{fold.cut:,}")
