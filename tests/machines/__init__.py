"""Recorded machines for tests: each folder is a `nktenv detect --record` recording (docs/recordings.md).

Usage from any test (the tests/ folder is on sys.path):

    from machines import replay_facts, machine_names
    facts = replay_facts("nvml-version-mismatch")
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from nktenv.facts import Facts

MACHINES_DIR = Path(__file__).resolve().parent


def machine_names() -> list[str]:
    """Every recorded machine, sorted."""
    return sorted(p.name for p in MACHINES_DIR.iterdir() if (p / "machine.json").is_file())


def machine_dir(name: str) -> Path:
    path = MACHINES_DIR / name
    if not (path / "machine.json").is_file():
        raise KeyError(f"no recorded machine {name!r}; known: {', '.join(machine_names())}")
    return path


def replay_facts(name: str, *, frameworks: bool = True, overrides: Mapping[str, str] | None = None) -> Facts:
    """The facts `nktenv detect --replay tests/machines/<name>` produces (offline, deterministic)."""
    from nktenv.probes import detect
    from nktenv.probes.seam import ReplaySeam

    return detect(ReplaySeam(machine_dir(name)), frameworks=frameworks, overrides=overrides)
