"""Pure parsers over the real output formats of the tools and files the probes read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nktenv.probes import cuda, cudnn, gpus_other, nvidia, system, windows
from nktenv.probes.frameworks import normalise_build_version

PROC_OPEN = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release Build  "
             "(dvs-builder@U16-I3-B03-4-3)  Tue Mar  5 22:15:33 UTC 2024\nGCC version:  gcc version 12.3.0\n")
PROC_PROP = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.154.05  Thu Dec 28 15:37:48 UTC 2023\n"
PROC_ARM = "NVRM version: NVIDIA UNIX aarch64 Kernel Module  535.104.05  Sat Aug 19 01:13:38 UTC 2023\n"


@pytest.mark.parametrize(("text", "expected"), [
    (PROC_OPEN, ("550.54.15", "open")),
    (PROC_PROP, ("535.154.05", "proprietary")),
    (PROC_ARM, ("535.104.05", "proprietary")),
    ("", (None, None)),
    ("garbage\n", (None, None)),
])
def test_proc_driver_version(text: str, expected: tuple) -> None:
    assert nvidia.parse_proc_driver_version(text) == expected


def test_smi_header_reads_driver_and_cuda_ceiling() -> None:
    text = ("+-----------------------------------------------------------------------------------------+\n"
            "| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |\n")
    hdr = nvidia.parse_smi_header(text)
    assert hdr == {"driver_version": "550.54.15", "cuda_version": "12.4", "smi_version": "550.54.15",
                   "nvml_library_version": None}
    mismatch = nvidia.parse_smi_header("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183\n")
    assert mismatch["nvml_library_version"] == "535.183" and mismatch["driver_version"] is None


def test_smi_query_rows_with_and_without_compute_cap() -> None:
    rows = nvidia.parse_smi_query(
        "0, NVIDIA GeForce RTX 4090, GPU-aa, 8.9, 24564, 00000000:01:00.0, 550.54.15, 1, 4, 16, 16\n"
        "1, NVIDIA GeForce GTX 1080 Ti, GPU-bb, 6.1, 11264, 00000000:02:00.0, 550.54.15, [N/A], 3, 8, 16\n")
    gpus = nvidia.smi_rows_to_gpus(rows)
    assert [g.name for g in gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce GTX 1080 Ti"]
    assert gpus[0].compute_capability == "8.9" and gpus[0].memory_total_bytes == 24564 * 1024 * 1024
    assert gpus[1].pcie.gen_current is None and gpus[1].pcie.gen_max == 3
    old_fields = tuple(f for f in nvidia.SMI_FIELDS if f != "compute_cap")
    old = nvidia.smi_rows_to_gpus(nvidia.parse_smi_query(
        "0, Tesla K40c, GPU-cc, 11441, 00000000:03:00.0, 470.256.02, 3, 3, 16, 16\n", old_fields))
    assert old[0].name == "Tesla K40c" and old[0].compute_capability is None


def test_cuda_version_from_nvml_int() -> None:
    assert nvidia.cuda_version_from_int(12040) == "12.4"
    assert nvidia.cuda_version_from_int(11080) == "11.8"
    assert nvidia.cuda_version_from_int(12080) == "12.8"
    assert nvidia.cuda_version_from_int(None) is None


def test_lspci_nvidia_lines_only() -> None:
    gpus = nvidia.parse_lspci(
        "00:02.0 VGA compatible controller [0300]: Intel Corporation Alder Lake-P GT2 [8086:46a6] (rev 0c)\n"
        "01:00.0 3D controller [0302]: NVIDIA Corporation GA107M [GeForce RTX 3050 Mobile] [10de:25a2] (rev a1)\n"
        "01:00.1 Audio device [0403]: NVIDIA Corporation Device [10de:22e8] (rev a1)\n")
    assert len(gpus) == 1
    assert gpus[0].name == "NVIDIA Corporation GA107M [GeForce RTX 3050 Mobile]"
    assert gpus[0].pci_bus_id == "01:00.0" and gpus[0].extra["pci_id"] == "10de:25a2"


def test_override_gpus_format() -> None:
    gpus = nvidia.parse_override_gpus("NVIDIA GeForce RTX 4090:8.9,NVIDIA GeForce GTX 1080 Ti:6.1")
    assert [(g.name, g.compute_capability) for g in gpus] == [("NVIDIA GeForce RTX 4090", "8.9"),
                                                              ("NVIDIA GeForce GTX 1080 Ti", "6.1")]
    assert all(g.extra["source"] == "override" for g in gpus)
    assert nvidia.parse_override_gpus("") == []
    assert nvidia.parse_override_gpus("Tesla K40c")[0].compute_capability is None


def test_kernel_log_keeps_driver_lines_only() -> None:
    lines = nvidia.kernel_log_lines("[1.0] usb 1-4: new device\n[2.0] NVRM: Xid (PCI:0000:41:00): 79, GPU has fallen off the bus.\n"
                                    "[3.0] LSM: initializing lsm=lockdown,capability\n[4.0] Loading of unsigned module is rejected\n")
    assert lines == ["[2.0] NVRM: Xid (PCI:0000:41:00): 79, GPU has fallen off the bus.",
                     "[4.0] Loading of unsigned module is rejected"]


@pytest.mark.parametrize(("text", "expected"), [
    ("nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 11.8, V11.8.89\n", "11.8.89"),
    ("Cuda compilation tools, release 10.1, V10.1.243\r\n", "10.1.243"),
    ("Cuda compilation tools, release 9.0\n", "9.0"),
    ("bash: nvcc: command not found", None),
])
def test_nvcc_version(text: str, expected: str | None) -> None:
    assert cuda.parse_nvcc_version(text) == expected


def test_toolkit_version_files() -> None:
    assert cuda.parse_version_json('{"cuda": {"name": "CUDA SDK", "version": "12.4.1"}}') == "12.4.1"
    assert cuda.parse_version_json("{broken") is None
    assert cuda.parse_version_json('{"nvcc": {}}') is None
    assert cuda.parse_version_txt("CUDA Version 10.2.89\n") == "10.2.89"
    assert cuda.version_from_folder("cuda-12.4") == "12.4" and cuda.version_from_folder("v11.8") == "11.8"


def test_cudnn_versions() -> None:
    assert cudnn.parse_cudnn_header("#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 9\n#define CUDNN_PATCHLEVEL 7\n") == "8.9.7"
    assert cudnn.parse_cudnn_header("#define CUDNN_MAJOR 7\n#define CUDNN_MINOR 6\n") == "7.6"
    assert cudnn.parse_cudnn_header("/* nothing */") is None
    assert cudnn.version_from_library("libcudnn.so.8.9.7") == "8.9.7"
    assert cudnn.version_from_library("libcudnn_graph.so.9") == "9"
    assert cudnn.version_from_library("cudnn_ops_infer64_8.dll") == "8"
    assert cudnn.version_from_library("libcudnn.so") is None
    assert cudnn.cudnn_int_to_version(8902) == "8.9.2"
    assert cudnn.cudnn_int_to_version(90100) == "9.1.0"
    assert cudnn.cudnn_int_to_version(None) is None


def test_os_parsers() -> None:
    osr = system.parse_os_release('PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\n# comment\nVERSION_ID=\'22.04\'\n')
    assert system.distro_name(osr) == "Ubuntu 22.04.4 LTS" and osr["VERSION_ID"] == "22.04"
    assert system.distro_name({"NAME": "Arch Linux"}) == "Arch Linux"
    assert system.normalise_arch("AMD64") == "x86_64" and system.normalise_arch("arm64") == "aarch64"
    assert system.normalise_arch("ppc64le") is None
    assert system.windows_distro("10.0.22631") == "Windows 11"
    assert system.windows_distro("10.0.19045") == "Windows 10"
    assert system.parse_secure_boot_efivar(b"\x06\x00\x00\x00\x01") is True
    assert system.parse_secure_boot_efivar(b"\x06\x00\x00\x00\x00") is False
    assert system.parse_secure_boot_efivar(b"") is None
    assert system.parse_mokutil("SecureBoot enabled\n") is True
    assert system.parse_mokutil("SecureBoot disabled\nPlatform is in Setup Mode\n") is False
    assert system.parse_mokutil("EFI variables are not supported on this system") is None
    assert system.parse_cpuinfo_model("processor\t: 0\nmodel name\t: AMD EPYC 7543 32-Core Processor\n") == \
        "AMD EPYC 7543 32-Core Processor"


def test_registry_output() -> None:
    out = "\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\FileSystem\r\n    LongPathsEnabled    REG_DWORD    0x1\r\n"
    assert windows.parse_reg_dword(out, "LongPathsEnabled") is True
    assert windows.parse_reg_dword(out.replace("0x1", "0x0"), "LongPathsEnabled") is False
    assert windows.parse_reg_dword("", "LongPathsEnabled") is None
    assert system.parse_reg_value("    Version    REG_SZ    v14.38.33130.00\r\n", "Version") == "v14.38.33130.00"


def test_tensorflow_windows_build_numbers() -> None:
    assert normalise_build_version("64_112") == "11.2"
    assert normalise_build_version("64_8") == "8"
    assert normalise_build_version("12.3") == "12.3"
    assert normalise_build_version(None) is None


_PARSERS = [nvidia.parse_proc_driver_version, nvidia.parse_smi_header, nvidia.parse_smi_query, nvidia.parse_lspci,
            nvidia.kernel_log_lines, nvidia.parse_proc_modules, cuda.parse_nvcc_version, cuda.parse_version_json,
            cuda.parse_version_txt, cudnn.parse_cudnn_header, system.parse_os_release, system.parse_mokutil,
            system.parse_cpuinfo_model, gpus_other.parse_kfd_properties, gpus_other.parse_rocminfo,
            gpus_other.parse_agent_enumerator, gpus_other.parse_video_controllers,
            gpus_other.parse_amd_smi_static]


@given(st.text(max_size=300))
def test_parsers_never_raise_on_any_text(text: str) -> None:
    for parse in _PARSERS:
        parse(text)


@given(st.text(max_size=200))
def test_override_parser_reads_or_refuses_never_crashes(text: str) -> None:
    # NKTENV_OVERRIDE_GPUS is the user's input: refusing it (OverrideError) is the only allowed failure.
    try:
        gpus = nvidia.parse_override_gpus(text)
    except nvidia.OverrideError as exc:
        assert exc.why in ("vendor", "arch", "mismatch")
    else:
        assert all(g.vendor in ("nvidia", "amd", "intel") for g in gpus)
