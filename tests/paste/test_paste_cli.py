"""`nktenv doctor --from` and `nktenv detect --from --json` through the real app."""

from __future__ import annotations

import json

from tests.paste.samples import SAMPLES

SM120 = str(SAMPLES / "traceback" / "windows-rtx5090-sm120-warning.txt")
TABLE = str(SAMPLES / "nvidia-smi" / "linux-h100-mig-590.48.01-load.txt")


def test_detect_from_json_shows_the_built_snapshot(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--from", TABLE, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.facts/1"
    assert doc["driver"]["version"] == "590.48.01" and doc["gpus"][0]["mig_mode"] == "enabled"
    assert doc["gpus"][0]["source"] == "pasted:nvidia-smi"


def test_doctor_from_finds_the_problem_and_exits_1(runner, app) -> None:
    result = runner.invoke(app, ["doctor", "--from", SM120, "--json"], catch_exceptions=False)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [f["code"] for f in doc["findings"] if f["severity"] != "info"] == ["arch_unsupported"]
    assert "pasted" in doc["facts"]


def test_doctor_from_is_repeatable_and_reads_stdin(runner, app) -> None:
    stdin = (SAMPLES / "nvidia-smi-L" / "linux-h100-mig-590.48.01.txt").read_bytes()
    result = runner.invoke(app, ["detect", "--from", TABLE, "--from", "-", "--json"], input=stdin,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [f["name"] for f in doc["pasted"]["files"]] == ["linux-h100-mig-590.48.01-load.txt", "stdin"]
    assert doc["gpus"][0]["uuid"] == "GPU-00000000-0000-0000-0000-000000000000"


def test_doctor_from_human_output(runner, app) -> None:
    result = runner.invoke(app, ["doctor", "--from", TABLE], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    assert "590.48.01" in result.stdout and "NVIDIA H100 80GB HBM3" in result.stdout


def test_missing_file_is_one_line_exit_5(runner, app, tmp_path) -> None:
    result = runner.invoke(app, ["doctor", "--from", str(tmp_path / "nope.txt")])
    assert result.exit_code == 5
    assert result.stderr.startswith("error: pasted text file not found:") and "Traceback" not in result.stderr


def test_from_with_facts_is_a_usage_error(runner, app, tmp_path) -> None:
    facts = tmp_path / "f.json"
    facts.write_text("{}", encoding="utf-8")
    result = runner.invoke(app, ["doctor", "--from", TABLE, "--facts", str(facts)])
    assert result.exit_code == 2 and "--from cannot be combined" in result.stderr


def test_doctor_from_in_japanese(ja) -> None:
    result = ja.invoke(["doctor", "--from", SM120])
    assert result.exit_code == 1
    ja.assert_translated(result.stdout)
