"""The HTML report in a real headless Chromium: it renders, its charts have a size, the machine rows are there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nktenv.cli import app as typer_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium installed")]

# Appended to a copy of the report (the report itself has no script): after layout, record each
# chart's and each bar's rendered size in the DOM so --dump-dom shows what the browser drew.
PROBE = """<script>
document.querySelectorAll('svg.chart').forEach(function (s, i) {
  var r = s.getBoundingClientRect();
  s.setAttribute('data-rendered', Math.round(r.width) + 'x' + Math.round(r.height));
});
document.querySelectorAll('svg.chart g.bar rect').forEach(function (b) {
  b.setAttribute('data-rendered-width', Math.round(b.getBoundingClientRect().width));
});
document.body.setAttribute('data-rows', document.querySelectorAll('tr.machine').length);
</script>"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    argv = [CHROMIUM, "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", *args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root (CI containers)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_in_chromium(runner, fleet_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.html"
    report.parent.mkdir()
    result = runner.invoke(typer_app, ["compare", str(fleet_dir), "--html", str(report)])
    assert result.exit_code == 0, result.output

    probed = tmp_path / "out" / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = chromium(["--virtual-time-budget=5000", "--dump-dom", probed.as_uri()], tmp_path / "profile1")
    dom = done.stdout
    assert done.returncode == 0 and "<svg" in dom, done.stderr[-2000:]

    assert 'data-rows="6"' in dom
    for machine in ("lab-pc-01", "lab-pc-02", "lab-pc-03", "研究室-pc-04", "lab-pc-05", "lab-pc-06"):
        assert f'class="machine" data-machine="{machine}"' in dom
    sizes = re.findall(r'data-chart="(\w+)"[^>]*data-rendered="(\d+)x(\d+)"', dom)
    kinds = {k for k, _w, _h in sizes}
    assert {"throughput", "speedup", "sweep"} <= kinds
    assert all(int(w) >= 300 and int(h) >= 50 for _k, w, h in sizes), sizes
    # bars are drawn in proportion: lab-pc-02's throttled bar is narrower than lab-pc-01's in the same chart
    chart = dom[dom.index("Samples/s per machine: torch CNN, resident pipeline, GPU"):]
    chart = chart[: chart.index("</svg>")]
    widths = dict(re.findall(r'data-machine="([^"]+)"[^>]*>.*?data-rendered-width="(\d+)"', chart))
    assert int(widths["lab-pc-02"]) < int(widths["lab-pc-01"]) * 0.75

    # and the page as people see it (kept next to the report for a look when the test is debugged)
    shot = tmp_path / "out" / "report.png"
    chromium(["--window-size=1280,2000", f"--screenshot={shot}", report.as_uri()], tmp_path / "profile2")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
