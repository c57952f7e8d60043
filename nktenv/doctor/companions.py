"""torchvision / torchaudio beside a torch they were not built for."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, base_version, finding, local_tag, vtuple
from nktenv.findings import Finding
from nktenv.i18n import _

# What torchvision prints when its compiled operators cannot load beside this torch.
BROKEN_OPS = r"operator torchvision::\w+ does not exist|Couldn't load custom C\+\+ ops"


def torchvision_mismatch(ctx: Ctx) -> Iterable[Finding]:
    torch = ctx.torch
    have = ctx.packages.get("torchvision")
    if torch is None or not torch.version or not have:
        return
    rel, variant = versions.installed_torch(ctx)
    evidence: list[str] = []
    # A torchvision series (0.29.*) is built for one torch series (2.14.*): patch releases mix freely.
    if rel is not None and rel.torchvision and _series(base_version(have)) != _series(rel.torchvision):
        evidence.append(_("torch {torch} pairs with torchvision {paired}; torchvision {have} is installed").format(
            torch=torch.version, paired=rel.torchvision, have=have))
    torch_tag, vision_tag = local_tag(torch.version), local_tag(have)
    if torch_tag and vision_tag and torch_tag != vision_tag:
        evidence.append(_("torch is the {torch_tag} build, torchvision the {vision_tag} build").format(
            torch_tag=torch_tag, vision_tag=vision_tag))
    logged = ctx.grep(BROKEN_OPS)
    if not evidence and not logged:
        return
    paired = rel.torchvision if rel is not None and rel.torchvision else None
    if paired and variant is not None:
        fix = f"{ctx.pip()} install --force-reinstall --no-deps torchvision=={paired} --index-url {variant.index_url}"
    else:
        fix = _("Install torchvision from the same index, and the release made for torch {torch}.").format(
            torch=base_version(torch.version))
    yield finding(
        "torchvision_mismatch",
        "error",
        _("torchvision {have} was not built for the installed torch {torch}").format(have=have, torch=torch.version),
        evidence=[*evidence, *logged],
        fix=fix,
        why=_("torchvision's compiled operators link against one torch release and build (CPU or a CUDA version); "
              "beside another they fail to load, and models using them stop with \"operator torchvision::nms does not exist\"."),
        framework="torch",
    )


def _series(version: str | None) -> tuple[int, ...]:
    return vtuple(version)[:2]


# Compiled extensions that link against one torch (and CUDA) build.
EXTENSIONS = ("torchvision", "torchaudio", "xformers", "flash-attn", "flash_attn", "bitsandbytes")
_EXT_MODULE = r"(torchvision|torchaudio|xformers|flash_attn(?:_2)?(?:_cuda)?|bitsandbytes|vllm)"
EXT_LINES = (
    rf"{_EXT_MODULE}\S*\.so\S*: undefined symbol|{_EXT_MODULE}\S*\.pyd.*(?:procedure could not be found|DLL load failed)|"
    r"xFormers can't load C\+\+/CUDA extensions|xFormers was built for:|xFormers wasn't build with CUDA support|"
    r"PyTorch \S+ with CUDA \d+ \(you have [^)]+\)|"
    r"bitsandbytes was compiled without GPU support|CUDA Setup failed despite GPU being available|"
    r"libbitsandbytes_cuda\d+\w*\.so: cannot open shared object file"
)
# Errors that only point at an extension when its own frames or name appear with them.
KERNEL_LINES = r"no kernel image is available for execution on the device|named symbol not found|CUDA error: invalid device function"


def extension_frames(ctx: Ctx) -> list[str]:
    """Traceback lines inside a compiled extension's package (site-packages or Debian's dist-packages)."""
    return ctx.grep(rf"(?:site|dist)-packages[/\\]{_EXT_MODULE}[/\\]|\b_C_flashattention\.pyd")


def _ext_package(text: str) -> str | None:
    m = re.search(_EXT_MODULE, text)
    if not m:
        return "xformers" if "xformers" in text.lower() else ("bitsandbytes" if "bitsandbytes" in text.lower() else None)
    name = m.group(1)
    return "flash-attn" if name.startswith("flash_attn") else name


def extension_abi_mismatch(ctx: Ctx) -> Iterable[Finding]:
    """A compiled extension built for another torch or CUDA: undefined symbols, xFormers' own warning,
    or a kernel-image error raised from the extension's frames."""
    lines = ctx.grep(EXT_LINES)
    kernel = ctx.grep(KERNEL_LINES)
    frames = extension_frames(ctx)
    if kernel and frames and not ctx.grep(r"is not compatible with the current PyTorch installation"):
        lines = lines + frames[-1:] + kernel  # torch's own build fits the GPU: the extension's kernels do not
    if not lines:
        return
    pkgs = list(dict.fromkeys(p for p in (_ext_package(line) for line in lines) if p))
    if "torchvision" in pkgs and ctx.grep(BROKEN_OPS):
        return  # torchvision_mismatch owns it (paired release, index URL)
    pkg = pkgs[0] if pkgs else "the extension"
    torch = ctx.torch
    ev = list(lines)
    have = ctx.packages.get(pkg) or ctx.packages.get(pkg.replace("-", "_"))
    if have:
        ev.append(f"{pkg}=={have}")
    if torch is not None and torch.version:
        ev.append(_("installed torch: {version}").format(version=torch.version))
    built = ctx.search(r"PyTorch (\S+) with CUDA (\d+) \(you have ([^)]+)\)")
    if built:
        ev.append(_("{package} was built for torch {built}; torch {have} is installed").format(
            package=pkg, built=built.group(1), have=built.group(3)))
    tv = base_version(torch.version) if torch is not None else None
    _rel, variant = versions.installed_torch(ctx)
    # A CPU torch has no CUDA extensions to pair with: the index of a CUDA torch build is what is missing.
    index = variant.index_url if variant is not None and variant.cuda else None
    if pkg == "flash-attn":
        fix = _("Rebuild it against the installed torch: {pip} uninstall -y flash-attn && {pip} install flash-attn "
                "--no-build-isolation --no-cache-dir (needs the CUDA toolkit's nvcc), or install the release wheel whose name "
                "matches torch {torch} and its CUDA.").format(pip=ctx.pip(), torch=tv or "<torch version>")
    elif pkg == "xformers":
        fix = (_("Install the xformers built for this torch from the same index: {pip} install --force-reinstall --no-deps "
                 "xformers --index-url {index} (pick the xformers release made for torch {torch}).").format(
            pip=ctx.pip(), index=index, torch=tv or "?") if index else
               _("Install the xformers release made for torch {torch} from the index torch came from, or let pip pick it: "
                 "{pip} install -U xformers torch=={torch}.").format(pip=ctx.pip(), torch=tv or "?"))
    elif pkg == "bitsandbytes":
        fix = _("Install a current bitsandbytes (its wheels carry every CUDA version): {pip} install -U bitsandbytes; "
                "remove BNB_CUDA_VERSION if it is set.").format(pip=ctx.pip())
    else:
        fix = (_("Reinstall {package} from the index of the installed torch build: {pip} install --force-reinstall --no-deps "
                 "{package} --index-url {index} (the release paired with torch {torch}).").format(
            package=pkg, pip=ctx.pip(), index=index, torch=tv or "?") if index else
               _("Reinstall {package} in the release made for torch {torch}, from the same index as torch.").format(
            package=pkg, torch=tv or "?"))
    yield finding(
        "extension_abi_mismatch",
        "error",
        _("{package} was compiled for another torch or CUDA build than the one installed").format(package=pkg),
        evidence=ev,
        fix=fix,
        why=_("Compiled extensions link against one torch release and CUDA version; after torch is upgraded or swapped they "
              "fail with undefined symbols, or their kernels do not exist for this GPU."),
        package=pkg,
    )
