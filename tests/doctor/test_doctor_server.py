"""Server-room, container and library-copy breakages, and the verdict line held against its evidence.

Texts are the tools' own words as the public reports under tests/doctor/reports/ quote them.
"""

from __future__ import annotations

from typing import Any

import pytest

from nktenv.doctor import diagnose, summary
from nktenv.doctor.server import xid_table
from nktenv.facts import from_dict
from tests.doctor.builders import by_code, healthy_linux, merge, run

E802 = ("UserWarning: CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions before "
        "calling NumCudaDevices() that might have already set an error? Error 802: system not yet initialized "
        "(Triggered internally at  ../c10/cuda/CUDAFunctions.cpp:112.)")
E804 = ("RuntimeError: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions before calling "
        "NumCudaDevices() that might have already set an error? Error 804: forward compatibility was attempted on non supported HW")
NVML_LOST = "Failed to initialize NVML: Unknown Error"
WSL_500 = ("2024-05-27 18:05:31.089452: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:282] failed call to cuInit: "
           "CUDA_ERROR_NOT_FOUND: named symbol not found")
ECC = "RuntimeError: CUDA error: uncorrectable ECC error encountered"
XID94 = "NVRM: Xid (PCI:0000:9b:00): 94, pid=1234, name=python3, Contained ECC error"
XID13 = ("[Fri Aug 30 11:43:09 2024] NVRM: Xid (PCI:0000:cb:00): 13, pid='<unknown>', name=<unknown>, Graphics SM Warp "
         "Exception on (GPC 7, TPC 7, SM 0): Illegal Instruction Parameter")
CUDNN8 = ("Could not load library libcudnn_ops_infer.so.8. Error: libcudnn_ops_infer.so.8: cannot open shared object file: "
          "No such file or directory")
CUPTI = ("ImportError: /home/lab/venv/lib/python3.10/site-packages/torch/lib/libtorch_cpu.so: undefined symbol: "
         "cuptiActivityEnableDriverApi, version libcupti.so.12")
H100 = [{"index": i, "vendor": "nvidia", "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"} for i in range(2)]
TORCH_FAILS = {"cuda_available": False, "device_count": 0, "kernel_ok": None}


def log(text: str, source: str = "run.txt") -> list[dict[str, str]]:
    return [{"text": text, "source": source}]


# (id, base, patch, code, severity, fix contains, evidence contains): the shape of test_doctor_codes.CASES.
CASES: list[tuple[str, str, dict[str, Any], str, str, str, str]] = [
    ("fabric_manager_not_running-h100", "linux",
     {"gpus": H100, "frameworks": {"torch": TORCH_FAILS}, "logs": log(E802)},
     "fabric_manager_not_running", "error", "sudo apt install nvidia-fabricmanager-550", "Error 802: system not yet initialized"),
    ("cuda_forward_compat_unsupported-rtx3090", "linux",
     {"driver": {"version": "525.147.05", "cuda_version": "12.0"}, "frameworks": {"torch": TORCH_FAILS}, "logs": log(E804)},
     "cuda_forward_compat_unsupported", "error", "or use an image or build for CUDA 12.0 or older",
     "GPU NVIDIA GeForce RTX 3090: not a data-center GPU, forward compatibility is not supported"),
    ("container_lost_gpu", "linux",
     {"os": {"container": True}, "logs": log(NVML_LOST, "nvidia-smi.txt")},
     "container_lost_gpu", "error", "sudo nvidia-ctk system create-dev-char-symlinks --create-all", NVML_LOST),
    ("wsl_container_toolkit_outdated", "linux",
     {"os": {"wsl": True, "wsl_version": 2, "container": True}, "driver": {"version": "560.94", "cuda_version": "12.6"},
      "logs": log(WSL_500)},
     "wsl_container_toolkit_outdated", "error", "1.14.4, 1.15.0 or newer", "Windows driver 560.94 (555 or newer adds libnvdxgdmal.so.1)"),
    ("gpu_hardware_errors-ecc", "linux", {"logs": log(ECC + "\n" + XID94, "dmesg.txt")},
     "gpu_hardware_errors", "error", "nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER", "Xid 94: Contained ECC error (NVIDIA's Xid catalog)"),
    ("cudnn8_not_found-ctranslate2", "linux",
     {"python": {"packages": {"ctranslate2": "4.4.0", "faster-whisper": "1.0.3"}}, "logs": log(CUDNN8)},
     "cudnn8_not_found", "error", 'install -U "ctranslate2>=4.5.0"', "cuDNN 9.1.0 at torch:2.5.1+cu124"),
    ("cuda_lib_shadowed-cupti", "linux",
     {"frameworks": {"torch": {"error": CUPTI, "cuda_available": None, "kernel_ok": None}},
      "env": {"LD_LIBRARY_PATH": "/usr/local/cuda-12.4/lib64"}},
     "cuda_lib_shadowed", "error", "Take /usr/local/cuda-12.4/lib64 off the library path", CUPTI),
]


def _doc(patch: dict[str, Any]) -> dict[str, Any]:
    return merge(healthy_linux(), patch)


@pytest.mark.parametrize(("patch", "code", "severity", "fix", "evidence"), [c[2:] for c in CASES], ids=[c[0] for c in CASES])
def test_code(patch: dict[str, Any], code: str, severity: str, fix: str, evidence: str) -> None:
    found = by_code(run(_doc(patch)))
    assert code in found, sorted(found)
    f = found[code]
    assert f.severity == severity
    assert fix in (f.fix or ""), f.fix
    assert any(evidence in e for e in f.evidence), f.evidence
    assert f.title and f.why


# --- each rule stays quiet where its cause is not shown -------------------------------------------------------


def test_fabric_manager_names_the_nvswitch_board_and_a_mismatched_version() -> None:
    f = by_code(run(_doc({"gpus": H100, "driver": {"fabricmanager": {"version": "550.54.14"}, "version": "550.90.07"},
                          "logs": log(E802)})))["fabric_manager_not_running"]
    assert "GPU NVIDIA H100 80GB HBM3: an NVSwitch (HGX/DGX) board" in f.evidence
    assert "nvidia-fabricmanager 550.54.14 beside driver 550.90.07: the versions must be equal" in f.evidence
    assert f.data["nvswitch"] is True


def test_forward_compat_upgrade_names_the_native_floor_not_the_minor_version_floor() -> None:
    from nktenv.manifest import driver_floor, load

    native, mvc = driver_floor("12.4", "linux", mvc=False, manifests=load()), driver_floor("12.4", "linux", manifests=load())
    assert native and mvc and native != mvc
    f = by_code(run(_doc({"driver": {"version": "525.147.05", "cuda_version": "12.0"}, "logs": log(E804)})))[
        "cuda_forward_compat_unsupported"]
    assert f"upgrade the host driver to {native} or newer (this one is 525.147.05)" in f.fix


def test_forward_compat_takes_the_compat_folder_off_the_library_path() -> None:
    f = by_code(run(_doc({"env": {"LD_LIBRARY_PATH": "/usr/local/cuda/compat/lib:/usr/local/nvidia/lib64"}, "logs": log(E804)})))[
        "cuda_forward_compat_unsupported"]
    assert 'export LD_LIBRARY_PATH="/usr/local/nvidia/lib64"' in f.fix


def test_802_and_804_are_told_apart() -> None:
    assert "cuda_forward_compat_unsupported" not in by_code(run(_doc({"logs": log(E802)})))
    assert "fabric_manager_not_running" not in by_code(run(_doc({"logs": log(E804)})))


def test_nvml_unknown_error_on_the_host_is_not_a_container_that_lost_its_gpu() -> None:
    assert "container_lost_gpu" not in by_code(run(_doc({"os": {"container": False}, "logs": log(NVML_LOST)})))
    # A paste (container unknown) that says where it ran.
    pasted = _doc({"os": {"container": None}, "logs": log("root@098b49afe624:/# nvidia-smi\n" + NVML_LOST)})
    assert "container_lost_gpu" in by_code(run(pasted))
    assert "container_lost_gpu" not in by_code(run(_doc({"os": {"container": None}, "logs": log(NVML_LOST)})))


def test_named_symbol_not_found_outside_wsl_is_not_the_wsl_toolkit() -> None:
    assert "wsl_container_toolkit_outdated" not in by_code(run(_doc({"os": {"container": True}, "logs": log(WSL_500)})))
    assert "wsl_container_toolkit_outdated" not in by_code(run(_doc({"os": {"wsl": True}, "logs": log(WSL_500)})))


def test_xid_79_stays_with_the_bus_rule_and_an_application_xid_is_a_warning() -> None:
    bus = by_code(run(_doc({"logs": log("NVRM: Xid (PCI:0000:44:00): 79, GPU has fallen off the bus", "dmesg.txt")})))
    assert "gpu_init_failed_bios" in bus and "gpu_hardware_errors" not in bus
    app = by_code(run(_doc({"logs": log(XID13, "dmesg.txt")})))["gpu_hardware_errors"]
    assert app.severity == "warning" and app.data["kind"] == "app" and "CUDA_LAUNCH_BLOCKING=1" in app.fix
    assert "gpu_hardware_errors" not in by_code(run(healthy_linux()))


def test_xid_table_is_data_with_a_source_beside_every_entry() -> None:
    table = xid_table()
    assert {13, 31, 43, 45, 48, 63, 64, 74, 79, 92, 94, 95} <= set(table)
    for code, entry in table.items():
        assert entry["kind"] in ("app", "driver", "reset", "hardware", "info"), code
        assert entry["name"] and "Xid" in entry["source"], code
    assert table[48]["kind"] == "reset" and table[79]["kind"] == "hardware" and table[13]["kind"] == "app"


def test_cudnn8_is_not_claimed_for_a_found_dll_whose_dependency_is_missing() -> None:
    doc = _doc({"logs": log("Could not load library cudnn_cnn_infer64_8.dll. Error code 193\n"
                            "Please make sure cudnn_cnn_infer64_8.dll is in your library path!")})
    assert "cudnn8_not_found" not in by_code(run(doc))


def test_cudnn8_fix_without_a_known_application_offers_both_ways() -> None:
    f = by_code(run(_doc({"logs": log(CUDNN8)})))["cudnn8_not_found"]
    assert 'install "nvidia-cudnn-cu12<9"' in f.fix and "ctranslate2 4.5.0 or newer" in f.fix
    assert f.title == "The application needs cuDNN 8, which is not installed (only cuDNN 9 is)"


def _loaded(path: str, version: str = "12.4.127") -> dict[str, Any]:
    return {"frameworks": {"torch": {"cuda_available": True, "kernel_ok": False,
                                     "packages": {"torch": "2.5.1+cu124", "nvidia-cublas-cu12": version},
                                     "loaded_libraries": {"libcublas.so.12": path}}}}


def test_the_copy_the_process_loaded_counts_newer_or_older() -> None:
    newer = by_code(run(_doc(_loaded("/usr/local/cuda-12.8/lib64/libcublas.so.12.8.4.1"))))["cuda_lib_shadowed"]
    assert any("(newer than the wheel's 12.4.127)" in e for e in newer.evidence), newer.evidence
    older = by_code(run(_doc(_loaded("/usr/local/cuda-12.1/lib64/libcublas.so.12.1.3.1"))))["cuda_lib_shadowed"]
    assert any("(older than the wheel's 12.4.127)" in e for e in older.evidence)
    assert "Take /usr/local/cuda-12.1/lib64 off the library path" in older.fix
    wheel = "/home/lab/venv/lib/python3.10/site-packages/nvidia/cublas/lib/libcublas.so.12"
    assert "cuda_lib_shadowed" not in by_code(run(_doc(_loaded(wheel))))


def test_a_foreign_copy_of_a_working_framework_is_not_reported() -> None:
    doc = _doc(_loaded("/usr/local/cuda-12.8/lib64/libcublas.so.12.8.4.1"))
    doc["frameworks"]["torch"]["kernel_ok"] = True
    assert "cuda_lib_shadowed" not in by_code(run(doc))


# --- the verdict line against snapshots where each sentence would be wrong ------------------------------------


def verdict(doc: dict[str, Any]) -> str:
    facts = from_dict(doc)
    return summary(facts, diagnose(facts))


UNKNOWN = "Fatal error in launcher: Unable to create process using '\"C:\\Python\\python.exe\"'"


def test_an_unexplained_error_makes_the_verdict_not_ready_and_quotes_it() -> None:
    doc = _doc({"frameworks": {"torch": {"kernel_ok": None}}, "logs": log("RuntimeError: NCCL communicator was aborted on rank 3.")})
    text = verdict(doc)
    assert text.startswith("Not ready: an error nktenv does not recognise: \u201cRuntimeError: NCCL communicator was aborted on rank 3.\u201d")
    assert "All good" not in text and "What it usually means" in text and "Where to look" in text


def test_all_good_needs_a_passed_check_or_no_failing_evidence() -> None:
    assert verdict(healthy_linux()).startswith("All good.")
    # GPU listed, no check ran, and the evidence holds an error a warning already explains: not confirmed.
    doc = _doc({"frameworks": {"torch": {"kernel_ok": None}}, "logs": log(XID13 + "\nRuntimeError: the run stopped", "dmesg.txt")})
    text = verdict(doc)
    assert text.startswith("Not confirmed: PyTorch lists the GPU, but the evidence holds an error"), text
    doc["frameworks"]["torch"]["kernel_ok"] = True
    assert verdict(doc).startswith("Working, with 1 warning(s).")


def test_ready_is_never_said_beside_error_802_or_804() -> None:
    for line in (E802, E804):
        text = verdict(_doc({"frameworks": {"torch": None}, "logs": log(line)}))
        assert "ready" not in text.lower().replace("not ready", ""), text
        assert text.startswith("1 problem(s) keep the GPU stack from working")


def test_no_framework_is_ready_only_with_a_driver_that_answers() -> None:
    base = {"frameworks": {"torch": None, "tensorflow": None}}
    assert "is ready" in verdict(_doc(base))
    lspci_only = _doc({**base, "driver": {"version": None, "cuda_version": None, "kernel_module": None, "source": None}})
    assert "is ready" not in verdict(lspci_only)
    unknown = _doc({"frameworks": None})
    assert "is ready" not in verdict(unknown)


def test_a_loaded_kernel_module_is_a_driver() -> None:
    doc = _doc({"gpus": [], "driver": {"version": None, "cuda_version": None, "source": None, "userspace_version": None},
                "frameworks": {"torch": None}})
    text = verdict(doc)
    assert "No NVIDIA GPU or driver found" not in text
    assert "the nvidia kernel module is loaded" in text


@pytest.mark.parametrize("sign", ["nvml", "smi", "torch"])
def test_any_sign_of_a_driver_rules_out_no_driver(sign: str) -> None:
    doc = _doc({"gpus": [], "frameworks": {"torch": None}})
    doc["driver"] = {"source": "nvml", "kernel_module": {"loaded": None}, "errors": [], "kernel_log": []}
    if sign == "nvml":
        doc["driver"]["nvml"] = {"available": True, "error": None}
    elif sign == "smi":
        doc["driver"]["nvidia_smi"] = {"found": True, "gpu_count": 2}
    else:
        doc["frameworks"]["torch"] = {"version": "2.5.1+cu124", "cuda": "12.4", "is_cuda_build": True, "cuda_available": True,
                                      "device_count": 1, "kernel_ok": None}
    text = verdict(doc)
    assert "No NVIDIA GPU or driver found" not in text and "does not say whether" not in text, text


def test_no_driver_is_said_when_the_probes_looked_and_found_none() -> None:
    doc = _doc({"gpus": [], "frameworks": {"torch": None}})
    doc["driver"] = {"source": None, "kernel_module": {"loaded": False}, "errors": ["NVML Shared Library Not Found"],
                     "kernel_log": [], "nouveau_loaded": False}
    assert verdict(doc).startswith("No NVIDIA GPU or driver found")


def test_not_confirmed_without_framework_when_an_error_is_only_context() -> None:
    doc = _doc({"frameworks": {"torch": None}, "logs": log(XID13 + "\nRuntimeError: the run stopped", "dmesg.txt")})
    text = verdict(doc)
    assert text.startswith("Not confirmed: no rule found a problem, but the evidence holds an error"), text
    assert UNKNOWN not in text


NEW_CODES = ("fabric_manager_not_running", "cuda_forward_compat_unsupported", "container_lost_gpu", "wsl_container_toolkit_outdated",
             "gpu_hardware_errors", "cudnn8_not_found", "cuda_lib_shadowed")


def test_each_new_code_has_a_real_report_that_shows_it_and_one_that_does_not() -> None:
    from tests.doctor.reports import counts

    n = counts()
    for code in NEW_CODES:
        pos, neg = n.get(code, (0, 0))
        assert pos >= 1 and neg >= 1, (code, pos, neg)


def test_an_unrecognised_error_is_not_ok_for_the_exit_code() -> None:
    from nktenv.doctor import ok

    doc = _doc({"frameworks": {"torch": {"kernel_ok": None}}, "logs": log("RuntimeError: NCCL communicator was aborted on rank 3.")})
    findings = diagnose(from_dict(doc))
    assert [f.severity for f in findings if f.code == "unexplained_error"] == ["warning"]
    assert not ok(findings)
    assert ok(diagnose(from_dict(healthy_linux())))


def test_802_without_an_nvswitch_board_does_not_send_the_user_to_the_fabric_manager() -> None:
    f = by_code(run(_doc({"logs": log(E802)})))["fabric_manager_not_running"]
    assert "nvidia-smi topo -m" in f.fix and "apt install nvidia-fabricmanager" not in f.fix
    assert "no GPU here is an NVSwitch (HGX/DGX) board: NVIDIA GeForce RTX 3090" in f.evidence
    assert f.data["nvswitch"] is False


def test_a_failing_library_outside_the_wheels_names_its_folder() -> None:
    line = ("python: relocation error: /usr/local/cuda-11.1/lib64/libcublas.so: symbol runGemmShortApi, version "
            "libcublasLt.so.11 not defined in file libcublasLt.so.11 with link time reference")
    f = by_code(run(_doc({"logs": log(line)})))["cuda_lib_shadowed"]
    assert f.data["folders"] == ["/usr/local/cuda-11.1/lib64"] and f.data["libraries"] == ["libcublasLt.so.11"]


def test_a_failed_gpu_check_is_never_all_good() -> None:
    # The framework lists the GPU but its check failed, on a snapshot that names no driver (so no rule can blame one).
    from nktenv.doctor import ok
    from nktenv.doctor.verdict import render
    from nktenv.doctor.context import Ctx

    doc = _doc({"gpus": [], "driver": None, "frameworks": {"torch": {"kernel_ok": False}}})
    facts = from_dict(doc)
    findings = diagnose(facts)
    assert "gpu_check_failed" in {f.code for f in findings} and not ok(findings)
    assert verdict(doc).startswith("1 problem(s) keep the GPU stack from working: gpu_check_failed")
    # Even with no finding at all, the verdict does not call a failed check ready.
    assert render(Ctx(facts), []) == "Not ready: torch's GPU matmul/convolution check failed."
