"""Per finding code: on how many real reports it is tested, and how many doctor gets right today.

    python benchmarks/doctor_reports.py [--json]

The reports are verbatim texts from public issue threads under tests/doctor/reports/<code>/ (URL in
the `.source` beside each), read as `nktenv doctor --from` reads a paste. "shows" counts reports where
the code must fire, "quiet" those where the evidence does not show the problem and it must not;
"right" counts the reports on which doctor's answer is the expected one. Codes with no report yet
are listed with zeros, so the gaps stay visible.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nktenv.doctor import CODES, diagnose  # noqa: E402
from nktenv.manifest import load  # noqa: E402
from tests.doctor.reports import reports  # noqa: E402


def measure() -> dict[str, dict[str, int]]:
    manifests = load()
    out = {c: {"shows": 0, "quiet": 0, "right": 0} for c in CODES}
    for r in reports():
        codes = {f.code for f in diagnose(r.facts(), manifests)}
        row = out.setdefault(r.code, {"shows": 0, "quiet": 0, "right": 0})
        row["shows" if r.positive else "quiet"] += 1
        row["right"] += (r.code in codes) == r.positive
    return out


def main(argv: list[str]) -> int:
    rows = measure()
    if "--json" in argv:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(len(c) for c in rows)
    print(f"{'code':<{width}}  shows  quiet  right")
    for code, row in sorted(rows.items(), key=lambda kv: (-(kv[1]["shows"] + kv[1]["quiet"]), kv[0])):
        print(f"{code:<{width}}  {row['shows']:>5}  {row['quiet']:>5}  {row['right']:>5}")
    total = sum(r["shows"] + r["quiet"] for r in rows.values())
    right = sum(r["right"] for r in rows.values())
    tested = sum(1 for r in rows.values() if r["shows"])
    print(f"{total} reports, {right} answered as expected; {tested} of {len(rows)} codes tested on a report that shows them")
    return 0 if right == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
