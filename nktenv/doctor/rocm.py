"""ROCm (AMD GPU) basics: device access, a card the build has no code for, HSA_OVERRIDE_GFX_VERSION, Windows.

The build's targets come from torch.toml (`gpu_targets` of the `+rocmX.Y` variant of the installed torch);
the card's gfx target from the facts (rocminfo, KFD topology, or derived from the PCI id). The runtime's own
words count as evidence: "HIP error: invalid device function" (no code for this target) and "No HIP GPUs are
available" (no device the user may open, or none the runtime supports).
"""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor.context import Ctx, base_version, finding, local_tag
from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.plan_vendors import HSA_OVERRIDE, gfx_from_override, override_version, sibling_target

INVALID_FUNCTION = r"HIP error: invalid device function"
NO_HIP_GPUS = r"No HIP GPUs are available"
# What code for another target does at run time (ROCm/legacy-rocm-build#5238).
MEMORY_FAULT = r"Memory access fault by GPU node-\d+"
# rocminfo's and amd-smi's words for a user outside the DRM access groups.
NOT_IN_GROUP = (r"is not member of \"?render\"? group|Unable to open /dev/kfd read-write: Permission denied"
                r"|User is missing the following required groups|/dev/(?:kfd|dri/\w+): Permission denied")
ACCESS_GROUPS = ("render", "video")


def _amd(ctx: Ctx) -> tuple[Gpu, ...]:
    return tuple(g for g in ctx.facts.gpus if g.vendor == "amd")


def _rocm_tag(ctx: Ctx) -> str | None:
    """'rocm6.2' from torch '2.5.1+rocm6.2' (the pip/conda package list counts too)."""
    versions = [ctx.torch.version if ctx.torch else None, ctx.packages.get("torch")]
    for v in versions:
        tag = local_tag(v)
        if tag and tag.startswith("rocm"):
            return tag
    # A pasted library list ('[pip3] torch==2.10.0.dev20250929+rocm7.0') without the rest of collect_env.
    m = ctx.search(r"\btorch(?:==|\s+)\d+\.\d+[\w.]*\+(rocm\d+(?:\.\d+)*)\b")
    return m.group(1) if m else None


def _torch_version(ctx: Ctx) -> str | None:
    v = ctx.torch.version if ctx.torch else ctx.packages.get("torch")
    if v:
        return base_version(v)
    m = ctx.search(r"\btorch(?:==|\s+)(\d+\.\d+[\w.]*)\+rocm")
    return m.group(1) if m else None




def _targets(ctx: Ctx, tag: str) -> tuple[str, ...] | None:
    if ctx.m is None:
        return None
    rel = ctx.m.torch_release(_torch_version(ctx) or "")
    v = rel.variant(tag) if rel else None
    return v.gpu_targets if v else None


def _install(ctx: Ctx, gpus: Iterable[Gpu], override: str | None) -> str | None:
    """The install command of the newest ROCm build that holds these GPUs, or None."""
    if ctx.m is None:
        return None
    from nktenv.plan import _requirements
    from nktenv.plan_vendors import rocm_build

    py = ctx.python_version
    usable = [r for r in ctx.m.torch if not r.is_prerelease and (not py or r.supports_python(".".join(py.split(".")[:2])))]
    if not usable:
        return None
    pick = rocm_build(usable, tuple(gpus), "linux-x86_64", False, override, False)
    if pick.release is None or pick.variant is None:
        return None
    return f"{ctx.pip()} install {' '.join(_requirements(pick.release))} --index-url {pick.variant.index_url}"


def rocm_device_access_denied(ctx: Ctx) -> Iterable[Finding]:
    """The user may not open /dev/kfd: not in render/video, or rocminfo says so."""
    if not ctx.linux:
        return
    access = ctx.facts.extra.get("rocm_access") if isinstance(ctx.facts.extra.get("rocm_access"), dict) else {}
    groups = access.get("user_groups")
    kfd = access.get("kfd") or {}
    ev = ctx.grep(NOT_IN_GROUP)
    outside = None
    if isinstance(groups, list) and kfd.get("group"):
        world_rw = len(str(kfd.get("mode", ""))) >= 3 and int(str(kfd["mode"])[-1]) & 6 == 6
        outside = kfd["group"] not in groups and not world_rw and "root" not in groups
        if outside:
            ev.append(_("/dev/kfd is mode {mode}, group {group}; this user's groups: {groups}").format(
                mode=kfd["mode"], group=kfd["group"], groups=" ".join(groups) or "-"))
    if not (outside or ev):
        return
    ev += ctx.grep(NO_HIP_GPUS)
    group = kfd.get("group") if kfd.get("group") in ACCESS_GROUPS else "render"
    yield finding(
        "rocm_device_access_denied", "error",
        _("This user may not open the AMD GPU (/dev/kfd), so ROCm finds no GPU."),
        fix=_("Add the user to the render and video groups: sudo usermod -aG render,video $USER, then log out and back in (a container needs --device=/dev/kfd --device=/dev/dri --group-add {group})."
              ).format(group=group),
        evidence=ev,
        why=_("ROCm opens /dev/kfd and /dev/dri/renderD* read-write; distributions give that access to the render group (older ones video), and without it torch reports no HIP GPU."),
    )


def rocm_arch_not_in_build(ctx: Ctx) -> Iterable[Finding]:
    """A ROCm torch whose GPU code lacks the card's gfx target (after HSA_OVERRIDE_GFX_VERSION)."""
    tag = _rocm_tag(ctx)
    amd = _amd(ctx)
    if not tag or ctx.native_windows:
        return
    forced = gfx_from_override(ctx.env(HSA_OVERRIDE))
    targets = _targets(ctx, tag)
    ev = ctx.grep(INVALID_FUNCTION)
    missing = [g for g in amd if g.arch and targets is not None and (forced or g.arch) not in targets]
    if forced and missing:
        return  # the override itself is wrong: rocm_override_mismatch says so
    if missing:
        gpus = missing
    elif ev and not (targets is not None and amd and all(g.arch in targets for g in amd)):
        # The runtime's own words, on a card the build's list does not show to be covered (or unknown).
        gpus = [g for g in amd if g.arch]
    else:
        return
    names = ", ".join(f"{g.name or 'GPU'} ({g.arch})" for g in gpus) or _("this GPU")
    head = (_("torch {version} ({tag}) carries GPU code for {targets}").format(
        version=_torch_version(ctx) or "?", tag=tag, targets=", ".join(targets)) if targets else
        _("torch {version} ({tag}): its GPU targets are not in nktenv's manifest").format(
            version=_torch_version(ctx) or "?", tag=tag))
    ev = [head] + ev
    fix = _install(ctx, gpus, None) if gpus else None
    sib = next((s for g in gpus if (s := sibling_target(g.arch or "", targets or ()))), None)
    if not gpus:
        text = _("Look up the card's gfx target (rocminfo | grep gfx) and install a ROCm build whose targets list it (nktenv plan picks one); a card on no list runs only the CPU build, or a same-generation target's code via {name}.").format(
            name=HSA_OVERRIDE)
    elif fix:
        text = _("Install a ROCm build with code for it: {command}").format(command=fix)
    elif sib:
        text = _("No ROCm build of torch has code for it. {name}={value} makes the runtime load its {sib} code (AMD does not support this; RDNA cards of one generation usually run it).").format(
            name=HSA_OVERRIDE, value=override_version(sib), sib=sib)
    else:
        text = _("No ROCm build of torch has code for it: use the CPU build, or build PyTorch from source with PYTORCH_ROCM_ARCH={gfx}.").format(
            gfx=gpus[0].arch)
    yield finding(
        "rocm_arch_not_in_build", "error",
        _("torch {tag} has no GPU code for {names}.").format(tag=tag, names=names),
        fix=text, evidence=ev,
        why=_("ROCm wheels carry machine code for a fixed list of gfx targets only; on any other card every kernel launch fails with \"HIP error: invalid device function\"."),
    )


def _generation(gfx: str) -> str:
    """RDNA targets share code within a major (gfx10xx, gfx11xx, gfx12xx); GCN/CDNA targets do not."""
    return gfx[:5] if gfx.startswith("gfx1") and len(gfx) == 7 else gfx


def rocm_override_mismatch(ctx: Ctx) -> Iterable[Finding]:
    """HSA_OVERRIDE_GFX_VERSION names a target the card cannot run, or one the build lacks."""
    value = ctx.env(HSA_OVERRIDE)
    amd = [g for g in _amd(ctx) if g.arch]
    if not value or not amd:
        return
    forced = gfx_from_override(value)
    tag = _rocm_tag(ctx)
    targets = _targets(ctx, tag) if tag else None
    ev = [f"{HSA_OVERRIDE}={value}"] + ctx.grep(INVALID_FUNCTION) + ctx.grep(NO_HIP_GPUS) + ctx.grep(MEMORY_FAULT)
    if forced is None:
        yield finding("rocm_override_mismatch", "error",
                      _("{name}={value} is not a gfx version (X.Y.Z), so the ROCm runtime finds no usable GPU.").format(
                          name=HSA_OVERRIDE, value=value),
                      fix=_("Unset {name}, or set it like 10.3.0.").format(name=HSA_OVERRIDE), evidence=ev,
                      why=_("The runtime reads the variable as major.minor.stepping of a gfx target."))
        return
    # The card's generation (gfx103x, gfx110x, gfx9xx) must match the code it is told to run.
    wrong = [g for g in amd if _generation(g.arch or "") != _generation(forced)]
    lacking = targets is not None and forced not in targets
    if not wrong and not lacking:
        return
    if wrong:
        g = wrong[0]
        right = sibling_target(g.arch or "", targets or ()) if targets else None
        fix = (_("Set {name}={good} (its own generation's code) or unset it.").format(name=HSA_OVERRIDE, good=override_version(right))
               if right else _("Unset {name}.").format(name=HSA_OVERRIDE))
        title = _("{name}={value} makes {gpu} ({arch}) run {forced} code, another GPU generation's.").format(
            name=HSA_OVERRIDE, value=value, gpu=g.name or "GPU", arch=g.arch, forced=forced)
    else:
        fix = _("Unset {name}, or set one of the build's targets.").format(name=HSA_OVERRIDE)
        title = _("{name}={value} asks for {forced} code, which torch {tag} does not carry.").format(
            name=HSA_OVERRIDE, value=value, forced=forced, tag=tag)
    yield finding("rocm_override_mismatch", "error", title, fix=fix, evidence=ev,
                  why=_("The override only relabels the card; the code it then loads must be for the same generation and in the build, or kernels fail or the GPU hangs."))


def rocm_on_windows(ctx: Ctx) -> Iterable[Finding]:
    """A ROCm torch asked for on native Windows: PyTorch publishes none."""
    if not ctx.native_windows:
        return
    tag = _rocm_tag(ctx)
    ev = ctx.grep(r"download\.pytorch\.org/whl/(?:nightly/)?rocm[\d.]+")
    if not tag and not ev:
        return
    if tag:
        ev = [_("torch {version} (a {tag} build) on Windows").format(version=ctx.torch.version if ctx.torch else tag, tag=tag)] + ev
    yield finding(
        "rocm_on_windows", "error",
        _("PyTorch publishes no ROCm build for Windows."),
        fix=_("Use WSL2 or Linux for ROCm, or the CPU build on Windows (nktenv plan)."),
        evidence=ev + ctx.grep(r"No matching distribution found for torch|Could not find a version that satisfies the requirement torch"),
        why=_("download.pytorch.org's ROCm indexes hold Linux x86_64 wheels only, so pip on Windows finds no torch there."),
    )


CODES = ("rocm_device_access_denied", "rocm_arch_not_in_build", "rocm_override_mismatch", "rocm_on_windows")
