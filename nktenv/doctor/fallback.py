"""What doctor says when the rules cannot: blocks the snapshot lacks, and errors no rule explains.

Both run after every rule, over the findings the rules gave.
"""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor.context import Ctx, finding
from nktenv.findings import Finding
from nktenv.i18n import N_, _

# Which facts each code reads beyond the texts (the texts alone can still trigger most of them).
NEEDS: dict[str, tuple[str, ...]] = {
    "driver_not_installed": ("driver", "gpus"), "nouveau_loaded": ("driver",), "secure_boot_module_rejected": ("driver",),
    "blackwell_needs_open_kernel_module": ("driver", "gpus"), "nvml_version_mismatch": ("driver",),
    "nvidia_smi_userspace_stale": ("driver",), "nvidia_uvm_stale": ("driver",), "driver_too_old": ("driver", "frameworks"),
    "gpu_legacy_driver_cap": ("gpus", "driver"), "container_without_gpu": ("driver",), "wsl_libcuda_not_found": ("driver", "frameworks"),
    "wsl_linux_driver_installed": ("driver",), "probe_timeout": ("driver",), "cuda_visible_devices_hidden": ("env", "gpus"),
    "cpu_only_wheel": ("frameworks", "gpus"), "torchvision_mismatch": ("frameworks",), "extension_abi_mismatch": ("frameworks",),
    "arch_unsupported": ("gpus", "frameworks"), "arch_too_old": ("gpus", "frameworks"),
    "tf_ptx_jit_unsupported_arch": ("gpus", "frameworks"), "tf_windows_native_gpu_unsupported": ("frameworks",),
    "tf_without_and_cuda": ("frameworks",), "tf_and_cuda_libs_not_found": ("frameworks",),
    "cudnn_mismatch": ("frameworks",), "cudnn9_not_found": ("frameworks",), "cuda_pip_libs_mixed": ("env", "frameworks"),
    "cudnn_shadowed_by_ld_library_path": ("env",), "cudnn_shadowed_by_conda_lib": ("env", "python"),
    "cudnn_shadowed_by_path_windows": ("windows",), "conda_pip_cuda_mix": ("python", "frameworks"),
    "gpu_memory_held_by_other_process": ("gpus",), "gpu_compute_mode_restricted": ("gpus",),
    "windows_store_python": ("python",), "windows_long_paths_disabled": ("windows",), "windows_dll_search_path": ("windows",),
    "vc_redist_missing": ("windows",), "zlibwapi_missing": ("windows",), "python_version_unsupported": ("python",),
    "gpu_check_failed": ("frameworks", "driver"), "gpu_init_failed_bios": ("driver",),
    "cuda_libs_missing": ("frameworks",), "cuda_toolkit_version_mismatch": ("frameworks", "driver"),
    "cudnn9_sublibrary_missing": ("frameworks",), "tensorflow_gpu_package_removed": ("frameworks",),
    "tf_and_cuda_on_windows": ("frameworks",),
    "fabric_manager_not_running": ("gpus",), "cuda_forward_compat_unsupported": ("gpus", "frameworks"),
    "container_lost_gpu": (), "wsl_container_toolkit_outdated": ("driver",), "gpu_hardware_errors": (),
    "cudnn8_not_found": ("frameworks",), "cuda_lib_shadowed": ("env", "frameworks"),
    "rocm_arch_not_in_build": ("gpus", "frameworks", "env"), "rocm_override_mismatch": ("env", "gpus", "frameworks"),
    "rocm_device_access_denied": (), "rocm_on_windows": ("frameworks",),
}
for _code in ("cudnn_shadowed_by_ld_library_path", "cudnn_shadowed_by_conda_lib", "cudnn_shadowed_by_path_windows",
              "zlibwapi_missing", "windows_dll_search_path"):
    NEEDS[_code] = NEEDS[_code] + ("frameworks",)  # which copy is wrong depends on what the framework wants

# Block -> what to paste (or run) to fill it.
FILL = {
    "driver": "nvidia-smi",
    "gpus": "nvidia-smi -q",
    "frameworks": "python -m torch.utils.collect_env ; pip list",
    "python": "python -m torch.utils.collect_env",
    "env": "env | grep -E 'CUDA|NVIDIA|LD_LIBRARY_PATH|CONDA' (Windows: Get-ChildItem Env:)",
    "windows": "nktenv detect --json",
}


def facts_incomplete(ctx: Ctx, findings: list[Finding]) -> Iterable[Finding]:
    # Windows facts only matter on Windows; cpu, memory and host decide nothing here.
    unknown = [b for b in ctx.unknown if b not in ("cpu", "memory", "host") and (b != "windows" or ctx.native_windows)]
    if not unknown:
        return
    fired = {f.code for f in findings}
    unchecked = sorted(c for c, needs in NEEDS.items() if c not in fired and any(b in unknown for b in needs))
    if not unchecked:
        return
    ev = [ctx.not_known(b) for b in unknown]
    asks = list(dict.fromkeys(a.strip() for b in unknown if b in FILL for a in FILL[b].split(" ; ")))
    yield finding(
        "facts_incomplete",
        "info",
        _("The snapshot does not say: {blocks}; {count} checks could only use the texts").format(
            blocks=", ".join(unknown), count=len(unchecked)),
        evidence=ev,
        fix=_("Run nktenv detect --json on that machine, or paste the output of: {commands}").format(commands=" ; ".join(asks))
        if asks else _("Run nktenv detect --json on that machine."),
        why=_("Unknown is not absent: without these facts doctor neither assumes they are missing nor rules them out."),
        unknown=unknown,
        unchecked=unchecked,
    )


# Families of error lines: (pattern, what it usually means, where to look). Order: most specific first.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    (r"undefined symbol|procedure could not be found|Symbol not found",
     N_("A compiled library or extension was built against other versions of the libraries it loads."),
     N_("Find the package that owns the file named in the message (pip show -f <package>) and reinstall it for the installed torch/CUDA.")),
    (r"cannot open shared object file|DLL load failed|Could not (?:load|find) (?:dynamic )?(?:library|module)|image not found",
     N_("A shared library (.so / .dll) is not on the loader's search path, or one of its dependencies is missing."),
     N_("ldd <the library> (Windows: the Dependencies tool) shows which file is missing; check LD_LIBRARY_PATH / PATH.")),
    (r"out of memory|OutOfMemoryError|OUT_OF_MEMORY|RESOURCE_EXHAUSTED",
     N_("The GPU (or host) ran out of memory."),
     N_("nvidia-smi shows who holds the memory; reduce the batch size or free the GPU.")),
    (r"CUDA error|CUDA_ERROR_\w+|cudaError\w+|cuDNN error|CUBLAS_STATUS_\w+|NCCL error|illegal memory access",
     N_("A CUDA call failed on the GPU; CUDA reports such errors late, often at a later call."),
     N_("Rerun with CUDA_LAUNCH_BLOCKING=1 to get the real failing line, and check sudo dmesg | grep -i -e NVRM -e Xid.")),
    (r"No matching distribution found|Could not find a version that satisfies|ResolutionImpossible|No solution found when resolving|"
     r"unsatisfiable|conflicting dependencies",
     N_("The installer found no release of a package for this Python, platform or set of pins."),
     N_("The package's release files on pypi.org list the Pythons and platforms it has wheels for; loosen the pins or change the Python.")),
    (r"Temporary failure in name resolution|Name or service not known|Failed to establish a new connection|"
     r"dns error|Connection (?:timed out|refused|reset)|SSL: CERTIFICATE_VERIFY_FAILED|ProxyError",
     N_("The installer could not reach the package index (network, DNS, proxy or certificate)."),
     N_("Check the proxy variables (HTTPS_PROXY) and the university's certificate (pip --cert / UV_NATIVE_TLS=1), then retry.")),
    (r"ModuleNotFoundError|No module named|ImportError",
     N_("A module is not installed in the interpreter that ran the program, or its import failed."),
     N_("Check which interpreter ran it (python -c \"import sys; print(sys.executable)\") and python -m pip list there.")),
    (r"Permission denied|Access is denied|EACCES|Operation not permitted",
     N_("The program was not allowed to read, write or open a file or device."),
     N_("Check the owner and mode of the path in the message (ls -l); for /dev/nvidia* the user must be allowed to use the GPU.")),
)
# One error line per text: the last line of a traceback, pip's/uv's "error:", a framework's "E ..." line.
ERROR_LINE = re.compile(
    r"^(?:[\w.]+\.)?\w*(?:Error|Exception|Failure)\b:?\s|^(?:ERROR|error|FATAL|Fatal error)\b:?|"
    r"CUDA out of memory|^\s*[EF]\d{4} [\d:. ]+\s+\d+ [\w./]+:\d+\]|^\s*\d{4}-\d\d-\d\d [\d:.]+: [EF] |CUDA error:|^\s*×\s"
)
# Lines that look like errors but are not failures of this machine.
_NOT_ERRORS = re.compile(
    r"Unable to register (?:cuDNN|cuFFT|cuBLAS) factory|Attempting to register factory for plugin|"
    r"computation placer already registered|ERROR: pip's dependency resolver does not currently take into account|"
    r"^error: subprocess-exited-with-error$|^\s*×\s*(?:Encountered error while|python setup\.py)"
)


def unexplained_error(ctx: Ctx, findings: list[Finding]) -> Iterable[Finding]:
    quoted = {e for f in findings for e in f.evidence}
    quoted_text = "\n".join(quoted)
    by_family: dict[int, list[str]] = {}
    seen: set[str] = set()
    for line in ctx.lines:
        if not line.source.startswith(("log:", "torch.error", "tensorflow.error")):
            continue
        text = line.text
        if text in seen or not ERROR_LINE.search(text) or _NOT_ERRORS.search(text):
            continue
        seen.add(text)
        if text in quoted or text in quoted_text:
            continue
        family = next((i for i, (rx, _m, _w) in enumerate(FAMILIES) if re.search(rx, text, re.IGNORECASE)), len(FAMILIES))
        by_family.setdefault(family, []).append(text)
    explained = any(f.severity in ("error", "warning") for f in findings)
    for family, lines in sorted(by_family.items()):
        if family < len(FAMILIES):
            _rx, means, where = FAMILIES[family]
            means, where = _(means), _(where)
        else:
            means = _("No nktenv rule knows this message.")
            where = _("Read the lines just above it in the full log, and search the issue tracker of the package named in it.")
        yield finding(
            "unexplained_error",
            # Beside findings that explain the failure, an extra error line is context, not a new problem.
            "info" if explained else "warning",
            _("An error no rule explains: {line}").format(line=lines[0][:120]),
            evidence=lines[:4],
            fix=_("Where to look: {where}").format(where=where),
            why=_("What it usually means: {means}").format(means=means),
        )
