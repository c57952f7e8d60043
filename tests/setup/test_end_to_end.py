"""The whole path for real: `nktenv setup` of the CPU build of PyTorch from the wheel on disk."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from nktenv.setup import registry

WHEELS = Path("/opt/wheels")

pytestmark = pytest.mark.slow


def _torch_wheel() -> Path | None:
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    hits = sorted(WHEELS.glob(f"torch-2.13.0*{tag}*.whl")) if WHEELS.is_dir() else []
    return hits[0] if hits else None


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(_torch_wheel() is None, reason="no torch 2.13.0 wheel for this Python in /opt/wheels")
def test_setup_cpu_torch_from_the_wheel_on_disk(tmp_path: Path) -> None:
    pytest.importorskip("nktenv.plan")
    if not _pypi_reachable():
        pytest.skip("torch's dependencies come from PyPI, which is not reachable")
    target = tmp_path / "torch cpu"
    # PyPI's torchvision is built for PyPI's torch, not the +cpu wheel on disk: verification would
    # (rightly) refuse the pair, so the companion is left out here.
    argv = [sys.executable, "-m", "nktenv", "setup", "--torch", "2.13.0", "--variant", "cpu", "--without", "torchvision",
            "--find-links", str(WHEELS), "--index-url", "https://pypi.org/simple",
            "--venv", str(target), "--yes", "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    doc = json.loads(out.stdout)
    assert doc["ok"] and doc["status"] == "created"
    # setup ends with the proof: the quick benchmark trained on the CPU (no GPU here) and was stored
    assert doc["bench"]["ok"] is True and doc["bench"]["passed"] is None
    assert Path(doc["bench"]["stored_in"]).is_file()
    assert "numpy" in doc["distributions"]  # torch does not bring it; the benchmark needs it
    assert doc["distributions"]["torch"] == "2.13.0+cpu"  # the wheel from disk, not a CUDA build from PyPI
    torch_check = doc["verification"]["frameworks"]["torch"]
    assert torch_check["version"] == "2.13.0+cpu" and torch_check["cuda_available"] is False
    assert not torch_check.get("error")
    record = json.loads((target / ".nktenv" / "record.json").read_text(encoding="utf-8"))
    assert record["plan"]["torch"]["variant"] == "cpu" and record["facts"]["schema"] == "nktenv.facts/1"
    # the venv really runs torch
    run = subprocess.run([str(registry.venv_python(target)), "-c",
                          "import torch; print(torch.__version__, (torch.ones(2, 2) @ torch.ones(2, 2)).sum().item())"],
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.split() == ["2.13.0+cpu", "8.0"], run.stderr
    # same plan again: nothing to do
    again = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "unchanged"
