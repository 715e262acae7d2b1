"""Words for bytes that are not plain text: telnet's option negotiation, CR LF, control bytes.

A learner who connects with ``telnet`` sees ``b'\\xff\\xfd\\x18…'`` arrive before anything they
typed; :func:`describe` names it ("telnet option negotiation: IAC DO TERMINAL-TYPE"). Pure.
"""

from __future__ import annotations

from .i18n import msg

IAC = 0xFF
_VERBS = {0xFB: "WILL", 0xFC: "WONT", 0xFD: "DO", 0xFE: "DONT"}
_COMMANDS = {0xF0: "SE", 0xF1: "NOP", 0xF3: "BRK", 0xF4: "IP", 0xF8: "EL", 0xF9: "GA",
             0xFA: "SB"}
_OPTIONS = {0: "BINARY", 1: "ECHO", 3: "SUPPRESS-GO-AHEAD", 5: "STATUS", 6: "TIMING-MARK",
            24: "TERMINAL-TYPE", 31: "NAWS", 32: "TERMINAL-SPEED", 33: "REMOTE-FLOW-CONTROL",
            34: "LINEMODE", 35: "X-DISPLAY-LOCATION", 36: "OLD-ENVIRON", 39: "NEW-ENVIRON"}
_TEXT_CONTROLS = b"\n\t"


def telnet_commands(data: bytes) -> list[str]:
    """The telnet commands in ``data``: ``["IAC DO TERMINAL-TYPE", "IAC WILL NAWS"]``."""
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        if data[i] != IAC or i + 1 >= n:
            i += 1
            continue
        code = data[i + 1]
        if code in _VERBS and i + 2 < n:
            option = data[i + 2]
            out.append(f"IAC {_VERBS[code]} {_OPTIONS.get(option, str(option))}")
            i += 3
        elif code == 0xFA:  # sub-negotiation: IAC SB option … IAC SE
            option = data[i + 2] if i + 2 < n else None
            end = data.find(bytes((IAC, 0xF0)), i + 2)
            out.append(f"IAC SB {_OPTIONS.get(option, str(option))} … IAC SE"
                       if option is not None else "IAC SB")
            i = n if end < 0 else end + 2
        elif code == IAC:  # an escaped 0xff data byte
            i += 2
        else:
            out.append(f"IAC {_COMMANDS.get(code, str(code))}")
            i += 2
    return out


def describe(data: bytes | None, lang: str = "en") -> str | None:
    """What is special about ``data``, in words, or None when it is plain text."""
    if not data:
        return None
    notes: list[str] = []
    commands = telnet_commands(data)
    if commands:
        notes.append(msg("bytes_note.telnet", lang, commands=", ".join(commands)))
    if data.endswith(b"\r\n"):
        notes.append(msg("bytes_note.crlf", lang))
    rest = bytes(b for b in data if b != IAC) if commands else data
    odd = [b for b in rest.replace(b"\r\n", b"")
           if (b < 0x20 and b not in _TEXT_CONTROLS) or b == 0x7F]
    if not commands:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            odd.append(-1)
    if odd and not commands:
        first = next((f"0x{b:02x}" for b in odd if b >= 0), None)
        notes.append(msg("bytes_note.binary", lang, example=first) if first
                     else msg("bytes_note.not_utf8", lang))
    if not notes:
        return None
    return msg("bytes_note.join", lang).join(notes)
