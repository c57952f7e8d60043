"""Recorded machines for the facts a diagnosis needs: the 610 header, driver model, MIG, Tegra, WSL 1, os-release."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest
from machines import replay_facts

from nktenv.facts import Framework, Frameworks
from nktenv.probes import nvidia
from nktenv.probes._ctx import Ctx
from nktenv.probes.seam import CmdResult

REAL = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="module")
def facts_of():
    cache: dict[str, Any] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = replay_facts(name)
        return cache[name]

    return get


def test_610_header_on_the_nvidia_smi_path(facts_of) -> None:
    f = facts_of("b200-driver610-smi-fallback")
    d = f.driver
    assert f.extra.get("probe_errors") is None
    assert d.extra["nvml"]["available"] is False
    smi = d.extra["nvidia_smi"]
    assert (smi["driver_version"], smi["cuda_version"], smi["version"]) == ("610.43.02", "13.3", "610.43.02")
    assert (d.version, d.cuda_version, d.userspace_version) == ("610.43.02", "13.3", "610.43.02")
    assert [(g.name, g.compute_capability, g.compute_mode, g.mig_mode, g.driver_model) for g in f.gpus] == [
        ("NVIDIA B200", "10.0", "Default", "disabled", None)] * 2
    assert (f.os.id, f.os.version_id, f.os.version_codename) == ("ubuntu", "24.04", "noble")
    assert f.os.extra["ubuntu_codename"] == "noble" and f.os.extra["id_like"] == "debian"


def test_mig_through_nvml(facts_of) -> None:
    f = facts_of("a100-mig-nvml")
    g0, g1 = f.gpus
    assert (g0.mig_mode, g0.compute_mode, g1.mig_mode, g1.compute_mode) == (
        "enabled", "Default", "disabled", "Exclusive_Process")
    assert [(m.index, m.uuid, m.memory_total_bytes) for m in g0.mig_devices] == [
        (0, "MIG-feb88891-0321-5fef-9c87-d4af3b54259e", 10468982784),
        (1, "MIG-a25704ba-3a06-5299-a795-fd7cf4d13973", 10468982784)]
    assert g1.mig_devices == () and g0.driver_model is None  # Linux has no driver model
    doc = f.to_dict()["gpus"][0]
    assert doc["mig_mode"] == "enabled" and doc["mig_devices"][0]["name"] == "NVIDIA A100-SXM4-80GB MIG 1g.10gb"


def test_jetson_is_marked_tegra_with_its_l4t_release(facts_of) -> None:
    f = facts_of("jetson-orin-jp5-l4t35")
    assert (f.os.tegra, f.os.l4t_release, f.os.arch) == (True, "35.3.1", "aarch64")
    assert f.driver.kernel_module.version == "35.3.1"  # what the kernel module says, kept as it is
    assert facts_of("ubuntu2204-rtx3090-driver535").os.tegra is False
    assert facts_of("win11-rtx4090-cuda118-cudnn89").os.tegra is None


def test_wsl1_and_wsl2(facts_of) -> None:
    one, two = facts_of("wsl1-ubuntu2004"), facts_of("wsl2-ubuntu-rtx4070")
    assert (one.os.wsl, one.os.wsl_version) == (True, 1)
    assert (two.os.wsl, two.os.wsl_version) == (True, 2)
    assert facts_of("ubuntu2204-rtx3090-driver535").os.wsl_version is None


def test_plan_says_no_desktop_wheel_index_applies_on_tegra(facts_of) -> None:
    from nktenv.manifest import load
    from nktenv.plan import PlanRequest, make_plan

    plan = make_plan(facts_of("jetson-orin-jp5-l4t35"), load(), PlanRequest())
    assert not plan.ok and plan.torch is None
    (finding,) = [f for f in plan.findings if f.severity == "error"]
    assert finding.code == "no_wheel_for_platform" and "L4T 35.3.1" in finding.title
    assert "JetPack" in (finding.fix or "")


def test_doctor_does_not_read_an_l4t_release_as_a_desktop_driver_branch(facts_of) -> None:
    from nktenv.doctor import diagnose

    torch = Framework(version="2.5.0", package="torch", cuda="12.6", is_cuda_build=True, cuda_available=True)
    jetson = dataclasses.replace(facts_of("jetson-orin-jp5-l4t35"), frameworks=Frameworks(torch=torch))
    assert not {f.code for f in diagnose(jetson)} & {"driver_too_old", "gpu_legacy_driver_cap", "nvidia_uvm_stale"}
    # the same facts without the Tegra mark: 35.3.1 is read as a (far too old) desktop driver
    desktop = dataclasses.replace(jetson, os=dataclasses.replace(jetson.os, tegra=False))
    assert "driver_too_old" in {f.code for f in diagnose(desktop)}


class _Seam:
    """Just enough of a seam for probe_nvidia_smi: canned answers by argv."""

    def __init__(self, answers: Mapping[tuple[str, ...], str | tuple[int, str]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, **_: Any) -> CmdResult:
        key = tuple(argv)
        self.asked.append(key)
        if key not in self.answers:
            return CmdResult(argv=key, not_found=True, error="not recorded")
        answer = self.answers[key]
        code, out = answer if isinstance(answer, tuple) else (0, answer)
        return CmdResult(argv=key, returncode=code, stdout=out)


def _query(path: str) -> tuple[str, ...]:
    return (path, "--query-gpu=" + ",".join(nvidia.SMI_FIELDS), "--format=csv,noheader,nounits")


def test_windows_617_header_and_driver_model_column() -> None:
    path = r"C:\Windows\System32\nvidia-smi.exe"
    seam = _Seam({
        (path,): (REAL / "smi-617.14-windows-rtx3050.txt").read_text(encoding="utf-8"),
        _query(path): "0, NVIDIA GeForce RTX 3050 Laptop GPU, GPU-1b724e78-eef5-4163-d43c-e4da15d41176, 8.6, 4096, "
                      "00000000:01:00.0, 617.14, 4, 4, 8, 16\n",
    })
    info, gpus = nvidia.probe_nvidia_smi(Ctx(seam=seam, plat={"system": "Windows"}, env={}), path)
    assert (info["driver_version"], info["cuda_version"], info["version"]) == ("617.14", "13.4", "617.14")
    (gpu,) = gpus
    assert (gpu.driver_model, gpu.compute_mode, gpu.mig_mode) == ("WDDM", "Default", None)
    assert (path, "-L") not in seam.asked  # no MIG, no second look


def test_mig_devices_from_nvidia_smi_list() -> None:
    path = "/usr/bin/nvidia-smi"
    seam = _Seam({
        (path,): (REAL / "smi-535.129.03-linux-a100-mig-one-of-two.txt").read_text(encoding="utf-8"),
        _query(path): "0, NVIDIA A100-PCIE-40GB, GPU-513536b6-7d19-9063-b049-1e69664bb298, 8.0, 40960, 00000000:21:00.0, "
                      "535.129.03, 4, 4, 16, 16\n1, NVIDIA A100-PCIE-40GB, GPU-d8594bd4-0fc3-8595-e355-7c98138f3b95, 8.0, "
                      "40960, 00000000:81:00.0, 535.129.03, 4, 4, 16, 16\n",
        (path, "-L"): (REAL / "smi-L-a100-mig.txt").read_text(encoding="utf-8"),
    })
    _info, gpus = nvidia.probe_nvidia_smi(Ctx(seam=seam, plat={"system": "Linux"}, env={}), path)
    assert [g.mig_mode for g in gpus] == ["enabled", "disabled"]
    assert [d.name for d in gpus[0].mig_devices] == ["1g.20gb"] * 4 and gpus[1].mig_devices == ()


def test_redact_hides_mig_device_uuids(facts_of) -> None:
    from nktenv.probes import redact

    gpu = redact(facts_of("a100-mig-nvml")).gpus[0]
    assert gpu.uuid is None and {m.uuid for m in gpu.mig_devices} == {"MIG-<redacted>"}


def test_windows_617_driver_from_nvidia_smi_exe(facts_of) -> None:
    f = facts_of("win11-driver617-smi-fallback")
    d = f.driver
    assert f.extra.get("probe_errors") is None
    assert (d.version, d.cuda_version, d.source, d.userspace_version) == ("617.14", "13.4", "nvidia-smi", "617.14")
    (gpu,) = f.gpus
    assert (gpu.name, gpu.driver_model, gpu.compute_mode, gpu.mig_mode) == (
        "NVIDIA GeForce RTX 3050 Laptop GPU", "WDDM", "Default", None)
    assert f.os.id is None and f.os.tegra is None and f.os.wsl_version is None  # Linux-only keys


def test_toolkit_keeps_nvcc_and_bundled_driver_from_version_json(facts_of) -> None:
    (tk,) = facts_of("a100-mig-nvml").cuda_toolkits
    assert (tk.version, tk.source, tk.nvcc_version, tk.driver_version) == ("11.8.0", "version.json", "11.8.89", "520.61.05")
    assert tk.extra["found_by"] == ["default"]  # the dedupe's own keys survive
    (old,) = facts_of("kepler-k40-driver470").cuda_toolkits  # no version.json: nvcc's answer only
    assert (old.version, old.nvcc_version, old.driver_version) == ("11.4.152", None, None)


def test_query_drops_each_field_nvidia_smi_refuses() -> None:
    path = "/usr/bin/nvidia-smi"
    without_cc = tuple(f for f in nvidia.SMI_FIELDS if f != "compute_cap")
    without_both = tuple(f for f in without_cc if f != "driver_version")
    seam = _Seam({
        (path,): (REAL / "smi-610.43.03-linux-rtx3080.txt").read_text(encoding="utf-8"),
        _query(path): (2, 'Field "compute_cap" is not a valid field to query.\n\n'),  # as nvidia-smi 470 says it
        (path, "--query-gpu=" + ",".join(without_cc), "--format=csv,noheader,nounits"):
            (2, 'Field "driver_version" is not a valid field to query.\n\n'),
        (path, "--query-gpu=" + ",".join(without_both), "--format=csv,noheader,nounits"):
            "0, NVIDIA GeForce RTX 3080 Laptop GPU, GPU-aa, 16384, 00000000:01:00.0, 4, 4, 16, 16\n",
    })
    info, gpus = nvidia.probe_nvidia_smi(Ctx(seam=seam, plat={"system": "Linux"}, env={}), path)
    assert "query_error" not in info
    (gpu,) = gpus
    assert (gpu.name, gpu.memory_total_bytes, gpu.compute_mode) == ("NVIDIA GeForce RTX 3080 Laptop GPU", 16384 * 2**20, "Default")
    assert nvidia.unknown_query_field("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.") is None
