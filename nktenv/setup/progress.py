"""Which installer output lines are worth showing in the progress display. Pure."""

from __future__ import annotations

import re

_PIP = re.compile(r"^(Collecting|Downloading|Processing|Using cached|Installing collected packages|Successfully installed)\b")
_UV = re.compile(r"^\s*(Using CPython|Creating virtual environment|Resolved|Prepared|Installed|Downloading|Downloaded|Built|Building)\b|^ \+ ")
_WIDTH = 70


def interesting(line: str) -> str | None:
    """The line shortened for display when it says what is downloaded/installed; else None."""
    text = line.rstrip()
    if not (_PIP.match(text) or _UV.match(text)):
        return None
    text = text.strip()
    if text.startswith("+ "):
        text = "installed " + text[2:]
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"
