"""`nktenv bench` against real interpreters: it runs the frameworks a venv has and says so in one line
when a framework or a GPU is not there (slow: real venvs and a real framework import)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import venv
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packaging"))

from venvs import host_site_packages, venv_python  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name == "nt", reason="the torch-only venv links packages")]
TINY = ["--model", "mlp", "--quick", "--no-store", "--timeout", "240"]


def _needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed here")


@pytest.fixture(autouse=True)
def _machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import nktenv.bench as bench
    import nktenv.bench.telemetry as telemetry

    monkeypatch.setattr(telemetry, "load_nvml", lambda: None)
    monkeypatch.setattr(bench, "machine_info", lambda python=None, with_facts=True: {"name": "ci", "facts": None})


def _bare_venv(path: Path) -> Path:
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(path)
    return path


def _venv_without(path: Path, hidden: tuple[str, ...]) -> Path:
    """A venv that imports this interpreter's packages except `hidden` (links to every other entry)."""
    _bare_venv(path)
    linked = path.parent / (path.name + "-packages")
    linked.mkdir()
    for folder in host_site_packages():
        for entry in Path(folder).iterdir():
            top = entry.name.split("-", 1)[0].split(".", 1)[0].lower()
            if top in hidden or (linked / entry.name).exists():
                continue
            (linked / entry.name).symlink_to(entry)
    purelib = next((path / "lib").glob("python*/site-packages"))
    (purelib / "zz-host.pth").write_text(str(linked) + "\n", encoding="utf-8")
    return path


def test_a_venv_without_any_framework_is_one_error_line_and_exit_3(runner, app, tmp_path: Path) -> None:
    env = _bare_venv(tmp_path / "empty venv 藤澤")
    result = runner.invoke(app, ["bench", "--venv", str(env), *TINY])
    assert result.exit_code == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: Neither PyTorch nor TensorFlow is installed in the environment of {venv_python(env)}"]
    assert "failed" not in result.stdout + result.stderr


@_needs("torch")
def test_a_torch_only_venv_runs_torch_and_skips_tensorflow_in_one_line(runner, app, tmp_path: Path) -> None:
    env = _venv_without(tmp_path / "torch-only", ("tensorflow", "tensorflow_cpu", "tf_keras"))
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["bench", "--venv", str(env), "--device", "cpu", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert "tensorflow is not installed in this environment; skipped" in result.stderr
    assert "tensorflow" not in result.stdout  # no failed rows, no "tensorflow NO VERDICT"
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert {r["framework"] for r in doc["rows"]} == {"torch"}
    assert all(r["status"] in ("ok", "skipped") for r in doc["rows"])
    assert doc["frameworks_absent"] == ["tensorflow"]
    assert [v["framework"] for v in doc["verdicts"]] == ["torch"]
    result = runner.invoke(app, ["bench", "--venv", str(env), "--framework", "tensorflow", *TINY])
    assert result.exit_code == 3
    assert "error: tensorflow is not installed in the environment of" in result.stderr


@_needs("torch")
def test_cuda_device_on_a_cpu_only_torch_says_no_gpu_and_exits_3(runner, app, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = runner.invoke(app, ["bench", "--python", sys.executable, "--framework", "torch", "--device", "cuda:0", *TINY])
    assert result.exit_code == 3, result.stderr + result.stdout
    assert "error: No GPU is visible to torch in this environment (asked for cuda:0)" in result.stderr
    assert "disagree" not in result.stdout + result.stderr
