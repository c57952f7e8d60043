"""torchvision / torchaudio beside a torch they were not built for."""

from __future__ import annotations

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
