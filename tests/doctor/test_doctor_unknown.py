"""Unknown is not absent: delete each block of a snapshot in turn, and the diagnosis must hold.

For every recorded machine (tests/machines) and every case of test_doctor_codes: with one block
removed, each expected finding still appears, or `facts_incomplete` names that block and the code it
could not check. A list block (logs, cudnn, cuda_toolkits) that held the finding's own evidence may
take the finding with it: a missing list reads as an empty one. And no finding may claim, about the
deleted block, a fact the snapshot no longer holds.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nktenv.doctor import diagnose
from nktenv.facts import from_dict
from nktenv.findings import Finding
from nktenv.manifest import load
from tests.doctor.builders import healthy_linux, healthy_windows, merge
from tests.doctor.test_doctor_codes import CASES
from tests.machines import machine_names, replay_facts

MANIFESTS = load()
BLOCKS = ("driver", "gpus", "frameworks", "python", "env", "windows", "cudnn", "cuda_toolkits", "logs", "cpu", "memory", "host")
# Lists: the contract's arrays are never null, so a missing one reads as empty (gpus only where the probes found no driver).
LIST_BLOCKS = ("logs", "cudnn", "cuda_toolkits", "gpus")
# What a finding may only say when the block is there: "none found", read from that block.
CLAIMS = {
    "driver": ("the probes looked and found none", "kernel module: not loaded", "/dev/nvidia0 and /dev/nvidiactl are missing",
               "/usr/lib/wsl/lib/libcuda.so.1: not found", "no NVIDIA driver is installed"),
    "gpus": ("GPUs present: 0",),
    "windows": ("LongPathsEnabled = 0", "vcruntime140.dll: not found"),
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value, *(ln.strip() for ln in value.splitlines())]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _expected(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings if f.severity in ("error", "warning") and f.code != "unexplained_error"}


def _check(doc: dict[str, Any], label: str) -> int:
    before = _expected(diagnose(from_dict(doc), MANIFESTS))
    checked = 0
    for block in BLOCKS:
        if block not in doc:
            continue
        cut = copy.deepcopy(doc)
        gone = cut.pop(block)
        leaves = [s for s in _strings(gone) if len(s) >= 5]
        after = diagnose(from_dict(cut), MANIFESTS)
        codes = {f.code for f in after}
        incomplete = next((f for f in after if f.code == "facts_incomplete"), None)
        for code, f in before.items():
            if code in codes:
                continue
            named = incomplete is not None and block in incomplete.data["unknown"] and code in incomplete.data["unchecked"]
            carried = block in LIST_BLOCKS and any(s in e for e in f.evidence for s in leaves)
            assert named or carried, f"{label} without {block}: {code} is gone and facts_incomplete does not say why"
        for f in after:
            said = " ".join((f.title, *f.evidence))
            for claim in CLAIMS.get(block, ()):
                assert claim not in said, f"{label} without {block}: {f.code} claims {claim!r}"
        checked += 1
    return checked


@pytest.mark.parametrize("name", machine_names())
def test_recorded_machine_survives_each_missing_block(name: str) -> None:
    doc = replay_facts(name).to_dict()
    assert _check(doc, name) >= 10


@pytest.mark.parametrize(("base", "patch"), [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_code_case_survives_each_missing_block(base: str, patch: dict[str, Any]) -> None:
    doc = merge(healthy_windows() if base == "windows" else healthy_linux(), patch)
    assert _check(doc, "case") >= 8


def test_no_driver_block_with_the_evidence_pointing_elsewhere() -> None:
    """The motivating report: a GPU, 'no CUDA-capable device is detected', CUDA_VISIBLE_DEVICES=bash, no driver block."""
    doc = healthy_linux()
    del doc["driver"]
    doc["env"]["CUDA_VISIBLE_DEVICES"] = "bash"
    doc["frameworks"]["torch"].update(cuda_available=False, kernel_ok=None, device_count=0,
                                      error="RuntimeError: No CUDA GPUs are available",
                                      log="UserWarning: CUDA initialization: CUDA driver initialization failed, you might not have "
                                          "a CUDA gpu. (Triggered internally at ../c10/cuda/CUDAFunctions.cpp:109.)\n"
                                          "cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected")
    found = {f.code: f for f in diagnose(from_dict(doc), MANIFESTS)}
    assert "driver_not_installed" not in found
    hidden = found["cuda_visible_devices_hidden"]
    assert hidden.severity == "error" and "CUDA_VISIBLE_DEVICES=bash" in hidden.evidence
    assert "driver" in found["facts_incomplete"].data["unknown"]


def test_known_absent_driver_is_an_error_and_says_the_probes_looked() -> None:
    doc = replay_facts("laptop-no-driver").to_dict()
    (f,) = [f for f in diagnose(from_dict(doc), MANIFESTS) if f.code == "driver_not_installed"]
    assert f.severity == "error" and "NVIDIA driver: the probes looked and found none" in f.evidence
    assert f.data["driver"] == "absent"


def test_unknown_driver_with_a_message_is_a_warning_that_says_unknown() -> None:
    doc = replay_facts("laptop-no-driver").to_dict()
    del doc["driver"]
    doc["logs"] = [{"text": "pynvml.NVMLError_LibraryNotFound: NVML Shared Library Not Found", "source": "chat.txt"}]
    (f,) = [f for f in diagnose(from_dict(doc), MANIFESTS) if f.code == "driver_not_installed"]
    assert f.severity == "warning" and "driver: not in the snapshot (unknown)" in f.evidence


@pytest.mark.parametrize(("value", "problem"), [("bash", "all"), ("0,bash,1", "some"), ("GPU-1111", None), ("MIG-2222", None),
                                                ("0", None), ("", "all"), ("-1", "all"), ("3", "missing")])
def test_cuda_visible_devices_reads_up_to_the_first_invalid_entry(value: str, problem: str | None) -> None:
    from nktenv.doctor.host import _visible_devices_problem

    assert _visible_devices_problem(value, 1 if problem != "some" else 2) == problem


def test_a_driver_probe_that_timed_out_is_unknown_not_absent() -> None:
    """Windows: NVML and nvidia-smi hung; the GPU is listed, the driver is not, and nothing says it is missing."""
    doc = healthy_windows()
    doc["driver"] = {"version": None, "errors": ["NVML did not answer within 10 s (timed out)",
                                                 "nvidia-smi did not answer within 10 s (timed out)"]}
    doc["gpus"][0]["source"] = "wmi"
    found = {f.code: f for f in diagnose(from_dict(doc), MANIFESTS)}
    assert "driver_not_installed" not in found
    assert "probe_timeout" in found
