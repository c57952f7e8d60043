"""Diagnose from what a user pastes: recognise each kind of text, read it, merge it into facts.

`read(path)` decodes one `--from` file (`-` is stdin); `recognise(text)` names the kinds of text in
it; `parse(text)` returns one `Piece` per kind found; `facts_from_pastes([(name, text), ...])` is the
merged `nktenv.facts/1` snapshot, every entry marked with where it came from (`pasted:<kind>`), and
the lines no parser read kept verbatim as `logs` so the rules still grep them.
"""

from __future__ import annotations

from typing import Callable

from nktenv.paste import collect_env, errors, packages, smi, tools
from nktenv.paste.decode import decode, normalise, read
from nktenv.paste.merge import facts_from_pastes
from nktenv.paste.model import Piece, is_prompt

__all__ = ["KINDS", "Piece", "decode", "facts_from_pastes", "normalise", "parse", "read", "recognise", "unread_lines"]

# kind -> (detector, parser). Order matters only for which kind claims a line first in the report.
KINDS: dict[str, tuple[Callable[[list[str]], bool], Callable[[list[str]], Piece]]] = {
    "nvidia-smi": (smi.detect_table, smi.parse_table),
    "nvidia-smi-q": (smi.detect_query, smi.parse_query),
    "nvidia-smi-L": (smi.detect_list, smi.parse_list),
    "nvidia-smi-error": (smi.detect_failure, smi.parse_failure),
    "nvidia-smi-csv": (smi.detect_csv, smi.parse_csv),
    "collect_env": (collect_env.detect, collect_env.parse),
    "pip-list": (packages.detect_pip_list, packages.parse_pip_list),
    "pip-freeze": (packages.detect_freeze, packages.parse_freeze),
    "conda-list": (packages.detect_conda_list, packages.parse_conda_list),
    "nvcc": (tools.detect_nvcc, tools.parse_nvcc),
    "proc-driver-version": (tools.detect_proc_version, tools.parse_proc_version),
    "torch-print": (tools.detect_torch_print, tools.parse_torch_print),
    "tf-devices": (tools.detect_tf_devices, tools.parse_tf_devices),
}


def _lines(text: str) -> list[str]:
    return normalise(text).split("\n")


def _structured(lines: list[str]) -> list[str]:
    found = [kind for kind, (detect, _) in KINDS.items() if detect(lines)]
    if "nvidia-smi-q" in found and "nvidia-smi" in found and not any("NVIDIA-SMI " in ln for ln in lines):
        found.remove("nvidia-smi")
    if "pip-list" in found and "conda-list" in found and not any("packages in environment" in ln for ln in lines):
        found.remove("conda-list")
    return found


def _parse(text: str) -> tuple[list[str], list[Piece]]:
    lines = _lines(text)
    kinds = _structured(lines)
    pieces = [KINDS[k][1](lines) for k in kinds]
    env = tools.parse_env(lines)
    if env is not None:
        pieces.append(env)
    read_ = set().union(*(p.lines for p in pieces)) if pieces else set()
    # Error reports are looked for only in what the structured parsers left: a collect_env line
    # such as "Nvidia driver version: 535.98" is a fact, not an error.
    rest = [ln if i not in read_ else "" for i, ln in enumerate(lines)]
    if errors.detect(rest):
        kinds += errors.kinds(rest)
        pieces.append(errors.parse(rest))
    return kinds, pieces


def recognise(text: str) -> list[str]:
    """Every kind of text found, e.g. ['nvidia-smi', 'traceback']; [] for text nktenv cannot read."""
    return _parse(text)[0]


def parse(text: str) -> list[Piece]:
    """One Piece per kind recognised, plus an `error` piece for tracebacks and installer errors."""
    return _parse(text)[1]


def unread_lines(text: str, pieces: list[Piece] | None = None) -> list[str]:
    """The non-blank lines no parser understood (they stay evidence, as a log)."""
    lines = _lines(text)
    pieces = parse(text) if pieces is None else pieces
    read_ = set().union(*(p.lines for p in pieces)) if pieces else set()
    return [ln for i, ln in enumerate(lines) if ln.strip() and i not in read_ and not is_prompt(ln)]
