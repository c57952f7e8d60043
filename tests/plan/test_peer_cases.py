"""nktenv's choices held against the peers that make the same choice, case by case, with their sources.

Peers: uv's `--torch-backend=auto` (crates/uv-torch/src/backend.rs: the driver tables, the backend names),
light-the-torch (light_the_torch/_cb.py: the driver table uv's is taken from) and torchruntime
(tests/test_platform_detection.py: GPU model -> build). Each case states what the peer expects, what
nktenv plans, and a verdict:

  agree        the same choice, or both pick a build that runs here (nktenv's manifests check the
               peer's pick: the newest torch published with that variant has kernels for the GPU and the
               driver meets its floor); the `note` says how they differ
  nktenv-right the peer's pick has no kernels for a GPU here (the note says which), nktenv's does
  nktenv-wrong nktenv's pick does not run and the peer's does

The verdict is computed, not only written down: a case fails when it no longer holds.
"""

from __future__ import annotations

import pytest
from plan_facts import machine_facts

from nktenv.manifest import driver_floor, driver_satisfies, load, version_tuple
from nktenv.plan import PlanRequest, make_plan, torch_backend

UV = "https://github.com/astral-sh/uv/blob/26a9dd4b2125bc271b47855e1fa0c49af3365db5/crates/uv-torch/src/backend.rs"
LTT = "https://github.com/pmeier/light-the-torch/blob/33397cbe45d07b51ad8ee76b004571a4c236e37f/light_the_torch/_cb.py#L150-L213"
TR = "https://github.com/easydiffusion/torchruntime/blob/33277c642c13f2b7accf7da15d9ba9ea6d178af7/tests/test_platform_detection.py"


@pytest.fixture(scope="module")
def manifests():
    return load()


# --- driver tables: the floor each table gives a CUDA variant nktenv publishes plans for ------------------

# (peer, source, os, variant, the peer's minimum driver)
DRIVER_TABLE = [
    ("uv", UV + "#L1003", "linux", "cu132", "580"),
    ("uv", UV + "#L1003", "linux", "cu130", "580"),
    ("uv", UV + "#L1003", "linux", "cu129", "525.60.13"),
    ("uv", UV + "#L1003", "linux", "cu128", "525.60.13"),
    ("uv", UV + "#L1003", "linux", "cu126", "525.60.13"),
    ("uv", UV + "#L1003", "linux", "cu124", "525.60.13"),
    ("uv", UV + "#L1003", "linux", "cu121", "525.60.13"),
    ("uv", UV + "#L1003", "linux", "cu118", "450.80.02"),
    ("uv", UV + "#L1003", "linux", "cu117", "450.80.02"),
    ("uv", UV + "#L1003", "linux", "cu116", "450.80.02"),
    ("uv", UV + "#L1044", "windows", "cu132", "580"),
    ("uv", UV + "#L1044", "windows", "cu130", "580"),
    ("uv", UV + "#L1044", "windows", "cu129", "528.33"),
    ("uv", UV + "#L1044", "windows", "cu128", "528.33"),
    ("uv", UV + "#L1044", "windows", "cu126", "528.33"),
    ("uv", UV + "#L1044", "windows", "cu124", "528.33"),
    ("uv", UV + "#L1044", "windows", "cu121", "528.33"),
    ("uv", UV + "#L1044", "windows", "cu118", "452.39"),
    ("uv", UV + "#L1044", "windows", "cu117", "452.39"),
    ("uv", UV + "#L1044", "windows", "cu116", "452.39"),
    ("light-the-torch", LTT, "linux", "cu126", "525.60.13"),
    ("light-the-torch", LTT, "linux", "cu124", "525.60.13"),
    ("light-the-torch", LTT, "linux", "cu121", "525.60.13"),
    ("light-the-torch", LTT, "linux", "cu118", "450.80.02"),
    ("light-the-torch", LTT, "linux", "cu117", "450.80.02"),
    ("light-the-torch", LTT, "linux", "cu116", "450.80.02"),
    ("light-the-torch", LTT, "windows", "cu126", "528.33"),
    ("light-the-torch", LTT, "windows", "cu124", "528.33"),
    ("light-the-torch", LTT, "windows", "cu121", "528.33"),
    ("light-the-torch", LTT, "windows", "cu118", "452.39"),
    ("light-the-torch", LTT, "windows", "cu117", "452.39"),
    ("light-the-torch", LTT, "windows", "cu116", "452.39"),
]

# The first R580 driver for Linux is 580.65.06 (CUDA 13.0 release notes, table 3), so uv's bare "580"
# and nktenv's 580.65.06 allow exactly the same real drivers.
FIRST_LINUX_R580 = "580.65.06"


@pytest.mark.parametrize(("peer", "source", "os_", "variant", "peer_floor"), DRIVER_TABLE,
                         ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in DRIVER_TABLE])
def test_driver_floor_agrees(manifests, peer, source, os_, variant, peer_floor) -> None:
    ours = driver_floor(f"{variant[2:-1]}.{variant[-1]}", os_, manifests=manifests)
    assert ours is not None, f"{variant} has no driver floor in cuda.toml"
    if version_tuple(ours) != version_tuple(peer_floor):
        # Only where the peer gives a branch, not a release: then the branch's first release must be ours.
        assert peer_floor == "580" and os_ == "linux" and ours == FIRST_LINUX_R580
    # The floor itself qualifies, and a driver of the branch before does not.
    assert driver_satisfies(ours, peer_floor) and driver_satisfies(peer_floor if "." in peer_floor else ours, ours)


# --- GPU model -> build (torchruntime), and the driver-only choice (uv) ---------------------------------


def _newest_with(manifests, variant: str, platform: str):
    return next((r for r in manifests.torch if (v := r.variant(variant)) and platform in v.platforms), None)


def _runs(manifests, facts, variant: str, platform: str) -> bool:
    """Whether the peer's pick runs: pip takes the newest torch on that variant's index."""
    rel = _newest_with(manifests, variant, platform)
    if rel is None:
        return False
    result = make_plan(facts, manifests, PlanRequest(torch=rel.version, variant=variant, cpu_fallback=False))
    return result.ok and result.torch is not None and result.torch.gpu


# (id, peer, source, GPU names as the peer's test gives them (pci.ids), os, driver, peer's pick,
#  nktenv's (version, variant), verdict, note)
MODEL_CASES = [
    ("tr-kepler-gtx780-windows", "torchruntime", TR + " test_nvidia_7xx_gpu_windows",
     ("GK110 [GeForce GTX 780]",), "windows", "572.16", "cu118", ("2.15.0", "cpu"), "nktenv-right",
     "torchruntime takes every Kepler chip for sm_37; GK110 is sm_35 and cu118 wheels carry sm_37, not sm_35"),
    ("tr-pascal-gtx1060-windows", "torchruntime", TR + " test_nvidia_10xx_gpu_windows",
     ("GP106 [GeForce GTX 1060 3GB]",), "windows", "572.16", "cu124", ("2.14.1", "cu126"), "agree",
     "both run; nktenv takes a newer torch (2.14.1 + cu126 still has sm_61) than cu124's last, 2.6.0"),
    ("tr-turing-gtx1660s-windows", "torchruntime", TR + " test_nvidia_16xx_gpu_windows",
     ("TU116 [GeForce GTX 1660 SUPER]",), "windows", "572.16", "cu128", ("2.14.1", "cu126"), "agree",
     "both run; nktenv takes the newest torch driver 572.16 allows (cu128's last is 2.11.0)"),
    ("tr-turing-rtx2060m-windows", "torchruntime", TR + " test_nvidia_20xx_gpu_windows",
     ("TU106M [GeForce RTX 2060 Mobile]",), "windows", "572.16", "cu128", ("2.14.1", "cu126"), "agree",
     "both run; nktenv takes the newest torch the driver allows"),
    ("tr-ampere-rtx3060ti-windows", "torchruntime", TR + " test_nvidia_30xx_gpu_windows",
     ("GA104 [GeForce RTX 3060 Ti Lite Hash Rate]",), "windows", "572.16", "cu128", ("2.14.1", "cu126"), "agree",
     "both run; nktenv takes the newest torch the driver allows"),
    ("tr-ada-rtx4070tis-windows", "torchruntime", TR + " test_nvidia_40xx_gpu_windows",
     ("AD103 [GeForce RTX 4070 Ti SUPER]",), "windows", "572.16", "cu128", ("2.14.1", "cu126"), "agree",
     "both run; nktenv takes the newest torch the driver allows"),
    ("tr-blackwell-rtx5080-windows", "torchruntime", TR + " test_nvidia_5xxx_gpu_windows",
     ("GB203 [GeForce RTX 5080]",), "windows", "572.16", "cu128", ("2.11.0", "cu128"), "agree",
     "the same build"),
    ("tr-blackwell-rtx5080-linux", "torchruntime", TR + " test_nvidia_5xxx_gpu_linux",
     ("GB203 [GeForce RTX 5080]",), "linux", "570.133.07", "cu128", ("2.13.0", "cu129"), "agree",
     "both run sm_120; nktenv takes cu129, whose torch is newer"),
    ("tr-ampere-plus-pascal-linux", "torchruntime", TR + " test_multiple_gpu_NVIDIA",
     ("GA106 [GeForce RTX 3060 Lite Hash Rate]", "GP106 [GeForce GTX 1060 3GB]"), "linux", "570.133.07", "cu128",
     ("2.14.1", "cu126"), "nktenv-right",
     "Linux cu128 wheels dropped sm_61, so the GTX 1060 gets no kernels; cu126 covers both cards"),
    ("tr-maxwell-m40-gtx960-linux", "torchruntime", TR + " test_multiple_gpu_NVIDIA_maxwell",
     ("GM200GL [Tesla M40]", "GM206 [GeForce GTX 960]"), "linux", "570.133.07", "cu124", ("2.14.1", "cu126"),
     "agree", "both run sm_52; nktenv takes a newer torch than cu124's last, 2.6.0"),
    # uv decides from the driver alone and tries its newest CUDA index first (cu129 for R525-R575).
    ("uv-pascal-gtx1080ti-linux", "uv", UV + "#L436 (index_urls: LINUX_CUDA_DRIVERS in order)",
     ("GP102 [GeForce GTX 1080 Ti]",), "linux", "570.133.07", "cu129", ("2.14.1", "cu126"), "nktenv-right",
     "uv checks no architecture; Linux cu129 wheels have no sm_61 kernels"),
    ("uv-blackwell-rtx5090-linux", "uv", UV + "#L436 (index_urls: LINUX_CUDA_DRIVERS in order)",
     ("GB202 [GeForce RTX 5090]",), "linux", "570.133.07", "cu129", ("2.13.0", "cu129"), "agree",
     "the same build"),
    ("uv-ada-rtx4090-windows", "uv", UV + "#L1044 (WINDOWS_CUDA_VERSIONS in order)",
     ("AD102 [GeForce RTX 4090]",), "windows", "572.16", "cu129", ("2.14.1", "cu126"), "agree",
     "both run; nktenv takes the newest torch the driver allows"),
]


@pytest.mark.parametrize("case", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_gpu_model_cases(manifests, case) -> None:
    _id, _peer, _source, names, os_, driver, peer_pick, ours, verdict, _note = case
    facts = machine_facts(names, system=os_, driver=driver)
    result = make_plan(facts, manifests, PlanRequest())
    assert result.torch is not None
    assert (result.torch.version, result.torch.variant) == ours
    platform = f"{os_}-x86_64"
    ours_runs = result.torch.gpu or not any(_runs(manifests, facts, v.name, platform)
                                            for r in manifests.torch for v in r.variants_for(platform) if v.is_cuda)
    peer_runs = _runs(manifests, facts, peer_pick, platform)
    computed = "agree" if (ours_runs and peer_runs) or (ours[1] == peer_pick) else (
        "nktenv-right" if ours_runs else "nktenv-wrong")
    assert computed == verdict


# --- the knobs: backend names, a driver with no GPU -----------------------------------------------------

# uv's TorchMode names (backend.rs, `--torch-backend` / UV_TORCH_BACKEND): what nktenv reads the same way.
@pytest.mark.parametrize(("value", "variant", "from_env"), [
    ("auto", "auto", False), ("cpu", "cpu", True), ("cu126", "cu126", True), ("rocm6.4", "rocm6.4", True),
    ("xpu", "xpu", True), ("CU128", "cu128", True),
])
def test_backend_names_as_uv_reads_them(value, variant, from_env) -> None:
    assert torch_backend(None, {"NKTENV_TORCH_BACKEND": value}) == (variant, from_env)


def test_unknown_backend_is_refused_like_uv() -> None:
    # uv: `Unknown PyTorch backend: {s}` (backend.rs, FromStr for TorchMode).
    from nktenv.errors import NktenvError

    with pytest.raises(NktenvError) as info:
        torch_backend(None, {"NKTENV_TORCH_BACKEND": "cuda12"})
    assert info.value.code == "bad-torch-backend"


# uv's pip_compile test `incompatible_cuda` sets UV_CUDA_DRIVER_VERSION=525.60.13 on a machine without a GPU
# and gets CUDA indexes (crates/uv/tests/pip_compile/pip_compile.rs at 26a9dd4).
def test_driver_alone_plans_cuda_like_uv_cuda_driver_version(manifests) -> None:
    facts = machine_facts((), driver=None)
    data = facts.to_dict()
    data["driver"] = {"version": "525.60.13", "source": "override", "overrides": {"version": "525.60.13"}}
    from nktenv.facts import from_dict

    result = make_plan(from_dict(data), manifests, PlanRequest())
    assert result.ok and result.torch.gpu and result.torch.variant == "cu126"
    assert driver_satisfies("525.60.13", driver_floor("12.6", "linux", manifests=manifests))
    assert any("every CUDA build covers" in r and "sm_50 to sm_90" in r for r in result.torch.reasons)


def test_case_counts() -> None:
    """The tally the project reports: keep it in step with the tables above."""
    verdicts = [c[8] for c in MODEL_CASES]
    assert len(DRIVER_TABLE) == 32 and len(MODEL_CASES) == 13
    assert verdicts.count("agree") == 10 and verdicts.count("nktenv-right") == 3
    assert verdicts.count("nktenv-wrong") == 0


# --- AMD and Intel GPUs: ROCm and XPU builds (torchruntime's AMD/Intel rules, uv's AMD GPU table) ---------

TR_AMD = "https://github.com/easydiffusion/torchruntime/blob/349751f719f0b036a676d7d5af6265a2e6aa7565/tests/test_platform_detection.py"
UV_AMD = UV + " (LINUX_AMD_GPU_DRIVERS: the first, newest ROCm backend listing the GPU's gfx target)"
# The gfx target of each chip the peers' tests name: LLVM AMDGPUUsage processor table
# (https://llvm.org/docs/AMDGPUUsage.html#processors).
CHIP_GFX = {"Navi 31": "gfx1100", "Navi 21": "gfx1030", "Navi 33": "gfx1102", "Navi 10": "gfx1010",
            "Vega 20": "gfx906", "Vega 10": "gfx900", "MI350X": "gfx950", "Strix Halo": "gfx1151"}


def _vendor_facts(gpus, system="linux"):
    from nktenv.facts import from_dict

    rows = []
    for i, (vendor, name, arch) in enumerate(gpus):
        rows.append({"index": i, "vendor": vendor, "name": name, "arch": arch})
    return from_dict({
        "schema": "nktenv.facts/1",
        "os": {"system": system, "arch": "x86_64", "wsl": False, "glibc": "2.35" if system == "linux" else None},
        "python": {"version": "3.12.4"}, "driver": None, "gpus": rows, "env": {},
    })


def _peer_covers(manifests, variant: str, archs, platform: str) -> bool:
    """Whether the newest torch on the peer's index has GPU code (ROCm) or validation (XPU) for every GPU."""
    rel = next((r for r in manifests.torch if (v := r.variant(variant)) and platform in v.platforms
                and v.gpu_targets is not None), None)
    if rel is None or None in archs:
        return False
    return all(a in rel.variant(variant).gpu_targets for a in archs)


def _amd(chip, name=None):
    return ("amd", name or chip, CHIP_GFX[chip])


# (id, peer, source, GPUs (vendor, name, arch), os, peer's pick, nktenv's (version, variant), verdict, note)
VENDOR_CASES = [
    ("tr-navi31-linux", "torchruntime", TR_AMD + " test_amd_gpu_navi3_linux", (_amd("Navi 31"),), "linux",
     "rocm6.2", ("2.14.1", "rocm7.2"), "agree", "both carry gfx1100; nktenv takes the newest ROCm build"),
    ("tr-navi21-linux", "torchruntime", TR_AMD + " test_amd_gpu_navi2_linux", (_amd("Navi 21"),), "linux",
     "rocm6.2", ("2.14.1", "rocm7.2"), "agree", "both carry gfx1030"),
    ("tr-navi10-linux", "torchruntime", TR_AMD + " test_amd_gpu_navi1_linux", (_amd("Navi 10"),), "linux",
     "rocm5.2", ("2.15.0", "cpu"), "nktenv-right",
     "no ROCm wheel carries gfx1010; torchruntime relies on HSA_OVERRIDE_GFX_VERSION at run time, nktenv plans CPU"),
    ("tr-vega20-linux", "torchruntime", TR_AMD + " test_amd_gpu_vega2_linux", (_amd("Vega 20"),), "linux",
     "rocm5.7", ("2.14.1", "rocm7.2"), "agree", "both carry gfx906"),
    ("tr-vega10-linux", "torchruntime", TR_AMD + " test_amd_gpu_vega1_linux", (_amd("Vega 10"),), "linux",
     "rocm5.2", ("2.14.1", "rocm7.2"), "agree", "both carry gfx900"),
    ("tr-navi33-navi21-linux", "torchruntime", TR_AMD + " test_multiple_gpu_AMD_Navi3_Navi2",
     (_amd("Navi 33", "Navi 33 [Radeon RX 7600M XT]"), _amd("Navi 21", "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]")),
     "linux", "rocm6.2", ("2.14.1", "rocm7.2"), "nktenv-right",
     "rocm6.2 wheels (2.5.1) carry no gfx1102; rocm7.2 carries gfx1102 and gfx1030"),
    ("tr-navi33-vega20-linux", "torchruntime", TR_AMD + " test_multiple_gpu_AMD_Navi3_Vega2",
     (_amd("Navi 33", "Navi 33 [Radeon RX 7600M XT]"), _amd("Vega 20", "Vega 20 [Radeon VII]")),
     "linux", "rocm5.7", ("2.14.1", "rocm7.2"), "nktenv-right", "rocm5.7 wheels carry no gfx1102"),
    ("tr-vega20-navi21-linux", "torchruntime", TR_AMD + " test_multiple_gpu_AMD_Vega2_Navi2",
     (_amd("Vega 20", "Vega 20 [Radeon VII]"), _amd("Navi 21", "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]")),
     "linux", "rocm5.7", ("2.14.1", "rocm7.2"), "agree", "both carry gfx906 and gfx1030"),
    ("tr-vega10-navi21-linux", "torchruntime", TR_AMD + " test_multiple_gpu_AMD_Vega1_Navi2__incompatible_rocm_version",
     (_amd("Vega 10", "Vega 10 XL [Radeon Pro Vega 56]"), _amd("Navi 21", "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]")),
     "linux", "rocm6.2", ("2.14.1", "rocm7.2"), "agree", "both carry gfx900 and gfx1030"),
    # torchruntime's "Iris" has no family: PyTorch does not validate Iris Xe; whether its xpu wheels run there
    # is not established, so nktenv keeps the CPU build.
    ("tr-intel-iris-windows", "torchruntime", TR_AMD + " test_intel_gpu_windows", (("intel", "Iris", None),),
     "windows", "xpu", ("2.15.0", "cpu"), "nktenv-right",
     "PyTorch validates no Iris GPU for XPU; nktenv keeps CPU (the xpu wheel may still run: unverified)"),
    ("tr-intel-iris-linux", "torchruntime", TR_AMD + " test_intel_gpu_linux", (("intel", "Iris", None),),
     "linux", "xpu", ("2.15.0", "cpu"), "nktenv-right", "as on Windows"),
    ("uv-navi31-linux", "uv", UV_AMD, (_amd("Navi 31"),), "linux", "rocm7.2", ("2.14.1", "rocm7.2"), "agree",
     "the same build"),
    ("uv-vega10-linux", "uv", UV_AMD, (_amd("Vega 10"),), "linux", "rocm7.2", ("2.14.1", "rocm7.2"), "agree",
     "the same build"),
    ("uv-mi350x-linux", "uv", UV_AMD, (_amd("MI350X", "AMD Instinct MI350X"),), "linux", "rocm7.2",
     ("2.14.1", "rocm7.2"), "agree", "the same build"),
    ("uv-strix-halo-linux", "uv", UV_AMD, (_amd("Strix Halo", "AMD Radeon 8060S"),), "linux", "rocm7.2",
     ("2.14.1", "rocm7.2"), "agree", "the same build (gfx1151 from ROCm 7.2)"),
]


@pytest.mark.parametrize("case", VENDOR_CASES, ids=[c[0] for c in VENDOR_CASES])
def test_vendor_cases(manifests, case) -> None:
    _id, _peer, _source, gpus, os_, peer_pick, ours, verdict, _note = case
    result = make_plan(_vendor_facts(gpus, os_), manifests, PlanRequest())
    assert result.torch is not None
    assert (result.torch.version, result.torch.variant) == ours
    platform = f"{os_}-x86_64"
    archs = [a for _v, _n, a in gpus]
    ours_runs = result.torch.gpu or not any(
        _peer_covers(manifests, v.name, archs, platform)
        for r in manifests.torch for v in r.variants_for(platform) if v.name.startswith(("rocm", "xpu")))
    peer_runs = _peer_covers(manifests, peer_pick, archs, platform)
    computed = "agree" if (ours_runs and peer_runs) or (ours[1] == peer_pick) else (
        "nktenv-right" if ours_runs else "nktenv-wrong")
    assert computed == verdict


def test_vendor_case_counts() -> None:
    verdicts = [c[7] for c in VENDOR_CASES]
    assert len(VENDOR_CASES) == 15
    assert verdicts.count("agree") == 10 and verdicts.count("nktenv-right") == 5
    assert verdicts.count("nktenv-wrong") == 0
