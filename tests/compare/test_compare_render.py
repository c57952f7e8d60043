"""CSV and HTML renderers: parseable, complete, self-contained, escaped."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from compare_fleet import make_result

from nktenv.compare.analyze import compare
from nktenv.compare.io import Note
from nktenv.compare.model import Result
from nktenv.compare.render import CSV_COLUMNS, to_csv, to_html


def build(docs):
    return compare([Result.from_dict(d, n) for n, d in docs.items()])


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))


def test_csv_has_one_line_per_machine_and_workload(fleet_docs) -> None:
    cmp = build(fleet_docs)
    rows = list(csv.DictReader(io.StringIO(to_csv(cmp))))
    assert len(rows) == len(cmp.cells) == 6 * 7  # 6 machines x 7 workloads
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    slow = next(r for r in rows if r["machine"] == "lab-pc-02" and r["pipeline"] == "resident" and r["device_kind"] == "gpu"
                and r["model"] == "cnn")
    assert slow["outlier"] == "yes" and slow["likely_causes"].startswith("thermal-throttle")
    assert float(slow["samples_per_s"]) == 61200.0 and slow["driver"] == "550.54.15"
    old = next(r for r in rows if r["machine"] == "研究室-pc-04" and r["device_kind"] == "gpu")
    assert set(old["version_differs"].split(";")) == {"framework", "driver", "cuda"}


def test_html_is_self_contained_with_rows_and_charts(fleet_docs) -> None:
    cmp = build(fleet_docs)
    notes = [Note("/share/broken.json", "truncated", "line 1 column 9")]
    page = to_html(cmp, notes)
    parser = Collector()
    parser.feed(page)
    tags = parser.tags
    # nothing to fetch: no scripts, stylesheets, images or fonts from anywhere
    assert not [t for t, a in tags if t in ("script", "link", "img", "iframe", "object")]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    machines = {a["data-machine"] for t, a in tags if t == "tr" and "machine" in (a.get("class") or "").split()}
    assert machines == {"lab-pc-01", "lab-pc-02", "lab-pc-03", "研究室-pc-04", "lab-pc-05", "lab-pc-06"}
    charts = [a["data-chart"] for t, a in tags if t == "svg"]
    assert charts.count("throughput") == 7 and "speedup" in charts and "sweep" in charts
    assert any(t == "tr" and "outlier" in (a.get("class") or "") and a["data-machine"] == "lab-pc-02" for t, a in tags)
    assert "thermal throttling: sw_thermal was active 42% of the run" in page
    assert "broken.json: skipped, the file is truncated" in page


def test_html_escapes_machine_names_and_errors() -> None:
    evil = make_result("<script>alert(1)</script>")
    evil["rows"][0]["status"], evil["rows"][0]["error"] = "failed", "<b>boom</b>"
    page = to_html(build({"a": make_result("ok-pc"), "evil": evil}))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>boom</b>" not in page


def test_html_baseline_row_is_marked(fleet_docs) -> None:
    docs = {n: d for n, d in fleet_docs.items()}
    cmp = compare([Result.from_dict(d, n) for n, d in docs.items()], baseline="lab-pc-01")
    page = to_html(cmp)
    assert 'class="cell baseline" data-machine="lab-pc-01"' in page
    assert "relative to lab-pc-01" in page
