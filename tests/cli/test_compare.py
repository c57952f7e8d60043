"""`nktenv compare` through the real Typer app."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compare"))
from compare_fleet import make_result, write_fleet  # noqa: E402


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    return write_fleet(tmp_path / "results")


def invoke(runner, app, args: list[str]):
    return runner.invoke(app, args, catch_exceptions=False)


def test_json_document_on_stdout_notes_on_stderr(runner, app, fleet: Path) -> None:
    (fleet / "broken.json").write_text('{"schema": "nktenv.bench/1", "id": "x", "rows": [')
    (fleet / "Thumbs.db").write_bytes(b"\x00\x01")
    result = invoke(runner, app, ["compare", str(fleet), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.compare/1" and doc["ok"] is True
    assert doc["inputs"] == {"files_seen": 8, "results": 6}
    assert {n["code"] for n in doc["notes"]} == {"truncated", "unrelated"}
    assert any(o["machine"] == "lab-pc-02" and o["causes"][0]["code"] == "thermal-throttle" for o in doc["outliers"])
    # people's text went to stderr: one line per skipped file, and the outliers
    assert "broken.json: skipped, the file is truncated" in result.stderr
    assert "Thumbs.db: skipped, not a result file" in result.stderr
    assert "! lab-pc-02: up to 31% slower than its peers with NVIDIA GeForce RTX 4090" in result.stderr


def test_human_table_and_outliers(runner, app, fleet: Path) -> None:
    result = invoke(runner, app, ["compare", str(fleet)])
    assert result.exit_code == 0
    out = result.stdout
    assert "torch CNN, resident pipeline, GPU, batch 100" in out and "(versions differ: framework, driver, CUDA)" in out
    assert "Versions (framework, driver, CUDA): 2.5.1+cu124 / 550.54.15 / 12.4" in out
    assert "† 研究室-pc-04 runs 2.1.0+cu121 / 535.104.05 / 12.1 (framework, driver, CUDA differ)" in " ".join(out.split())
    assert "…" not in out  # nothing cut: versions live under the table, not in a squeezed column
    assert "lab-pc-03: up to 27% slower" in out and "PCIe link under load is Gen4 x4" in out
    # one line per slow machine, however many workloads it affects; the workloads folded under it
    leads = [line for line in out.splitlines() if line.startswith("! ")]
    assert [line.split(":")[0] for line in leads] == ["! lab-pc-05", "! lab-pc-02", "! lab-pc-03", "! 研究室-pc-04"]
    assert "affects 3 workload(s): torch CNN compiled GPU, batch 100, torch CNN resident GPU, batch 100, torch MLP resident GPU, batch 100" in leads[1]
    assert "    - torch CNN resident GPU, batch 100: 22% slower (61.2k against the median 78.8k samples/s of 4 peer(s))" in out
    assert "likely cause: older NVIDIA driver 535.104.05 (peers: 550.54.15)" in out


def test_baseline_and_margin(runner, app, fleet: Path) -> None:
    result = invoke(runner, app, ["compare", str(fleet), "--baseline", "lab-pc-01", "--margin", "0.5", "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["baseline"] == "lab-pc-01" and doc["margin"] == 0.5
    # at 50 % only the 4-thread machine's CPU rows (70 % slower) remain
    assert {(o["machine"], o["workload"]) for o in doc["outliers"]} == {
        ("lab-pc-05", "torch/cnn/manual/cpu/bs100"), ("lab-pc-05", "torch/cnn/resident/cpu/bs100"),
        ("lab-pc-05", "torch/mlp/resident/cpu/bs100")}
    base = [c for c in doc["cells"] if c["machine"] == "lab-pc-01"]
    assert base and all(c["relative"] == 1.0 for c in base)


def test_html_and_csv_written_and_inputs_untouched(runner, app, fleet: Path, tmp_path: Path) -> None:
    before = sorted((p.name, p.stat().st_mtime_ns) for p in fleet.iterdir())
    html, table = tmp_path / "report.html", tmp_path / "report.csv"
    result = invoke(runner, app, ["compare", str(fleet), "--html", str(html), "--csv", str(table), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["outputs"] == {"html": str(html), "csv": str(table)}
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    raw = table.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel on Japanese Windows then reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 42 and {r["machine"] for r in rows} >= {"研究室-pc-04"}
    assert sorted((p.name, p.stat().st_mtime_ns) for p in fleet.iterdir()) == before
    assert not list(tmp_path.glob(".nktenv-*"))


def test_sqlite_store_option(runner, app, tmp_path: Path) -> None:
    db = tmp_path / "bench.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE results (id TEXT PRIMARY KEY, doc TEXT)")
    for name in ("s1", "s2"):
        d = make_result(name)
        conn.execute("INSERT INTO results VALUES (?, ?)", (d["id"], json.dumps(d)))
    conn.commit()
    conn.close()
    result = invoke(runner, app, ["compare", "--store", str(db), "--json"])
    assert result.exit_code == 0
    assert [m["name"] for m in json.loads(result.stdout)["machines"]] == ["s1", "s2"]


def test_no_path_reads_this_machines_bench_store(runner, app) -> None:
    from nktenv.bench import store

    for name, run in (("here", "1"), ("here", "2")):
        store.save(make_result(name, run=run, created_at=f"2026-11-2{run}T00:00:00Z"))
    result = invoke(runner, app, ["compare", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(m["name"], m["runs"]) for m in doc["machines"]] == [("here", 2)]
    assert doc["inputs"]["results"] == 2


@pytest.mark.parametrize(("platform", "variables", "folder", "hint"), [
    ("linux", {"XDG_DATA_HOME": "xdg data"}, ("xdg data", "nktenv"), "nktenv compare /mnt/labshare/results"),
    ("win32", {"LOCALAPPDATA": "Users/藤澤/AppData/Local"}, ("Users", "藤澤", "AppData", "Local", "nktenv"),
     "nktenv compare \\\\labserver\\share\\results"),
])
def test_the_default_is_this_machines_own_store_on_each_os(runner, app, tmp_path: Path, monkeypatch, platform, variables,
                                                           folder, hint) -> None:
    from nktenv.bench import store

    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("NKTENV_DATA_DIR")
    for name, value in variables.items():
        monkeypatch.setenv(name, str(tmp_path / value))
    expected = tmp_path.joinpath(*folder) / "bench.sqlite3"
    assert store.default_path() == expected  # the same file `nktenv bench` writes
    result = invoke(runner, app, ["compare"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: No results on this machine yet ({expected} does not exist); name result files, a folder or --store."
    assert lines[1] == f"hint: Run `nktenv bench` first, or for example: {hint}"
    store.save(make_result("here"))
    result = invoke(runner, app, ["compare", "--json"])
    assert result.exit_code == 0, result.stderr
    assert [m["name"] for m in json.loads(result.stdout)["machines"]] == ["here"]


def test_interrupted_rows_are_marked_interrupted_not_failed(runner, app, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    for name in ("p1", "p2", "p3"):
        doc = make_result(name)
        if name == "p3":
            for row in doc["rows"]:
                if row["pipeline"] == "compiled":
                    row.update(status="interrupted", error="interrupted (Ctrl-C) before this row finished",
                               samples_per_s=None, blocks=[], epoch_s=None)
        (folder / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    result = invoke(runner, app, ["compare", str(folder)])
    assert result.exit_code == 0, result.stderr
    compiled = result.stdout.split("torch CNN, compiled pipeline")[1].split("Versions")[0]
    p3 = next(line for line in compiled.splitlines() if line.strip().startswith("p3"))
    assert p3.rstrip().endswith("interrupted") and "SLOW" not in p3 and "failed" not in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "No results on this machine yet"),
        (["{tmp}/missing"], 2, "missing does not exist"),
        (["{fleet}", "--baseline", "nobody"], 2, "No results from a machine named nobody"),
        (["{fleet}", "--margin", "15"], 2, "--margin must be between 0 and 1"),
        (["{fleet}", "--html", "{fleet}/report.html"], 2, "compare never writes into them"),
        (["{fleet}/lab-pc-01.json", "--csv", "{fleet}/lab-pc-01.json"], 2, "compare never writes into them"),
        (["{empty}"], 5, "No usable benchmark results among 1 file(s)"),
        (["{fleet}", "--csv", "{tmp}/no such folder/r.csv"], 5, "Cannot write"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(runner, app, fleet: Path, tmp_path: Path, args, code, message) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing here")
    argv = ["compare"] + [a.format(tmp=tmp_path, fleet=fleet, empty=empty) for a in args]
    before = sorted(p.name for p in fleet.iterdir())
    result = invoke(runner, app, argv + ["--json"])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr
    err = json.loads(result.stdout)
    assert err["schema"] == "nktenv.error/1" and err["exit_code"] == code
    assert sorted(p.name for p in fleet.iterdir()) == before


def test_html_report_follows_the_language(runner, app, fleet: Path, tmp_path: Path) -> None:
    from nktenv.i18n import _, set_language

    html = tmp_path / "ja.html"
    result = invoke(runner, app, ["--lang", "ja", "compare", str(fleet), "--html", str(html)])
    assert result.exit_code == 0
    set_language("ja")
    try:
        heading, cause = _("Outliers"), _("older NVIDIA driver {version} (peers: {peer_version})")
    finally:
        set_language("en")
    assert heading != "Outliers"  # the catalog translates it
    page = html.read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and heading in page
    assert cause.format(version="535.104.05", peer_version="550.54.15") in page


def test_human_table_fits_80_columns(runner, app, fleet: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = invoke(runner, app, ["compare", str(fleet)])
    assert result.exit_code == 0
    assert "…" not in result.stdout
    # table rows (sentences stay whole when piped, see below)
    tables = [line for line in result.stdout.splitlines() if line.startswith(" ") and not line.startswith("    ")]
    assert tables and max(len(line) for line in tables) <= 80
    assert "SLOW †" in result.stdout  # the flags column survives the narrow console


def test_piped_output_has_no_padding_and_no_broken_sentences(runner, app, fleet: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = invoke(runner, app, ["compare", str(fleet)]).stdout
    lines = out.splitlines()
    assert lines and all(line == line.rstrip() for line in lines)
    # a sentence longer than 80 columns stays on one line when piped
    assert any(line.startswith("Relative: against the median of the other machines") and line.endswith("has that device.")
               for line in lines)
    assert any(len(line) > 80 and line.startswith("! lab-pc-02: up to 31% slower") for line in lines)
    # and the tables still fit the 80 columns
    assert "Samples/s" in out and "Sampl\n" not in out


@pytest.mark.parametrize("columns", ["130", "80"])
def test_japanese_headers_are_whole_words(runner, app, fleet: Path, monkeypatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    out = invoke(runner, app, ["--lang", "ja", "compare", str(fleet)]).stdout
    lines = out.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip().startswith("─"):  # a table's rule: the header lines sit above it, after a blank line
            j = i - 1
            while j >= 0 and lines[j].strip():
                j -= 1
            blocks.append(lines[j + 1:i])
    assert len(blocks) == 7
    for block in blocks:
        text = "\n".join(block)
        # each word on one line, whole (a header may break only after "/" or at a space)
        for word in ("マシン", "デバイス", "サンプル", "エポック", "同機種比", "注意"):
            assert word in text, (word, text)
        if columns == "130":  # room enough: every header on one line
            assert len(block) == 1 and "サンプル/秒" in text and "秒/エポック" in text
    assert any("高速化率" in "\n".join(b) and "上限比" in "\n".join(b) for b in blocks)
    assert "フレームワーク が" not in out and "フレームワークが異なります" in out
