"""The version questions rules ask, answered only from the manifests (never from tables in code).

Every function tolerates `ctx.m is None` (no manifests: the answer is unknown, the rule stays quiet).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from nktenv.doctor.context import Ctx, base_version, covers, local_tag, parse_arch_list, vtuple
from nktenv.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from nktenv.manifest import GpuArch, TfRelease, TorchRelease, TorchVariant


def driver_floor(ctx: Ctx, cuda: str) -> str | None:
    if ctx.m is None:
        return None
    from nktenv.manifest import driver_floor as floor

    return floor(cuda, "wsl" if ctx.wsl else ctx.driver_os, mvc=True, manifests=ctx.m)


def driver_ok(ctx: Ctx, driver: str, floor: str) -> bool:
    from nktenv.manifest import driver_satisfies

    return driver_satisfies(driver, floor)


def gpu_arch(ctx: Ctx, cc: tuple[int, int] | None) -> GpuArch | None:
    if ctx.m is None or cc is None:
        return None
    return ctx.m.gpu_arch(cc)


def requires_open(arch: GpuArch) -> bool:
    return arch.open_module == "required"


def platform(ctx: Ctx) -> str:
    """The manifest's platform key for this machine (WSL installs Linux wheels)."""
    arch = ctx.facts.os.arch or "x86_64"
    if ctx.native_windows:
        return "windows-x86_64"
    if ctx.system == "darwin":
        return "macos-arm64" if arch == "aarch64" else "macos-x86_64"
    return f"linux-{arch}"


def os_key(ctx: Ctx) -> str:
    return "windows" if ctx.native_windows else ("wsl" if ctx.wsl else "linux")


def tf_gpu_platform(ctx: Ctx) -> str | None:
    if ctx.native_windows:
        return "windows-native"
    if ctx.wsl:
        return "wsl"
    return "linux" if ctx.linux else None


def variant_archs(ctx: Ctx, variant: TorchVariant) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    from nktenv.manifest import cc_tuple

    sass, ptx = variant.archs(os_key(ctx), ctx.facts.os.arch or "x86_64")
    return [cc_tuple(s) for s in sass], [cc_tuple(p) for p in ptx]


def installed_torch(ctx: Ctx) -> tuple[TorchRelease | None, TorchVariant | None]:
    fw = ctx.torch
    if ctx.m is None or fw is None or not fw.version:
        return None, None
    rel = ctx.m.torch_release(fw.version)
    if rel is None:
        return None, None
    tag = local_tag(fw.version)
    if tag is None and fw.cuda:
        tag = "cu" + fw.cuda.replace(".", "")
    return rel, rel.variant(tag) if tag else None


def torch_archs(ctx: Ctx) -> tuple[list[tuple[int, int]], list[tuple[int, int]], str] | None:
    """(sass, ptx, where) for the installed torch: its own arch list first, then the manifest."""
    fw = ctx.torch
    if fw is None:
        return None
    if fw.arch_list:
        sass, ptx = parse_arch_list(fw.arch_list)
        if sass or ptx:
            return sass, ptx, "torch.cuda.get_arch_list()"
    _rel, variant = installed_torch(ctx)
    if variant is not None and variant.cuda and variant.archs_known:
        sass, ptx = variant_archs(ctx, variant)
        return sass, ptx, _("nktenv's manifest for {name}").format(name=f"torch {fw.version}")
    return None


def _gpu_ccs(ctx: Ctx) -> list[tuple[int, int]]:
    ccs = [g.cc for g in ctx.nvidia_gpus if g.cc is not None]
    if not ccs:
        # No GPU facts: PyTorch's own warning names the GPU's capability ("with CUDA capability sm_120").
        for line in ctx.grep(r"with CUDA capability sm_\d+|which is of cuda capability \d+\.\d+"):
            m = re.search(r"sm_(\d+)(\d)\b|capability (\d+)\.(\d+)", line)
            if m:
                cc = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(3)), int(m.group(4)))
                if cc not in ccs:
                    ccs.append(cc)
    return ccs


def torch_candidates(ctx: Ctx) -> Iterable[tuple[TorchRelease, TorchVariant]]:
    """CUDA builds that would work here: published for this platform, within the driver, covering every GPU.

    The installed release comes first, then newer-to-older releases; within a release the newest CUDA first.
    """
    if ctx.m is None:
        return
    plat = platform(ctx)
    installed, _v = installed_torch(ctx)
    releases = list(ctx.m.torch)
    if installed is not None:
        releases.remove(installed)
        releases.insert(0, installed)
    ccs = _gpu_ccs(ctx)
    py = ctx.python_version
    for rel in releases:
        if py and not rel.supports_python(py):
            continue
        for variant in rel.variants_for(plat):
            if not variant.cuda:
                continue
            floor = driver_floor(ctx, variant.cuda)
            if ctx.driver_version and floor and not driver_ok(ctx, ctx.driver_version, floor):
                continue
            if ccs and variant.archs_known:
                sass, ptx = variant_archs(ctx, variant)
                if not all(covers(cc, sass, ptx) for cc in ccs):
                    continue
            yield rel, variant


def torch_install_command(ctx: Ctx, rel: TorchRelease, variant: TorchVariant) -> str:
    pkgs = [f"torch=={rel.version}"]
    if rel.torchvision and "torchvision" in ctx.packages:
        pkgs.append(f"torchvision=={rel.torchvision}")
    if rel.torchaudio and "torchaudio" in ctx.packages:
        pkgs.append(f"torchaudio=={rel.torchaudio}")
    return f"{ctx.pip()} install --force-reinstall {' '.join(pkgs)} --index-url {variant.index_url}"


def torch_fix(ctx: Ctx) -> str | None:
    """The install command of the best working build, or None when the manifests know none."""
    found = iter(torch_candidates(ctx))
    best = next(found, None)
    if best is not None and not ctx.driver_version:
        # Driver unknown: of the first release's fitting builds, the oldest CUDA needs the oldest driver.
        same = [best] + [c for c in found if c[0] is best[0]]
        best = min(same, key=lambda c: vtuple(c[1].cuda))
    return torch_install_command(ctx, *best) if best else None


def tf_release(ctx: Ctx) -> TfRelease | None:
    fw = ctx.tf
    if ctx.m is None or fw is None or not fw.version:
        return None
    return ctx.m.tf_release(base_version(fw.version) or fw.version)


def tf_gpu_releases(ctx: Ctx) -> list[TfRelease]:
    """TensorFlow releases with a GPU build for this platform, this Python and every GPU here, newest first."""
    if ctx.m is None:
        return []
    from nktenv.manifest import cc_tuple

    plat = tf_gpu_platform(ctx)
    py = ctx.python_version
    ccs = _gpu_ccs(ctx)
    out = []
    for rel in ctx.m.tensorflow:
        if plat is None or plat not in rel.gpu_platforms:
            continue
        if py and not rel.supports_python(py):
            continue
        if rel.min_cc and any(cc < cc_tuple(rel.min_cc) for cc in ccs):
            continue
        if rel.cuda and ctx.driver_version:
            floor = driver_floor(ctx, rel.cuda)
            if floor and not driver_ok(ctx, ctx.driver_version, floor):
                continue
        out.append(rel)
    return out


def tf_install_command(ctx: Ctx, rel: TfRelease) -> str:
    if rel.and_cuda == "broken" and ctx.m is not None and not ctx.native_windows:
        # e.g. 2.15.0's [and-cuda] cannot resolve; its .post1 re-release can.
        line = ".".join(rel.version.split(".")[:2]) + "."
        rel = next((r for r in ctx.m.tensorflow if r.and_cuda == "ok" and r.version.startswith(line)), rel)
    if rel.and_cuda == "ok" and not ctx.native_windows:
        return f'{ctx.pip()} install "tensorflow[and-cuda]=={rel.version}"'
    return f'{ctx.pip()} install "tensorflow=={rel.version}"'


def driver_install_hint(ctx: Ctx) -> str:
    if ctx.wsl:
        return _("install it in Windows, not inside WSL (https://www.nvidia.com/Download/index.aspx), then run wsl --shutdown")
    if ctx.native_windows:
        return _("download it from https://www.nvidia.com/Download/index.aspx (or update it in the NVIDIA App) and reboot")
    return _("sudo ubuntu-drivers install (Ubuntu; other distributions: their nvidia-driver package) and reboot")
