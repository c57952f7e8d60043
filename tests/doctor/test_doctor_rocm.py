"""ROCm basics in doctor: device access, a card the +rocm build lacks, HSA_OVERRIDE_GFX_VERSION, Windows.

The error texts are the runtime's own (pytorch/pytorch#147626, #132570: "HIP error: invalid device function";
lllyasviel/Fooocus#1079: "No HIP GPUs are available"); the rest is a healthy machine changed one way.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.doctor.builders import by_code, healthy_linux, merge, run

INVALID = ("RuntimeError: HIP error: invalid device function\nHIP kernel errors might be asynchronously reported at "
           "some other API call, so the stacktrace below might be incorrect.")
NO_HIP = "RuntimeError: No HIP GPUs are available"


def amd(arch: str, name: str) -> list[dict[str, Any]]:
    return [{"index": 0, "vendor": "amd", "name": name, "arch": arch}]


def rocm_torch(version: str, error: str | None = None) -> dict[str, Any]:
    return {"torch": {"version": version, "cuda": None, "is_cuda_build": False, "cuda_available": error is None,
                      "arch_list": [], "kernel_ok": None, "error": error}}


RX6700 = amd("gfx1031", "AMD Radeon RX 6700 XT")
RX7600 = amd("gfx1102", "AMD Radeon RX 7600 XT")
RX7900 = amd("gfx1100", "AMD Radeon RX 7900 XTX")

# (id, base, patch, code, severity, fix contains, evidence contains) as in test_doctor_codes.py
CASES: list[tuple[str, str, dict[str, Any], str, str, str, str]] = [
    ("rocm_arch_not_in_build-rx7600-rocm62", "linux",
     {"driver": None, "gpus": RX7600, "frameworks": rocm_torch("2.5.1+rocm6.2", INVALID)},
     "rocm_arch_not_in_build", "error", "--index-url https://download.pytorch.org/whl/rocm7.2",
     "torch 2.5.1 (rocm6.2) carries GPU code for gfx900"),
    ("rocm_arch_not_in_build-gfx1031-needs-override", "linux",
     {"driver": None, "gpus": RX6700, "frameworks": rocm_torch("2.9.1+rocm6.4", INVALID)},
     "rocm_arch_not_in_build", "error", "HSA_OVERRIDE_GFX_VERSION=10.3.0", "HIP error: invalid device function"),
    ("rocm_override_mismatch-rdna2-told-rdna3", "linux",
     {"driver": None, "gpus": RX6700, "env": {"HSA_OVERRIDE_GFX_VERSION": "11.0.0"},
      "frameworks": rocm_torch("2.9.1+rocm6.4", INVALID)},
     "rocm_override_mismatch", "error", "HSA_OVERRIDE_GFX_VERSION=10.3.0", "HSA_OVERRIDE_GFX_VERSION=11.0.0"),
    ("rocm_device_access_denied-groups", "linux",
     {"driver": None, "gpus": RX7900, "frameworks": rocm_torch("2.9.1+rocm6.4", NO_HIP),
      "rocm_access": {"user_groups": ["lab", "sudo"], "kfd": {"mode": "660", "group": "render"}}},
     "rocm_device_access_denied", "error", "usermod -aG render,video", "/dev/kfd is mode 660, group render"),
    ("rocm_on_windows-rocm-tag", "windows",
     {"driver": None, "gpus": RX7900, "frameworks": rocm_torch("2.9.1+rocm6.4")},
     "rocm_on_windows", "error", "WSL2", "a rocm6.4 build) on Windows"),
]


def _doc(base: str, patch: dict[str, Any]) -> dict[str, Any]:
    from tests.doctor.builders import healthy_windows

    return merge(healthy_windows() if base == "windows" else healthy_linux(), patch)


@pytest.mark.parametrize(("patch", "quiet"), [
    # gfx1100 is in rocm6.4's targets: no missing code, no override problem.
    ({"gpus": RX7900, "frameworks": rocm_torch("2.9.1+rocm6.4")}, "rocm_arch_not_in_build"),
    # gfx1031 told to run gfx1030 code (same generation, in the build): the usual, working override.
    ({"gpus": RX6700, "env": {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"}, "frameworks": rocm_torch("2.9.1+rocm6.4")},
     "rocm_override_mismatch"),
    ({"gpus": RX6700, "env": {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"}, "frameworks": rocm_torch("2.9.1+rocm6.4")},
     "rocm_arch_not_in_build"),
    # In the render group: access is fine.
    ({"gpus": RX7900, "rocm_access": {"user_groups": ["lab", "render", "video"], "kfd": {"mode": "660", "group": "render"}}},
     "rocm_device_access_denied"),
    # /dev/kfd open to all (some distributions' udev rule).
    ({"gpus": RX7900, "rocm_access": {"user_groups": ["lab"], "kfd": {"mode": "666", "group": "render"}}},
     "rocm_device_access_denied"),
    # A CUDA torch on Linux: none of the ROCm rules.
    ({}, "rocm_on_windows"),
])
def test_quiet(patch, quiet) -> None:
    found = by_code(run(_doc("linux", {"driver": None, **patch} if patch else {})))
    assert quiet not in found, found[quiet].title


def test_cases_fire() -> None:
    for _id, base, patch, code, severity, fix, evidence in CASES:
        f = by_code(run(_doc(base, patch))).get(code)
        assert f is not None, _id
        assert f.severity == severity and fix in (f.fix or ""), (_id, f.fix)
        assert any(evidence in e for e in f.evidence), (_id, f.evidence)


def test_probe_reads_groups_and_kfd_through_the_seam() -> None:
    from nktenv.probes.gpus_other import parse_stat_mode

    assert parse_stat_mode("660 render\n") == {"mode": "660", "group": "render"}
    assert parse_stat_mode("stat: cannot statx '/dev/kfd': No such file or directory") is None
