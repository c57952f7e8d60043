"""Match a message the way it arrives in captured logs: wrapped, indented, with Windows line ends.

TensorFlow's and CUDA's messages are single lines when printed, but a pasted log often breaks them:
a terminal or Windows console wraps at its width (80 or 120 columns, mid-word), an issue form or a
traceback indents the continuation, and Windows logs end lines with `\\r\\n` (sometimes `\\r\\r\\n`).
`Unwrapped` re-joins a text's lines so that a rule's pattern matches across those breaks; a blank
line still ends a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

# Console widths at which a line is cut mid-word (cmd.exe and PowerShell use 80 or 120 by default).
CONSOLE_WIDTHS = frozenset((80, 120))
# A message is re-joined over at most this many lines (wrapping at 80 columns folds ~300 characters).
MAX_LINES = 5

_EOL = re.compile(r"\r\r\n|\r\n|\n|\r")


def split_lines(text: str) -> list[str]:
    """Lines as the tool printed them: `\\r\\n`, `\\r\\r\\n` and lone `\\r` all end a line."""
    return _EOL.split(str(text))


@dataclass(frozen=True)
class Piece:
    """One non-blank line: its stripped text and how it joins the next line ('' for a hard wrap, ' ' else)."""

    text: str
    joiner: str
    ends_block: bool  # a blank line (or the end of the text) follows


def pieces(text: str) -> list[Piece]:
    raw = split_lines(text)
    out: list[Piece] = []
    for i, line in enumerate(raw):
        stripped = line.strip()
        if not stripped:
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        # Cut at the console's width with no space at the cut: the word continues on the next line.
        hard = len(line) in CONSOLE_WIDTHS and not line.endswith(" ") and bool(nxt) and not nxt[:1].isspace()
        out.append(Piece(stripped, "" if hard else " ", not nxt.strip()))
    return out


class Unwrapped:
    """One evidence text, searchable across its line breaks."""

    def __init__(self, text: str) -> None:
        self.pieces = pieces(text)

    @cached_property
    def flat(self) -> str:
        """The whole text on one line (a quick test before the windowed search)."""
        return "".join(p.text + ("\n" if p.ends_block else p.joiner) for p in self.pieces)

    def window(self, start: int) -> tuple[str, list[int]]:
        """Lines start.. joined (up to MAX_LINES, never past a blank line), and where each line begins."""
        text = ""
        offsets: list[int] = []
        for p in self.pieces[start:start + MAX_LINES]:
            offsets.append(len(text))
            text += p.text
            if p.ends_block:
                break
            text += p.joiner
        return text, offsets

    def _head(self, i: int) -> str:
        """The part of a console-wrapped line before line i: cut at the width, it is the same message."""
        head = ""
        k = i - 1
        while k >= 0 and self.pieces[k].joiner == "" and not self.pieces[k].ends_block:
            head = self.pieces[k].text + head
            k -= 1
        return head

    def crossing(self, rx: re.Pattern[str]) -> list[tuple[str, re.Match[str]]]:
        """Matches that begin on one line and end on a later one, each with the joined lines it spans.

        Matches inside a single line are left to the line-by-line search, so nothing is found twice.
        """
        if len(self.pieces) < 2 or not rx.search(self.flat):
            return []
        out: list[tuple[str, re.Match[str]]] = []
        covered = -1
        for i in range(len(self.pieces) - 1):
            if i <= covered or self.pieces[i].ends_block:
                continue
            text, offsets = self.window(i)
            first_end = len(self.pieces[i].text)
            for m in rx.finditer(text):
                if m.start() >= first_end:
                    break
                if m.end() <= first_end:
                    continue  # a match within this line: already found line by line
                last = max(k for k, off in enumerate(offsets) if off < m.end())
                out.append((self._head(i) + text[:_line_end(text, offsets, last)].rstrip(), m))
                covered = i + last
                break
        return out


def _line_end(text: str, offsets: list[int], k: int) -> int:
    return offsets[k + 1] if k + 1 < len(offsets) else len(text)
