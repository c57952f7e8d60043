"""ROCm and XPU builds chosen by plan: AMD gfx targets, Intel families, mixed vendors, HSA_OVERRIDE_GFX_VERSION."""

from __future__ import annotations

import pytest
from machines import replay_facts

from nktenv.facts import from_dict
from nktenv.manifest import load
from nktenv.plan import PlanRequest, make_plan
from nktenv.plan_vendors import gfx_from_override, override_version, sibling_target

GB = 1024**3


@pytest.fixture(scope="module")
def manifests():
    return load()


def facts(gpus, system="linux", env=None, wsl=False):
    rows = [{"index": i, **g} for i, g in enumerate(gpus)]
    return from_dict({
        "schema": "nktenv.facts/1",
        "os": {"system": system, "arch": "x86_64", "wsl": wsl, "glibc": "2.35" if system == "linux" else None},
        "python": {"version": "3.12.4"},
        "driver": {"version": "580.95.05", "source": "nvml"} if any(g["vendor"] == "nvidia" for g in gpus) else None,
        "gpus": rows, "env": env or {},
    })


RX7900 = {"vendor": "amd", "name": "AMD Radeon RX 7900 XTX", "arch": "gfx1100", "memory_total_bytes": 24 * GB}
RX6700 = {"vendor": "amd", "name": "AMD Radeon RX 6700 XT", "arch": "gfx1031", "memory_total_bytes": 12 * GB}
RTX3090 = {"vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6",
           "memory_total_bytes": 24 * GB}
RTX3060 = {"vendor": "nvidia", "name": "NVIDIA GeForce RTX 3060", "compute_capability": "8.6",
           "memory_total_bytes": 12 * GB}
ARC_A770 = {"vendor": "intel", "name": "Intel(R) Arc(TM) A770 Graphics", "arch": "dg2"}
MAX1550 = {"vendor": "intel", "name": "Intel(R) Data Center GPU Max 1550", "arch": "pvc"}
UHD = {"vendor": "intel", "name": "Intel(R) UHD Graphics 770"}


def test_override_parsing() -> None:
    assert gfx_from_override("10.3.0") == "gfx1030"
    assert gfx_from_override("9.0.10") == "gfx90a"
    assert gfx_from_override("11.0.0") == "gfx1100"
    assert gfx_from_override("gfx1030") is None and gfx_from_override(None) is None
    assert override_version("gfx1030") == "10.3.0" and override_version("gfx90a") == "9.0.10"
    assert sibling_target("gfx1031", ["gfx1030"]) == "gfx1030"
    assert sibling_target("gfx1030", ["gfx1030"]) is None
    assert sibling_target("gfx803", ["gfx900"]) is None


def test_amd_gpu_gets_the_newest_rocm_covering_it(manifests) -> None:
    p = make_plan(facts([RX7900]), manifests, PlanRequest())
    assert p.ok and (p.torch.version, p.torch.variant, p.torch.gpu) == ("2.14.1", "rocm7.2", True)
    assert p.torch.index_url == "https://download.pytorch.org/whl/rocm7.2"
    text = " ".join(p.torch.reasons)
    assert "holds gfx1100" in text
    assert "rocm7.14 is newer, but its GPU code is not established" in text
    assert "torch 2.15.0 is newer but publishes no ROCm build" in text


def test_rocm_variant_must_hold_every_amd_gpu(manifests) -> None:
    # gfx1151 only from ROCm 7.2: torch 2.13.0 has rocm7.1 (no gfx1151) and rocm7.2.
    strix = {"vendor": "amd", "name": "AMD Radeon 8060S", "arch": "gfx1151"}
    p = make_plan(facts([RX7900, strix]), manifests, PlanRequest(torch="2.13.0"))
    assert p.torch.variant == "rocm7.2"
    # 2.10.0 has no gfx1151 build: the newest build serves the 7900 XTX and says which card it leaves.
    p = make_plan(facts([RX7900, strix]), manifests, PlanRequest(torch="2.10.0"))
    assert p.torch.variant == "rocm7.1"
    assert "AMD Radeon 8060S (gfx1151)" in p.finding("rocm_gpu_left_out").title


def test_card_off_the_list_needs_the_override(manifests) -> None:
    p = make_plan(facts([RX6700]), manifests, PlanRequest())
    assert p.torch.variant == "cpu"
    hint = p.finding("rocm_override_needed")
    assert hint and "HSA_OVERRIDE_GFX_VERSION=10.3.0" in hint.title and "gfx1031" in hint.title
    assert "rocm7.2" in hint.fix


def test_override_set_is_reported_and_used(manifests) -> None:
    p = make_plan(facts([RX6700], env={"HSA_OVERRIDE_GFX_VERSION": "10.3.0"}), manifests, PlanRequest())
    assert (p.torch.variant, p.torch.gpu) == ("rocm7.2", True)
    assert any("HSA_OVERRIDE_GFX_VERSION=10.3.0 is set" in r and "gfx1030" in r for r in p.torch.reasons)


def test_rocm_is_linux_only(manifests) -> None:
    for f in (facts([RX7900], system="windows"), facts([RX7900], wsl=True)):
        p = make_plan(f, manifests, PlanRequest())
        assert p.torch.variant == "cpu"
        assert any("ROCm wheels for Linux x86_64 only" in r for r in p.torch.reasons)


@pytest.mark.parametrize("system", ["linux", "windows"])
def test_discrete_intel_gets_xpu(manifests, system) -> None:
    p = make_plan(facts([ARC_A770], system=system), manifests, PlanRequest())
    assert (p.torch.version, p.torch.variant, p.torch.gpu) == ("2.14.1", "xpu", True)
    assert p.torch.index_url == "https://download.pytorch.org/whl/xpu"


def test_data_center_max_is_linux_only(manifests) -> None:
    assert make_plan(facts([MAX1550]), manifests, PlanRequest()).torch.variant == "xpu"
    assert make_plan(facts([MAX1550], system="windows"), manifests, PlanRequest()).torch.variant == "cpu"


def test_integrated_intel_keeps_cpu_and_says_why(manifests) -> None:
    p = make_plan(facts([UHD], system="windows"), manifests, PlanRequest())
    assert (p.torch.variant, p.torch.gpu) == ("cpu", False)
    assert any("not in a GPU family PyTorch's XPU builds validate" in r for r in p.torch.reasons)


def test_mixed_vendors_prefer_most_memory(manifests) -> None:
    p = make_plan(facts([RTX3060, RX7900]), manifests, PlanRequest())
    assert p.torch.variant == "rocm7.2"
    assert any("serves AMD Radeon RX 7900 XTX" in r and "leaves NVIDIA GeForce RTX 3060" in r for r in p.torch.reasons)
    p = make_plan(facts([RTX3090, RX7900]), manifests, PlanRequest())  # a tie: NVIDIA
    assert p.torch.variant.startswith("cu")
    assert any("leaves AMD Radeon RX 7900 XTX" in r for r in p.torch.reasons)


def test_mixed_vendors_unknown_memory_prefers_nvidia(manifests) -> None:
    amd = {k: v for k, v in RX7900.items() if k != "memory_total_bytes"}
    p = make_plan(facts([RTX3060, amd]), manifests, PlanRequest())
    assert p.torch.variant.startswith("cu")
    assert any("memory of one of them is unknown" in r for r in p.torch.reasons)


def test_intel_is_left_when_another_vendor_is_present(manifests) -> None:
    p = make_plan(facts([RX7900, ARC_A770]), manifests, PlanRequest())
    assert p.torch.variant == "rocm7.2"
    assert any("leaves Intel(R) Arc(TM) A770 Graphics" in r for r in p.torch.reasons)


def test_no_cpu_fallback_fails(manifests) -> None:
    p = make_plan(facts([UHD]), manifests, PlanRequest(cpu_fallback=False))
    assert not p.ok and p.finding("no_compatible_variant")


# Recorded machines: before, each got the CPU build ("No NVIDIA GPU is visible").
@pytest.mark.parametrize(("name", "variant"), [
    ("mi25x7-rocminfo", "rocm7.2"), ("rx7900xtx-amdgpu-no-rocm", "rocm7.2"), ("mi350x-amd-smi", "rocm7.2"),
    ("win2022-rx580", "cpu"), ("win-intel-uhd-igpu", "cpu"),
])
def test_recorded_machines(manifests, name, variant) -> None:
    p = make_plan(replay_facts(name, frameworks=False), manifests, PlanRequest(python="3.11"))
    assert p.torch.variant == variant
    assert not any("No NVIDIA GPU is visible" in r for r in p.torch.reasons)


def test_explicit_rocm_variant_is_checked_against_the_card(manifests) -> None:
    rx7600 = {"vendor": "amd", "name": "AMD Radeon RX 7600 XT", "arch": "gfx1102"}
    p = make_plan(facts([rx7600]), manifests, PlanRequest(torch="2.5.1", variant="rocm6.2"))
    f = p.finding("gpu_arch_unsupported_by_requested_version")
    assert f and f.severity == "warning" and "gfx1102" in f.title
    p = make_plan(facts([RX7900]), manifests, PlanRequest(torch="2.5.1", variant="rocm6.2"))
    assert p.ok and any("its ROCm GPU code holds gfx1100" in r for r in p.torch.reasons)


def test_apu_graphics_beside_a_discrete_card_is_left_out_with_a_warning(manifests) -> None:
    # ROCm/legacy-rocm-build#4380: rocm-smi lists an RX 7600 XT (gfx1102) and the Raphael APU's gfx1036.
    rx7600 = {"vendor": "amd", "name": "AMD Radeon RX 7600 XT", "arch": "gfx1102"}
    raphael = {"vendor": "amd", "name": "AMD Radeon Graphics", "arch": "gfx1036"}
    p = make_plan(facts([rx7600, raphael]), manifests, PlanRequest())
    assert (p.torch.variant, p.torch.gpu) == ("rocm7.2", True)
    f = p.finding("rocm_gpu_left_out")
    assert f and "gfx1036" in f.title and "HIP_VISIBLE_DEVICES" in f.fix


def test_integrated_intel_beside_nvidia_is_not_a_vendor_choice(manifests) -> None:
    p = make_plan(facts([RTX3060, UHD]), manifests, PlanRequest())
    assert p.torch.variant.startswith("cu")
    assert not any("leaves" in r for r in p.torch.reasons)
