"""Write examples/lab-results/: the six-machine example lab as `nktenv.bench/1` result files.

The documents come from tests/compare/compare_fleet.py (the lab the compare tests use), so README's
`nktenv compare examples/lab-results` shows what the tests check. Rerun after changing that module:

    python tools/make_example_lab.py

tests/compare/test_example_lab.py fails while the files and the module disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "examples" / "lab-results"
sys.path.insert(0, str(REPO / "tests" / "compare"))

from compare_fleet import lab_fleet  # noqa: E402


def render(doc: dict[str, Any]) -> str:
    """One file's text: stable key order, UTF-8 names kept, a final newline."""
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def expected() -> dict[str, str]:
    return {name: render(doc) for name, doc in lab_fleet().items()}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = expected()
    for stale in OUT.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (OUT / name).write_bytes(text.encode("utf-8"))  # bytes: "\n" on every OS, as committed
    print(f"wrote {len(wanted)} files to {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
