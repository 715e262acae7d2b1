"""Text for a terminal: Chinese line breaking, and characters every terminal draws alike.

:class:`Wrapped` is a rich ``Text`` that wraps like Chinese is set: a line may break between
two Chinese characters (not before a closing mark such as ``，`` or ``）``, not after an
opening one) and at spaces, but never inside a Latin word (``recv``, ``gettimeout``), never
around a number written between Chinese words (``第 3 课``, ``5 个字节``), and never right
after a lone mark such as ``▶`` or ``⚠`` (it stays with the word it marks).

Characters of *ambiguous* East Asian width (``— … → ↔ ▶ × ·``, quotes, box lines) are drawn
one cell wide by most terminals but two by a terminal set for East Asian text, which breaks
every border drawn after them. :func:`safe_glyphs` says whether to avoid them (set
``SOCKTEACH_GLYPHS=ascii`` or ``=unicode`` to choose; otherwise they are avoided on a
terminal in Chinese or in a Chinese, Japanese or Korean locale), and :func:`plain` replaces them by characters
whose width every terminal agrees on.
"""

from __future__ import annotations

import os
import re
import unicodedata

from rich.cells import cell_len, chop_cells
from rich.containers import Lines
from rich.measure import Measurement
from rich.text import Text

CLOSING = set("，。、：；！？）」』》〉】〕”’…—%％·・")
OPENING = set("（「『《〈【〔“‘")
MARKS = set("▶◀⚠•→>*-+#✔✘")
_SAFE = str.maketrans({
    "—": "－", "…": "⋯", "→": "->", "←": "<-", "↔": "<->", "▶": ">", "◀": "<", "×": "x",
    "·": "・", "“": '"', "”": '"', "‘": "'", "’": "'", "─": "-", "•": "*", "°": "o",
})


def safe_glyphs(lang: str, terminal: bool = True) -> bool:
    """Whether to draw with characters of one agreed width only (see the module's text);
    not ``terminal`` (a file, a notebook, an SVG), only when ``SOCKTEACH_GLYPHS`` says so."""
    choice = os.environ.get("SOCKTEACH_GLYPHS", "").strip().lower()
    if choice in ("ascii", "safe", "1"):
        return True
    if choice in ("unicode", "0") or not terminal:
        return False
    if lang == "zh":
        return True
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_CTYPE") or os.environ.get("LANG")
    return (locale or "")[:2].lower() in ("zh", "ja", "ko")


def plain(text: str) -> str:
    """``text`` without characters of ambiguous width (``——`` becomes the full-width ``－－``,
    which looks the same in a Chinese sentence; arrows and marks become ASCII)."""
    return text.translate(_SAFE)


def is_cjk(ch: str) -> bool:
    if not ch:
        return False
    o = ord(ch)
    if o < 0x1100:
        return False
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0xFE30 <= o <= 0xFE4F or 0xFF00 <= o <= 0xFFEF or o >= 0x20000
            or unicodedata.east_asian_width(ch) in ("W", "F"))


def _mark(token: str) -> bool:
    """A token made of marks only (``▶``, ``──▶``, ``-->``, ``⚠``): it stays with its word."""
    return bool(token) and all(ch in MARKS or ch in "─-<>=" for ch in token)


def _numeric(token: str) -> bool:
    return bool(token) and all(ch.isdigit() or ch in ",.:%" for ch in token) and \
        any(ch.isdigit() for ch in token)


def pieces(text: str) -> list[str]:
    """``text`` cut at every place a line may break; the pieces joined are ``text`` again
    (each piece keeps the spaces that follow it)."""
    if text.isascii():  # no Chinese: break at spaces, but not after a lone mark
        out = []
        for word in re.findall(r" *[^ ]+ *| +", text) or [text]:
            if out and (_mark(out[-1].strip(" ")) or _mark(word.strip(" "))):
                out[-1] += word
            else:
                out.append(word)
        return out
    out = []
    start = 0
    n = len(text)
    i = 1
    while i < n:
        a, b = text[i - 1], text[i]
        cut = False
        if a == " " and b != " ":  # after a run of spaces
            k = i - 1
            while k >= 0 and text[k] == " ":
                k -= 1
            w = k
            while w >= 0 and text[w] != " ":
                w -= 1
            before = text[w + 1:k + 1]
            end = i
            while end < n and text[end] != " ":
                end += 1
            after = text[i:end]
            glued = _mark(before) or _mark(after) or (_numeric(after) and is_cjk(before[-1:])) or \
                (_numeric(before) and is_cjk(b)) or b in CLOSING
            cut = not glued and k >= 0
        elif a != " " and b != " " and (is_cjk(a) or is_cjk(b)):
            if is_cjk(a) and is_cjk(b):
                cut = b not in CLOSING and a not in OPENING
            else:  # Chinese next to Latin: after a full-width mark, or before an opening one
                cut = (a in CLOSING and is_cjk(a) and b not in CLOSING) or \
                    (b in OPENING and a not in OPENING)
        if cut:
            out.append(text[start:i])
            start = i
        i += 1
    out.append(text[start:])
    return out


def divide(text: str, width: int) -> list[int]:
    """Offsets at which to break ``text`` so that each line fits ``width`` cells (as
    ``rich._wrap.divide_line``, breaking only where :func:`pieces` allows; a piece longer
    than a whole line is cut by cells)."""
    breaks: list[int] = []
    offset = 0  # cells on the current line
    position = 0
    for piece in pieces(text):
        need = cell_len(piece.rstrip(" "))
        if offset + need <= width:
            offset += cell_len(piece)
        elif need > width:
            if offset and position:
                breaks.append(position)
            start = position
            chopped = chop_cells(piece, width)
            for k, part in enumerate(chopped):
                if k:
                    breaks.append(start)
                start += len(part)
            offset = cell_len(chopped[-1]) if chopped else 0
        else:
            if offset and position:
                breaks.append(position)
            offset = cell_len(piece)
        position += len(piece)
    return breaks


class Wrapped(Text):
    """A rich ``Text`` that breaks lines where :func:`pieces` allows."""

    def wrap(self, console, width, *, justify=None, overflow=None, tab_size=8,
             no_wrap=None) -> Lines:
        no_wrap = bool(no_wrap if no_wrap is not None else self.no_wrap) or overflow == "ignore"
        if no_wrap:
            return super().wrap(console, width, justify=justify, overflow=overflow,
                                tab_size=tab_size, no_wrap=no_wrap)
        wrap_justify = justify or self.justify or "default"
        wrap_overflow = overflow or self.overflow or "fold"
        lines = Lines()
        for line in self.split(allow_blank=True):
            if "\t" in line:
                line.expand_tabs(tab_size)
            new_lines = line.divide(divide(str(line), width))
            for part in new_lines:
                part.rstrip_end(width)
            if wrap_justify:
                new_lines.justify(console, width, justify=wrap_justify, overflow=wrap_overflow)
            for part in new_lines:
                part.truncate(width, overflow=wrap_overflow)
            lines.extend(new_lines)
        return lines

    def __rich_measure__(self, console, options) -> Measurement:
        lines = self.plain.splitlines()
        widest = max((cell_len(line) for line in lines), default=0)
        longest = max((cell_len(p.rstrip(" ")) for line in lines for p in pieces(line)),
                      default=widest)
        return Measurement(min(longest, widest), widest)
