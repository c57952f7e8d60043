"""Parsers against verbatim outputs of real machines (tests/probes/data/real, sources in SOURCES.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nktenv.probes import cuda, nvidia, system

DATA = Path(__file__).parent / "data" / "real"


def real(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_every_real_output_names_its_source() -> None:
    listed = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DATA.iterdir() if p.name != "SOURCES.md")
    assert files and all(f"`{name}`" in listed for name in files)


@pytest.mark.parametrize(("name", "driver", "cuda_ceiling", "smi"), [
    ("smi-610.43.02-linux-b200.txt", "610.43.02", "13.3", "610.43.02"),  # KMD Version / CUDA UMD Version
    ("smi-610.43.03-linux-rtx3080.txt", "610.43.03", "13.3", "610.43.03"),
    ("smi-617.14-windows-rtx3050.txt", "617.14", "13.4", "617.14"),
    ("smi-517.48-windows-two-gpus.txt", "517.48", "11.7", "517.48"),  # Driver Version / CUDA Version
    ("smi-535.129.03-linux-a100-mig-one-of-two.txt", "535.129.03", "12.2", "535.129.03"),
    ("smi-331.62-linux-no-cuda-field.txt", "331.62", None, "331.62"),  # before 410: no CUDA field
])
def test_smi_header_of_every_era(name: str, driver: str, cuda_ceiling: str | None, smi: str) -> None:
    hdr = nvidia.parse_smi_header(real(name))
    assert (hdr["driver_version"], hdr["cuda_version"], hdr["smi_version"]) == (driver, cuda_ceiling, smi)


def test_610_table_rows_compute_and_mig_mode() -> None:
    rows = nvidia.parse_smi_table(real("smi-610.43.02-linux-b200.txt"))
    assert rows == {i: {"driver_model": None, "compute_mode": "Default", "mig_mode": "disabled"} for i in (0, 1)}


def test_windows_driver_model_column_old_and_new_layout() -> None:
    new = nvidia.parse_smi_table(real("smi-617.14-windows-rtx3050.txt"))
    assert new == {0: {"driver_model": "WDDM", "compute_mode": "Default", "mig_mode": None}}
    old = nvidia.parse_smi_table(real("smi-517.48-windows-two-gpus.txt"))
    assert old[0] == {"driver_model": "WDDM", "compute_mode": "Default", "mig_mode": None}
    assert old[1]["driver_model"] == "WDDM"  # the quote ends inside GPU 1's block


def test_linux_persistence_column_is_not_a_driver_model() -> None:
    rows = nvidia.parse_smi_table(real("smi-610.43.03-linux-rtx3080.txt"))
    assert rows == {0: {"driver_model": None, "compute_mode": "Default", "mig_mode": None}}  # MIG M. is N/A


def test_mig_mode_per_gpu_and_the_mig_section_is_not_a_gpu() -> None:
    mixed = nvidia.parse_smi_table(real("smi-535.129.03-linux-a100-mig-one-of-two.txt"))
    assert {i: r["mig_mode"] for i, r in mixed.items()} == {0: "enabled", 1: "disabled"}
    tight = nvidia.parse_smi_table(real("smi-535.104.05-linux-a100-mig-no-blank-line.txt"))
    assert list(tight) == [0] and tight[0]["mig_mode"] == "enabled"


def test_exclusive_process_as_the_table_abbreviates_it() -> None:
    rows = nvidia.parse_smi_table(real("smi-linux-v100-exclusive-process.txt"))
    assert rows == {0: {"driver_model": None, "compute_mode": "Exclusive_Process", "mig_mode": None}}


def test_pre_410_table_keeps_compute_mode() -> None:
    rows = nvidia.parse_smi_table(real("smi-331.62-linux-no-cuda-field.txt"))
    assert sorted(rows) == [0, 1, 2] and all(r["compute_mode"] == "Default" for r in rows.values())


def test_smi_list_mig_devices() -> None:
    listing = nvidia.parse_smi_list(real("smi-L-a100-mig.txt"))
    assert list(listing) == [0]
    devs = listing[0]
    assert [(d.index, d.name) for d in devs] == [(0, "1g.20gb"), (1, "1g.20gb"), (2, "1g.20gb"), (3, "1g.20gb")]
    assert devs[0].uuid == "MIG-ce861fb0-a248-58ce-a9a8-f9adbc22a66a"


def test_jetpack5_proc_version_is_an_l4t_release_not_a_driver_branch() -> None:
    text = real("proc-driver-nvidia-version-jetson-r35.3.1.txt")
    assert nvidia.parse_proc_driver_version(text) == ("35.3.1", "open")
    assert system.l4t_from_proc_version(text) == "35.3.1"
    # JetPack 6 ships OpenRM 540.x in the same line: a Tegra build, but the number is no L4T release
    assert system.l4t_from_proc_version(real("proc-driver-nvidia-version-jetson-jp6.txt")) is None
    assert system.parse_nv_tegra_release(real("nv_tegra_release-r36.3.0.txt")) == "36.3.0"
    assert system.parse_nv_tegra_release("") is None


def test_wsl_version_from_the_kernel_release() -> None:
    assert system.wsl_version(real("uname-r-wsl1.txt").strip()) == 1
    assert system.wsl_version(real("uname-r-wsl2.txt").strip()) == 2
    assert system.wsl_version("6.5.0-35-generic") is None


@pytest.mark.parametrize(("name", "os_id", "version_id", "codename", "ubuntu_codename"), [
    ("os-release-linuxmint-21.3.txt", "linuxmint", "21.3", "virginia", "jammy"),
    ("os-release-devuan-5.txt", "devuan", "5", "daedalus", None),
    ("os-release-almalinux-9.2.txt", "almalinux", "9.2", None, None),
])
def test_os_release_ids(name: str, os_id: str, version_id: str, codename: str | None, ubuntu_codename: str | None) -> None:
    osr = system.parse_os_release(real(name))
    assert (osr.get("ID"), osr.get("VERSION_ID"), osr.get("VERSION_CODENAME"), osr.get("UBUNTU_CODENAME")) == (
        os_id, version_id, codename, ubuntu_codename)


def test_version_json_nvcc_and_bundled_driver() -> None:
    text = real("cuda-11.8-version.json")
    assert cuda.parse_version_json(text) == "11.8.0"
    assert cuda.parse_version_json_components(text) == {"nvcc_version": "11.8.89", "driver_version": "520.61.05"}
    assert cuda.parse_version_json_components('{"cuda": {"version": "12.4.1"}}') == {
        "nvcc_version": None, "driver_version": None}
    assert cuda.parse_version_json_components("[1, 2]") == {"nvcc_version": None, "driver_version": None}


def test_doctor_header_pattern_reads_the_610_layout() -> None:
    from nktenv.doctor.driver import SMI_HEADER

    m = re.search(SMI_HEADER, real("smi-610.43.02-linux-b200.txt"))
    assert m and m.groups() == ("610.43.02", "610.43.02")
