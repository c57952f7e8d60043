"""`nktenv setup` through the real Typer app."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "setup"))
from wheels import offline_lock  # noqa: E402

from nktenv.setup import registry  # noqa: E402


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return offline_lock(tmp_path)


def test_dry_run_json_shows_exact_commands_and_changes_nothing(runner, app, lock: Path, tmp_path: Path) -> None:
    target = tmp_path / "藤澤 env"
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(target), "--dry-run", "--json",
                                 "--installer", "pip"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.setup/1" and doc["dry_run"] is True and doc["status"] == "planned"
    create, install = doc["commands"]
    assert create[1:3] == ["-m", "venv"] and create[-1] == str(target)
    assert install[1:4] == ["-m", "pip", "install"] and "--no-index" in install and install[-1] == "nkt-dep==1.0"
    assert not target.exists()


def test_json_without_yes_refuses_to_change_the_machine(runner, app, lock: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "e"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "confirmation-needed"
    assert "Traceback" not in result.stderr and not (tmp_path / "e").exists()


def test_foreign_folder_is_refused(runner, app, lock: Path, tmp_path: Path) -> None:
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "results.csv").write_text("keep me")
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(target), "--yes"])
    assert result.exit_code == 2
    assert "was not made by nktenv" in result.stderr and result.stderr.count("\n") <= 3
    assert (target / "results.csv").read_text() == "keep me"


def test_insecure_index_is_refused(runner, app, lock: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "e"), "--yes",
                                 "--index-url", "http://mirror.lab.example/simple", "--json"])
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["code"] == "insecure-index"
    ok = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "e"), "--dry-run",
                             "--index-url", "http://mirror.lab.example/simple", "--allow-insecure-index"])
    assert ok.exit_code == 0, ok.stderr


def test_missing_interpreter_and_bad_lock(runner, app, lock: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "e"), "--dry-run",
                                 "--python", str(tmp_path / "no" / "python")])
    assert result.exit_code == 3 and "does not exist" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["setup", "--from-lock", str(bad), "--venv", str(tmp_path / "e"), "--dry-run"])
    assert result.exit_code == 5 and "Traceback" not in result.stderr


def test_unknown_installer_is_usage_error(runner, app, lock: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "e"), "--installer", "conda"])
    assert result.exit_code == 2 and "conda" in result.stderr


def test_list_is_empty_then_shows_remembered_environments(runner, app, tmp_path: Path) -> None:
    result = runner.invoke(app, ["setup", "--list", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["environments"] == []
    registry.remember(registry.Environment(path=str(tmp_path / "gone"), python=str(tmp_path / "gone" / "python"),
                                           torch="2.13.0"))
    doc = json.loads(runner.invoke(app, ["setup", "--list", "--json"]).stdout)
    assert doc["environments"][0]["torch"] == "2.13.0" and doc["environments"][0]["exists"] is False
    human = runner.invoke(app, ["setup", "--list"], env={"COLUMNS": "60"})
    assert human.exit_code == 0 and "torch 2.13.0" in human.stdout
    # the path stands whole on its own line, however narrow the console
    assert f"  {tmp_path / 'gone'} (deleted)" in human.stdout.splitlines()


def test_dry_run_from_the_plan_for_this_machine(runner, app, tmp_path: Path) -> None:
    pytest.importorskip("nktenv.plan")
    result = runner.invoke(app, ["setup", "--torch", "2.13.0", "--variant", "cpu", "--venv", str(tmp_path / "e"),
                                 "--dry-run", "--json", "--installer", "uv"])
    if result.exit_code == 2 and "uv" in result.stderr:
        pytest.skip("uv is not installed")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["plan"]["torch"]["version"] == "2.13.0" and doc["plan"]["torch"]["variant"] == "cpu"
    assert "torch==2.13.0" in doc["spec"]["requirements"] and doc["spec"]["frameworks"] == ["torch"]
    assert "--index-url" in doc["commands"][1]


def test_without_leaves_a_companion_out_of_the_commands(runner, app, tmp_path: Path) -> None:
    pytest.importorskip("nktenv.plan")
    args = ["setup", "--torch", "2.13.0", "--variant", "cpu", "--venv", str(tmp_path / "e"), "--dry-run", "--json",
            "--installer", "pip"]
    planned = json.loads(runner.invoke(app, args).stdout)["spec"]["requirements"]
    assert any(r.startswith("torchvision==") for r in planned)
    result = runner.invoke(app, [*args, "--without", "torchvision"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["spec"]["requirements"] == [r for r in planned if not r.startswith("torchvision")]
    assert not any("torchvision" in part for part in doc["commands"][-1])
    refused = runner.invoke(app, [*args, "--without", "torch"])
    assert refused.exit_code == 2 and "--torch none" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.slow
def test_setup_from_lock_then_noop(runner, app, lock: Path, tmp_path: Path) -> None:
    target = tmp_path / "env"
    first = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(target), "--yes", "--json", "--no-bench"])
    assert first.exit_code == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["ok"] and doc["status"] == "created" and doc["distributions"]["nkt-dep"] == "1.0"
    assert Path(doc["log"]).is_file() and "Full installer log" in first.stderr
    assert registry.last_python() == doc["python"]
    again = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(target), "--yes", "--json", "--no-bench"])
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "unchanged"
    listed = json.loads(runner.invoke(app, ["setup", "--list", "--json"]).stdout)["environments"]
    assert [e["path"] for e in listed] == [str(target)]


def _fake_torch_lock(tmp_path: Path) -> Path:
    """A lock that installs a stand-in torch (imports and 'runs') from a local wheel folder."""
    from wheels import FAKE_TORCH_OK

    lock = offline_lock(tmp_path, "torch==0.0.1", module_source=FAKE_TORCH_OK)
    lock.write_text(json.dumps(dict(json.loads(lock.read_text(encoding="utf-8")), frameworks=["torch"])),
                    encoding="utf-8")
    return lock


@pytest.mark.slow
def test_failed_quick_bench_verdict_means_not_set_up(runner, app, tmp_path: Path, monkeypatch) -> None:
    bench = pytest.importorskip("nktenv.bench")
    lock = _fake_torch_lock(tmp_path)
    calls = []

    def fake_quick(python, frameworks=("torch", "tensorflow"), **kw):
        calls.append((python, tuple(frameworks)))
        doc = {"schema": "nktenv.bench/1", "id": "run-1", "created_at": "2026-12-05T00:00:00Z",
               "machine": {"name": "lab-01"}, "rows": [],
               "verdicts": [{"framework": "torch", "passed": False, "text": "GPU accelerates the CNN only 1.1x"}]}
        return bench.BenchResult(document=doc, passed=False, interrupted=False)

    monkeypatch.setattr(bench, "run_quick", fake_quick)
    target = tmp_path / "env"
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(target), "--yes", "--json"])
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["bench"]["passed"] is False
    assert calls == [(doc["python"], ("torch",))]
    # the proof is kept where `nktenv bench` keeps its results
    from nktenv.bench import store

    assert doc["bench"]["stored_in"] == str(store.default_path())
    assert [d["id"] for d in store.load_all()] == ["run-1"]
    assert "not set up" in result.stderr and "only 1.1x" in result.stderr
    # the same plan again is a no-op and does not re-run the benchmark
    again = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(target), "--yes", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["bench"] is None and len(calls) == 1


@pytest.mark.slow
@pytest.mark.parametrize(("status", "code"), [("ok", 0), ("failed", 1)])
def test_no_gpu_verdict_still_needs_the_cpu_half_to_train(runner, app, tmp_path: Path, monkeypatch, status, code) -> None:
    bench = pytest.importorskip("nktenv.bench")
    lock = _fake_torch_lock(tmp_path)

    def fake_quick(python, frameworks=("torch", "tensorflow"), **kw):
        doc = {"schema": "nktenv.bench/1", "id": "run-" + status, "created_at": "2026-12-05T00:00:00Z",
               "machine": {"name": "lab-01"},
               "rows": [{"framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cpu", "status": status}],
               "verdicts": [{"framework": "torch", "passed": None, "text": "No GPU: nothing to accelerate."}]}
        return bench.BenchResult(document=doc, passed=None, interrupted=False)

    monkeypatch.setattr(bench, "run_quick", fake_quick)
    result = runner.invoke(app, ["setup", "--from-lock", str(lock), "--venv", str(tmp_path / "env"), "--yes", "--json"])
    assert result.exit_code == code, result.stderr
    assert json.loads(result.stdout)["bench"]["ok"] is (status == "ok")
