"""`nktenv doctor` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.doctor.builders import healthy_linux, healthy_windows, merge

ZLIB_LOG = "Could not locate zlibwapi.dll. Please make sure it is in your library path!"


def write(tmp_path: Path, doc: dict, name: str = "facts.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def invoke(runner, app, args: list[str]):
    return runner.invoke(app, ["doctor", *args], catch_exceptions=False)


def test_json_healthy_snapshot(runner, app, tmp_path: Path) -> None:
    result = invoke(runner, app, ["--facts", str(write(tmp_path, healthy_linux())), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"schema", "ok", "facts", "findings"}
    assert doc["schema"] == "nktenv.doctor/1" and doc["ok"] is True and doc["findings"] == []
    assert doc["facts"]["gpus"][0]["name"] == "NVIDIA GeForce RTX 3090"
    # people's text goes to stderr in --json mode
    assert "All good." in result.stderr


def test_json_with_problem_exits_1_and_lists_findings(runner, app, tmp_path: Path) -> None:
    doc = merge(healthy_windows(), {"frameworks": {"torch": {"version": "2.5.1+cpu", "cuda": None, "is_cuda_build": False,
                                                            "cuda_available": False, "arch_list": []}}})
    result = invoke(runner, app, ["--facts", str(write(tmp_path, doc)), "--json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["ok"] is False
    f = out["findings"][0]
    assert set(f) >= {"code", "severity", "title", "evidence", "fix", "why"}
    assert f["code"] == "cpu_only_wheel" and f["severity"] == "error"
    assert "https://download.pytorch.org/whl/cu124" in f["fix"]
    assert "C:\\Users\\藤澤\\lab\\.venv\\Scripts\\python.exe" in f["fix"]


def test_human_output_has_table_findings_fixes_and_summary(runner, app, tmp_path: Path) -> None:
    doc = merge(healthy_linux(), {"env": {"CUDA_VISIBLE_DEVICES": ""}})
    result = invoke(runner, app, ["--facts", str(write(tmp_path, doc))])
    assert result.exit_code == 1
    out = result.stdout
    assert "NVIDIA driver" in out and "550.54.15" in out  # the facts table
    assert "ERROR" in out and "(cuda_visible_devices_hidden)" in out
    assert "fix: Clear it for this shell (unset CUDA_VISIBLE_DEVICES)" in out
    assert "1 problem(s) keep the GPU stack from working: cuda_visible_devices_hidden" in out


def test_log_file_adds_evidence(runner, app, tmp_path: Path) -> None:
    log = tmp_path / "pip-error.txt"
    log.write_text('      The "tensorflow-gpu" package has been removed!\n      Please install "tensorflow" instead.\n',
                   encoding="utf-8")
    result = invoke(runner, app, ["--facts", str(write(tmp_path, healthy_linux())), "--log", str(log), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["facts"]["logs"][0]["source"] == "pip-error.txt"
    f = next(x for x in doc["findings"] if x["code"] == "tensorflow_gpu_package_removed")
    assert 'The "tensorflow-gpu" package has been removed!' in f["evidence"]


def test_log_file_in_cp932_is_read(runner, app, tmp_path: Path) -> None:
    log = tmp_path / "エラー.txt"
    log.write_bytes(("実行結果:\r\n" + ZLIB_LOG + "\r\n").encode("cp932"))
    doc = merge(healthy_windows(), {"windows": {"dlls_on_path": {"zlibwapi.dll": []}}})
    result = invoke(runner, app, ["--facts", str(write(tmp_path, doc)), "--log", str(log), "--json"])
    out = json.loads(result.stdout)
    assert out["facts"]["logs"][0]["text"].startswith("実行結果:")
    assert any(f["code"] == "zlibwapi_missing" and ZLIB_LOG in f["evidence"] for f in out["findings"])


def test_log_file_from_powershell_redirect_is_read(runner, app, tmp_path: Path) -> None:
    # Windows PowerShell 5.1's `python train.py 2> log.txt` writes UTF-16 LE with a BOM.
    log = tmp_path / "log.txt"
    log.write_bytes(("実行結果:\r\n" + ZLIB_LOG + "\r\n").encode("utf-16"))
    doc = merge(healthy_windows(), {"windows": {"dlls_on_path": {"zlibwapi.dll": []}}})
    result = invoke(runner, app, ["--facts", str(write(tmp_path, doc)), "--log", str(log), "--json"])
    out = json.loads(result.stdout)
    assert out["facts"]["logs"][0]["text"].startswith("実行結果:")
    assert any(f["code"] == "zlibwapi_missing" and ZLIB_LOG in f["evidence"] for f in out["findings"])


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_missing_log_file_is_one_line_exit_5(runner, app, tmp_path: Path, json_flag: list[str]) -> None:
    result = invoke(runner, app, ["--facts", str(write(tmp_path, healthy_linux())), "--log", str(tmp_path / "nope.txt"),
                                  *json_flag])
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == f"error: log file not found: {tmp_path / 'nope.txt'}"
    assert "Traceback" not in result.stderr
    if json_flag:
        assert json.loads(result.stdout)["error"]["code"] == "log-not-found"


def test_invalid_facts_is_one_line_exit_5(runner, app, tmp_path: Path) -> None:
    bad = write(tmp_path, {"schema": "nktenv.facts/1", "os": {"system": "bsd"}})
    result = invoke(runner, app, ["--facts", str(bad)])
    assert result.exit_code == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "facts.os.system" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_facts_not_json_and_missing(runner, app, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "nktenv.facts/1", "os": ', encoding="utf-8")
    assert invoke(runner, app, ["--facts", str(broken)]).exit_code == 5
    assert invoke(runner, app, ["--facts", str(tmp_path / "missing.json")]).exit_code == 5


def test_facts_with_python_is_a_usage_error(runner, app, tmp_path: Path) -> None:
    result = invoke(runner, app, ["--facts", str(write(tmp_path, healthy_linux())), "--python", "/usr/bin/python3"])
    assert result.exit_code == 2
    assert "--facts cannot be combined" in result.stderr


def test_probe_path_defaults_to_last_setup_environment(runner, app, monkeypatch: pytest.MonkeyPatch) -> None:
    import nktenv.probes as probes
    import nktenv.setup.registry as registry
    from nktenv.facts import from_dict

    seen: dict = {}

    def fake_detect(seam, *, python=None, frameworks=True, framework_timeout=None):
        seen.update(python=python, frameworks=frameworks, timeout=framework_timeout)
        return from_dict(healthy_linux())

    monkeypatch.setattr(registry, "last_python", lambda: "/home/lab/.nktenv/envs/torch/bin/python")
    monkeypatch.setattr(probes, "detect", fake_detect)
    monkeypatch.setattr(probes, "open_seam", lambda record=None, replay=None: object())
    result = invoke(runner, app, ["--json", "--timeout", "30"])
    assert result.exit_code == 0, result.stderr
    assert seen == {"python": "/home/lab/.nktenv/envs/torch/bin/python", "frameworks": True, "timeout": 30.0}


def test_bad_replay_folder_and_log_folder_are_one_line_errors(runner, app, tmp_path: Path) -> None:
    result = invoke(runner, app, ["--replay", str(tmp_path / "no-recording")])
    assert result.exit_code == 5
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    result = invoke(runner, app, ["--facts", str(write(tmp_path, healthy_linux())), "--log", str(tmp_path)])
    assert result.exit_code == 5
    assert result.stderr.startswith(f"error: cannot read log file {tmp_path}")


def test_piped_doctor_output_is_unpadded_and_keeps_titles_whole(runner, app) -> None:
    # What a student pipes to a file or pastes into a chat: no 80-column padding, no title cut in two.
    from tests.conftest import REPO

    res = runner.invoke(app, ["doctor", "--replay", str(REPO / "tests/machines/gtx1080ti-torch-cu128")], env={"NKTENV_LANG": "en", "COLUMNS": "80"})
    lines = res.output.splitlines()
    assert not [ln for ln in lines if ln.endswith(" ")]
    assert any(ln.startswith("INFO ") and ln.endswith("(gpu_legacy_driver_cap)") for ln in lines), res.output
