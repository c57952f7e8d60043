"""Every recorded machine, probed and diagnosed in Japanese: same JSON data, Japanese human text.

The recordings in tests/machines/ replay real machines (a Japanese Windows with cp932 output among
them), so these tests run the real detect and doctor paths without touching this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.i18n.conftest import JAPANESE

MACHINES = sorted(p.parent.name for p in (REPO / "tests" / "machines").glob("*/machine.json"))
# Fields written for people; --lang may translate these and nothing else.
HUMAN = {"title", "fix", "why", "evidence", "message", "hint", "summary", "reason", "reasons", "detail", "note", "notes"}
VOLATILE = {"captured_at", "generated_at", "duration_s"}


def _neutral(document):
    if isinstance(document, dict):
        return {k: _neutral(v) for k, v in document.items() if k not in HUMAN | VOLATILE}
    if isinstance(document, list):
        return [_neutral(v) for v in document]
    return document


def _replay(machine: str) -> str:
    return str(REPO / "tests" / "machines" / machine)


@pytest.mark.skipif(not MACHINES, reason="no recorded machines")
@pytest.mark.parametrize("machine", MACHINES)
def test_detect_json_does_not_depend_on_the_language(runner, app, machine: str) -> None:
    english = runner.invoke(app, ["--lang", "en", "detect", "--replay", _replay(machine), "--json"])
    japanese = runner.invoke(app, ["--lang", "ja", "detect", "--replay", _replay(machine), "--json"])
    assert english.exit_code == japanese.exit_code, japanese.output
    en_doc, ja_doc = json.loads(english.stdout), json.loads(japanese.stdout)
    for doc in (en_doc, ja_doc):
        for key in VOLATILE:
            doc.pop(key, None)
    assert en_doc == ja_doc


@pytest.mark.skipif(not MACHINES, reason="no recorded machines")
@pytest.mark.parametrize("machine", MACHINES)
def test_doctor_in_japanese(runner, app, ja, machine: str) -> None:
    english = runner.invoke(app, ["--lang", "en", "doctor", "--replay", _replay(machine), "--json"])
    japanese = runner.invoke(app, ["--lang", "ja", "doctor", "--replay", _replay(machine), "--json"])
    assert english.exit_code == japanese.exit_code, japanese.output
    en_doc, ja_doc = json.loads(english.stdout), json.loads(japanese.stdout)
    assert _neutral(en_doc) == _neutral(ja_doc)  # codes, severities, facts: identical
    for finding in ja_doc.get("findings", []):
        assert JAPANESE.search(finding["title"]), finding["title"]

    human = ja.invoke(["doctor", "--replay", _replay(machine)])
    assert human.exit_code == english.exit_code
    assert "Traceback" not in human.output
    ja.assert_translated(human.stdout + human.stderr)


@pytest.mark.skipif(not MACHINES, reason="no recorded machines")
@pytest.mark.parametrize("machine", MACHINES)
def test_plan_in_japanese(runner, app, ja, machine: str, tmp_path: Path) -> None:
    facts = runner.invoke(app, ["detect", "--replay", _replay(machine), "--json"])
    snapshot = tmp_path / "facts.json"
    snapshot.write_text(facts.stdout, encoding="utf-8")
    args = ["plan", "--facts", str(snapshot), "--tensorflow", "latest"]
    english = runner.invoke(app, ["--lang", "en", *args, "--json"])
    japanese = runner.invoke(app, ["--lang", "ja", *args, "--json"])
    assert english.exit_code == japanese.exit_code, japanese.output
    assert _neutral(json.loads(english.stdout)) == _neutral(json.loads(japanese.stdout))

    human = ja.invoke(args)
    assert human.exit_code == english.exit_code
    assert "Traceback" not in human.output
    ja.assert_translated(human.stdout + human.stderr)


def test_compare_in_japanese(runner, app, ja, tmp_path: Path) -> None:
    fleet = pytest.importorskip("tests.compare.compare_fleet", reason="the compare test fleet is not there")
    results = fleet.write_fleet(tmp_path / "shared" / "results")
    english = runner.invoke(app, ["--lang", "en", "compare", str(results), "--json"])
    japanese = runner.invoke(app, ["--lang", "ja", "compare", str(results), "--json"])
    assert english.exit_code == japanese.exit_code == 0, japanese.output
    assert _neutral(json.loads(english.stdout)) == _neutral(json.loads(japanese.stdout))

    report = tmp_path / "report.html"
    human = ja.invoke(["compare", str(results), "--html", str(report)])
    assert human.exit_code == 0, human.output
    ja.assert_translated(human.stdout + human.stderr)
    html = report.read_text(encoding="utf-8")
    assert '<html lang="ja">' in html
    ja.assert_translated(html)
