"""Tables and sentences for a terminal, shared by bench and compare.

Headers break only between words (spaces, or after "/" in Japanese, which has no spaces), so a
column is never headed "サン/プル/秒" or "sample/s/s". Piped output (not a terminal) carries no
trailing padding and no line breaks inside sentences: a file or `| less` gets each sentence whole.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

GAP = 2  # cells between two columns of a SIMPLE_HEAD table with collapsed padding


_PIECE = re.compile(r"[^\s/]*/?\s*")  # a word with the slash or spaces after it: breaks go after these


def _pieces(head: str) -> list[str]:
    return [p for p in _PIECE.findall(head) if p]


def header_segments(head: str) -> list[str]:
    """The unbreakable pieces of a header ("Samples/s" -> ["Samples/s"]; "サンプル/秒" -> ["サンプル/", "秒"])."""
    if head.isascii():  # English breaks between words only
        return head.split() or [head]
    return [p.strip() for p in _pieces(head)] or [head]


def wrap_header(head: str, width: int) -> str:
    """The header with line breaks only between its pieces, each line at most `width` cells where possible."""
    from rich.cells import cell_len

    pieces = [w + " " for w in head.split()] if head.isascii() else _pieces(head)
    lines: list[str] = []
    for piece in pieces:
        if lines and cell_len((lines[-1] + piece).rstrip()) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.rstrip() for line in lines) or head


def column_widths(heads: Sequence[str], rows: Sequence[Sequence[str]], total: int, gap: int = GAP) -> list[int]:
    """Whole headers when the table fits in `total` cells, else the widest unbreakable segment."""
    from rich.cells import cell_len

    data = [max([cell_len(r[i]) for r in rows] or [0]) for i in range(len(heads))]
    whole = [max(d, cell_len(h)) for d, h in zip(data, heads)]
    if table_width(whole, gap) <= total:
        return whole
    return [max([d] + [cell_len(s) for s in header_segments(h)]) for d, h in zip(data, heads)]


def print_text(console: Any, text: str, style: str | None = None) -> None:
    """A sentence: wrapped between words on a terminal, one line when piped."""
    from rich.text import Text

    console.print(Text(text, style=style or ""), soft_wrap=not console.is_terminal)


def print_table(console: Any, table: Any) -> None:
    """A rich table; piped, without the spaces that pad each line to the table's width."""
    if console.is_terminal:
        console.print(table)
        return
    with console.capture() as cap:
        console.print(table)
    for line in cap.get().splitlines():
        console.file.write(line.rstrip() + "\n")
    console.file.flush()


def table_width(widths: Sequence[int], gap: int = GAP) -> int:
    """Cells a SIMPLE_HEAD table takes: its columns, the gaps, and the blank edge on each side."""
    return sum(widths) + gap * (len(widths) - 1) + 2

