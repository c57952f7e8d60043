"""`nktenv setup` never installs a CPU build silently on an NVIDIA machine, and Ctrl-C leaves a clear state."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "setup"))
from wheels import FAKE_TORCH_OK, offline_lock  # noqa: E402

MACHINES = Path(__file__).resolve().parent.parent / "machines"


def _on_machine(monkeypatch, machine: str) -> None:
    """Plan as on a recorded machine (the probe reads the recording instead of this computer)."""
    import nktenv.probes as probes

    facts = probes.detect(probes.open_seam(replay=MACHINES / machine), frameworks=False)
    monkeypatch.setattr(probes, "detect", lambda *a, **k: facts)


@pytest.mark.parametrize("machine", ["laptop-no-driver", "nvidia-smi-hangs", "secure-boot-rejected"])
def test_cpu_only_plan_on_an_nvidia_machine_is_refused(runner, app, tmp_path, monkeypatch, machine) -> None:
    pytest.importorskip("nktenv.plan")
    _on_machine(monkeypatch, machine)
    target = tmp_path / "env"
    result = runner.invoke(app, ["setup", "--venv", str(target), "--yes", "--json"])
    assert result.exit_code == 1, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "gpu-build-unavailable"
    assert "although it has an NVIDIA GPU" in error["message"]
    assert "--allow-cpu" in error["hint"]
    assert "Environment ready" not in result.stderr and not target.exists()
    # why no GPU build fits is said too (the plan's own explanation)
    assert "CPU build of torch" in result.stderr


def test_refusal_names_what_would_unlock_a_gpu_build(runner, app, tmp_path, monkeypatch) -> None:
    pytest.importorskip("nktenv.plan")
    _on_machine(monkeypatch, "laptop-no-driver")
    result = runner.invoke(app, ["setup", "--venv", str(tmp_path / "env"), "--dry-run"])
    assert result.exit_code == 1
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint: "))
    assert "Install the NVIDIA driver" in hint and "unlocks torch" in hint


@pytest.mark.parametrize("extra", [["--allow-cpu"], ["--variant", "cpu"]])
def test_cpu_build_when_asked_for(runner, app, tmp_path, monkeypatch, extra) -> None:
    pytest.importorskip("nktenv.plan")
    _on_machine(monkeypatch, "laptop-no-driver")
    result = runner.invoke(app, ["setup", "--venv", str(tmp_path / "env"), "--dry-run", "--json", *extra])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["plan"]["torch"]["variant"] == "cpu" and doc["spec"]["gpu"] is False


def test_without_any_gpu_the_cpu_build_is_quiet(runner, app, tmp_path, monkeypatch) -> None:
    pytest.importorskip("nktenv.plan")
    _on_machine(monkeypatch, "container-no-gpu")
    result = runner.invoke(app, ["setup", "--venv", str(tmp_path / "env"), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "GPU expected: no (CPU build)" in result.stdout
    assert "warning" not in result.stderr.lower() and "No GPU build" not in result.stderr


# --- Ctrl-C ----------------------------------------------------------------------------------


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return offline_lock(tmp_path)


def test_ctrl_c_at_the_question_changes_nothing(runner, app, lock, tmp_path, monkeypatch) -> None:
    import nktenv.cli.setup as setup_cli

    def ctrl_c(*args, **kwargs):  # what Click's prompt raises on Ctrl-C
        raise typer.Abort()

    monkeypatch.setattr(setup_cli, "_can_ask", lambda: True)
    monkeypatch.setattr(typer, "confirm", ctrl_c)
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "env")])
    assert result.exit_code == 130
    assert result.stderr.splitlines() == ["Cancelled; nothing was changed."]
    assert "Aborted" not in result.output and not (tmp_path / "env").exists()


def test_ctrl_c_during_the_install_leaves_nothing(runner, app, lock, tmp_path, monkeypatch) -> None:
    from nktenv.setup import apply as A

    real = A.run_process

    def interrupted_install(argv, **kwargs):
        if "install" in argv:
            raise KeyboardInterrupt
        return real(argv, **kwargs)

    monkeypatch.setattr(A, "run_process", interrupted_install)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "new" / "env"), "--yes"])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1].startswith("interrupted; nothing was left behind")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging folder, no parent folder made
    assert "Traceback" not in result.output


def _torch_lock(tmp_path: Path) -> Path:
    lock = offline_lock(tmp_path, "torch==0.0.1", module_source=FAKE_TORCH_OK)
    lock.write_text(json.dumps(dict(json.loads(lock.read_text(encoding="utf-8")), frameworks=["torch"])), encoding="utf-8")
    return lock


@pytest.mark.slow
@pytest.mark.parametrize("how", ["raised", "returned"])
def test_ctrl_c_during_the_quick_bench_keeps_the_verified_env(runner, app, tmp_path, monkeypatch, how) -> None:
    bench = pytest.importorskip("nktenv.bench")
    from nktenv.bench import store

    def interrupted(python, frameworks=("torch",), **kwargs):
        if how == "raised":
            raise KeyboardInterrupt
        doc = {"schema": "nktenv.bench/1", "id": "cut", "rows": [], "verdicts": [], "interrupted": True}
        return bench.BenchResult(document=doc, passed=None, interrupted=True)

    monkeypatch.setattr(bench, "run_quick", interrupted)
    target = tmp_path / "藤澤 env"
    result = runner.invoke(app, ["setup", "--from-lock", str(_torch_lock(tmp_path)), "--venv", str(target), "--yes",
                                 "--json"])
    assert result.exit_code == 130, result.stderr
    doc = json.loads(result.stdout)
    assert doc["interrupted"] is True and doc["finish"] == ["nktenv", "bench", "--quick", "--venv", str(target)]
    assert "was built and verified and stays" in result.stderr
    from nktenv.setup.process import format_command

    assert "To finish, run: " + format_command(doc["finish"]) in result.stderr
    assert "not set up yet" not in result.stderr  # not the failed-benchmark message
    assert (target / ".nktenv" / "record.json").is_file()
    assert store.load_all() == []  # a run cut short is not stored as the machine's proof
