"""The real pasted samples under tests/paste/samples/<kind>/<name>.txt, each with <name>.source (URL + what)."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"


def all_samples() -> list[Path]:
    return sorted(SAMPLES.glob("*/*.txt"))


def sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"
