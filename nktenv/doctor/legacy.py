"""A GPU that only a legacy driver branch serves, when the framework says the driver is too old.

"Upgrade the driver" is the wrong fix there: NVIDIA's newer branches no longer install for that GPU
generation (manifests/gpus.toml: last_driver_branch). What works is a framework build whose CUDA the
capped driver runs. The compute capability comes from the facts or, where the driver gave none, from the
GPU's PCI id or name (manifests/gpu-ids.toml, derived in diagnose); without either this stays silent.
"""

from __future__ import annotations

from dataclasses import dataclass

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, vtuple
from nktenv.facts import Gpu
from nktenv.i18n import _


@dataclass(frozen=True)
class Cap:
    gpu: Gpu
    arch_name: str
    branch: str
    last_cuda: str | None


def capped_gpu(ctx: Ctx, floor: str | None) -> Cap | None:
    """The GPU whose legacy branch rules out the driver the build needs (`floor`; None: not known)."""
    for gpu in ctx.nvidia_gpus:
        arch = versions.gpu_arch(ctx, gpu.cc)
        branch = getattr(arch, "last_driver_branch", None) if arch is not None else None
        if not branch:
            continue
        # The needed driver is past the last branch this GPU takes (or the need is unknown and the
        # driver is already on that branch): no driver upgrade can fix it.
        need = vtuple(floor)
        have = vtuple(ctx.driver_version)
        if (need and need[0] > int(branch)) or (not need and have and have[0] >= int(branch)):
            return Cap(gpu, arch.name, str(branch), getattr(arch, "last_cuda", None))
    return None


def capped_fix(ctx: Ctx, cap: Cap, framework: str | None, cuda: str | None) -> tuple[str, list[str]]:
    """(fix, evidence lines) for a driver that cannot be upgraded for this GPU."""
    ev = [_("{name} (compute capability {cc}, {arch}) is served only up to the {branch} driver branch").format(
        name=cap.gpu.name or "GPU", cc=cap.gpu.compute_capability, arch=cap.arch_name, branch=cap.branch)]
    head = _("Do not upgrade the driver: no branch newer than {branch} supports this GPU.").format(branch=cap.branch)
    command = versions.torch_fix(ctx) if framework in (None, "torch") and ctx.torch is not None else None
    ceiling = ctx.driver_cuda or cap.last_cuda or "?"
    if command:
        fix = _("{head} Keep the {branch} driver and install a build it runs: {command}").format(
            head=head, branch=cap.branch, command=command)
    elif framework == "tensorflow":
        fix = _("{head} Keep the {branch} driver and install a TensorFlow release built for CUDA {cuda} or older "
                "(nktenv plan lists them), or use PyTorch, whose builds for older CUDA versions still cover this GPU.").format(
            head=head, branch=cap.branch, cuda=ceiling)
    else:
        fix = _("{head} Keep the {branch} driver and install a framework build for CUDA {cuda} or older "
                "(nktenv plan picks one).").format(head=head, branch=cap.branch, cuda=ceiling)
    if cuda:
        ev.append(_("the build needs CUDA {cuda}; the {branch} branch runs CUDA up to {ceiling}").format(
            cuda=cuda, branch=cap.branch, ceiling=ceiling))
    return fix, ev
