"""Diagnosis: pure rules over a facts snapshot.

`diagnose(facts, manifests)` runs every rule in `RULES` (each a small function `Ctx -> Iterable[Finding]`,
grouped by topic in this package) and returns the findings, errors first. `summary(facts, findings)`
is the one-paragraph verdict. No rule reads the machine, the environment or the clock; version facts
come only from the manifests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from nktenv.doctor import arch, companions, cudnn, driver, fallback, gpu, host, libs, paths, python, rocm, server, tf, windows
from nktenv.doctor.context import Ctx
from nktenv.facts import Facts
from nktenv.findings import SEVERITIES, Finding

if TYPE_CHECKING:  # pragma: no cover
    from nktenv.manifest import Manifests

Rule = Callable[[Ctx], Iterable[Finding]]

# Order matters only for display within one severity: machine first, then libraries, then frameworks.
RULES: tuple[Rule, ...] = (
    host.probe_timeout,
    host.container_without_gpu,
    host.docker_gpu_runtime_missing,
    host.nouveau_loaded,
    host.secure_boot_module_rejected,
    host.gpu_init_failed_bios,
    server.fabric_manager_not_running,
    server.cuda_forward_compat_unsupported,
    server.container_lost_gpu,
    server.wsl_container_toolkit_outdated,
    server.gpu_hardware_errors,
    driver.driver_not_installed,
    driver.blackwell_needs_open_kernel_module,
    driver.nvml_version_mismatch,
    driver.nvidia_smi_userspace_stale,
    host.nvidia_uvm_stale,
    driver.driver_too_old,
    driver.gpu_legacy_driver_cap,
    windows.wsl_libcuda_not_found,
    windows.wsl_linux_driver_installed,
    host.cuda_visible_devices_hidden,
    gpu.gpu_compute_mode_restricted,
    gpu.gpu_memory_held_by_other_process,
    python.cpu_only_wheel,
    rocm.rocm_on_windows,
    rocm.rocm_device_access_denied,
    rocm.rocm_override_mismatch,
    rocm.rocm_arch_not_in_build,
    companions.torchvision_mismatch,
    companions.extension_abi_mismatch,
    arch.arch_support,
    arch.tf_ptx_jit_unsupported_arch,
    tf.tf_windows_native_gpu_unsupported,
    tf.tf_and_cuda_on_windows,
    tf.tensorflow_gpu_package_removed,
    tf.tensorrt_and_cuda_unresolvable,
    tf.tf_and_cuda_libs_not_found,
    tf.tf_without_and_cuda,
    cudnn.cudnn_shadowed,
    cudnn.cudnn_shadowed_by_path_windows,
    cudnn.cudnn_mismatch,
    cudnn.cudnn9_not_found,
    cudnn.cudnn9_sublibrary_missing,
    cudnn.zlibwapi_missing,
    libs.cudnn8_not_found,
    paths.cuda_libs_missing,
    paths.cuda_pip_libs_mixed,
    libs.cuda_lib_shadowed,
    paths.conda_pip_cuda_mix,
    paths.cuda_toolkit_version_mismatch,
    windows.windows_dll_search_path,
    windows.vc_redist_missing,
    windows.windows_store_python,
    windows.windows_long_paths_disabled,
    python.python_version_unsupported,
    tf.tf_log_noise,
)

# Every code a rule may emit (docs/doctor.md documents each one).
CODES: tuple[str, ...] = (
    "cpu_only_wheel", "driver_too_old", "nvml_version_mismatch", "nvidia_smi_userspace_stale", "arch_unsupported",
    "arch_too_old", "gpu_legacy_driver_cap", "tf_ptx_jit_unsupported_arch", "tf_windows_native_gpu_unsupported",
    "tf_and_cuda_on_windows", "tf_and_cuda_libs_not_found", "tensorflow_gpu_package_removed",
    "tensorrt_and_cuda_unresolvable", "cudnn_mismatch", "cudnn9_not_found", "cudnn9_sublibrary_missing",
    "cudnn_shadowed_by_ld_library_path", "cudnn_shadowed_by_conda_lib", "cudnn_shadowed_by_path_windows",
    "conda_pip_cuda_mix", "cuda_libs_missing", "cuda_toolkit_version_mismatch", "cuda_visible_devices_hidden",
    "container_without_gpu", "nouveau_loaded", "secure_boot_module_rejected", "blackwell_needs_open_kernel_module",
    "nvidia_uvm_stale", "gpu_init_failed_bios", "wsl_libcuda_not_found", "windows_store_python",
    "windows_long_paths_disabled", "windows_dll_search_path", "zlibwapi_missing", "vc_redist_missing",
    "python_version_unsupported", "torchvision_mismatch", "probe_timeout", "driver_not_installed", "gpu_check_failed", "tf_log_noise",
    "gpu_compute_mode_restricted", "gpu_memory_held_by_other_process", "extension_abi_mismatch", "cuda_pip_libs_mixed",
    "tf_without_and_cuda", "wsl_linux_driver_installed", "docker_gpu_runtime_missing", "unexplained_error", "facts_incomplete",
    "fabric_manager_not_running", "cuda_forward_compat_unsupported", "container_lost_gpu", "wsl_container_toolkit_outdated",
    "gpu_hardware_errors", "cudnn8_not_found", "cuda_lib_shadowed",
    "rocm_device_access_denied", "rocm_arch_not_in_build", "rocm_override_mismatch", "rocm_on_windows",
)


def diagnose(facts: Facts, manifests: Manifests | None = None, *, rules: Iterable[Rule] = RULES) -> list[Finding]:
    """All findings for one machine, errors first, then warnings, then info (rule order within each).

    `manifests` defaults to the shipped manifests (`nktenv.manifest.load()`, read once per process);
    pass them explicitly to keep the call free of any file access.
    """
    if manifests is None:
        from nktenv.manifest import load

        manifests = load()
    # An older or hand-written snapshot may lack the architecture the probes now derive (PCI id, name):
    # derive it here too, so every architecture rule reads the same GPUs plan does.
    from nktenv import gpuarch

    gpus = gpuarch.with_derived_arch(facts.gpus, manifests)
    if gpus != facts.gpus:
        import dataclasses

        facts = dataclasses.replace(facts, gpus=gpus)
    ctx = Ctx(facts, manifests)
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    out: list[Finding] = []
    for rule in rules:
        for f in rule(ctx):
            key = (f.code, f.title, f.evidence)
            if key not in seen:
                seen.add(key)
                out.append(f)
    if not any(f.severity == "error" for f in out):
        out.extend(unexplained_gpu_failure(ctx))
    # After every rule: errors no rule explains, then what the snapshot did not say.
    out.extend(fallback.unexplained_error(ctx, out))
    out.extend(fallback.facts_incomplete(ctx, out))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(out, key=lambda f: rank[f.severity])


def unexplained_gpu_failure(ctx: Ctx) -> Iterable[Finding]:
    """A CUDA build that could not use the GPU when no rule explains why: say so, quoting its own words."""
    from nktenv.doctor.context import finding
    from nktenv.i18n import _

    # Any sign of a driver counts: a framework that lists the GPU has one even when the snapshot names none.
    listed = any(fw is not None and fw.cuda_available for fw in (ctx.torch, ctx.tf))
    if not (ctx.has_nvidia or ctx.driver_state == "present" or listed):
        return
    for name, fw in (("torch", ctx.torch), ("tensorflow", ctx.tf)):
        if fw is None or fw.is_cuda_build is False or not fw.cuda:
            continue
        if fw.cuda_available is not False and fw.kernel_ok is not False:
            continue
        own = [line.text for line in ctx.lines if line.source.startswith(name + ".")][-4:]
        what = (_("{framework} lists no GPU").format(framework=name) if fw.cuda_available is False
                else _("{framework}'s GPU matmul/convolution check failed").format(framework=name))
        yield finding(
            "gpu_check_failed",
            "error",
            _("{framework} {version} cannot use the GPU, and no known cause matches").format(framework=name, version=fw.version),
            evidence=[what] + own,
            fix=_("Rerun with the full error text as evidence (nktenv doctor --log error.txt), and keep a recording for "
                  "others to reproduce it: nktenv detect --record <new folder>."),
            why=_("The framework is a CUDA build and the driver answers, so the failure is specific to this setup."),
            framework=name,
        )


def ok(findings: Iterable[Finding]) -> bool:
    """True when no finding is an error, and no error text is left that no rule explains (the verdict's
    "not ready: an error nktenv does not recognise")."""
    return not any(f.severity == "error" or (f.code == "unexplained_error" and f.severity == "warning") for f in findings)


def summary(facts: Facts, findings: list[Finding]) -> str:
    """A short verdict: what works (which stack), or how many problems block the GPU."""
    from nktenv.doctor.verdict import render

    return render(Ctx(facts, None), findings)


__all__ = ["CODES", "RULES", "Ctx", "Rule", "diagnose", "ok", "summary"]
