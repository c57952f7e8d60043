"""Whole sentences in Japanese: lists with "、", sentences without a space after "。", no English
labels or punctuation glued into Japanese text, and facts errors that name the bad field in either language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nktenv import i18n
from nktenv.errors import NktenvError
from nktenv.wording import join_alternatives, join_list, join_sentences
from tests.conftest import REPO
from tests.i18n.conftest import JAPANESE

MACHINES = REPO / "tests" / "machines"


def test_lists_and_sentences_follow_the_language() -> None:
    with i18n.use_language("en"):
        assert join_list(["cu118", "cu121", "cpu"]) == "cu118, cu121, cpu"
        assert join_sentences(["All good.", None, "", "Driver 550."]) == "All good. Driver 550."
        assert join_alternatives(["string", "null"]) == "string or null"
    with i18n.use_language("ja"):
        assert join_list(["cu118", "cu121", "cpu"]) == "cu118、cu121、cpu"
        assert join_sentences(["問題ありません。", "ドライバ 550。"]) == "問題ありません。ドライバ 550。"
        assert join_alternatives(["string", "null"]) == "string または null"
    assert join_list([]) == "" and join_list(["one"]) == "one" and join_sentences([]) == ""


def _facts(machine: str, runner, app) -> dict:
    result = runner.invoke(app, ["--lang", "en", "detect", "--replay", str(MACHINES / machine), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_doctor_summary_runs_sentences_together_in_japanese(runner, app, tmp_path: Path) -> None:
    from nktenv import manifest
    from nktenv.doctor import diagnose, summary
    from nktenv.facts import from_dict

    facts = from_dict(_facts("win11-ja-cp932", runner, app))
    with i18n.use_language("ja"):
        text = summary(facts, diagnose(facts, manifest.load()))
    assert text.startswith("動作しますが、警告が 1 件あります。PyTorch 2.1.0+cu121")
    assert "。 " not in text  # no English sentence spacing inside Japanese
    with i18n.use_language("en"):
        english = summary(facts, diagnose(facts, manifest.load()))
    assert english.startswith("Working, with 1 warning(s). PyTorch 2.1.0+cu121")


def test_doctor_error_codes_are_a_japanese_list(runner, app) -> None:
    from nktenv import manifest
    from nktenv.doctor import diagnose, summary
    from nktenv.facts import from_dict

    facts = from_dict(_facts("conda-own-cudnn", runner, app))
    with i18n.use_language("ja"):
        text = summary(facts, diagnose(facts, manifest.load()))
    assert "2 件の問題" in text and "cudnn_shadowed_by_conda_lib、cudnn_mismatch" in text


def test_doctor_evidence_labels_are_japanese(ja) -> None:
    container = ja.invoke(["doctor", "--replay", str(MACHINES / "container-no-gpu")])
    assert "根拠: コンテナ内で実行されています" in container.stdout
    assert "根拠: /dev/nvidia0 と /dev/nvidiactl がありません" in container.stdout
    secure = ja.invoke(["doctor", "--replay", str(MACHINES / "secure-boot-rejected")])
    assert "根拠: Secure Boot: 有効" in secure.stdout
    nouveau = ja.invoke(["doctor", "--replay", str(MACHINES / "nouveau-loaded")])
    assert "根拠: nouveau カーネルモジュール: 読み込み済み" in nouveau.stdout
    for result in (container, secure, nouveau):
        assert "container: yes" not in result.stdout and ": enabled" not in result.stdout
        assert "kernel module: " not in result.stdout


def test_plan_reasons_and_severities_in_japanese(runner, app, ja, tmp_path: Path) -> None:
    snapshot = tmp_path / "facts.json"
    # No driver: warnings (no build qualifies) and an info (the driver that unlocks one).
    snapshot.write_text(json.dumps(_facts("laptop-no-driver", runner, app)), encoding="utf-8")
    args = ["plan", "--facts", str(snapshot), "--tensorflow", "latest"]
    japanese = ja.invoke(args)
    english = runner.invoke(app, ["--lang", "en", *args])
    assert japanese.exit_code == english.exit_code, japanese.output
    lines = japanese.stdout.splitlines()
    assert any(line.startswith("警告: ") for line in lines) and any(line.startswith("情報: ") for line in lines)
    assert not any(line.startswith(("warning:", "info:", "error:")) for line in lines)
    assert any(line.startswith("warning: ") for line in english.stdout.splitlines())
    reasons = [line for line in lines if line.startswith("  ") and "。" in line]
    assert reasons and all("。 " not in line for line in reasons)


def test_python_range_has_no_character_cp932_lacks() -> None:
    from nktenv.doctor.context import py_range

    with i18n.use_language("en"):
        assert py_range(">=3.9,<3.13") == "3.9–3.12"
    with i18n.use_language("ja"):
        text = py_range(">=3.9,<3.13")
        assert text == "3.9〜3.12"
        text.encode("cp932")  # the en dash would not survive a Japanese Windows console


@pytest.mark.parametrize(
    ("doc", "field", "japanese"),
    [
        ({"schema": "nktenv.facts/2", "os": {"system": "linux"}}, "facts.schema", "でなければなりませんが"),
        ({"schema": "nktenv.facts/1"}, "facts.os", "必須のキーがありません"),
        ({"schema": "nktenv.facts/1", "os": {"system": "bsd"}}, "facts.os.system", "は使えません"),
        ({"schema": "nktenv.facts/1", "os": {"system": "linux"}, "gpus": [{"index": "0"}]}, "facts.gpus[0].index",
         "のはずですが、str になっています"),
    ],
)
def test_facts_errors_in_japanese_name_the_first_bad_field(doc: dict, field: str, japanese: str) -> None:
    from nktenv.facts import from_dict

    with i18n.use_language("ja"), pytest.raises(NktenvError) as info:
        from_dict(doc, origin="machine.json")
    message = info.value.message
    assert message.startswith("machine.json は正しい nktenv.facts/1 ドキュメントではありません: ")
    assert field in message and japanese in message
    with i18n.use_language("en"), pytest.raises(NktenvError) as english:
        from_dict(doc, origin="machine.json")
    assert field in english.value.message and not JAPANESE.search(english.value.message)


def test_facts_file_errors_are_one_japanese_line(ja, runner, app, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "nktenv.facts/1",\n "os": }', encoding="utf-8")
    result = ja.invoke(["plan", "--facts", str(bad)])
    assert result.exit_code == 5
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"エラー: {bad} は JSON ではありません: 2 行 8 列目で ")
    missing = ja.invoke(["doctor", "--facts", str(tmp_path / "missing.json")])
    assert missing.exit_code == 5
    assert missing.stderr.splitlines()[0] == f"エラー: facts ファイルが見つかりません: {tmp_path / 'missing.json'}"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema": "nktenv.facts/1", "os": {"system": "bsd"}}), encoding="utf-8")
    result = ja.invoke(["plan", "--facts", str(wrong)])
    assert result.exit_code == 5 and "facts.os.system" in result.stderr and "Traceback" not in result.output
    ja.assert_translated(result.stderr)
    en_doc = json.loads(runner.invoke(app, ["--lang", "en", "plan", "--facts", str(wrong), "--json"]).stdout)
    ja_doc = json.loads(runner.invoke(app, ["--lang", "ja", "plan", "--facts", str(wrong), "--json"]).stdout)
    assert en_doc["error"]["code"] == ja_doc["error"]["code"] == "invalid-facts"
    assert "facts.os.system" in ja_doc["error"]["message"] and JAPANESE.search(ja_doc["error"]["message"])


def test_compare_names_differing_versions_in_japanese(ja, tmp_path: Path) -> None:
    fleet = pytest.importorskip("tests.compare.compare_fleet", reason="the compare test fleet is not there")
    results = fleet.write_fleet(tmp_path / "results")
    report = tmp_path / "report.html"
    human = ja.invoke(["compare", str(results), "--html", str(report)])
    assert human.exit_code == 0, human.output
    flat = "".join(human.stdout.split())  # the table title may wrap
    assert "(バージョンが異なります:フレームワーク、ドライバ、CUDA)" in flat
    assert "バージョンが異なります:framework" not in flat
    assert "\u2013" not in human.stdout  # a missing value is "-": cp932 consoles have no en dash
    html = report.read_text(encoding="utf-8")
    assert "ここではマシンによってバージョンが異なります: フレームワーク、ドライバ、CUDA。" in html


def test_setup_findings_carry_japanese_severities() -> None:
    from rich.console import Console

    from nktenv.cli.setup import _render_findings
    from nktenv.findings import Finding

    findings = [
        Finding(code="x", severity="warning", title="Secure Boot: enabled", fix="Do not use tensorflow[and-cuda] on Windows"),
        Finding(code="y", severity="error", title="running in a container"),
    ]
    console = Console(record=True, width=200, color_system=None)
    with i18n.use_language("ja"):
        _render_findings(console, findings)
    lines = console.export_text().splitlines()
    assert lines[0] == "[警告] Secure Boot: 有効"
    assert lines[1].startswith("    対処: ")
    assert lines[2] == "[エラー] コンテナ内で実行されています"
    console = Console(record=True, width=200, color_system=None)
    with i18n.use_language("en"):
        _render_findings(console, findings[1:])
    assert console.export_text().splitlines() == ["[error] running in a container"]
