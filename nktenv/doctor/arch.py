"""GPU architecture rules: does the framework build carry kernels for this GPU's compute capability?"""

from __future__ import annotations

from typing import Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, cc_text, covers, finding, parse_arch_list
from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _

TORCH_NEWER_LINES = (
    r"is not compatible with the current PyTorch installation|The current PyTorch install supports CUDA capabilities|"
    r"no kernel image is available for execution on the device|cudaErrorNoKernelImageForDevice"
)
TORCH_OLDER_LINES = (
    r"PyTorch no longer supports this GPU because it is too old|The minimum cuda capability supported by this library is|"
    r"which is of cuda capability \d+\.\d+"
)
TF_OLDER_LINES = r"Ignoring (?:visible )?gpu device .* The minimum required Cuda capability is"
TF_JIT_LINES = (
    r"was not built with CUDA kernel binaries compatible with compute capability|"
    r"CUDA kernels will be jit-compiled from PTX|CUDA_ERROR_INVALID_PTX|device kernel image is invalid|"
    r"the provided PTX was compiled with an unsupported toolchain"
)


def _targets(sass: list[tuple[int, int]], ptx: list[tuple[int, int]]) -> str:
    return " ".join([f"sm_{a}{b}" for a, b in sass] + [f"compute_{a}{b}" for a, b in ptx])


def _gpu_line(gpu: Gpu) -> str:
    line = _("{name}: compute capability {cc}").format(name=gpu.name or "GPU", cc=gpu.compute_capability)
    derived = gpu.extra.get("derived_arch") if isinstance(gpu.extra, dict) else None
    if isinstance(derived, dict) and derived.get("source"):
        # the driver did not say it: name where it came from, so nobody mistakes it for a measurement
        line += " " + _("(derived from its {source}: {value})").format(
            source=_("PCI id") if derived["source"] == "pci-id" else _("name"), value=derived.get("from", ""))
    return line


def _extension_kernel_error(ctx: Ctx, lines: list[str]) -> bool:
    """'no kernel image' raised from an extension's frames, with no word from torch about its own build:
    extension_abi_mismatch speaks of it."""
    from nktenv.doctor.companions import extension_frames

    return all("kernel image" in line or "NoKernelImage" in line for line in lines) and bool(extension_frames(ctx))


def _torch_arch_findings(ctx: Ctx) -> Iterable[Finding]:
    archs = versions.torch_archs(ctx)
    newer_lines = ctx.grep(TORCH_NEWER_LINES)
    older_lines = ctx.grep(TORCH_OLDER_LINES)
    too_new: list[Gpu] = []
    too_old: list[Gpu] = []
    built = ""
    if archs is None and ctx.torch is not None:
        m = ctx.search(r"current PyTorch install supports CUDA capabilities ((?:(?:sm|compute)_\d+\w*\s*)+)")
        if m:
            sass_t, ptx_t = parse_arch_list(m.group(1).split())
            archs = (sass_t, ptx_t, _("PyTorch's warning"))
    if archs is not None and ctx.torch is not None:
        sass, ptx, where = archs
        built = _("{framework} {version} carries kernels for: {targets} (from {where})").format(
            framework="torch", version=ctx.torch.version or "?", targets=_targets(sass, ptx), where=where)
        lowest = min(sass + ptx) if sass or ptx else None
        for gpu in ctx.nvidia_gpus:
            if gpu.cc is None or covers(gpu.cc, sass, ptx):
                continue
            (too_old if lowest is not None and gpu.cc < lowest else too_new).append(gpu)
    if not too_new and not too_old:
        # The list does not explain it (or there is none): trust the framework's own words.
        built = ""
        if older_lines:
            too_old = [g for g in ctx.nvidia_gpus if g.cc is not None] or [Gpu(name=None)]
        elif newer_lines and not _extension_kernel_error(ctx, newer_lines):
            too_new = [g for g in ctx.nvidia_gpus if g.cc is not None] or [Gpu(name=None)]
    elif too_old and not too_new:
        older_lines = older_lines + newer_lines
        newer_lines = []
    elif too_new and not too_old:
        newer_lines = newer_lines + older_lines
        older_lines = []
    fix = versions.torch_fix(ctx)
    if too_new:
        yield _torch_arch_finding(
            "arch_unsupported", too_new, built, newer_lines,
            _("The installed PyTorch has no kernels for this GPU (the GPU is newer than the build)"),
            fix=_("Install a build that includes this GPU's architecture: {command}").format(command=fix)
            if fix
            else _("No PyTorch build in nktenv's manifests covers this GPU with this driver; update the driver "
                   "and run nktenv plan to pick a build."),
            why=_("torch.cuda.is_available() can be True while every kernel launch fails with 'no kernel image is available'."),
        )
    if too_old:
        yield _torch_arch_finding(
            "arch_too_old", too_old, built, older_lines,
            _("This GPU is older than the installed PyTorch build supports"),
            fix=_("Install a build that still carries this architecture: {command}").format(command=fix)
            if fix
            else _("No PyTorch build in nktenv's manifests still supports this GPU with this driver; use the CPU "
                   "build or a newer GPU."),
            why=_("Each CUDA release drops old GPU generations, and PyTorch builds for new CUDA versions follow."),
        )


def _torch_arch_finding(code: str, gpus: list[Gpu], built: str, lines: list[str], title: str, *, fix: str, why: str) -> Finding:
    known = [g for g in gpus if g.compute_capability]
    evidence = [_gpu_line(g) for g in known] + ([built] if built else []) + lines
    return finding(code, "error", title, evidence=evidence, fix=fix, why=why, framework="torch",
                   gpus=[g.compute_capability for g in known])


def _tf_older(ctx: Ctx) -> Iterable[Finding]:
    fw = ctx.tf
    lines = ctx.grep(TF_OLDER_LINES)
    rel = versions.tf_release(ctx)
    old: list[Gpu] = []
    if rel is not None and rel.min_cc and fw is not None and fw.is_cuda_build is not False:
        from nktenv.manifest import cc_tuple

        floor = cc_tuple(rel.min_cc)
        old = [g for g in ctx.nvidia_gpus if g.cc is not None and g.cc < floor]
    if fw is not None and fw.arch_list and not old:
        sass, ptx = parse_arch_list(fw.arch_list)
        lowest = min(sass + ptx) if sass or ptx else None
        old = [g for g in ctx.nvidia_gpus if g.cc is not None and lowest and g.cc < lowest and not covers(g.cc, sass, ptx)]
    if not old and not lines:
        return
    ev = [_gpu_line(g) for g in old]
    if rel is not None and rel.min_cc:
        ev.append(_("TensorFlow {version} needs compute capability {cc} or higher").format(version=rel.version, cc=rel.min_cc))
    good = versions.tf_gpu_releases(ctx)
    yield finding(
        "arch_too_old",
        "error",
        _("This GPU is older than the installed TensorFlow build supports"),
        evidence=ev + lines,
        fix=_("Install the newest TensorFlow that still supports this GPU: {command}").format(
            command=versions.tf_install_command(ctx, good[0]))
        if good
        else _("No TensorFlow GPU build in nktenv's manifests supports this GPU here; use PyTorch or the CPU build."),
        why=_("TensorFlow ignores GPUs below its minimum compute capability and silently runs on the CPU."),
        framework="tensorflow",
    )


def arch_support(ctx: Ctx) -> Iterable[Finding]:
    yield from _torch_arch_findings(ctx)
    yield from _tf_older(ctx)


def tf_ptx_jit_unsupported_arch(ctx: Ctx) -> Iterable[Finding]:
    fw = ctx.tf
    lines = ctx.grep(TF_JIT_LINES, sources=("tensorflow.", "log:"))
    jit: list[Gpu] = []
    none: list[Gpu] = []
    if fw is not None and fw.arch_list:
        sass, ptx = parse_arch_list(fw.arch_list)
        for g in ctx.nvidia_gpus:
            if g.cc is None or covers(g.cc, sass, []):
                continue
            if covers(g.cc, [], ptx):
                jit.append(g)
            elif (sass or ptx) and g.cc > max(sass + ptx):
                none.append(g)
    if not jit and not none and not lines:
        return
    failed = any("INVALID_PTX" in line or "kernel image is invalid" in line or "unsupported toolchain" in line for line in lines)
    ev = [_gpu_line(g) for g in jit + none]
    if fw is not None and fw.arch_list:
        ev.append(_("TensorFlow {version} carries: {targets}").format(version=fw.version, targets=" ".join(fw.arch_list)))
    yield finding(
        "tf_ptx_jit_unsupported_arch",
        "error" if failed or none else "warning",
        _("TensorFlow has no native kernels for this GPU and compiles them from PTX at start-up"),
        evidence=ev + lines,
        fix=_(
            "Keep the compiled kernels between runs (set CUDA_CACHE_MAXSIZE=4294967296) and let the first run finish; "
            "if kernels then fail (CUDA_ERROR_INVALID_PTX), use a TensorFlow release built for compute capability {cc}, "
            "or run this GPU with PyTorch."
        ).format(cc=cc_text((jit + none)[0].cc) if (jit + none) and (jit + none)[0].cc else "?"),
        why=_("Without SASS for the GPU, the driver JIT-compiles PTX (can take 30 minutes) and newer GPUs may reject it."),
    )
