"""Screenshots of the compare report for docs/compare.md (English and Japanese), in headless Chromium.

The report is the tests' six-machine lab (tests/compare/compare_fleet.py) plus three earlier runs of
lab-pc-02 (tests/compare/compare_history.py), so the history section has a drop to show. Japanese
needs a CJK font (Debian: apt-get install fonts-ipafont-gothic).

    python tools/compare_screenshots.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "compare"))

from compare_fleet import lab_fleet  # noqa: E402
from compare_history import driver_regression  # noqa: E402

from nktenv.compare.analyze import compare  # noqa: E402
from nktenv.compare.history import history  # noqa: E402
from nktenv.compare.model import Result  # noqa: E402
from nktenv.compare.render import to_html  # noqa: E402
from nktenv.i18n import use_language  # noqa: E402


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no Chromium found", file=sys.stderr)
        return 1
    docs = list(lab_fleet().values()) + driver_regression()[:-1]
    results = [Result.from_dict(d, f"run{i}.json") for i, d in enumerate(docs)]
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("en", "ja"):
            with use_language(lang):
                page = to_html(compare(results), history=history(results))
            # the top of the page, and the page from the first GPU workload on (its table and charts)
            body = page.index("<body>") + len("<body>")
            at = page.index('<section class="workload" data-workload="torch/cnn/resident/gpu/bs100">')
            for name, text, height in (("report", page, 1400), ("charts", page[:body] + page[at:], 1100)):
                html = Path(tmp) / f"{name}-{lang}.html"
                html.write_text(text, encoding="utf-8")
                shot = REPO / "docs" / "img" / f"compare-{name}-{lang}.png"
                argv = [browser, "--headless", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp}/profile-{name}-{lang}",
                        f"--window-size=1280,{height}", f"--screenshot={shot}", html.as_uri()]
                if hasattr(os, "geteuid") and os.geteuid() == 0:
                    argv.insert(1, "--no-sandbox")
                subprocess.run(argv, check=True, capture_output=True, timeout=120)
                print(shot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
