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


# What a person sees, measured after layout and written into the DOM for --dump-dom:
# - data-bad-breaks on each <th>: the places where the browser broke a header line other than at a
#   space, after "/" or before "(" (one range per glyph; a new line starts where the top moves down);
# - data-first-section: the id of the first <h2> on the page;
# - data-legend on each chart: the legend entries it draws.
SEEN = """<script>
document.querySelectorAll('th').forEach(function (th) {
  var bad = [], walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT), text = '', rects = [];
  while (walker.nextNode()) {
    var node = walker.currentNode;
    for (var i = 0; i < node.length; i++) {
      var r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
      var box = r.getClientRects()[0]; text += node.data[i]; rects.push(box ? box.top : null);
    }
  }
  for (var k = 1; k < text.length; k++) {
    if (rects[k] !== null && rects[k - 1] !== null && rects[k] > rects[k - 1] + 2) {
      var before = text[k - 1], after = text[k];
      if (!(before === ' ' || before === '/' || after === ' ' || after === '(')) bad.push(text.slice(Math.max(0, k - 3), k) + '|' + text.slice(k, k + 3));
    }
  }
  th.setAttribute('data-bad-breaks', bad.join(','));
});
document.body.setAttribute('data-first-section', document.querySelector('h2').id);
document.querySelectorAll('svg.chart').forEach(function (s) {
  s.setAttribute('data-legend', Array.prototype.map.call(s.querySelectorAll('.legend-item'), function (t) { return t.textContent; }).join('|'));
});
</script>"""


def _seen(runner, fleet_dir: Path, tmp_path: Path, lang: str, width: int = 1000) -> str:
    report = tmp_path / f"report-{lang}.html"
    result = runner.invoke(typer_app, ["--lang", lang, "compare", str(fleet_dir), "--html", str(report)])
    assert result.exit_code == 0, result.output
    probed = tmp_path / f"seen-{lang}.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", SEEN + "</body>"), encoding="utf-8")
    done = chromium([f"--window-size={width},2000", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
                    tmp_path / f"profile-{lang}-{width}")
    assert done.returncode == 0 and "data-first-section" in done.stdout, done.stderr[-2000:]
    return done.stdout


def test_what_a_person_sees_summary_first_flags_agree_legends_drawn(runner, fleet_dir: Path, tmp_path: Path) -> None:
    dom = _seen(runner, fleet_dir, tmp_path, "en")
    assert 'data-first-section="outliers"' in dom
    # the per-machine lines come before any table, one per slow machine, each naming every workload it affects
    summaries = re.findall(r'<details class="summary" data-machine="([^"]+)"><summary>([^<]+)</summary>', dom)
    assert [m for m, _t in summaries] == ["lab-pc-05", "lab-pc-02", "lab-pc-03", "研究室-pc-04"]
    assert dom.index('<details class="summary"') < dom.index("<table")
    assert "affects 3 workload(s)" in dict(summaries)["lab-pc-02"]
    # every relative number below 1 - 15 % carries SLOW, and no other one does
    for machine, rel, flagged in re.findall(
            r'<tr class="cell[^"]*" data-machine="([^"]+)">.*?<td class="n rel">([-0-9.]+)( <span class="mark flag">SLOW</span>)?</td>', dom):
        if rel == "-":
            assert not flagged, machine
        else:
            assert bool(flagged) == (float(rel) < 0.85), (machine, rel)
    # every chart has a legend; red is only ever "slow"
    charts = re.findall(r'<svg class="chart" data-chart="(\w+)"[^>]*data-legend="([^"]*)"', dom)
    assert charts and all(legend for _k, legend in charts), charts
    assert all("SLOW" in legend for kind, legend in charts if kind == "throughput")
    speedup = dom[dom.index('data-chart="speedup"'):]
    speedup = speedup[: speedup.index("</svg>")]
    assert "#e15759" not in speedup  # a high speedup is not painted as slow


def test_japanese_headers_break_only_between_words(runner, fleet_dir: Path, tmp_path: Path) -> None:
    for width in (1280, 900):
        dom = _seen(runner, fleet_dir, tmp_path, "ja", width)
        bad = [b for b in re.findall(r'data-bad-breaks="([^"]*)"', dom) if b]
        assert not bad, bad
        assert "サンプル/" in dom and "同機種比" in dom
