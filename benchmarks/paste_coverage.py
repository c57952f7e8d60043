"""How many of the collected real pasted samples each parser reads fully.

    python benchmarks/paste_coverage.py [--json]

For every sample under tests/paste/samples/<kind>/ (real outputs, each with its source URL beside
it): is it recognised as its kind, and does every non-blank line end up read by a parser ("fully")?
A sample the person cut mid-table still counts as read fully when every line they pasted was read;
the fields the parser expected but did not see are listed as "missing" (a cut process table, say).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nktenv.paste import decode, parse, recognise, unread_lines  # noqa: E402

SAMPLES = REPO / "tests" / "paste" / "samples"
ERROR_DIRS = {"traceback", "pip-error", "uv-error"}


def measure() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = defaultdict(lambda: {"samples": 0, "recognised": 0, "fully_read": 0,
                                                             "lines": 0, "lines_read": 0, "missing": {}})
    for path in sorted(SAMPLES.glob("*/*.txt")):
        kind = path.parent.name
        text = decode(path.read_bytes())
        kinds = recognise(text)
        pieces = parse(text)
        unread = unread_lines(text, pieces)
        lines = sum(1 for ln in text.splitlines() if ln.strip())
        row = out[kind]
        row["samples"] += 1
        row["recognised"] += int(kind in kinds or (kind == "unrecognised" and not kinds))
        row["fully_read"] += int(not unread)
        row["lines"] += lines
        row["lines_read"] += lines - len(unread)
        missing = [m for p in pieces if p.kind == kind for m in p.missing]
        if missing:
            row["missing"][path.stem] = missing
    return dict(out)


def main() -> int:
    result = measure()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'kind':<22}{'samples':>8}{'recognised':>11}{'read fully':>11}{'lines read':>14}")
    total = [0, 0, 0]
    for kind, row in sorted(result.items()):
        print(f"{kind:<22}{row['samples']:>8}{row['recognised']:>11}{row['fully_read']:>11}"
              f"{row['lines_read']:>8}/{row['lines']:<5}")
        total[0] += row["samples"]
        total[1] += row["recognised"]
        total[2] += row["fully_read"]
    print(f"{'total':<22}{total[0]:>8}{total[1]:>11}{total[2]:>11}")
    for kind, row in sorted(result.items()):
        for name, missing in row["missing"].items():
            print(f"  {kind}/{name}: not in the paste: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
