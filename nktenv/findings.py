"""A finding: what doctor (and plan) say about a machine. Pure data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One diagnosis. `code` is stable snake_case; texts are for people (translated at render time
    by the renderer, never in JSON); `evidence` quotes what triggered it verbatim."""

    code: str
    severity: str  # error | warning | info
    title: str
    fix: str | None = None
    evidence: tuple[str, ...] = ()
    why: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"bad severity {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = list(self.evidence)
        return d


def worst(findings: list[Finding] | tuple[Finding, ...]) -> str | None:
    for sev in SEVERITIES:
        if any(f.severity == sev for f in findings):
            return sev
    return None
