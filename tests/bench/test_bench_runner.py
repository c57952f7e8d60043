"""The orchestrator against stand-in interpreters: events, faults, timeouts, telemetry, verdicts, schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from bench_fakes import FakeNVML, fake_interpreter, hello, reading, row

from nktenv.bench import BenchRequest, run
from nktenv.bench.runner import run_framework
from nktenv.bench.schema import SCHEMA

pytestmark = pytest.mark.skipif(__import__("os").name == "nt", reason="stand-in interpreters are POSIX scripts")

GPU_BLOCKS = [50_000.0, 51_000.0, 49_500.0, 50_500.0, 50_200.0, 49_900.0, 50_100.0, 50_300.0, 49_800.0, 50_050.0]
CPU_BLOCKS = [1_000.0, 1_010.0, 990.0, 1_005.0, 995.0, 1_002.0, 998.0, 1_001.0, 999.0, 1_003.0]
PLAN = [{"model": "cnn", "pipeline": "resident", "device": d} for d in ("cpu", "cuda:0")]
MACHINE = {"name": "lab-pc-03", "facts": None}


def _gpu_events(gpu_blocks: list[float] = GPU_BLOCKS) -> list[dict]:
    return [
        hello("torch", ["cpu", "cuda:0"]),
        {"event": "plan", "framework": "torch", "rows": PLAN},
        {"event": "limits", "limit": {"framework": "torch", "device": "cuda:0", "device_name": "NVIDIA Fake",
                                      "matmul_flops": 5e13, "d2d_bytes_per_s": 3e12, "h2d_bytes_per_s": 5e10,
                                      "launch_overhead_s": 5e-6, "step_overhead_s": 4e-4}},
        {"event": "progress", "framework": "torch", "stage": "row", "model": "cnn", "pipeline": "resident", "done": 0, "total": 1},
        {"event": "block", "phase": "start", "framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cuda:0", "index": 0},
        {"event": "block", "phase": "end", "framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cuda:0", "index": 0},
        {"event": "row", "row": row("torch", "cnn", "resident", "cpu", CPU_BLOCKS)},
        {"event": "row", "row": row("torch", "cnn", "resident", "cuda:0", gpu_blocks)},
        {"event": "correctness", "result": {"framework": "torch", "model": "cnn", "steps": 5, "agree": True,
                                            "max_rel_diff": 0.001, "tolerance": 0.02}},
    ]


def _request(python: Path, **kw) -> BenchRequest:
    return BenchRequest(python=str(python), frameworks=("torch",), models=("cnn",), pipelines=("resident",), **kw)


def test_gpu_run_gives_speedup_ci_verdict_telemetry_and_valid_schema(tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, _gpu_events())
    thermal = [reading(reasons=0x20, temp=88)]
    result = run(_request(python, threshold=10.0), machine=MACHINE, nvml_loader=lambda: _started(FakeNVML(thermal)))
    doc = result.document
    jsonschema.validate(doc, SCHEMA)
    assert result.passed is True
    (sp,) = doc["speedups"]
    assert sp["ratio"] == pytest.approx(50.0, rel=0.02)
    assert sp["ci_low"] <= sp["ratio"] <= sp["ci_high"]
    (v,) = doc["verdicts"]
    assert re.fullmatch(r"GPU accelerates the CNN \d+x \(95% CI \d+-\d+x\)", v["text"])
    gpu_row = next(r for r in doc["rows"] if r["device"] == "cuda:0")
    assert gpu_row["telemetry"]["samples"] >= 1
    assert gpu_row["telemetry"]["throttle"]["sw_thermal"] == 1.0
    assert "thermal slowdown 100% of the run" in gpu_row["notes"]
    assert any("thermal slowdown" in n for n in v["notes"])
    assert gpu_row["fraction_of_limit"] is not None and 0 < gpu_row["fraction_of_limit"] < 1
    assert gpu_row["epoch_s"] == pytest.approx(50_000 / gpu_row["samples_per_s"]["median"])
    assert doc["software"]["torch"] == "9.9.9"
    assert doc["machine"]["name"] == "lab-pc-03" and len(doc["machine"]["fingerprint"]) == 64


def _started(nvml):
    return nvml


def test_a_loader_bound_manual_pipeline_is_named(tmp_path: Path) -> None:
    events = _gpu_events()
    events.insert(7, {"event": "row", "row": row("torch", "cnn", "manual", "cuda:0", [5000.0] * 10, loader_fraction=0.93)})
    result = run(_request(fake_interpreter(tmp_path, events)), machine=MACHINE, nvml_loader=lambda: None)
    (v,) = result.document["verdicts"]
    assert any(n.startswith("The per-image data loader takes 93% of each CNN step on cuda:0") for n in v["notes"])


def test_speedup_below_threshold_fails_the_verdict(tmp_path: Path) -> None:
    slow_gpu = [b / 25 for b in GPU_BLOCKS]  # 2x only
    python = fake_interpreter(tmp_path, _gpu_events(slow_gpu))
    result = run(_request(python, threshold=10.0), machine=MACHINE, nvml_loader=lambda: None)
    assert result.passed is False
    assert "below the 10.0x threshold" in result.document["verdicts"][0]["text"]


def test_gpu_oom_becomes_a_failed_row_and_a_failed_verdict(tmp_path: Path) -> None:
    events = _gpu_events()
    oom = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    events[7] = {"event": "row", "row": row("torch", "cnn", "resident", "cuda:0", [], status="failed", error=oom)}
    result = run(_request(tmp_path and fake_interpreter(tmp_path, events)), machine=MACHINE, nvml_loader=lambda: None)
    doc = result.document
    jsonschema.validate(doc, SCHEMA)
    gpu_row = next(r for r in doc["rows"] if r["device"] == "cuda:0")
    assert gpu_row["status"] == "failed" and gpu_row["error"] == oom
    assert result.passed is False
    assert oom in doc["verdicts"][0]["text"]
    cpu_row = next(r for r in doc["rows"] if r["device"] == "cpu")
    assert cpu_row["status"] == "ok"  # the rest went on


def test_timeout_keeps_finished_rows_and_fails_the_rest(tmp_path: Path) -> None:
    events = _gpu_events()[:7]  # the CPU row arrives, then the child hangs
    python = fake_interpreter(tmp_path, events, sleep=60)
    run_ = run_framework(_request(python, timeout_s=3), "torch")
    assert run_.timed_out
    by_device = {r["device"]: r for r in run_.rows}
    assert by_device["cpu"]["status"] == "ok"
    assert by_device["cuda:0"]["status"] == "failed"
    assert by_device["cuda:0"]["error"] == "timed out after 3 s"


def test_crash_reports_the_verbatim_stderr(tmp_path: Path) -> None:
    events = [hello("torch", ["cpu"]), {"event": "plan", "framework": "torch", "rows": PLAN[:1]}]
    python = fake_interpreter(tmp_path, events, exit_code=139,
                              stderr_lines=("Fatal Python error: Segmentation fault",))
    run_ = run_framework(_request(python), "torch")
    (failed,) = run_.rows
    assert failed["status"] == "failed"
    assert "exited with code 139" in failed["error"]
    assert "Fatal Python error: Segmentation fault" in failed["error"]


def test_an_absent_framework_gives_no_rows_and_no_verdict(tmp_path: Path) -> None:
    # Verbatim: Python's own message, as a bare venv prints it for `import tensorflow`.
    error = "ModuleNotFoundError: No module named 'tensorflow'"
    python = fake_interpreter(tmp_path, [{"event": "fatal", "framework": "tensorflow", "error": error,
                                          "code": "framework-missing"}], exit_code=3)
    result = run(BenchRequest(python=str(python), frameworks=("tensorflow",), models=("mlp", "cnn"), devices=("cpu",)),
                 machine=MACHINE, nvml_loader=lambda: None)
    doc = result.document
    jsonschema.validate(doc, SCHEMA)
    assert doc["rows"] == [] and doc["verdicts"] == []
    assert doc["frameworks_absent"] == ["tensorflow"]
    assert result.passed is None


def test_a_script_without_codes_is_still_read_as_absent_but_a_broken_import_fails(tmp_path: Path) -> None:
    absent = fake_interpreter(tmp_path, [{"event": "fatal", "framework": "torch",
                                          "error": "ModuleNotFoundError: No module named 'torch'"}], exit_code=3, name="a")
    assert run_framework(_request(absent), "torch").rows == []
    # A dependency of an installed framework is missing: that is a broken install, reported verbatim.
    error = "ModuleNotFoundError: No module named 'numpy'"
    broken = fake_interpreter(tmp_path, [{"event": "fatal", "framework": "torch", "error": error,
                                          "code": "framework-broken"}], exit_code=3, name="b")
    (failed,) = run_framework(_request(broken), "torch").rows
    assert failed["status"] == "failed" and failed["error"] == error


def test_a_gpu_the_framework_cannot_see_gives_no_rows(tmp_path: Path) -> None:
    events = [{"event": "fatal", "framework": "torch", "error": "cuda:0: torch sees 0 GPU(s)",
               "code": "device-not-visible", "devices": ["cuda:0"], "visible": 0}]
    result = run(_request(fake_interpreter(tmp_path, events), devices=("cuda:0",)), machine=MACHINE, nvml_loader=lambda: None)
    doc = result.document
    jsonschema.validate(doc, SCHEMA)
    assert doc["rows"] == [] and doc["verdicts"] == [] and doc["correctness"] == []
    assert doc["gpus_not_visible"] == [{"framework": "torch", "devices": ["cuda:0"], "visible": 0, "error": "cuda:0: torch sees 0 GPU(s)"}]


def test_rows_cut_short_by_ctrl_c_are_interrupted_not_failed(tmp_path: Path) -> None:
    import _thread
    import threading

    marker = tmp_path / "reported"
    python = fake_interpreter(tmp_path, _gpu_events()[:2] + [{"event": "row", "row": row("torch", "cnn", "resident", "cpu", CPU_BLOCKS)}],
                              sleep=60, marker=marker)

    def press_ctrl_c() -> None:
        import time

        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        _thread.interrupt_main()

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    result = run(_request(python, threshold=10.0), machine=MACHINE, nvml_loader=lambda: None)
    doc = result.document
    jsonschema.validate(doc, SCHEMA)
    assert result.interrupted is True
    rows = {r["device"]: r for r in doc["rows"]}
    assert rows["cpu"]["status"] == "ok"
    assert rows["cuda:0"]["status"] == "interrupted" and "interrupted" in rows["cuda:0"]["error"]
    (v,) = doc["verdicts"]
    assert v["passed"] is None and v["text"].startswith("Interrupted")
    assert result.passed is None


def test_no_gpu_verdict_keeps_the_cpu_numbers(tmp_path: Path) -> None:
    events = [hello("torch", ["cpu"]), {"event": "plan", "framework": "torch", "rows": PLAN[:1]},
              {"event": "row", "row": row("torch", "cnn", "resident", "cpu", CPU_BLOCKS)},
              {"event": "host", "framework": "torch", "host": {"cpus": 2, "loadavg_start": [6.3, 5.5, 3.3],
                                                                "loadavg_end": [4.0, 5.0, 3.5], "steal_fraction": 0.0}}]
    result = run(_request(fake_interpreter(tmp_path, events)), machine=MACHINE, nvml_loader=lambda: None)
    (v,) = result.document["verdicts"]
    assert result.document["host"][0]["loadavg_start"][0] == 6.3
    assert "The machine was busy during the run (load average 6.3, 2 CPUs, VM steal 0%)" in v["notes"][-1]
    assert v["passed"] is None
    assert v["text"].startswith("No GPU") and "1000 samples/s on 2 threads" in v["text"]
    assert result.document["speedups"] == []


def test_interpreter_path_with_spaces_and_non_ascii(tmp_path: Path) -> None:
    events = [hello("torch", ["cpu"]), {"event": "row", "row": row("torch", "cnn", "resident", "cpu", CPU_BLOCKS)}]
    python = fake_interpreter(tmp_path, events, name="Users 藤澤 env")
    run_ = run_framework(_request(python), "torch")
    assert run_.rows[0]["status"] == "ok"


def test_documented_example_matches_the_schema() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "bench-schema.md").read_text(encoding="utf-8")
    example = text.split("```json", 1)[1].split("```", 1)[0]
    example = re.sub(r"//[^\n]*", "", example)
    jsonschema.validate(json.loads(example), SCHEMA)


def test_rows_timed_on_a_busy_machine_are_noisy_and_carry_no_verdict(tmp_path: Path) -> None:
    # the busy host of the no-GPU test above: load 6.3 on 2 CPUs
    busy = {"event": "host", "framework": "torch", "host": {"cpus": 2, "loadavg_start": [6.3, 5.5, 3.3],
                                                             "loadavg_end": [4.0, 5.0, 3.5], "steal_fraction": 0.0}}
    result = run(_request(fake_interpreter(tmp_path, _gpu_events() + [busy]), threshold=10.0), machine=MACHINE,
                 nvml_loader=lambda: None)
    doc = result.document
    jsonschema.validate(doc, SCHEMA)
    assert all(r["noisy"] is True and r["busy"] is True for r in doc["rows"] if r["status"] == "ok")
    (v,) = doc["verdicts"]
    assert v["passed"] is None and v["ratio"] == pytest.approx(50.0, rel=0.05)
    assert "noisy: no verdict" in v["text"]
    assert result.passed is None


def test_quiet_rows_keep_their_verdict(tmp_path: Path) -> None:
    result = run(_request(fake_interpreter(tmp_path, _gpu_events()), threshold=10.0), machine=MACHINE, nvml_loader=lambda: None)
    assert all(r["noisy"] is False for r in result.document["rows"])
    assert result.document["verdicts"][0]["passed"] is True
