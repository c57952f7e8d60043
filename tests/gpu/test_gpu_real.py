"""The GPU half, for real: run where an NVIDIA GPU and a CUDA build of torch work (`pytest -m gpu`).

Everywhere else each test skips at run time after a cheap look for the driver, so the suite stays
fast on a CPU-only machine. `benchmarks/gpu_session.sh` runs these with the full benchmark on a
lent GPU machine.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gpu


@functools.lru_cache(maxsize=1)
def _why_not() -> str | None:
    """None when this interpreter's torch sees a CUDA GPU, else the reason to skip."""
    if not (shutil.which("nvidia-smi") or os.path.exists("/dev/nvidia0")):
        return "no NVIDIA driver on this machine"
    try:
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                             capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "importing torch timed out"
    if out.stdout.strip() != "True":
        return "torch here has no working CUDA: " + (out.stderr.strip().splitlines() or ["?"])[-1]
    return None


@pytest.fixture
def gpu() -> None:
    reason = _why_not()
    if reason:
        pytest.skip(reason)


def _nktenv(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nktenv", *args], capture_output=True, text=True, timeout=timeout)


def test_detect_reads_the_driver_and_every_gpu_through_nvml(gpu) -> None:
    out = _nktenv("detect", "--json", "--python", sys.executable)
    facts = json.loads(out.stdout)
    assert facts["driver"]["version"] and facts["driver"]["cuda_version"]
    gpus = [g for g in facts["gpus"] if g.get("vendor") == "nvidia"]
    assert gpus and all(g.get("compute_capability") and g.get("uuid") for g in gpus)
    torch = facts["frameworks"]["torch"]
    assert torch["cuda_available"] is True and torch["kernel_ok"] is True, torch


def test_doctor_finds_no_error_on_a_working_gpu(gpu) -> None:
    out = _nktenv("doctor", "--json", "--python", sys.executable)
    doc = json.loads(out.stdout)
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert out.returncode == 0 and doc["ok"] and not errors, errors


def test_quick_bench_proves_the_gpu_and_samples_telemetry(gpu) -> None:
    out = _nktenv("bench", "--quick", "--framework", "torch", "--python", sys.executable, "--json", "--no-store",
                  timeout=900)
    doc = json.loads(out.stdout)
    gpu_rows = [r for r in doc["rows"] if r["device"].startswith("cuda")]
    assert gpu_rows and all(r["status"] in ("ok", "skipped") for r in gpu_rows), [r.get("error") for r in gpu_rows]
    resident = next(r for r in gpu_rows if r["model"] == "cnn" and r["pipeline"] == "resident")
    assert (resident.get("telemetry") or {}).get("samples", 0) > 0
    assert all(c["agree"] for c in doc["correctness"]), doc["correctness"]
    (verdict,) = doc["verdicts"]
    assert verdict["passed"] is True and out.returncode == 0, verdict
