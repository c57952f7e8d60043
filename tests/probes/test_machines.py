"""Replaying the recorded machines in tests/machines through the probes and checking the facts."""

from __future__ import annotations

import json

import jsonschema
import pytest
from machines import machine_names, replay_facts

from nktenv.facts import Facts, from_dict, schema


@pytest.fixture(scope="module")
def facts_of():
    cache: dict[str, Facts] = {}

    def get(name: str) -> Facts:
        if name not in cache:
            cache[name] = replay_facts(name)
        return cache[name]

    return get


def test_the_library_has_at_least_fifteen_machines() -> None:
    assert len(machine_names()) >= 15


@pytest.mark.parametrize("name", machine_names())
def test_every_machine_replays_to_a_valid_snapshot(name: str, facts_of) -> None:
    facts = facts_of(name)
    doc = json.loads(json.dumps(facts.to_dict()))
    jsonschema.validate(doc, schema())
    assert from_dict(doc) == facts  # the snapshot round-trips through --facts
    assert "probe_errors" not in facts.extra, facts.extra.get("probe_errors")
    assert facts.captured_at == "2026-11-20T09:00:00Z"  # replay is deterministic


def test_ubuntu_rtx3090_driver535(facts_of) -> None:
    f = facts_of("ubuntu2204-rtx3090-driver535")
    assert (f.os.system, f.os.distro, f.os.arch, f.os.wsl, f.os.container) == ("linux", "Ubuntu 22.04.4 LTS", "x86_64", False, False)
    assert f.os.secure_boot is False and f.os.extra["secure_boot_source"] == "efivars"
    d = f.driver
    assert (d.version, d.cuda_version, d.source, d.userspace_version) == ("535.154.05", "12.2", "nvml", "535.154.05")
    assert (d.kernel_module.version, d.kernel_module.flavor, d.kernel_module.loaded) == ("535.154.05", "proprietary", True)
    assert d.nvidia_uvm_loaded is True and d.nouveau_loaded is False and d.device_nodes is True
    assert any("NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.154.05" in ln for ln in d.kernel_log)
    (gpu,) = f.gpus
    assert (gpu.name, gpu.compute_capability, gpu.memory_total_bytes) == ("NVIDIA GeForce RTX 3090", "8.6", 24 * 1024**3)
    assert gpu.pcie.gen_max == 4 and gpu.extra["source"] == "nvml"
    assert f.python.kind == "venv" and f.python.version == "3.10.12"
    assert f.cuda_toolkits == ()
    assert {(c.source, c.version) for c in f.cudnn} == {("pip", "8.9.2.26"), ("framework", "8.9.2")}
    t = f.frameworks.torch
    assert (t.version, t.cuda, t.cudnn, t.kernel_ok, t.cuda_available) == ("2.3.1+cu121", "12.1", "8.9.2", True, True)
    assert "sm_86" in t.arch_list
    assert f.frameworks.tensorflow is None
    assert f.cpu.model == "AMD Ryzen 9 5900X 12-Core Processor" and f.memory.total_bytes == 128 * 1024**3


def test_windows_lab_box_with_hand_installed_cuda_and_cudnn(facts_of) -> None:
    f = facts_of("win11-rtx4090-cuda118-cudnn89")
    assert (f.os.system, f.os.distro, f.os.release, f.os.arch) == ("windows", "Windows 11", "10.0.22631", "x86_64")
    assert f.driver.version == "546.33" and f.driver.cuda_version == "12.3" and f.driver.kernel_module is None
    (tk,) = f.cuda_toolkits
    assert tk.version == "11.8.0" and tk.source == "version.json"
    assert tk.root == r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v11.8"
    assert tk.nvcc.endswith(r"\bin\nvcc.exe")
    assert set(tk.extra["found_by"]) == {"PATH", "CUDA_PATH", "CUDA_PATH_V11_8", "default"} and tk.extra["on_path"]
    header = [c for c in f.cudnn if c.source == "header"]
    assert header[0].version == "8.9.7" and header[0].location.endswith(r"include\cudnn_version.h")
    lib = [c for c in f.cudnn if c.source == "library"]
    assert lib[0].extra["major"] == 8 and "cudnn_cnn_infer64_8.dll" in lib[0].extra["libraries"]
    w = f.windows
    assert w.long_paths_enabled is False and w.vc_runtime_version == "14.38.33130.00"
    assert "zlibwapi.dll" not in w.dlls_on_path
    assert w.dlls_on_path["cudnn64_8.dll"] == [r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v11.8\bin"]
    assert w.dlls_on_path["nvcuda.dll"] == [r"C:\WINDOWS\system32"]
    tf = f.frameworks.tensorflow
    assert (tf.version, tf.cuda, tf.cudnn, tf.extra["cuda_raw"]) == ("2.10.1", "11.2", "8", "64_112")
    assert "Could not locate zlibwapi.dll" in tf.log and tf.cuda_available is False
    assert f.env["CUDA_PATH_V11_8"].endswith("v11.8")


def test_japanese_windows_cp932_and_non_ascii_user(facts_of) -> None:
    f = facts_of("win11-ja-cp932")
    assert f.os.extra["locale_encoding"] == "cp932"
    assert f.python.executable == "C:\\Users\\藤澤\\AppData\\Local\\Programs\\Python\\Python310\\python.exe"
    assert f.python.kind == "system"
    # reg.exe answered in cp932 that the value does not exist: the default (off) applies.
    assert f.windows.long_paths_enabled is False
    assert f.windows.vc_runtime_version is None and f.windows.extra["vc_runtime_source"] == "file"
    assert f.cuda_toolkits[0].version == "12.1.1"
    assert f.host["hostname"] == "藤澤-PC"


def test_recorded_cp932_bytes_decode_like_the_live_seam() -> None:
    from machines import machine_dir

    from nktenv.probes.seam import ReplaySeam

    seam = ReplaySeam(machine_dir("win11-ja-cp932"))
    res = seam.run(["reg", "query", r"HKLM\SYSTEM\CurrentControlSet\Control\FileSystem", "/v", "LongPathsEnabled"], timeout=5)
    assert res.returncode == 1
    assert res.stderr.startswith("エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。")


def test_wsl2(facts_of) -> None:
    f = facts_of("wsl2-ubuntu-rtx4070")
    assert f.os.wsl is True and f.os.system == "linux"
    assert f.driver.version == "560.94" and f.driver.cuda_version == "12.6"
    assert f.driver.extra["wsl_libcuda"] == "/usr/lib/wsl/lib/libcuda.so.1"
    assert f.driver.device_nodes is True  # /dev/dxg
    assert f.driver.kernel_module is None and f.os.secure_boot is None


def test_macos_arm64(facts_of) -> None:
    f = facts_of("macos-arm64")
    assert (f.os.system, f.os.arch, f.os.distro) == ("darwin", "aarch64", "macOS 14.4.1")
    assert f.driver is None and f.gpus == () and f.cuda_toolkits == () and f.cudnn == ()
    assert f.cpu.model == "Apple M2 Pro"
    assert f.frameworks.torch.is_cuda_build is False


def test_laptop_without_driver_still_shows_the_gpu(facts_of) -> None:
    f = facts_of("laptop-no-driver")
    assert f.driver.version is None and f.driver.kernel_module.loaded is False
    assert f.driver.errors == ("NVML Shared Library Not Found",)
    assert f.driver.extra["nvidia_smi"]["found"] is False
    (gpu,) = f.gpus
    assert "GeForce RTX 3050 Mobile" in gpu.name and gpu.extra["source"] == "lspci"
    # No driver reports the compute capability: it is derived from the PCI id, and marked so.
    assert gpu.compute_capability == "8.6"
    assert gpu.extra["derived_arch"]["source"] == "pci-id" and gpu.extra["derived_arch"]["from"] == "10de:25a2"
    assert "Found no NVIDIA driver" in f.frameworks.torch.log


def test_nouveau_loaded(facts_of) -> None:
    f = facts_of("nouveau-loaded")
    assert f.driver.nouveau_loaded is True and f.driver.kernel_module.loaded is False
    assert "Driver Not Loaded" in f.driver.errors
    assert any(e.startswith("NVIDIA-SMI has failed because it couldn't communicate") for e in f.driver.errors)
    assert f.driver.extra["nvidia_smi"]["returncode"] == 9
    assert any("nouveau 0000:01:00.0: NVIDIA GA104" in ln for ln in f.driver.kernel_log)


def test_nvml_version_mismatch(facts_of) -> None:
    f = facts_of("nvml-version-mismatch")
    d = f.driver
    assert d.extra["nvml"]["error"] == "Driver/library version mismatch"
    assert d.extra["nvml"]["error_name"] == "NVMLError_LibRmVersionMismatch"
    assert d.version == "535.161.07" and d.source == "sysfs"
    assert d.userspace_version == "535.183"  # nvidia-smi's "NVML library version"
    assert d.kernel_module.version == "535.161.07"
    assert any("NVRM: API mismatch: the client has the version 535.183.01" in ln for ln in d.kernel_log)
    assert "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183" in d.errors


def test_hanging_nvidia_smi_is_reported_not_waited_for(facts_of) -> None:
    f = facts_of("nvidia-smi-hangs")
    smi = f.driver.extra["nvidia_smi"]
    assert smi["timed_out"] is True and smi["path"] == "/usr/bin/nvidia-smi"
    assert "nvidia-smi did not answer within 10 s (timed out)" in f.driver.errors
    assert "NVML did not answer within 10 s (timed out)" in f.driver.errors
    assert f.driver.version == "550.54.15"  # still known from /sys
    assert any("GPU has fallen off the bus" in ln for ln in f.driver.kernel_log)


def test_container_without_gpu_access(facts_of) -> None:
    f = facts_of("container-no-gpu")
    assert f.os.container is True and f.os.extra["container_kind"] == "docker"
    assert f.driver.device_nodes is False and f.gpus == ()
    assert f.driver.extra["kernel_log_error"] == "dmesg: read kernel buffer failed: Operation not permitted"
    assert f.env["NVIDIA_VISIBLE_DEVICES"] is None


def test_blackwell_on_the_proprietary_module(facts_of) -> None:
    f = facts_of("blackwell-rtx5090-proprietary")
    d = f.driver
    assert d.kernel_module.flavor == "proprietary" and d.version == "570.133.07"
    assert "No devices were found" in d.errors
    assert any("requires use of the NVIDIA open kernel modules" in ln for ln in d.kernel_log)
    assert any("RmInitAdapter failed" in ln for ln in d.kernel_log)
    assert f.gpus[0].name == "NVIDIA Corporation GB202 [GeForce RTX 5090]" and f.gpus[0].extra["pci_id"] == "10de:2b85"


def test_secure_boot_rejecting_the_module(facts_of) -> None:
    f = facts_of("secure-boot-rejected")
    assert f.os.secure_boot is True
    assert f.driver.extra["module_signature_rejected"] is True
    assert "Loading of unsigned module is rejected" in f.driver.kernel_log[-1]
    assert f.driver.kernel_module.loaded is False


def test_gtx1080ti_with_a_build_that_dropped_pascal(facts_of) -> None:
    f = facts_of("gtx1080ti-torch-cu128")
    assert f.gpus[0].compute_capability == "6.1"
    t = f.frameworks.torch
    assert "sm_61" not in t.arch_list and t.kernel_ok is False
    assert t.extra["kernel_error"].startswith("RuntimeError: CUDA error: no kernel image is available")


def test_kepler_with_old_nvidia_smi_and_no_nvml(facts_of) -> None:
    f = facts_of("kepler-k40-driver470")
    assert f.driver.source == "sysfs" and f.driver.cuda_version == "11.4"
    assert f.driver.extra["nvidia_smi"]["version"] == "470.256.02"
    (gpu,) = f.gpus
    assert gpu.name == "Tesla K40c" and gpu.extra["source"] == "nvidia-smi"
    # nvidia-smi 470 knows no compute_cap; the marketing name gives it (gpu-ids.toml), marked as derived.
    assert gpu.compute_capability == "3.5" and gpu.extra["derived_arch"]["source"] == "name"
    assert gpu.memory_total_bytes == 11441 * 1024 * 1024
    (tk,) = f.cuda_toolkits
    assert (tk.version, tk.source) == ("11.4.152", "nvcc")
    (lib,) = f.cudnn
    assert lib.version == "8.2.4" and lib.extra["origin"] == "LD_LIBRARY_PATH"
    assert f.os.glibc == "2.17"


def test_dual_mixed_gpus_and_cuda_visible_devices(facts_of) -> None:
    f = facts_of("dual-gpu-mixed")
    assert [g.compute_capability for g in f.gpus] == ["8.9", "6.1"]
    assert f.gpus[1].pcie.gen_current == 1 and f.gpus[1].pcie.width_current == 8
    assert f.getenv("CUDA_VISIBLE_DEVICES") == "1"
    assert f.driver.kernel_module.flavor == "open"
    assert f.frameworks.torch.extra["devices"] == ["NVIDIA GeForce GTX 1080 Ti"]


def test_conda_env_with_its_own_cudnn(facts_of) -> None:
    f = facts_of("conda-own-cudnn")
    assert f.python.kind == "conda" and f.python.extra["conda_prefix"] == "/home/tanaka/miniconda3/envs/tf"
    by = {(c.source, c.extra["origin"]): c.version for c in f.cudnn}
    assert by[("library", "LD_LIBRARY_PATH")] in ("8.6.0", "8.2.1")
    libs = [c for c in f.cudnn if c.source == "library"]
    # LD_LIBRARY_PATH order is kept: CUDA 11.8's copy first, then the conda env's.
    assert [c.location for c in libs] == ["/usr/local/cuda-11.8/lib64", "/home/tanaka/miniconda3/envs/tf/lib"]
    assert by[("conda", "conda")] == "8.2.1.32"
    assert by[("header", "conda")] == "8.2.1" and by[("header", "toolkit")] == "8.6.0"
    tf = f.frameworks.tensorflow
    assert "Loaded runtime CuDNN library: 8.2.1 but source was compiled with: 8.6.0" in tf.log


def test_cudnn9_split_libraries_listed(facts_of) -> None:
    f = facts_of("cudnn9-sublibrary-missing")
    (lib,) = [c for c in f.cudnn if c.source == "library"]
    assert lib.version == "9.3.0" and lib.extra["major"] == 9
    assert "libcudnn_graph.so.9" in lib.extra["libraries"]
    assert "libcudnn_engines_precompiled.so.9" not in lib.extra["libraries"]


def test_store_python_and_an_old_cudnn_on_path(facts_of) -> None:
    f = facts_of("win10-store-python-tf215")
    assert f.python.kind == "store"
    assert f.windows.dlls_on_path["cudnn64_8.dll"] == [r"C:\tools\cudnn-8.1\bin"]
    assert f.windows.vc_runtime_version is None and f.windows.extra["vc_runtime_dll"] is None
    assert f.frameworks.tensorflow.package == "tensorflow" and f.frameworks.tensorflow.is_cuda_build is False


def test_overrides_replace_probed_facts_and_say_so() -> None:
    f = replay_facts("laptop-no-driver", frameworks=False, overrides={
        "NKTENV_OVERRIDE_DRIVER": "550.144.03", "NKTENV_OVERRIDE_CUDA_DRIVER": "12.4",
        "NKTENV_OVERRIDE_GPUS": "NVIDIA GeForce RTX 4090:8.9,NVIDIA GeForce GTX 1080 Ti:6.1"})
    assert (f.driver.version, f.driver.cuda_version, f.driver.source) == ("550.144.03", "12.4", "override")
    assert f.driver.extra["overrides"]["version"] == "550.144.03"
    assert [(g.name, g.compute_capability, g.extra["source"]) for g in f.gpus] == [
        ("NVIDIA GeForce RTX 4090", "8.9", "override"), ("NVIDIA GeForce GTX 1080 Ti", "6.1", "override")]
    assert f.env["NKTENV_OVERRIDE_DRIVER"] == "550.144.03"
    none = replay_facts("ubuntu2204-rtx3090-driver535", frameworks=False, overrides={"NKTENV_OVERRIDE_GPUS": ""})
    assert none.gpus == () and none.driver.version == "535.154.05"


def test_override_creates_a_driver_where_there_was_none() -> None:
    f = replay_facts("macos-arm64", frameworks=False, overrides={"NKTENV_OVERRIDE_CUDA_DRIVER": "12.4"})
    assert f.driver.cuda_version == "12.4" and f.driver.source == "override" and f.driver.version is None


def test_without_frameworks_nothing_is_imported(facts_of) -> None:
    f = replay_facts("ubuntu2204-rtx3090-driver535", frameworks=False)
    assert f.frameworks is None
    assert [c.source for c in f.cudnn] == ["pip"]  # the framework-reported copy needs the framework probe


def test_a_probe_that_breaks_becomes_probe_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from nktenv.probes import cudnn as cudnn_probe

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise KeyError("CUDNN_MAJOR")

    monkeypatch.setattr(cudnn_probe, "probe_cudnn", broken)
    f = replay_facts("conda-own-cudnn", frameworks=False)
    assert f.extra["probe_errors"] == {"cudnn": "KeyError: 'CUDNN_MAJOR'"}
    assert f.cudnn == () and f.driver.version == "535.154.05"  # the other probes still ran


def test_resolve_interpreter_finds_a_windows_venv_layout(tmp_path) -> None:  # noqa: ANN001
    from nktenv.errors import NktenvError
    from nktenv.probes import resolve_interpreter

    venv = tmp_path / "venv 藤澤"
    (venv / "Scripts").mkdir(parents=True)
    (venv / "Scripts" / "python.exe").write_bytes(b"")
    assert resolve_interpreter(None, venv) == str(venv / "Scripts" / "python.exe")
    assert resolve_interpreter(None, None) is None
    with pytest.raises(NktenvError) as info:
        resolve_interpreter(tmp_path / "python", None)
    assert info.value.code == "interpreter-not-found" and int(info.value.exit_code) == 3


def test_kernel_log_from_the_journal_when_dmesg_is_denied(tmp_path) -> None:  # noqa: ANN001
    import shutil

    from machines import machine_dir

    from nktenv.probes import detect
    from nktenv.probes.seam import ReplaySeam

    copy = tmp_path / "m"
    shutil.copytree(machine_dir("secure-boot-rejected"), copy)
    index = json.loads((copy / "machine.json").read_text(encoding="utf-8"))
    for entry in index["commands"]:
        if entry["argv"] == ["dmesg"]:
            journal = entry["stdout"].replace("[   12.", "Nov 20 09:00:12 lab-ws05 kernel: [   12.")
            entry.update(stdout="", returncode=1, stderr="dmesg: read kernel buffer failed: Operation not permitted\n")
    index["commands"].append({"argv": ["journalctl", "-k", "-b", "--no-pager", "-q", "-n", "5000"], "returncode": 0,
                              "stdout": journal, "stderr": "", "timed_out": False})
    index["which"]["journalctl"] = "/usr/bin/journalctl"
    (copy / "machine.json").write_text(json.dumps(index), encoding="utf-8")
    f = detect(ReplaySeam(copy), frameworks=False)
    assert f.driver.extra["kernel_log_error"] is None
    assert f.driver.extra["module_signature_rejected"] is True
    assert "lab-ws05 kernel: [   12.401299] Loading of unsigned module is rejected" in f.driver.kernel_log[-1]
