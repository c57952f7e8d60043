"""AMD and Intel GPUs through the seam, and the architecture derived when the driver does not say it.

Parsers run on verbatim tool outputs (tests/probes/data/real, sources in SOURCES.md); the recorded
machines replay them through `detect`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from machines import replay_facts

from nktenv import gpuarch
from nktenv.facts import Gpu
from nktenv.manifest import load
from nktenv.probes import gpus_other
from nktenv.probes.nvidia import OverrideError, parse_override_gpus

DATA = Path(__file__).parent / "data" / "real"


def real(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# --- parsers on real outputs ----------------------------------------------------------------------------


def test_rocminfo_mi25_gpu_agents_only() -> None:
    agents = gpus_other.parse_rocminfo(real("rocminfo-8x-mi25-gfx900.txt"))
    # The Threadripper agent is a CPU; the ISA sub-entry 'Name: amdgcn-amd-amdhsa--gfx900:xnack-' is not a GPU.
    assert len(agents) == 7
    assert {a["arch"] for a in agents} == {"gfx900"} and {a["device"] for a in agents} == {"6860"}
    assert agents[0] == {"arch": "gfx900", "name": "Radeon Instinct MI25", "device": "6860", "address": "0000:63:00.0"}
    assert agents[5]["address"] == "0000:03:00.0"  # BDFID 768


def test_rocminfo_mi300x_two_cpu_agents_four_gpus() -> None:
    agents = gpus_other.parse_rocminfo(real("rocminfo-4x-mi300x-gfx942.txt"))
    assert [a["arch"] for a in agents] == ["gfx942"] * 4
    assert {a["name"] for a in agents} == {"AMD Instinct MI300X"} and agents[0]["device"] == "74a1"
    assert agents[0]["address"] == "0000:26:00.0"  # BDFID 9728


def test_rocm_agent_enumerator_old_and_new() -> None:
    assert gpus_other.parse_agent_enumerator(real("rocm_agent_enumerator-gfx000-gfx803-gfx902.txt")) == ["gfx803", "gfx902"]
    assert gpus_other.parse_agent_enumerator(real("rocm_agent_enumerator-8x-mi300x.txt")) == ["gfx942"] * 8


def test_amd_smi_static_mi350x() -> None:
    (gpu,) = gpus_other.parse_amd_smi_static(real("amd-smi-static-mi350x.txt"))
    # IFWI's and BOARD's NAME / PRODUCT_NAME are not the GPU's name; MARKET_NAME is.
    assert gpu == {"arch": "gfx950", "name": "AMD Instinct MI350X", "device": "75a0", "address": "0000:05:00.0"}


def test_mi350x_from_amd_smi_alone() -> None:
    (gpu,) = replay_facts("mi350x-amd-smi").gpus
    assert (gpu.vendor, gpu.name, gpu.arch, gpu.pci_bus_id) == ("amd", "AMD Instinct MI350X", "gfx950", "0000:05:00.0")
    assert gpu.extra["source"] == "amd-smi" and "derived_arch" not in gpu.extra


def test_kfd_properties_target_and_pci_address() -> None:
    props = gpus_other.parse_kfd_properties(real("kfd-properties-rx7900xtx.txt"))
    assert props["gfx_target_version"] == 110000 and props["vendor_id"] == 0x1002 and props["device_id"] == 0x744C
    assert "drm_render_minor" not in props  # not a number in this copy
    assert gpus_other.bdf_address(props["location_id"], props["domain"]) == "0000:86:00.0"


@pytest.mark.parametrize(("value", "target"), [
    (110000, "gfx1100"), (90402, "gfx942"), (90010, "gfx90a"), (90006, "gfx906"), (100300, "gfx1030"),
    (120001, "gfx1201"), (0, None), (-1, None),
])
def test_gfx_target_version_encoding(value: int, target: str | None) -> None:
    # major*10000 + minor*100 + stepping, the stepping in hex (ROCm/rocm-cli#343: 90402 is gfx942).
    assert gpuarch.gfx_from_target_version(value) == target


def test_windows_adapter_lists() -> None:
    (uhd,) = gpus_other.parse_video_controllers(real("win-videocontroller-intel-uhd.txt"))
    assert uhd == {"name": "Intel(R) UHD Graphics", "vendor_id": "8086", "device_id": "9bc4", "driver_version": None}
    (rx,) = gpus_other.parse_video_controllers(real("win-wmi-videocontroller-rx580.txt"))
    # Caption comes first and the driver paths wrap over several lines; Name and PNPDeviceID still read.
    assert rx == {"name": "AMD Radeon RX 580 2048SP", "vendor_id": "1002", "device_id": "6fdf",
                  "driver_version": "31.0.12044.3"}


def test_lspci_line_gives_the_pci_id() -> None:
    gpu = Gpu(vendor="amd", name="Navi 31", extra={"pci_id": real("lspci-nn-rx7900xtx.txt")})
    assert gpuarch.pci_id(gpu) == "1002:744c"
    assert gpuarch.derive(gpu, load().gpu_ids).value == "gfx1100"


# --- derivation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "pci", "cc", "source"), [
    ("NVIDIA Corporation GB202 [GeForce RTX 5090]", "10de:2b85", "12.0", "pci-id"),
    ("NVIDIA Corporation GB202 [GeForce RTX 5090]", None, "12.0", "name"),  # the chip
    ("NVIDIA Corporation GK110BGL [Tesla K40m]", None, "3.5", "name"),  # chip with suffixes (pci.ids 1023)
    ("NVIDIA Corporation GK180GL [Tesla K40c]", None, "3.5", "name"),  # the K40c's own chip (pci.ids 1024)
    ("NVIDIA Corporation GK180GL [Tesla K40c]", "10de:1024", "3.5", "pci-id"),
    ("Tesla K40c", None, "3.5", "name"),  # what nvidia-smi 470 prints
    ("Tesla K80", None, "3.7", "name"),
    ("NVIDIA GeForce RTX 3090", None, "8.6", "name"),
    ("NVIDIA RTX 6000 Ada Generation", None, "8.9", "name"),
    ("Quadro RTX 6000", None, "7.5", "name"),
    ("NVIDIA RTX A6000", None, "8.6", "name"),
    ("NVIDIA A100-SXM4-80GB", None, "8.0", "name"),
    ("NVIDIA A10", None, "8.6", "name"),
    ("NVIDIA H100 80GB HBM3", None, "9.0", "name"),
    ("NVIDIA RTX 4000 SFF Ada Generation", None, "8.9", "name"),
    ("NVIDIA RTX 4500 Ada Generation", None, "8.9", "name"),
    ("NVIDIA RTX PRO 4500 Blackwell", None, "12.0", "name"),
    ("NVIDIA RTX PRO 2000 Blackwell", None, "12.0", "name"),
    ("NVIDIA A16", None, "8.6", "name"),
    ("Quadro GV100", None, "7.0", "name"),
    # pci.ids: an Ada chip under an Ampere-looking name; the chip decides, the name alone does not.
    ("NVIDIA Corporation AD107M [GeForce RTX 3050 A Laptop GPU]", None, "8.9", "name"),
])
def test_nvidia_architecture_from_id_chip_or_name(name, pci, cc, source) -> None:
    gpu = Gpu(vendor="nvidia", name=name, extra={"pci_id": pci} if pci else {})
    (out,) = gpuarch.with_derived_arch([gpu], load())
    assert out.compute_capability == cc and out.extra["derived_arch"]["source"] == source


def test_unknown_gpu_stays_unknown_and_a_reported_one_is_kept() -> None:
    m = load()
    # Neither a Tegra chip (no pci.ids entry, no row) nor the Ada "RTX 3050 A" by name alone.
    for name in ("GA10B [Jetson AGX Orin]", "NVIDIA GeForce RTX 3050 A Laptop GPU"):
        (out,) = gpuarch.with_derived_arch([Gpu(vendor="nvidia", name=name)], m)
        assert out.compute_capability is None, name
    (unknown,) = gpuarch.with_derived_arch([Gpu(vendor="nvidia", name="NVIDIA Future GPU")], m)
    assert unknown.compute_capability is None and "derived_arch" not in unknown.extra
    # The driver's answer wins over the table (here a deliberately wrong name).
    (kept,) = gpuarch.with_derived_arch([Gpu(vendor="nvidia", name="Tesla K80", compute_capability="8.6")], m)
    assert kept.compute_capability == "8.6" and "derived_arch" not in kept.extra


# --- recorded machines -------------------------------------------------------------------------------------


def test_rx7900xtx_without_rocm_userspace() -> None:
    f = replay_facts("rx7900xtx-amdgpu-no-rocm")
    (gpu,) = f.gpus
    assert (gpu.vendor, gpu.arch, gpu.pci_bus_id) == ("amd", "gfx1100", "0000:86:00.0")
    assert gpu.extra["source"] == "sysfs+kfd" and gpu.extra["pci_id"] == "1002:744c"
    assert gpu.name.startswith("Navi 31") and gpu.extra["name_source"] == "pci-id"
    assert f.env["HSA_OVERRIDE_GFX_VERSION"] == "11.0.0"


def test_mi25_from_rocminfo_in_rocm_order() -> None:
    f = replay_facts("mi25x7-rocminfo")
    assert [g.arch for g in f.gpus] == ["gfx900"] * 7 and [g.index for g in f.gpus] == list(range(7))
    # HIP numbers GPUs as ROCm's agents come, not by PCI address.
    assert [g.pci_bus_id for g in f.gpus][:2] == ["0000:63:00.0", "0000:66:00.0"]
    assert f.env["HSA_OVERRIDE_GFX_VERSION"] is None  # recorded, unset


def test_windows_rx580_and_intel_uhd() -> None:
    (rx,) = replay_facts("win2022-rx580").gpus
    assert (rx.vendor, rx.arch) == ("amd", "gfx803") and rx.extra["derived_arch"]["source"] == "pci-id"
    (uhd,) = replay_facts("win-intel-uhd-igpu").gpus
    assert (uhd.vendor, uhd.arch) == ("intel", None) and uhd.extra["integrated"] is True


def test_nvidia_machines_gain_no_amd_or_intel_gpu() -> None:
    assert [g.vendor for g in replay_facts("ubuntu2204-rtx3090-driver535").gpus] == ["nvidia"]


def test_override_replaces_every_vendor() -> None:
    f = replay_facts("rx7900xtx-amdgpu-no-rocm", overrides={"NKTENV_OVERRIDE_GPUS": "nvidia:8.6"})
    assert [(g.vendor, g.compute_capability) for g in f.gpus] == [("nvidia", "8.6")]


# --- NKTENV_OVERRIDE_GPUS -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("NVIDIA GeForce RTX 4090:8.9", [("nvidia", "NVIDIA GeForce RTX 4090", "8.9", None)]),
    ("AMD Radeon RX 7900 XTX:gfx1100", [("amd", "AMD Radeon RX 7900 XTX", None, "gfx1100")]),
    ("amd:gfx1100", [("amd", None, None, "gfx1100")]),
    ("nvidia:8.6", [("nvidia", None, "8.6", None)]),
    ("nvidia:sm_120", [("nvidia", None, "12.0", None)]),
    ("intel:Arc A770:dg2", [("intel", "Arc A770", None, "dg2")]),
    ("Tesla K40c", [("nvidia", "Tesla K40c", None, None)]),
    ("", []),
])
def test_override_gpus_take_a_vendor_or_infer_it(value, expected) -> None:
    assert [(g.vendor, g.name, g.compute_capability, g.arch) for g in parse_override_gpus(value)] == expected


@pytest.mark.parametrize(("value", "why"), [
    ("AMD Radeon RX 7900 XTX:8.6", "mismatch"),  # before: an NVIDIA GPU of cc 8.6
    ("nvidia:gfx1100", "mismatch"),
    ("My GPU", "vendor"),
    ("foo:bar", "arch"),
])
def test_override_gpus_refuse_what_they_cannot_read(value, why) -> None:
    with pytest.raises(OverrideError) as info:
        parse_override_gpus(value)
    assert info.value.why == why


def test_detect_refuses_a_bad_override_in_one_line(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--replay", str(Path(__file__).parents[1] / "machines" / "laptop-no-driver")],
                           env={"NKTENV_OVERRIDE_GPUS": "AMD Radeon RX 7900 XTX:8.6"})
    assert result.exit_code == 2
    assert "NKTENV_OVERRIDE_GPUS" in result.stderr and "Traceback" not in result.stderr


def test_nvidia_gpu_without_cc_gets_its_device_id_from_the_pci_bus() -> None:
    # nvidia-smi 470 gives the bus id '00000000:03:00.0' but no compute capability; sysfs knows the device.
    k40 = Gpu(index=0, vendor="nvidia", name="Tesla K40c", pci_bus_id="00000000:03:00.0", extra={"source": "nvidia-smi"})
    ok = Gpu(index=1, vendor="nvidia", name="Tesla T4", compute_capability="7.5", pci_bus_id="00000000:04:00.0")
    info = {"nvidia_pci_ids": {"0000:03:00.0": "10de:1024", "0000:04:00.0": "10de:1eb8"}}
    merged = gpus_other.merge([k40, ok], [Gpu(index=0, vendor="amd", arch="gfx1100")], info)
    assert [g.vendor for g in merged] == ["nvidia", "nvidia", "amd"]
    assert merged[0].extra["pci_id"] == "10de:1024" and "pci_id" not in merged[1].extra
    (derived,) = gpuarch.with_derived_arch([merged[0]], load())
    assert derived.compute_capability == "3.5" and derived.extra["derived_arch"]["source"] == "pci-id"


def test_rocm_access_reads_groups_and_kfd_through_the_seam() -> None:
    from nktenv.probes._ctx import Ctx
    from nktenv.probes.seam import CmdResult

    calls = []

    class Seam:
        def which(self, name):
            return f"/usr/bin/{name}"

        def exists(self, path):
            return path == "/dev/kfd"

        def run(self, argv, *, timeout, env=None, **kw):
            calls.append((tuple(argv), timeout))
            out = {"id": "lab sudo\n", "stat": "660 render\n"}[argv[0]]
            return CmdResult(argv=tuple(argv), returncode=0, stdout=out)

    access = gpus_other.rocm_access(Ctx(seam=Seam(), plat={"system": "Linux"}, env={}))
    assert access == {"user_groups": ["lab", "sudo"], "kfd": {"mode": "660", "group": "render"}}
    assert all(t and t > 0 for _argv, t in calls)  # every external command has a timeout
