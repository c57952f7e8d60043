"""Properties of the engine: healthy machines stay quiet, noise is not an error, rules are pure."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nktenv.doctor import CODES, RULES, diagnose, ok, summary
from nktenv.facts import from_dict
from nktenv.findings import SEVERITIES
from nktenv.manifest import load
from tests.doctor.builders import healthy_linux, healthy_windows, merge, run
from tests.doctor.test_doctor_codes import CASES, _doc

TF_NOISE = """\
2024-11-02 10:00:00.000000: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:485] Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered
2024-11-02 10:00:00.000000: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:8454] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered
2024-11-02 10:00:00.000000: E external/local_xla/xla/stream_executor/cuda/cuda_blas.cc:1452] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has already been registered
2024-11-02 10:00:01.000000: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT Warning: Could not find TensorRT
2024-11-02 10:00:02.000000: I external/local_xla/xla/stream_executor/cuda/cuda_executor.cc:1001] successful NUMA node read from SysFS had negative value (-1), but there must be at least one NUMA node, so returning NUMA node zero. See more at https://github.com/torvalds/linux/blob/v6.0/Documentation/ABI/testing/sysfs-bus-pci under the heading "Virtual memory"
2024-11-02 10:00:03.000000: I tensorflow/core/common_runtime/gpu/gpu_device.cc:2021] Created device /job:localhost/replica:0/task:0/device:GPU:0 with 22288 MB memory:  -> device: 0, name: NVIDIA GeForce RTX 3090, pci bus id: 0000:01:00.0, compute capability: 8.6
"""


def test_healthy_linux_has_no_findings_and_says_which_stack_works() -> None:
    facts = from_dict(healthy_linux())
    findings = diagnose(facts)
    assert findings == []
    text = summary(facts, findings)
    assert text.startswith("All good.")
    assert "PyTorch 2.5.1+cu124" in text and "NVIDIA GeForce RTX 3090" in text
    # the driver's CUDA Version is a ceiling, never presented as an installed toolkit
    assert "up to 12.4 (the driver's ceiling, not an installed CUDA toolkit)" in text


def test_healthy_windows_with_japanese_user_name_has_no_findings() -> None:
    assert run(healthy_windows()) == []


@pytest.mark.parametrize("gpu_listed", [True, False])
def test_tensorflow_log_noise_is_never_an_error(gpu_listed: bool) -> None:
    doc = merge(healthy_linux(), {"frameworks": {"torch": None, "tensorflow": {
        "version": "2.18.0", "package": "tensorflow", "cuda": "12.5", "cudnn": "9", "is_cuda_build": True,
        "cuda_available": gpu_listed, "kernel_ok": gpu_listed, "arch_list": ["sm_60", "sm_70", "sm_80", "sm_89", "compute_90"],
        "log": TF_NOISE, "packages": {"nvidia-cudnn-cu12": "9.3.0.75"}}}})
    findings = run(doc)
    serious = [f for f in findings if f.severity != "info"]
    if gpu_listed:
        assert serious == []
        assert [f.code for f in findings] == ["tf_log_noise"]
        assert any("Unable to register cuDNN factory" in e for e in findings[0].evidence)
    # never an error, whichever way the GPU check went
    assert all("register" not in e and "TensorRT" not in e for f in serious for e in f.evidence)


def test_findings_come_errors_first_and_are_deterministic() -> None:
    doc = _doc("windows", {"windows": {"long_paths_enabled": False},
                           "python": {"kind": "store"},
                           "frameworks": {"torch": {"version": "2.5.1+cpu", "cuda": None, "is_cuda_build": False,
                                                    "cuda_available": False, "arch_list": []}}})
    first = run(doc)
    ranks = [SEVERITIES.index(f.severity) for f in first]
    assert ranks == sorted(ranks) and first[0].severity == "error"
    assert run(doc) == first
    assert not ok(first)


class _NoIO(Exception):
    pass


def _forbid(*_a: Any, **_k: Any) -> Any:
    raise _NoIO("diagnose touched the machine")


class _Env(dict):
    def __getitem__(self, key: str) -> str:
        raise _NoIO(f"diagnose read the environment ({key})")

    def get(self, key: str, default: Any = None) -> Any:
        raise _NoIO(f"diagnose read the environment ({key})")


def test_diagnose_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = load()
    docs = [_doc(c[1], c[2]) for c in CASES]
    expected = [diagnose(from_dict(d), manifests) for d in docs]
    facts = [from_dict(d) for d in docs]
    monkeypatch.setattr(builtins, "open", _forbid)
    monkeypatch.setattr(io, "open", _forbid)
    monkeypatch.setattr(subprocess, "Popen", _forbid)
    monkeypatch.setattr(os, "environ", _Env())
    monkeypatch.setattr(os, "getenv", _forbid)
    got = [diagnose(f, manifests) for f in facts]
    monkeypatch.undo()
    assert got == expected
    assert [f.to_dict() for f in facts] == [from_dict(d).to_dict() for d in docs]  # facts are not changed


def test_every_rule_emits_only_documented_codes_and_json_safe_findings() -> None:
    import json

    seen: set[str] = set()
    for c in CASES:
        for f in run(_doc(c[1], c[2])):
            assert f.code in CODES
            json.dumps(f.to_dict())
            seen.add(f.code)
    assert len(RULES) >= 30


def test_docs_describe_every_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "doctor.md").read_text(encoding="utf-8")
    missing = [c for c in CODES if f"`{c}`" not in text]
    assert missing == []


def test_no_manifest_data_no_version_guess() -> None:
    """With an empty manifest set, the version rules stay quiet instead of guessing."""
    from nktenv.manifest import Manifests

    empty = Manifests(cuda=(), torch=(), tensorflow=(), gpu_archs=())
    doc = _doc("linux", {"driver": {"version": "470.82.01", "cuda_version": "11.4"}})
    codes = {f.code for f in diagnose(from_dict(doc), empty)}
    assert "driver_too_old" not in codes
    assert "driver_too_old" in {f.code for f in run(doc)}


def test_toolkit_newer_than_driver_says_the_ceiling_is_not_a_toolkit() -> None:
    doc = _doc("linux", {"driver": {"version": "535.154.05", "cuda_version": "12.2"},
                         "cuda_toolkits": [{"version": "12.6", "root": "/usr/local/cuda-12.6", "on_path": True,
                                            "nvcc": "/usr/local/cuda-12.6/bin/nvcc"}],
                         "frameworks": {"torch": {"version": "2.5.1+cu121", "cuda": "12.1"}}})
    f = {x.code: x for x in run(doc)}["cuda_toolkit_version_mismatch"]
    assert f.severity == "warning"
    assert any("newer than the driver supports (up to 12.2)" in e for e in f.evidence)
    assert "not an installed toolkit" in (f.why or "")


def test_partial_cuda_visible_devices_names_the_hidden_gpu() -> None:
    doc = _doc("linux", {"env": {"CUDA_VISIBLE_DEVICES": "1"},
                         "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9",
                                   "uuid": "GPU-aa11bb22-cc33-dd44-ee55-ff6600778899"},
                                  {"index": 1, "vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080 Ti", "compute_capability": "6.1"}],
                         "frameworks": {"torch": {"devices": ["NVIDIA GeForce GTX 1080 Ti"], "device_count": 1}}})
    f = {x.code: x for x in run(doc)}["cuda_visible_devices_hidden"]
    assert f.severity == "warning"
    assert "NVIDIA GeForce RTX 4090" in f.title
    assert "CUDA_VISIBLE_DEVICES=GPU-aa11bb22-cc33-dd44-ee55-ff6600778899" in (f.fix or "")


def test_tf_2150_and_cuda_fix_points_at_post1() -> None:
    doc = _doc("linux", {"frameworks": {"tensorflow": {"version": "2.15.0", "package": "tensorflow-cpu", "is_cuda_build": False}}})
    f = {x.code: x for x in run(doc)}["cpu_only_wheel"]
    assert '"tensorflow[and-cuda]==2.15.0.post1"' in (f.fix or "")


def test_legacy_branch_is_only_information_when_nothing_needs_more() -> None:
    doc = _doc("linux", {"gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080 Ti", "compute_capability": "6.1"}]})
    f = {x.code: x for x in run(doc)}["gpu_legacy_driver_cap"]
    assert f.severity == "info" and "580" in f.title


def test_container_without_gpu_is_only_a_warning_without_signs_of_gpu_use() -> None:
    base = {"os": {"container": True}, "driver": None, "gpus": [], "frameworks": {"torch": None}}
    quiet = {x.code: x for x in run(_doc("linux", base))}["container_without_gpu"]
    assert quiet.severity == "warning"
    loud = {x.code: x for x in run(_doc("linux", merge(base, {"env": {"NVIDIA_VISIBLE_DEVICES": "all"}})))}
    assert loud["container_without_gpu"].severity == "error"
    assert "NVIDIA_VISIBLE_DEVICES=all" in loud["container_without_gpu"].evidence


def test_wsl_nvidia_smi_build_number_is_not_stale() -> None:
    header = "| NVIDIA-SMI 555.52.01              Driver Version: 555.99         CUDA Version: 12.5     |"
    doc = _doc("linux", {"os": {"wsl": True}, "driver": {"version": "555.99", "cuda_version": "12.5", "kernel_module": None,
                                                       "userspace_version": None},
                         "logs": [{"text": header, "source": "nvidia-smi.txt"}]})
    assert "nvidia_smi_userspace_stale" not in {f.code for f in run(doc)}
    stale = merge(doc, {"logs": [{"text": header.replace("555.52.01", "535.183.01"), "source": "nvidia-smi.txt"}]})
    f = {x.code: x for x in run(stale)}["nvidia_smi_userspace_stale"]
    assert "nvidia-utils" in (f.fix or "") and "/usr/lib/wsl/lib/nvidia-smi" in (f.fix or "")
