"""`nktenv plan` through the real Typer app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nktenv.facts import from_dict


def _facts(
    tmp_path: Path, *, driver="550.54.15", cc="8.6", system="linux", python="3.12.4", name="facts.json"
) -> Path:
    doc = {
        "schema": "nktenv.facts/1",
        "os": {"system": system, "arch": "x86_64"},
        "python": {"version": python},
        "driver": {"version": driver} if driver else None,
        "gpus": [
            {"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": cc}
        ],
        "env": {},
    }
    from_dict(doc)  # the fixture itself must be a valid snapshot
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_json_is_one_document(runner, app, tmp_path) -> None:
    result = runner.invoke(
        app, ["plan", "--facts", str(_facts(tmp_path)), "--tensorflow", "latest", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.plan/1" and doc["ok"] is True
    assert doc["torch"]["variant"] == "cu126" and doc["torch"]["requirements"][0] == "torch==2.14.1"
    assert doc["tensorflow"]["requirements"] == ["tensorflow[and-cuda]==2.21.0"]


def test_human_output_shows_build_command_and_reasons(runner, app, tmp_path) -> None:
    result = runner.invoke(app, ["plan", "--facts", str(_facts(tmp_path)), "--torch", "2.5.1"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "PyTorch 2.5.1 (GPU build, cu124)" in out
    assert (
        "python -m pip install torch==2.5.1 torchvision==0.20.1 torchaudio==2.5.1 --index-url https://download.pytorch.org/whl/cu124"
        in out
    )
    assert "driver 550.54.15 meets its floor 525.60.13" in out


def test_and_cuda_extra_is_quoted_for_shells(runner, app, tmp_path) -> None:
    result = runner.invoke(
        app, ["plan", "--facts", str(_facts(tmp_path)), "--torch", "none", "--tensorflow", "latest"]
    )
    assert '"tensorflow[and-cuda]==2.21.0"' in result.stdout


def test_unmet_request_exits_1_with_finding(runner, app, tmp_path) -> None:
    facts = _facts(tmp_path, driver="418.67")
    result = runner.invoke(app, ["plan", "--facts", str(facts), "--no-cpu-fallback", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["torch"] is None
    assert doc["findings"][0]["code"] == "driver_too_old"
    human = runner.invoke(app, ["plan", "--facts", str(facts), "--no-cpu-fallback"])
    # why it cannot be met is an error for people: stderr, as `error:` + `hint:`
    assert human.exit_code == 1 and human.stderr.startswith("error: Driver 418.67 is too old")
    assert "hint: " in human.stderr and "error:" not in human.stdout


def test_cpu_fallback_warns(runner, app, tmp_path) -> None:
    result = runner.invoke(app, ["plan", "--facts", str(_facts(tmp_path, driver="418.67")), "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["torch"]["index_url"] == "https://download.pytorch.org/whl/cpu"
    assert "cpu_fallback" in [f["code"] for f in doc["findings"]]


def test_python_option_targets_another_version(runner, app, tmp_path) -> None:
    result = runner.invoke(app, ["plan", "--facts", str(_facts(tmp_path)), "--python", "3.8", "--json"])
    assert json.loads(result.stdout)["torch"]["version"] == "2.4.1"


@pytest.mark.parametrize(
    "args,code,text",
    [
        (["--python", "python3"], 2, "--python takes a version such as 3.10"),
        (["--torch", "newest"], 2, "--torch takes latest, none or a version"),
        (["--facts", "missing.json"], 5, "facts file not found: missing.json"),
    ],
)
def test_bad_input_is_one_line(runner, app, tmp_path, monkeypatch, args, code, text) -> None:
    monkeypatch.chdir(tmp_path)
    base = [] if "--facts" in args else ["--facts", str(_facts(tmp_path))]
    result = runner.invoke(app, ["plan", *base, *args])
    assert result.exit_code == code
    assert "Traceback" not in result.output
    assert text in result.stderr
    assert result.stderr.startswith("error: ")


def test_invalid_facts_file(runner, app, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "nktenv.facts/1", "os": {"system": "plan9"}}', encoding="utf-8")
    result = runner.invoke(app, ["plan", "--facts", str(bad), "--json"])
    assert result.exit_code == 5
    assert json.loads(result.stdout)["error"]["code"] == "invalid-facts"


def test_non_ascii_facts_path(runner, app, tmp_path) -> None:
    folder = tmp_path / "Users" / "藤澤 研究室"
    folder.mkdir(parents=True)
    result = runner.invoke(
        app, ["plan", "--facts", str(_facts(folder, system="windows", driver="560.94")), "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["torch"]["variant"] == "cu126"


def test_without_facts_probes_this_machine(runner, app) -> None:
    # The probe runs on this interpreter; whatever the hardware, a plan for its Python comes back.
    result = runner.invoke(app, ["plan", "--json"])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.plan/1"
    assert doc["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert doc["torch"] is not None or not doc["ok"]


def test_console_script_runs(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nktenv", "plan", "--facts", str(_facts(tmp_path)), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ok"] is True


def test_piped_plan_findings_are_one_line_each(runner, app, tmp_path) -> None:
    from tests.conftest import REPO

    facts = tmp_path / "rtx3090.json"
    det = runner.invoke(app, ["detect", "--replay", str(REPO / "tests/machines/ubuntu2204-rtx3090-driver535"), "--json"])
    facts.write_text(det.stdout, encoding="utf-8")
    res = runner.invoke(app, ["plan", "--facts", str(facts), "--tensorflow", "latest"], env={"NKTENV_LANG": "en", "COLUMNS": "80"})
    info = [ln for ln in res.output.splitlines() if ln.startswith("info: Install PyTorch and TensorFlow")]
    assert len(info) == 1 and info[0].endswith("cannot hold both sets."), res.output
