"""Every real sample: recognised as its kind, read fully, and what it parses to."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nktenv.facts import validate
from nktenv.paste import decode, facts_from_pastes, recognise, unread_lines
from tests.paste.samples import SAMPLES, all_samples, sample_id

GIB = 1024 ** 3
MIB = 1024 ** 2

# sample -> {dotted path in the facts JSON: expected}. `#` after a path means "length of".
EXPECT: dict[str, dict[str, Any]] = {
    "nvidia-smi/linux-titan-xp-450.57-2020": {
        "driver.version": "450.57", "driver.cuda_version": "11.0", "gpus#": 1, "gpus[0].name": "TITAN Xp",
        "gpus[0].memory_total_bytes": 12196 * MIB, "gpus[0].pci_bus_id": "00000000:17:00.0",
        "gpus[0].compute_mode": "Default", "gpus[0].mig_mode": None, "gpus[0].processes": None},
    "nvidia-smi/windows-gtx1050-461.72-tcc-wddm-2021": {
        "driver.version": "461.72", "gpus[0].driver_model": "WDDM", "gpus[0].name": "GeForce GTX 105...",
        "gpus[0].name_truncated": True, "gpus[0].processes": None, "os.system": "windows"},
    "nvidia-smi/linux-rtx-a6000-515.57-2022": {
        "driver.version": "515.57", "driver.cuda_version": "11.7", "gpus[0].memory_total_bytes": 49140 * MIB,
        "gpus[0].driver_model": None, "os.system_source": "assumed"},
    "nvidia-smi/linux-rtx4070-550.40.07-2024": {
        "driver.version": "550.40.07", "driver.cuda_version": "12.4", "gpus[0].name": "NVIDIA GeForce RTX 4070",
        "gpus[0].memory_total_bytes": 12282 * MIB},
    "nvidia-smi/linux-a40-x10-550.127.05": {
        "driver.version": "550.127.05", "gpus#": 10, "gpus[9].name": "NVIDIA A40", "gpus[9].index": 9,
        "gpus[9].pci_bus_id": "00000000:D6:00.0", "gpus[9].processes#": 0, "gpus[9].mig_mode": None},
    "nvidia-smi/linux-h100-sxm-x8-565.57.01": {
        "driver.cuda_version": "12.7", "gpus#": 8, "gpus[7].mig_mode": "disabled",
        "gpus[7].memory_total_bytes": 81559 * MIB, "gpus[0].processes#": 0},
    "nvidia-smi/windows-tesla-p4-tcc-538.15-2024": {
        "driver.version": "538.15", "gpus[0].name": "Tesla P4", "gpus[0].driver_model": "TCC",
        "gpus[0].memory_total_bytes": None, "os.system": "windows"},
    "nvidia-smi/linux-tesla-v100-525.105-empty-processes": {
        "gpus[0].name": "Tesla V100-SXM2...", "gpus[0].name_truncated": True, "gpus[0].processes#": 0,
        "gpus[0].memory_used_bytes": 308 * MIB},
    "nvidia-smi/linux-l40s-595.80": {
        "driver.version": "595.80", "gpus[0].name": "NVIDIA L40S", "gpus[0].processes#": 0},
    "nvidia-smi/linux-geforce-rtx-4080-super-595.71.05-load": {
        "driver.cuda_version": "13.2", "gpus[0].processes#": 7, "gpus[0].processes[0].type": "C+G"},
    "nvidia-smi/linux-geforce-rtx-2080-super-610.57.04-load": {
        "driver.version": "610.57.04", "driver.cuda_version": "13.3", "driver.nvidia_smi.version": "610.57.04",
        "gpus[0].processes#": 4, "gpus[0].processes[2].name": "ffmpeg", "gpus[0].processes[2].pid": 28511,
        "gpus[0].processes[2].used_memory_bytes": 230 * MIB, "gpus[0].processes[2].type": "C"},
    "nvidia-smi/linux-h100-mig-590.48.01-load": {
        "driver.version": "590.48.01", "gpus[0].mig_mode": "enabled", "gpus[0].mig_devices#": 4,
        "gpus[0].mig_devices[0].memory_total_bytes": 40448 * MIB, "gpus[0].processes#": 3,
        "gpus[0].processes[2].name": "./gpu_burn", "gpus[0].processes[2].used_memory_bytes": 7484 * MIB},
    "nvidia-smi/windows-geforce-rtx-2080-super-591.86-load": {
        "driver.version": "591.86", "gpus[0].driver_model": "WDDM", "gpus[0].processes#": 12,
        "gpus[0].processes[0].used_memory_bytes": None, "os.system": "windows"},
    "nvidia-smi/windows-geforce-rtx-2080-super-610.62-load": {
        "driver.version": "610.62", "driver.cuda_version": "13.3", "gpus[0].driver_model": "WDDM",
        "gpus[0].processes#": 21, "gpus[0].processes[0].name": "C:\\Windows\\System32\\dwm.exe",
        "gpus[0].processes[0].type": "C+G"},
    "nvidia-smi-q/windows-geforce-rtx-2080-super-610.62": {
        "driver.version": "610.62", "driver.cuda_version": "13.3", "gpus[0].name": "NVIDIA GeForce RTX 2080 SUPER",
        "gpus[0].memory_total_bytes": 8192 * MIB, "gpus[0].driver_model": "WDDM", "gpus[0].compute_mode": "Default",
        "gpus[0].architecture": "Turing", "gpus[0].processes#": 19, "os.system": "windows"},
    "nvidia-smi-q/linux-h100-mig-590.48.01": {
        "driver.version": "590.48.01", "gpus[0].mig_mode": "enabled", "gpus[0].memory_total_bytes": 81559 * MIB,
        "gpus[0].mig_devices#": 4, "gpus[0].mig_devices[1].memory_total_bytes": 20096 * MIB,
        "gpus[0].uuid": "GPU-00000000-0000-0000-0000-000000000000"},
    "nvidia-smi-q/linux-l40s-595.80": {
        "driver.version": "595.80", "gpus[0].name": "NVIDIA L40S", "gpus[0].mig_mode": None,
        "gpus[0].driver_model": None, "gpus[0].processes#": 0},
    "nvidia-smi-csv/windows-geforce-rtx-2080-super-610.62-query-gpu": {
        "driver.version": "610.62", "gpus#": 1, "gpus[0].compute_capability": "7.5", "gpus[0].driver_model": "WDDM",
        "gpus[0].memory_total_bytes": 8192 * MIB, "gpus[0].compute_mode": "Default", "os.system": "windows"},
    "nvidia-smi-csv/linux-h100-mig-590.48.01-query-gpu": {
        "driver.version": "590.48.01", "gpus[0].compute_capability": "9.0", "gpus[0].mig_mode": "enabled",
        "gpus[0].pci_bus_id": "00000000:00:09.0"},
    "nvidia-smi-csv/linux-geforce-rtx-2080-super-610.57.04-compute-apps-load": {
        "gpus#": 1, "gpus[0].processes#": 2, "gpus[0].processes[0].pid": 28512,
        "gpus[0].processes[0].used_memory_bytes": 370 * MIB, "gpus[0].processes[0].type": "C", "driver": None},
    "nvidia-smi-L/linux-quadro-rtx4000-x2-2024": {
        "gpus#": 2, "gpus[1].uuid": "GPU-d6de6afc-bdfe-75c4-5273-0544439153fc", "driver.version": None,
        "driver.kernel_module.loaded": True},
    "nvidia-smi-L/linux-h100-mig-590.48.01": {
        "gpus#": 1, "gpus[0].mig_devices#": 4, "gpus[0].mig_devices[0].name": "3g.40gb", "gpus[0].mig_mode": "enabled"},
    "nvidia-smi-L/windows-geforce-rtx-2080-super-610.62": {"gpus[0].name": "NVIDIA GeForce RTX 2080 SUPER"},
    "nvidia-smi-error/truenas-nvml-mismatch-with-proc-version": {
        "driver.version": "580.173.02", "driver.source": "procfs", "driver.provenance": "pasted:proc-driver-version",
        "driver.userspace_version": "580.178", "driver.kernel_module.flavor": "proprietary",
        "driver.errors": ["Failed to initialize NVML: Driver/library version mismatch"],
        "driver.nvidia_smi.error": "Failed to initialize NVML: Driver/library version mismatch"},
    "nvidia-smi-error/ubuntu2204-nvml-mismatch-open-p2p": {
        "driver.version": None, "driver.userspace_version": "570.124", "driver.errors#": 1, "gpus#": 0},
    "nvidia-smi-error/gcp-debian11-has-failed": {
        "driver.version": None, "driver.source": None, "driver.errors#": 1, "logs#": 0,
        "driver.nvidia_smi.found": True},
    "collect_env/linux-2019-rtx2060": {
        "frameworks.torch.version": "1.1.0", "frameworks.torch.cuda": "9.0", "frameworks.torch.cuda_available": True,
        "driver.version": "418.67", "cuda_toolkits[0].version": "9.1", "gpus[0].name": "GeForce RTX 2060",
        "cudnn#": 0, "python.version": "3.6"},
    "collect_env/windows-2020-titan-rtx-x2-quoted": {
        "os.system": "windows", "gpus#": 2, "driver.version": "442.92", "cudnn[0].version": "7",
        "cudnn[0].location": "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v10.1\\bin",
        "python.packages.torchvision": "0.6.0+cu101", "frameworks.torch.device_count": 2},
    "collect_env/windows-2023-gtx1050ti-wmic": {
        "os.system": "windows", "os.release": "10.0.22621", "cpu.model": "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz",
        "frameworks.torch.version": "2.0.1+cu117", "cudnn[0].version": "8", "cudnn[0].major": 8,
        "frameworks.torch.collect_env.CUDA_MODULE_LOADING set to": "LAZY"},
    "collect_env/windows-2025-cpu-build": {
        "frameworks.torch.version": "2.8.0.dev20250528+cpu", "frameworks.torch.is_cuda_build": False,
        "frameworks.torch.cuda": None, "frameworks.torch.cuda_available": False, "driver": None, "gpus#": 0,
        "cuda_toolkits#": 0, "os.release": "10.0.22631", "logs#": 1},
    "collect_env/windows-2020-cpu-build-could-not-collect": {
        "frameworks.torch.version": "1.7.1+cpu", "frameworks.torch.is_cuda_build": False,
        "frameworks.torch.cuda": None, "frameworks.torch.cuda_available": None, "os.system": "windows",
        "os.distro": "Microsoft Windows 10 Home Single Language"},
    "collect_env/wsl2-2024-rtx4070-laptop": {
        "os.wsl": True, "os.glibc": "2.35", "driver.version": "551.88", "cuda_toolkits[0].version": "12.4",
        "frameworks.torch.cuda": "12.1", "cpu.model": "13th Gen Intel(R) Core(TM) i9-13950HX"},
    "collect_env/linux-2025-rtx2080ti-x2": {
        "gpus#": 2, "driver.version": "570.133.07", "cuda_toolkits#": 0, "os.wsl": False, "cpu.logical_cores": 24},
    "collect_env/linux-2020-rocm-sample": {
        "gpus#": 0, "driver": None, "frameworks.torch.is_cuda_build": False,
        "frameworks.torch.collect_env.ROCM used to build PyTorch": "3.7.20315-077bcfa0"},
    "conda-list/windows-tf14-cudatoolkit8": {
        "os.system": "windows", "python.kind": "conda", "cuda_toolkits[0].version": "8.0",
        "cuda_toolkits[0].root": "C:\\ProgramData\\Anaconda3\\envs\\tfenv", "cudnn[0].version": "6.0",
        "cudnn[0].source": "conda"},
    "conda-list/linux-cudatoolkit-10.2-forge": {
        "cuda_toolkits[0].version": "10.2", "cuda_toolkits[0].full_version": "10.2.89", "python.kind": "conda"},
    "conda-list/linux-pip-nvidia-cu11-in-conda": {
        "python.packages.nvidia-cudnn-cu11": "8.7.0.84", "python.packages.nvidia-cublas-cu11": "11.11.3.6",
        "cudnn[0].source": "pip", "cudnn[0].location": "pip:nvidia-cudnn-cu11"},
    "pip-list/windows-2025-pip-list-head": {"python.packages.bitsandbytes": "0.48.2", "os.system": "windows"},
    "pip-list/linux-grep-torch-rtx5060-2026": {
        "python.packages.torch": "2.9.1+cu128", "frameworks.torch.version": "2.9.1+cu128",
        "frameworks.torch.cuda": "12.8", "frameworks.torch.is_cuda_build": True,
        "frameworks.torch.source": "pasted:pip-list", "logs#": 1},
    "torch-print/linux-python-c-prompts-2025": {
        "frameworks.torch.version": "2.1.0+cu118", "frameworks.torch.cuda": "11.8",
        "frameworks.torch.cuda_available": True},
    "pip-freeze/linux-torch-at-url-2020": {
        "python.packages.torch": "1.4.0", "frameworks.torch.wheel_index": "cu101", "frameworks.torch.cuda": "10.1",
        "frameworks.torch.is_cuda_build": True, "frameworks.torch.source": "pasted:pip-freeze"},
    "pip-freeze/linux-forge-tensorrt": {"python.packages.bitsandbytes": "0.43.3", "frameworks": None},
    "nvcc/linux-cuda-11.1": {"cuda_toolkits[0].version": "11.1", "cuda_toolkits[0].full_version": "11.1.105"},
    "nvcc/linux-cuda-7.5-2015": {"cuda_toolkits[0].version": "7.5"},
    "nvcc/ubuntu-cuda-11.5-apt": {"cuda_toolkits[0].version": "11.5", "cuda_toolkits[0].source": "pasted:nvcc"},
    "nvcc/windows-cuda-10.2": {"cuda_toolkits[0].version": "10.2", "os.system": "windows"},
    "proc-driver-version/ubuntu2404-open-565": {
        "driver.version": "565.57.01", "driver.source": "procfs", "driver.kernel_module.flavor": "open",
        "os.arch": "x86_64"},
    "proc-driver-version/arch-open-525": {"driver.version": "525.60.11", "driver.kernel_module.flavor": "open"},
    "proc-driver-version/jetson-orin-aarch64": {"driver.version": "35.3.1", "os.arch": "aarch64"},
    "torch-print/linux-cu102-version-print": {
        "frameworks.torch.version": "1.8.1+cu102", "frameworks.torch.cuda": "10.2",
        "frameworks.torch.cuda_available": False, "driver.version": "450.51.05", "driver.cuda_version": "11.0",
        "cuda_toolkits[0].version": "10.2"},
    "torch-print/linux-repl-is-available-false": {
        "frameworks.torch.cuda_available": False, "frameworks.torch.version": None, "python.version": "3.7.5",
        "os.system": "linux", "os.system_source": "pasted:torch-print"},
    "tf-devices/windows-tf214-gpu-empty": {
        "frameworks.tensorflow.cuda_available": False, "frameworks.tensorflow.device_count": 0,
        "frameworks.tensorflow.version": None, "frameworks.torch": None},
    "tf-devices/windows-tf210-gpu-listed": {
        "frameworks.tensorflow.version": "2.10.0", "frameworks.tensorflow.cuda_available": True,
        "frameworks.tensorflow.device_count": 1},
    "tf-devices/conda-forge-tf215-not-built-with-cuda": {
        "frameworks.tensorflow.version": "2.15.0", "frameworks.tensorflow.is_cuda_build": False,
        "frameworks.tensorflow.package": "tensorflow", "logs#": 1},
    "tf-devices/linux-tf21-xla-gpu-only": {"frameworks.tensorflow.cuda_available": False},
    "traceback/windows-rtx5090-sm120-warning": {
        "gpus[0].name": "NVIDIA GeForce RTX 5090", "gpus[0].compute_capability": "12.0",
        "frameworks.torch.arch_list#": 8, "frameworks.torch.arch_list[7]": "sm_90", "os.system": "windows", "logs#": 1},
    "traceback/linux-rtx5090-no-kernel-image-journal": {
        "gpus[0].name": "NVIDIA GeForce RTX 5090", "gpus[0].compute_capability": "12.0", "logs#": 1},
    "traceback/linux-found-no-nvidia-driver": {
        "frameworks.torch.version": "1.7.0+cu110", "frameworks.torch.cuda_available": False, "driver": None,
        "logs#": 1},
    "traceback/windows-xformers-built-for-cu121-have-cpu": {
        "frameworks.torch.version": "2.1.0+cpu", "frameworks.torch.is_cuda_build": False,
        "frameworks.torch.xformers_built_for": "2.1.0+cu121", "python.version": "3.10.11", "os.system": "windows",
        "logs#": 1},
    "traceback/windows-winerror126-fbgemm-zh": {"os.system": "windows", "logs#": 1, "gpus#": 0},
    "pip-error/pip-no-matching-torch-py313": {"python.version": "3.13.5", "logs#": 1},
    "pip-error/pip-torch-1.13.1-versions-listed": {"logs#": 1, "frameworks": None},
    "uv-error/uv-no-version-cpu-local": {"logs#": 1},
    "uv-error/uv-add-split-cu126": {"logs#": 1},
    "uv-error/uv-ascii-no-wheels-python": {"logs#": 1},
    "uv-error/uv-dns-windows-11003": {"logs#": 1},
    "uv-error/uv-dns-linux-name-resolution": {"logs#": 1},
    "unrecognised/ja-reg-query-cp932": {"logs#": 1, "driver": None, "gpus#": 0, "os.system_source": "assumed"},
}

# The directory a sample sits in names the kind it must be recognised as.
KIND_OF_DIR = {"traceback": "traceback", "pip-error": "pip-error", "uv-error": "uv-error", "unrecognised": None}


def lookup(doc: Any, path: str) -> Any:
    count = path.endswith("#")
    cur = doc
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.rstrip("#")):
        if part.startswith("["):
            cur = cur[int(part[1:-1])]
        elif part in ("collect_env",) and isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, dict):
            if part not in cur and " " not in part:
                return KeyError(path)
            cur = cur.get(part)
        else:
            return KeyError(path)
    return len(cur) if count else cur


def _read(path):
    return decode(path.read_bytes())


@pytest.mark.parametrize("path", all_samples(), ids=sample_id)
def test_sample_has_a_source(path) -> None:
    src = path.with_suffix(".source").read_text(encoding="utf-8").splitlines()
    assert src and (src[0].startswith("https://github.com/") or src[0].startswith("tests/machines/")), src
    assert len(src) >= 2 and src[1].strip(), "say what the sample is"


@pytest.mark.parametrize("path", all_samples(), ids=sample_id)
def test_sample_is_recognised_as_its_kind(path) -> None:
    kind = KIND_OF_DIR.get(path.parent.name, path.parent.name)
    kinds = recognise(_read(path))
    if kind is None:
        assert kinds == []
    else:
        assert kind in kinds


@pytest.mark.parametrize("path", all_samples(), ids=sample_id)
def test_sample_parses_to_a_valid_snapshot_with_what_it_says(path) -> None:
    facts = facts_from_pastes([(path.name, _read(path))])
    doc = facts.to_dict()
    assert validate(doc) is None
    expected = EXPECT[sample_id(path)]
    got = {k: lookup(doc, k) for k in expected}
    assert got == expected


def test_every_sample_has_expectations() -> None:
    assert sorted(EXPECT) == sorted(sample_id(p) for p in all_samples())


# Samples cut by the person pasting, or with prose around the output, leave lines unread; all the
# others must be read line by line (benchmarks/paste_coverage.py reports the same count).
NOT_FULLY_READ = {"torch-print/linux-cu102-version-print", "unrecognised/ja-reg-query-cp932",
                  "pip-list/linux-grep-torch-rtx5060-2026", "traceback/windows-xformers-built-for-cu121-have-cpu"}


@pytest.mark.parametrize("path", all_samples(), ids=sample_id)
def test_sample_is_read_fully(path) -> None:
    unread = unread_lines(_read(path))
    if sample_id(path) in NOT_FULLY_READ:
        assert unread
    else:
        assert unread == []


def test_samples_cover_every_kind_and_era() -> None:
    kinds = {p.parent.name for p in all_samples()}
    assert {"nvidia-smi", "nvidia-smi-q", "nvidia-smi-L", "nvidia-smi-error", "nvidia-smi-csv", "collect_env", "pip-list", "pip-freeze", "conda-list",
            "nvcc", "proc-driver-version", "torch-print", "tf-devices", "traceback", "pip-error",
            "uv-error"} <= kinds
    smi = [p.read_text(encoding="utf-8") for p in (SAMPLES / "nvidia-smi").glob("*.txt")]
    assert any("KMD Version" in t for t in smi) and any("Driver Version" in t for t in smi)
    assert any("TCC/WDDM" in t for t in smi) and any("Driver-Model" in t for t in smi)
    assert any("MIG devices" in t for t in smi)


def test_coverage_benchmark_counts_what_the_tests_assert() -> None:
    import runpy

    bench = runpy.run_path(str(SAMPLES.parent.parent.parent / "benchmarks" / "paste_coverage.py"))
    result = bench["measure"]()
    assert sum(r["samples"] for r in result.values()) == len(all_samples())
    assert sum(r["fully_read"] for r in result.values()) == len(all_samples()) - len(NOT_FULLY_READ)
    assert result["nvidia-smi"]["missing"]["linux-titan-xp-450.57-2020"] == ["processes"]


def test_all_samples_in_one_paste_read_as_they_do_alone() -> None:
    """No parser swallows the lines of another kind: one chat message often holds several outputs."""
    texts = [_read(p) for p in all_samples()]
    together = "\n\n".join(texts)
    assert set(unread_lines(together)) == {ln for t in texts for ln in unread_lines(t)}
    assert set(recognise(together)) == {k for t in texts for k in recognise(t)}
