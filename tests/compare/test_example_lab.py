"""The example lab shipped in examples/lab-results: in step with the tests' lab, valid, and the source
of README's `nktenv compare` example (its output there is what the command prints)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema

from nktenv.bench.schema import SCHEMA

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "examples" / "lab-results"
sys.path.insert(0, str(REPO / "tools"))

import make_example_lab  # noqa: E402


def test_the_files_are_what_the_tools_script_writes() -> None:
    wanted = make_example_lab.expected()
    assert sorted(p.name for p in LAB.glob("*.json")) == sorted(wanted)
    for name, text in wanted.items():
        assert (LAB / name).read_bytes() == text.encode("utf-8"), f"{name}: rerun python tools/make_example_lab.py"


def test_every_file_is_a_bench_result() -> None:
    for path in LAB.glob("*.json"):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), SCHEMA)


def _readme_example() -> tuple[list[str], list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```console\n$ nktenv compare examples/lab-results --html report.html\n", 1)[1].split("```", 1)[0]
    lines = [line.rstrip() for line in block.splitlines()]
    return ["compare", "examples/lab-results", "--html", "report.html"], [line for line in lines if line and line != "..."]


def test_readme_shows_what_compare_prints_on_the_example_lab(runner, app, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(REPO)
    argv, shown = _readme_example()
    report = tmp_path / "report.html"
    argv[argv.index("report.html")] = str(report)
    result = runner.invoke(app, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    printed = [line.rstrip() for line in (result.stdout + result.stderr).replace(str(report), "report.html").splitlines()]
    # README's lines appear in this order (its "..." stand for the lines left out)
    at = 0
    for line in shown:
        assert line in printed[at:], f"README line not printed (in this order): {line!r}"
        at = printed.index(line, at) + 1
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
