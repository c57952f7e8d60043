"""What every paste parser returns: the facts it read, the lines it understood, what it missed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# A shell prompt or command echo pasted above the output: `$ nvidia-smi`, `C:\Users\x>pip list`,
# `(venv) user@host:~$ ...`, `>>> import torch`, `❯ uv add ...`, a markdown `**$ nvcc --version**`.
_PROMPT = re.compile(
    r"^\s*(?:\*\*)?(?:\([^)]*\)\s*)?(?:\[[^\]]*\]\s*)?(?:"
    r"[\w.@~:/\[\]-]*\s?[$#❯]\s+\S.*"  # POSIX shells (root@host[/]#), starship/zsh arrows
    r"|(?:sudo\s+)?(?:pip3?|uv|conda|mamba|python3?(?:\.\d+)?\s+-m\s+pip)\s+(?:pip\s+)?(?:install|add|sync|list|freeze|run|lock|venv|compile)\b.*"
    r"|(?:nvidia-smi|nvcc|cat\s+/proc/driver/nvidia/version|python3?\s+-m\s+torch\.utils\.collect_env)(?:\s+\S+)*"
    r"|[A-Za-z]:\\[^>]*>\s*\S.*"  # cmd.exe
    r"|PS [A-Za-z]:\\[^>]*>\s*\S.*"  # PowerShell
    r"|>>>\s*.*|\.\.\.\s*"  # the Python REPL
    r")(?:\*\*)?\s*$"
)
_FENCE = re.compile(r"^\s*(?:```+|~~~+)\s*[\w-]*\s*$|^\s*#{2,6}\s+\S.*$")  # code fences, markdown headings
MIB = 1024 * 1024


@dataclass
class Piece:
    """One kind of text found in a paste. `data` uses the sections merge.py knows:
    driver, gpus, toolkits, cudnn, torch, tensorflow, packages, conda, os, python, cpu, env, errors."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    lines: set[int] = field(default_factory=set)  # indices of the lines this parser understood
    missing: list[str] = field(default_factory=list)  # fields this kind always prints but the paste lacks


def is_prompt(line: str) -> bool:
    return bool(_PROMPT.match(line)) or bool(_FENCE.match(line))


def mib(text: str | None) -> int | None:
    """'12196MiB' / '46068 MiB' -> bytes; 'N/A' -> None."""
    m = re.fullmatch(r"\s*(\d+)\s*MiB\s*", text or "")
    return int(m.group(1)) * MIB if m else None


def cuda_from_tag(version: str | None) -> tuple[bool | None, str | None]:
    """torch's local tag: '2.7.0+cu128' -> (True, '12.8'); '+cpu' -> (False, None); no tag -> (None, None)."""
    if not version or "+" not in version:
        return None, None
    tag = version.split("+", 1)[1]
    m = re.fullmatch(r"cu(\d+)(\d)", tag)
    if m:
        return True, f"{m.group(1)}.{m.group(2)}"
    if tag == "cpu":
        return False, None
    return None, None


UNKNOWN = {"", "n/a", "none", "could not collect", "no cuda", "unknown", "[n/a]", "not supported", "[not supported]"}


def known(value: str | None) -> str | None:
    """A value as printed, or None where the tool says it does not know."""
    if value is None:
        return None
    v = value.strip()
    return None if v.lower() in UNKNOWN else v


_CODE = re.compile(r"^\s*`?(?:print\(.*\)|import \w[\w.]*(?:\s+as\s+\w+)?|from [\w.]+ import .+|"
                   r"\w+\s*=\s*[\w.]+\(.*\)|python3?\s+-c\s+.+)`?\s*$")


def is_code(line: str) -> bool:
    """A line of Python the user ran, pasted above its output."""
    return bool(_CODE.match(line))
