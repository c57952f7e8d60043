"""The NVML child process against fake `pynvml` modules: fallbacks, per-field errors, hangs, crashes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nktenv.probes import nvidia
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

_MIG_TCC = _WORKING + '''
def nvmlDeviceGetDriverModel_v2(h): raise NVMLError_FunctionNotFound()
def nvmlDeviceGetDriverModel(h): return [1, 1]
def nvmlDeviceGetComputeMode(h): return 3
def nvmlDeviceGetMigMode(h): return [1, 1]
def nvmlDeviceGetMaxMigDeviceCount(h): return 3
def nvmlDeviceGetMigDeviceHandleByIndex(h, i):
    if i == 1:
        raise NVMLError_NotFound()
    return ("mig", i)
class NVMLError_NotFound(NVMLError):
    def __str__(self):
        return "Not Found"
_real_name = nvmlDeviceGetName
def nvmlDeviceGetName(h): return b"NVIDIA A100-SXM4-80GB MIG 1g.10gb" if isinstance(h, tuple) else _real_name(h)
_real_uuid = nvmlDeviceGetUUID
def nvmlDeviceGetUUID(h): return f"MIG-0000000{h[1]}-0321-5fef-9c87-d4af3b54259e" if isinstance(h, tuple) else _real_uuid(h)
'''

_LINUX_NO_MIG = _WORKING + '''
def nvmlDeviceGetDriverModel(h): raise NVMLError_NotSupported()
def nvmlDeviceGetComputeMode(h): return 0
def nvmlDeviceGetMigMode(h): raise NVMLError_NotSupported()
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


def test_driver_model_compute_and_mig_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _nvml_with(tmp_path, monkeypatch, _MIG_TCC)
    (dev,) = data["devices"]
    assert (dev["driver_model"], dev["compute_mode"], dev["mig_mode"]) == (1, 3, 1)  # TCC, Exclusive_Process
    assert [(m["index"], m["uuid"][:12], m["memory_total"]) for m in dev["mig_devices"]] == [
        (0, "MIG-00000000", 25757220864), (2, "MIG-00000002", 25757220864)]  # slot 1 is empty
    (gpu,) = nvidia.nvml_gpus(data)
    assert (gpu.driver_model, gpu.compute_mode, gpu.mig_mode) == ("TCC", "Exclusive_Process", "enabled")
    assert [m.name for m in gpu.mig_devices] == ["NVIDIA A100-SXM4-80GB MIG 1g.10gb"] * 2


def test_unsupported_fields_are_no_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _nvml_with(tmp_path, monkeypatch, _LINUX_NO_MIG)
    (dev,) = data["devices"]
    assert (dev["driver_model"], dev["compute_mode"], dev["mig_mode"], dev["mig_devices"]) == (None, 0, None, [])
    assert dev["errors"] == {"pcie.gen_current": "NVMLError_NotSupported: Not Supported"}
