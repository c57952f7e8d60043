"""README's error contract: one `error:` line (+ `hint:`) on stderr, never a traceback, and the
`nktenv.error/1` document on stdout with --json; Ctrl-C exits 130 with one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


MACHINES = Path(__file__).resolve().parent.parent / "machines"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _one_error(stderr: str) -> None:
    lines = _lines(stderr)
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, stderr
    assert len(lines) == 1 or lines[1].startswith("hint: "), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "--jsn"],
        ["plan", "--variant"],
        ["setup", "--yes", "--bogus"],
        ["detect", "extra"],
        ["bench", "--quick", "--nope"],
        ["manifests", "check", "--x"],
        ["no-such-command"],
    ],
)
def test_usage_errors_are_one_line_with_a_help_hint(runner, app, args) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    _one_error(result.stderr)
    assert "--help" in _lines(result.stderr)[1]
    assert result.stdout == ""


def test_usage_error_with_json_prints_the_error_document(runner, app) -> None:
    result = runner.invoke(app, ["doctor", "--json", "--jsn"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.error/1" and doc["exit_code"] == 2 and doc["error"]["code"] == "usage"
    assert "--jsn" in doc["error"]["message"] and "nktenv doctor --help" in doc["error"]["hint"]
    _one_error(result.stderr)


def _snapshot(tmp_path: Path, machine: str = "ubuntu2204-rtx3090-driver535") -> Path:
    from nktenv.facts import dumps
    from nktenv.probes import detect, open_seam

    path = tmp_path / f"{machine}.json"
    path.write_text(dumps(detect(open_seam(replay=MACHINES / machine), frameworks=False)), encoding="utf-8")
    return path


def test_plan_unknown_version_goes_to_stderr(runner, app, tmp_path) -> None:
    facts = _snapshot(tmp_path)
    result = runner.invoke(app, ["plan", "--facts", str(facts), "--torch", "9.9"])
    assert result.exit_code == 1
    assert result.stdout.strip() == ""
    _one_error(result.stderr)
    assert "torch 9.9 is not in the manifest" in result.stderr
    as_json = runner.invoke(app, ["plan", "--facts", str(facts), "--torch", "9.9", "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["ok"] is False
    _one_error(as_json.stderr)


def _fake_machine(monkeypatch, facts_path: Path) -> None:
    import nktenv.probes as probes
    from nktenv.facts import load_file

    facts = load_file(str(facts_path))
    monkeypatch.setattr(probes, "detect", lambda *a, **k: facts)


def test_setup_unknown_version_is_one_error_line(runner, app, tmp_path, monkeypatch) -> None:
    pytest.importorskip("nktenv.plan")
    _fake_machine(monkeypatch, _snapshot(tmp_path))
    result = runner.invoke(app, ["setup", "--torch", "9.9", "--venv", str(tmp_path / "e"), "--dry-run"])
    assert result.exit_code == 1
    _one_error(result.stderr)
    assert "torch 9.9 is not in the manifest" in result.stderr
    as_json = runner.invoke(app, ["setup", "--torch", "9.9", "--venv", str(tmp_path / "e"), "--dry-run", "--json"])
    assert json.loads(as_json.stdout)["error"]["code"] == "plan-not-met"


def test_facts_takes_a_doctor_report(runner, app, tmp_path) -> None:
    facts = _snapshot(tmp_path)
    report = runner.invoke(app, ["doctor", "--facts", str(facts), "--json"])
    doctor_doc = tmp_path / "doctor.json"
    doctor_doc.write_text(report.stdout, encoding="utf-8")
    assert json.loads(report.stdout)["schema"] == "nktenv.doctor/1"
    from_report = runner.invoke(app, ["plan", "--facts", str(doctor_doc), "--json"])
    from_facts = runner.invoke(app, ["plan", "--facts", str(facts), "--json"])
    assert from_report.exit_code == 0, from_report.stderr
    assert json.loads(from_report.stdout) == json.loads(from_facts.stdout)
    assert runner.invoke(app, ["doctor", "--facts", str(doctor_doc), "--json"]).stdout == report.stdout


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"schema": "nktenv.bench/1", "id": "x", "rows": []}, "this is an nktenv.bench/1 result, not a facts snapshot"),
        ({"schema": "nktenv.compare/1", "ok": True}, "this is an nktenv.compare/1 document, not a facts snapshot"),
        ({"schema": "nktenv.plan/1", "ok": True}, "this is an nktenv.plan/1 document, not a facts snapshot"),
        ({"schema": "nktenv.error/1", "ok": False, "error": {"code": "x", "message": "disk full"}},
         "is an nktenv error report (disk full), not a facts snapshot"),
        ({"name": "lab-01", "gpus": 2}, "is not an nktenv document"),
        ([1, 2], "it holds a JSON list, not an object"),
    ],
)
def test_facts_names_a_foreign_document(runner, app, tmp_path, document, says) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(app, ["plan", "--facts", str(path), "--json"])
    assert result.exit_code == 5
    assert says in json.loads(result.stdout)["error"]["message"]
    _one_error(result.stderr)
    assert "required key is missing" not in result.stderr


def _stdin_read_started(pid: int) -> bool:
    """The child blocks in read(0, ...): the command is running (Linux: /proc/PID/syscall)."""
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    read = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)
    return len(fields) > 1 and fields[0] == read and fields[1] == "0x0"


@pytest.mark.skipif(not Path("/proc/self/syscall").exists(), reason="needs Linux /proc/PID/syscall")
def test_real_sigint_exits_130_with_one_line(tmp_path) -> None:
    env = dict(os.environ, NKTENV_LANG="en", NKTENV_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "nktenv", "doctor", "--from", "-", "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 30
        while not _stdin_read_started(proc.pid):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.skip("could not see the command wait for its input")
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert err.decode() == "interrupted\n"
    doc = json.loads(out)
    assert doc["schema"] == "nktenv.error/1" and doc["exit_code"] == 130


def test_fake_interrupt_anywhere_is_130_not_aborted(runner, app, tmp_path, monkeypatch) -> None:
    import nktenv.cli.plan as plan_cli

    def interrupted(path):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_cli, "_facts", interrupted)
    result = runner.invoke(app, ["--lang", "ja", "plan"])
    assert result.exit_code == 130
    assert _lines(result.stderr) == ["中断しました"]
    assert "Aborted" not in result.output and "Traceback" not in result.output


def _differences(en, ja, path=""):
    """Paths where the two documents differ; the shapes (keys, list lengths) must be equal."""
    if isinstance(en, dict):
        assert isinstance(ja, dict) and en.keys() == ja.keys(), path
        return {p for key in en for p in _differences(en[key], ja[key], f"{path}.{key}")}
    if isinstance(en, list):
        assert isinstance(ja, list) and len(en) == len(ja), path
        return {p for a, b in zip(en, ja) for p in _differences(a, b, f"{path}[]")}
    return set() if en == ja else {path}


def test_json_keeps_keys_codes_and_numbers_in_every_language(runner, app) -> None:
    """README: only the text fields for people follow --lang; everything a program reads stays."""
    args = ["doctor", "--replay", str(MACHINES / "gtx1080ti-torch-cu128"), "--json"]
    en = json.loads(runner.invoke(app, ["--lang", "en", *args]).stdout)
    ja = json.loads(runner.invoke(app, ["--lang", "ja", *args]).stdout)
    changed = _differences(en, ja)
    assert ".findings[].title" in changed  # a title is translated ...
    assert changed <= {".findings[].title", ".findings[].fix", ".findings[].why", ".findings[].evidence[]"}
    # ... while codes, severities, the facts and their numbers are the same
    assert [f["code"] for f in en["findings"]] == [f["code"] for f in ja["findings"]]
    assert en["facts"] == ja["facts"] and en["facts"]["gpus"][0]["compute_capability"] == "6.1"


def test_every_exit_code_is_in_the_readme_table() -> None:
    import re

    from nktenv.errors import ExitCode

    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {int(code) for code in ExitCode}
    assert "could not be reached" in table.split("| 6 |", 1)[1].splitlines()[0]
