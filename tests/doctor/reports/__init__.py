"""Real reports from public issue threads, one folder per finding code.

`<code>/<name>.txt` is the text verbatim as the thread shows it (what a student would paste);
`<name>.source` gives the thread's URL on its first line and what the report shows on the second;
an optional `<name>.facts.json` holds facts the thread states in prose (an issue form's OS or WSL
field), merged over the snapshot built from the text. A name starting with `not-` is a report where
the evidence does not show that problem: the code must stay quiet on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Report:
    code: str
    name: str
    path: Path

    @property
    def positive(self) -> bool:
        return not self.name.startswith("not-")

    @property
    def url(self) -> str:
        return self.path.with_suffix(".source").read_text(encoding="utf-8").splitlines()[0].strip()

    def facts(self) -> Any:
        """The snapshot doctor --from would build from the text, with the thread's stated facts over it."""
        from nktenv.facts import from_dict
        from nktenv.paste import facts_from_pastes

        facts = facts_from_pastes([(self.path.name, self.path.read_text(encoding="utf-8"))])
        extra = self.path.parent / f"{self.name}.facts.json"
        if not extra.exists():
            return facts
        return from_dict(_merge(facts.to_dict(), json.loads(extra.read_text(encoding="utf-8"))))


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def reports() -> list[Report]:
    return [Report(p.parent.name, p.stem, p) for p in sorted(REPORTS.glob("*/*.txt"))]


def counts() -> dict[str, tuple[int, int]]:
    """code -> (reports that show it, reports where it must stay quiet)."""
    out: dict[str, tuple[int, int]] = {}
    for r in reports():
        pos, neg = out.get(r.code, (0, 0))
        out[r.code] = (pos + r.positive, neg + (not r.positive))
    return out
