"""The terminal side of ``sockteach watch`` (and ``replay``): keys read without echo, and a
view with a footer that is always shown."""

from __future__ import annotations

import codecs
import os
import re
import select
from typing import Iterator


class Keys:
    """Keys from a terminal without echo or line editing (Ctrl-C still raises
    KeyboardInterrupt). ``read(timeout)`` returns tokens: a character, or "enter",
    "backspace", "tab", "eof" (Ctrl-D), "kill" (Ctrl-U), "left", "right", "up", "down",
    "home", "end", "esc"."""

    _SEQ = {"[A": "up", "[B": "down", "[C": "right", "[D": "left", "[H": "home", "[F": "end",
            "OA": "up", "OB": "down", "OC": "right", "OD": "left", "OH": "home", "OF": "end",
            "[1~": "home", "[4~": "end", "[5~": "pageup", "[6~": "pagedown"}
    _CTRL = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace",
             "\t": "tab", "\x04": "eof", "\x15": "kill"}

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.old = None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""
        self.closed = False

    def __enter__(self) -> "Keys":
        import termios

        self.old = termios.tcgetattr(self.fd)
        new = termios.tcgetattr(self.fd)
        new[3] &= ~(termios.ECHO | termios.ICANON)
        new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSANOW, new)
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        if self.old is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.old)

    def read(self, timeout: float) -> list[str]:
        if self.closed:  # the terminal went away: nothing more to read, but keep the pace
            select.select([], [], [], timeout)
            return []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        data = os.read(self.fd, 1024)
        if not data:
            self.closed = True
            return ["eof"]
        return list(self.tokens(self.decoder.decode(data)))

    def tokens(self, text: str) -> Iterator[str]:
        text = self.pending + text
        self.pending = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                rest = text[i + 1:]
                for seq, name in self._SEQ.items():
                    if rest.startswith(seq):
                        yield name
                        i += 1 + len(seq)
                        break
                else:
                    m = re.match(r"[\[O][0-9;]*[A-Za-z~]", rest)
                    i += 1 + (len(m.group(0)) if m else 0)
                    if not m:
                        yield "esc"
                continue
            if ch in self._CTRL:
                if not (ch == "\n" and i > 0 and text[i - 1] == "\r"):
                    yield self._CTRL[ch]
            elif ch >= " ":
                yield ch
            i += 1



class Above:
    """``main`` rendered in the height left above ``footer`` (which is always shown: what
    of ``main`` does not fit that height is cut at its bottom)."""

    def __init__(self, main: object, footer: object) -> None:
        self.main, self.footer = main, footer

    def __rich_console__(self, console, options):  # type: ignore[no-untyped-def]
        from rich.segment import Segment

        free = options.update(height=None)
        lines = console.render_lines(self.footer, free, pad=False)
        height = max(10, (options.height or options.max_height) - len(lines))
        main = console.render_lines(self.main, options.update(height=height), pad=False)
        for line in main[:height] + lines:
            yield from line
            yield Segment.line()


