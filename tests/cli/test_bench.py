"""`nktenv bench` through the real Typer app, with stand-in interpreters (the real frameworks run in tests/bench)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_fakes import fake_interpreter, hello, row  # noqa: E402

from nktenv.bench import store  # noqa: E402
from nktenv.bench.schema import SCHEMA  # noqa: E402

posix_only = pytest.mark.skipif(os.name == "nt", reason="stand-in interpreters are POSIX scripts")
CPU = [1000.0 + i for i in range(10)]


def _events(gpu_factor: float, with_sweep: bool = False) -> list[dict]:
    events = [
        hello("torch", ["cpu", "cuda:0"]),
        {"event": "plan", "framework": "torch", "rows": [{"model": "cnn", "pipeline": "resident", "device": d} for d in ("cpu", "cuda:0")]},
        {"event": "progress", "framework": "torch", "stage": "row", "model": "cnn", "pipeline": "resident", "done": 0, "total": 2},
        {"event": "row", "row": row("torch", "cnn", "resident", "cpu", CPU)},
        {"event": "row", "row": row("torch", "cnn", "resident", "cuda:0", [b * gpu_factor for b in CPU])},
    ]
    if with_sweep:
        events.append({"event": "sweep", "sweep": {"framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cpu",
                                                   "points": [{"batch_size": 32, "samples_per_s": 900.0}, {"batch_size": 64, "samples_per_s": 950.0}]}})
    return events


@pytest.fixture(autouse=True)
def _no_real_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import nktenv.bench as bench
    import nktenv.bench.telemetry as telemetry

    monkeypatch.setattr(telemetry, "load_nvml", lambda: None)
    monkeypatch.setattr(bench, "machine_info", lambda python=None, with_facts=True: {"name": "lab-pc-01", "facts": None})


@posix_only
def test_passing_gpu_json_out_store_and_plot(runner, app, tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, _events(40.0, with_sweep=True))
    out = tmp_path / "results" / "run.json"
    result = runner.invoke(app, ["bench", "--python", str(python), "--framework", "torch", "--model", "cnn",
                                 "--threshold", "10", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["verdicts"][0]["passed"] is True
    assert json.loads(out.read_text(encoding="utf-8"))["id"] == doc["id"]
    assert [d["id"] for d in store.load_all()] == [doc["id"]]
    assert Path(doc["plot"]).is_file() and Path(doc["plot"]).read_bytes()[:4] == b"\x89PNG"
    assert "GPU accelerates the CNN 40x" in result.stderr  # people's text goes to stderr in --json mode


@posix_only
def test_failing_verdict_exits_1_with_the_table_on_stdout(runner, app, tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, _events(2.0))
    store_path = tmp_path / "shared 藤澤" / "bench.sqlite3"
    result = runner.invoke(app, ["bench", "--python", str(python), "--framework", "torch", "--quick",
                                 "--threshold", "10", "--store", str(store_path)])
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "below the 10.0x threshold" in result.stdout
    assert "samples/s" in result.stdout
    assert len(store.load_all(store_path)) == 1


TF_ABSENT = [{"event": "fatal", "framework": "tensorflow", "error": "ModuleNotFoundError: No module named 'tensorflow'",
              "code": "framework-missing"}]
TORCH_ABSENT = [{"event": "fatal", "framework": "torch", "error": "ModuleNotFoundError: No module named 'torch'",
                 "code": "framework-missing"}]


@posix_only
def test_by_default_only_the_frameworks_the_interpreter_has_are_run(runner, app, tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, {"bench_torch.py": _events(40.0), "bench_tf.py": TF_ABSENT})
    result = runner.invoke(app, ["bench", "--python", str(python), "--quick", "--threshold", "10"])
    assert result.exit_code == 0, result.stderr
    assert "tensorflow is not installed in this environment; skipped" in result.stderr
    assert "tensorflow" not in result.stdout  # no failed rows, no "tensorflow NO VERDICT"
    assert "torch PASS" in result.stdout
    (doc,) = store.load_all()
    assert {r["framework"] for r in doc["rows"]} == {"torch"}
    assert [v["framework"] for v in doc["verdicts"]] == ["torch"]
    assert doc["frameworks_absent"] == ["tensorflow"]


@posix_only
@pytest.mark.parametrize(("args", "events", "code", "needle"), [
    (["--framework", "tensorflow"], {"bench_tf.py": TF_ABSENT}, "framework-not-installed",
     "error: tensorflow is not installed in the environment of"),
    ([], {"bench_torch.py": TORCH_ABSENT, "bench_tf.py": TF_ABSENT}, "no-framework",
     "error: Neither PyTorch nor TensorFlow is installed in the environment of"),
])
def test_an_absent_framework_is_one_error_line_and_exit_3(runner, app, tmp_path: Path, args, events, code, needle) -> None:
    python = fake_interpreter(tmp_path, events)
    result = runner.invoke(app, ["bench", "--python", str(python), "--quick", *args])
    assert result.exit_code == 3, result.stderr
    assert needle in result.stderr
    assert "failed" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert not store.default_path().exists()
    as_json = runner.invoke(app, ["bench", "--python", str(python), "--quick", "--json", *args])
    assert as_json.exit_code == 3
    assert json.loads(as_json.stdout)["error"]["code"] == code


@posix_only
def test_a_gpu_device_without_a_gpu_is_one_error_line_and_exit_3(runner, app, tmp_path: Path) -> None:
    no_gpu = [{"event": "fatal", "framework": fw, "error": f"cuda:0: {fw} sees 0 GPU(s)", "code": "device-not-visible",
               "devices": ["cuda:0"], "visible": 0} for fw in ("torch", "tensorflow")]
    python = fake_interpreter(tmp_path, {"bench_torch.py": no_gpu[:1], "bench_tf.py": no_gpu[1:]})
    result = runner.invoke(app, ["bench", "--python", str(python), "--device", "cuda:0", "--quick"])
    assert result.exit_code == 3, result.stderr
    assert "error: No GPU is visible to torch, tensorflow in this environment (asked for cuda:0)" in result.stderr
    assert "disagree" not in result.stdout + result.stderr and "None" not in result.stdout + result.stderr
    assert not store.default_path().exists()


@posix_only
def test_a_gpu_index_past_the_last_gpu_names_how_many_there_are(runner, app, tmp_path: Path) -> None:
    events = [{"event": "fatal", "framework": "torch", "error": "cuda:1: torch sees 1 GPU(s)", "code": "device-not-visible",
               "devices": ["cuda:1"], "visible": 1}]
    python = fake_interpreter(tmp_path, events)
    result = runner.invoke(app, ["bench", "--python", str(python), "--framework", "torch", "--device", "cuda:1", "--quick"])
    assert result.exit_code == 3
    assert "error: cuda:1 is not visible to torch: only 1 GPU(s) are visible" in result.stderr


@posix_only
def test_out_says_where_it_wrote(runner, app, tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, _events(40.0))
    out = tmp_path / "結果" / "run.json"
    result = runner.invoke(app, ["bench", "--python", str(python), "--framework", "torch", "--quick", "--no-store",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert f"Result written to {out}" in result.stdout
    assert out.is_file()


@posix_only
def test_out_file_has_the_umask_mode_and_a_failed_write_leaves_no_temp_file(runner, app, tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, _events(40.0))
    out = tmp_path / "results" / "run.json"
    old_mask = os.umask(0o022)
    try:
        result = runner.invoke(app, ["bench", "--python", str(python), "--framework", "torch", "--quick",
                                     "--no-store", "--out", str(out)])
    finally:
        os.umask(old_mask)
    assert result.exit_code == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o644  # readable like any file the user makes (mkstemp alone gives 0600)
    assert sorted(p.name for p in out.parent.iterdir()) == ["run.json"]
    blocked = tmp_path / "results" / "taken"
    blocked.mkdir()  # a folder where the file should go: the final rename fails
    result = runner.invoke(app, ["bench", "--python", str(python), "--framework", "torch", "--quick",
                                 "--no-store", "--out", str(blocked)])
    assert result.exit_code == 5
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["run.json", "taken"]
    assert list(blocked.iterdir()) == []


@pytest.mark.parametrize(("args", "needle"), [
    (["--device", "gpu0"], "--device must be cpu, cuda:N or all"),
    (["--framework", "jax"], "--framework must be one of"),
    (["--model", "resnet"], "--model must be one of"),
    (["--dataset", "imagenet"], "--dataset must be one of"),
])
def test_bad_options_are_one_line_usage_errors(runner, app, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["bench", *args])
    assert result.exit_code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_interpreter_exits_3(runner, app, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "--python", str(tmp_path / "no" / "python"), "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "interpreter-not-found"


@posix_only
@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_exits_130(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    events = _events(40.0)[:4]  # the CPU row is reported, then the stand-in hangs
    marker = tmp_path / "reported"
    python = fake_interpreter(tmp_path, events, sleep=120, marker=marker)
    out = tmp_path / "partial.json"
    env = dict(os.environ, NKTENV_DATA_DIR=str(tmp_path / "data"), PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nktenv", "bench", "--python", str(python), "--framework", "torch", "--quick",
         "--out", str(out), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.05)
    time.sleep(0.5)  # the stand-in has reported its row; let nktenv read it
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.rstrip().splitlines()[-1] == "interrupted"
    doc = json.loads(stdout)
    assert doc["interrupted"] is True
    rows = {r["device"]: r for r in doc["rows"]}
    assert rows["cpu"]["status"] == "ok"
    assert rows["cuda:0"]["status"] == "interrupted" and "interrupted" in rows["cuda:0"]["error"]
    assert [r["status"] for r in json.loads(out.read_text(encoding="utf-8"))["rows"]] == ["ok", "interrupted"]
    assert json.loads(out.read_text(encoding="utf-8"))["id"] == doc["id"]
    assert len(store.load_all(tmp_path / "data" / "bench.sqlite3")) == 1
