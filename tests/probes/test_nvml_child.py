"""The NVML child process against fake `pynvml` modules: fallbacks, per-field errors, hangs, crashes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nktenv.probes import seam as seam_mod
from nktenv.probes.seam import RealSeam

_BASE = '''
class NVMLError(Exception):
    pass

class NVMLError_FunctionNotFound(NVMLError):
    def __str__(self):
        return "Function Not Found"

class NVMLError_NotSupported(NVMLError):
    def __str__(self):
        return "Not Supported"

class NVMLError_LibRmVersionMismatch(NVMLError):
    def __str__(self):
        return "Driver/library version mismatch"

class _Mem:
    total = 25757220864

class _Pci:
    busId = b"00000000:01:00.0"
'''

_WORKING = _BASE + '''
import os
def nvmlInit():
    assert "CUDA_VISIBLE_DEVICES" not in os.environ  # the child must see every GPU
def nvmlShutdown(): pass
def nvmlSystemGetDriverVersion(): return "550.54.15"
def nvmlSystemGetCudaDriverVersion_v2(): raise NVMLError_FunctionNotFound()
def nvmlSystemGetCudaDriverVersion(): return 12040
def nvmlSystemGetNVMLVersion(): return "12.550.54.15"
def nvmlDeviceGetCount(): return 1
def nvmlDeviceGetHandleByIndex(i): return i
def nvmlDeviceGetName(h): return b"NVIDIA GeForce RTX 4090"
def nvmlDeviceGetUUID(h): return "GPU-aa11bb22-cc33-dd44-ee55-ff6600778899"
def nvmlDeviceGetCudaComputeCapability(h): return (8, 9)
def nvmlDeviceGetMemoryInfo(h, version=None): return _Mem()
def nvmlDeviceGetPciInfo(h): return _Pci()
def nvmlDeviceGetCurrPcieLinkGeneration(h): raise NVMLError_NotSupported()
def nvmlDeviceGetMaxPcieLinkGeneration(h): return 4
def nvmlDeviceGetCurrPcieLinkWidth(h): return 16
def nvmlDeviceGetMaxPcieLinkWidth(h): return 16
'''

_MISMATCH = _BASE + '''
def nvmlInit(): raise NVMLError_LibRmVersionMismatch()
'''

_HANGS = _BASE + '''
import time
def nvmlInit(): time.sleep(120)
'''

_CRASHES = _BASE + '''
import ctypes
def nvmlInit(): ctypes.string_at(0)
'''


def _nvml_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> dict:
    (tmp_path / "pynvml.py").write_text(source, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    return RealSeam().nvml()


def test_answers_with_fallback_and_per_field_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _nvml_with(tmp_path, monkeypatch, _WORKING)
    assert data["available"] is True and data["error"] is None
    assert data["driver_version"] == "550.54.15"
    assert data["cuda_driver_version"] == 12040  # from the fallback after Function Not Found
    (dev,) = data["devices"]
    assert dev["name"] == "NVIDIA GeForce RTX 4090" and dev["compute_capability"] == [8, 9]
    assert dev["pci_bus_id"] == "00000000:01:00.0" and dev["memory_total"] == 25757220864
    assert dev["pcie"] == {"gen_current": None, "gen_max": 4, "width_current": 16, "width_max": 16}
    assert dev["errors"] == {"pcie.gen_current": "NVMLError_NotSupported: Not Supported"}


def test_init_failure_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _nvml_with(tmp_path, monkeypatch, _MISMATCH)
    assert data == {"available": False, "error": "Driver/library version mismatch",
                    "error_name": "NVMLError_LibRmVersionMismatch", "errors": {}}


def test_a_wedged_driver_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seam_mod, "NVML_TIMEOUT_S", 1.0)
    start = time.perf_counter()
    data = _nvml_with(tmp_path, monkeypatch, _HANGS)
    assert time.perf_counter() - start < 15
    assert data["available"] is False and data["timed_out"] is True
    assert "timed out" in data["error"]


def test_a_crash_in_the_driver_library_does_not_take_nktenv_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _nvml_with(tmp_path, monkeypatch, _CRASHES)
    assert data["available"] is False
    assert data["error"].startswith("NVML child failed:")
