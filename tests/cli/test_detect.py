"""`nktenv detect` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from machines import machine_dir

# The project's fixed contract lives beside the checkout; the copy shipped in nktenv is the fallback.
CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contracts" / "facts-v1.schema.json"


def _contract() -> dict:
    if CONTRACT.is_file():
        return json.loads(CONTRACT.read_text(encoding="utf-8"))
    from nktenv.facts import schema

    return schema()


def test_smoke_detect_json_on_this_machine_follows_the_contract(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--json", "--no-frameworks"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, _contract())
    assert doc["schema"] == "nktenv.facts/1"
    assert doc["python"]["executable"] and doc["frameworks"] is None
    assert doc["os"]["system"] in ("linux", "windows", "darwin")


def test_replay_json_is_the_facts_document(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--json", "--replay", str(machine_dir("nvml-version-mismatch"))])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, _contract())
    assert doc["driver"]["nvml"]["error"] == "Driver/library version mismatch"
    assert doc["frameworks"]["torch"]["version"] == "2.3.1+cu121"


def test_human_output_says_the_driver_cuda_is_a_ceiling(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--replay", str(machine_dir("win11-rtx4090-cuda118-cudnn89"))])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "NVIDIA GeForce RTX 4090" in out and "546.33" in out
    assert "up to 12.3 (the driver's ceiling, not an installed toolkit)" in out
    assert "11.8.0" in out  # the installed toolkit, listed separately
    assert "{" not in out.splitlines()[0]  # a table, not JSON


def test_json_mode_keeps_people_text_off_stdout(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--json", "--no-frameworks", "--replay", str(machine_dir("macos-arm64"))])
    assert result.exit_code == 0
    json.loads(result.stdout)  # exactly one document, nothing else


def test_redact_flag(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--json", "--redact", "--replay", str(machine_dir("win11-ja-cp932"))])
    assert result.exit_code == 0
    assert "藤澤" not in result.stdout
    assert json.loads(result.stdout)["host"]["hostname"] is None


def test_overrides_apply_to_a_replay(runner, app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NKTENV_OVERRIDE_GPUS", "NVIDIA GeForce RTX 5090:12.0")
    monkeypatch.setenv("NKTENV_OVERRIDE_DRIVER", "570.133.07")
    result = runner.invoke(app, ["detect", "--json", "--no-frameworks", "--replay", str(machine_dir("laptop-no-driver"))])
    doc = json.loads(result.stdout)
    assert doc["driver"]["version"] == "570.133.07" and doc["driver"]["source"] == "override"
    assert [(g["name"], g["compute_capability"], g["source"]) for g in doc["gpus"]] == [
        ("NVIDIA GeForce RTX 5090", "12.0", "override")]


def test_record_then_replay_gives_the_same_facts(runner, app, tmp_path: Path) -> None:
    rec = tmp_path / "my machine 藤澤"
    first = runner.invoke(app, ["detect", "--json", "--no-frameworks", "--record", str(rec)])
    assert first.exit_code == 0, first.stderr
    assert "Recording saved in" in first.stderr
    index = json.loads((rec / "machine.json").read_text(encoding="utf-8"))
    assert index["format"] == "nktenv.recording/1" and index["platform"] and index["environ"] and index["nvml"]
    assert index["commands"] and all((rec / c["file"]).is_file() for c in index["commands"])
    second = runner.invoke(app, ["detect", "--json", "--no-frameworks", "--replay", str(rec)])
    assert second.exit_code == 0, second.stderr
    live, replayed = json.loads(first.stdout), json.loads(second.stdout)
    replayed.pop("recording")
    live.pop("captured_at"), replayed.pop("captured_at")
    assert replayed == live


def test_record_refuses_a_folder_that_is_not_empty(runner, app, tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    result = runner.invoke(app, ["detect", "--no-frameworks", "--record", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert (tmp_path / "something").read_text() == "x"


def test_replay_of_a_missing_folder_is_one_line_and_exit_5(runner, app, tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--json", "--replay", str(tmp_path / "nope")])
    assert result.exit_code == 5
    assert result.stderr.count("\n") == 1 and "machine.json not found" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "recording-unreadable"


def test_replay_of_a_broken_recording_names_the_problem(runner, app, tmp_path: Path) -> None:
    (tmp_path / "machine.json").write_text('{"format": "other/9"}', encoding="utf-8")
    result = runner.invoke(app, ["detect", "--replay", str(tmp_path)])
    assert result.exit_code == 5
    assert result.stderr.strip() == f"error: {tmp_path / 'machine.json'} is not a nktenv.recording/1 recording."


def test_record_and_replay_together_is_a_usage_error(runner, app, tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--record", str(tmp_path / "a"), "--replay", str(tmp_path / "b")])
    assert result.exit_code == 2 and "cannot be used together" in result.stderr
    assert not (tmp_path / "a").exists()


def test_missing_venv_is_exit_3(runner, app, tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--venv", str(tmp_path / "no-venv")])
    assert result.exit_code == 3
    assert "No Python interpreter in" in result.stderr and "Traceback" not in result.stderr


def test_missing_python_is_exit_3(runner, app, tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--json", "--python", str(tmp_path / "python.exe")])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "interpreter-not-found"


def test_venv_resolves_to_its_interpreter(runner, app, tmp_path: Path) -> None:
    import sys

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    result = runner.invoke(app, ["detect", "--json", "--no-frameworks", "--venv", str(venv)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["python"]["executable"] == str(venv / "bin" / "python")


def test_an_interrupted_recording_leaves_nothing_behind(runner, app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nktenv.probes as probes

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003
        raise KeyboardInterrupt

    monkeypatch.setattr(probes, "detect", interrupted)
    rec = tmp_path / "rec"
    result = runner.invoke(app, ["detect", "--no-frameworks", "--record", str(rec)])
    assert result.exit_code == 130
    assert not rec.exists()


@pytest.mark.slow
def test_detect_with_frameworks_on_this_machine(runner, app) -> None:
    import importlib.util

    result = runner.invoke(app, ["detect", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, _contract())
    if importlib.util.find_spec("torch") is not None:
        assert doc["frameworks"]["torch"]["version"]
        assert doc["frameworks"]["torch"]["error"] is None
