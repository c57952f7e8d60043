"""AMD (ROCm) and Intel (XPU) builds for `nktenv.plan`: which GPU a plan serves, and which build it gets.

Which vendor: NVIDIA or AMD, whichever has the GPU with the most memory; NVIDIA when either side's
memory is unknown or they tie (CUDA builds are the ones nktenv checks most closely). Intel is served only
when no NVIDIA or AMD GPU is present. ROCm: the newest ROCm variant (Linux x86_64) whose `gpu_targets`
hold every AMD GPU's gfx target, in the newest usable release that has one. XPU: the newest release whose
xpu variant lists the GPU's family in `gpu_targets` (torch.toml; families PyTorch validates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests, TorchRelease, TorchVariant, version_tuple
from nktenv.wording import join_list

HSA_OVERRIDE = "HSA_OVERRIDE_GFX_VERSION"


@dataclass(frozen=True)
class VendorChoice:
    """The vendor a plan serves ("nvidia" | "amd" | "intel" | None) and the reasons for it."""

    vendor: str | None
    notes: tuple[str, ...] = ()


def gfx_from_override(value: str | None) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION '10.3.0' -> 'gfx1030', '9.0.10' -> 'gfx90a'; None when malformed."""
    m = re.fullmatch(r"\s*(\d+)\.(\d+)\.(\d+)\s*", value or "")
    if not m:
        return None
    major, minor, step = (int(x) for x in m.groups())
    if minor > 15 or step > 15:
        return None
    return f"gfx{major}{minor:x}{step:x}"


def sibling_target(gfx: str, targets: Sequence[str]) -> str | None:
    """The target of the same family (gfx1031 -> gfx1030) that HSA_OVERRIDE_GFX_VERSION can map a card
    onto: the ROCm runtime then loads that target's code (AMD does not support it; RDNA cards run it)."""
    if not gfx.startswith("gfx1") or len(gfx) != 7:
        return None  # GCN/CDNA code (gfx90x, gfx94x) is not shared across steppings
    base = gfx[:6] + "0"
    return base if base != gfx and base in targets else None


def override_version(gfx: str) -> str:
    """'gfx1030' -> '10.3.0' (the value HSA_OVERRIDE_GFX_VERSION takes)."""
    digits = gfx[3:]
    return f"{int(digits[:-2])}.{int(digits[-2], 16)}.{int(digits[-1], 16)}"


def _mem(gpus: Sequence[Gpu]) -> int | None:
    values = [g.memory_total_bytes for g in gpus]
    return None if not values or any(v is None for v in values) else max(v for v in values if v is not None)


def _label(gpu: Gpu) -> str:
    name = gpu.name or _("GPU {index}").format(index=gpu.index)
    return f"{name} ({gpu.arch})" if gpu.arch else name


def choose_vendor(nvidia: Sequence[Gpu], others: Sequence[Gpu]) -> VendorChoice:
    amd = [g for g in others if g.vendor == "amd"]
    intel = [g for g in others if g.vendor == "intel"]
    if nvidia and amd:
        nv_mem, amd_mem = _mem(nvidia), _mem(amd)
        vendor = "amd" if nv_mem is not None and amd_mem is not None and amd_mem > nv_mem else "nvidia"
        named = [g for g in intel if g.arch]
        served, left = (amd, [*nvidia, *named]) if vendor == "amd" else (nvidia, [*amd, *named])
        if vendor == "amd":
            why = _("AMD's has more memory")
        elif nv_mem is None or amd_mem is None:
            why = _("the memory of one of them is unknown, so NVIDIA is preferred")
        else:
            why = _("NVIDIA's has at least as much memory")
        note = _("NVIDIA and AMD GPUs are both present and one torch build serves one vendor: the plan serves {served} ({why}) and leaves {left}.").format(
            served=join_list(_label(g) for g in served), why=why, left=join_list(_label(g) for g in left))
        return VendorChoice(vendor, (note,))
    # Integrated Intel graphics beside another vendor's GPU (most laptops) is not worth a note.
    if (nvidia or amd) and any(g.arch for g in intel):
        intel = [g for g in intel if g.arch]
        served = list(nvidia or amd)
        note = _("The plan serves {served} and leaves {left}: an Intel GPU is served only when no NVIDIA or AMD GPU is present.").format(
            served=join_list(_label(g) for g in served), left=join_list(_label(g) for g in intel))
        return VendorChoice("nvidia" if nvidia else "amd", (note,))
    if nvidia:
        return VendorChoice("nvidia")
    if amd:
        return VendorChoice("amd")
    if intel:
        return VendorChoice("intel")
    return VendorChoice(None)


def _rocm_variants(rel: TorchRelease, platform: str) -> list[TorchVariant]:
    vs = [v for v in rel.variants_for(platform) if v.name.startswith("rocm")]
    return sorted(vs, key=lambda v: version_tuple(v.name[4:]), reverse=True)


@dataclass(frozen=True)
class GpuBuild:
    """A ROCm/XPU pick: (release, variant), or none with the reason and the findings to report."""

    release: TorchRelease | None
    variant: TorchVariant | None
    reasons: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    why_not: str | None = None  # set when nothing qualifies: what the CPU fallback says


def rocm_build(
    usable: Sequence[TorchRelease], amd: Sequence[Gpu], platform: str, wsl: bool, override: str | None,
    latest: bool,
) -> GpuBuild:
    reasons: list[str] = []
    findings: list[Finding] = []
    names = join_list(_label(g) for g in amd)
    reasons.append(_("AMD GPUs: {names}.").format(names=names))
    if platform != "linux-x86_64" or wsl:
        why = _("PyTorch publishes ROCm wheels for Linux x86_64 only, so no ROCm build applies on {platform}.").format(
            platform="WSL" if wsl else platform)
        return GpuBuild(None, None, tuple(reasons), (), why)
    forced = gfx_from_override(override)
    if override:
        reasons.append(
            _("{name}={value} is set: the ROCm runtime presents every AMD GPU as {gfx}.").format(
                name=HSA_OVERRIDE, value=override, gfx=forced or "?")
            if forced else
            _("{name}={value} is set but is not a version X.Y.Z; the ROCm runtime ignores or rejects it.").format(
                name=HSA_OVERRIDE, value=override)
        )
    unknown = [g for g in amd if not g.arch]
    if unknown and not forced:
        why = _("The gfx target of {names} is unknown, so no ROCm build can be checked for it.").format(
            names=join_list(_label(g) for g in unknown))
        findings.append(Finding("gpu_arch_unknown", "warning", why,
                                fix=_("Run `nktenv detect` where rocminfo or the KFD topology is readable, and plan from that snapshot.")))
        return GpuBuild(None, None, tuple(reasons), tuple(findings), why)
    targets = sorted({forced or g.arch for g in amd if forced or g.arch})
    newest_with_rocm = None
    for rel in usable:
        vs = _rocm_variants(rel, platform)
        if vs and newest_with_rocm is None:
            newest_with_rocm = rel
        for v in vs:
            if v.gpu_targets is not None and all(t in v.gpu_targets for t in targets):
                reasons.append(
                    _("torch {version} + {variant}: its ROCm GPU code ({list}) holds {targets}.").format(
                        version=rel.version, variant=v.name, list=", ".join(v.gpu_targets), targets=", ".join(targets)))
                unknown_vs = [u.name for u in vs if u.gpu_targets is None and version_tuple(u.name[4:]) > version_tuple(v.name[4:])]
                if unknown_vs:
                    reasons.append(_("{variants} is newer, but its GPU code is not established (torch.toml), so it is not chosen.").format(
                        variants=join_list(unknown_vs)))
                if latest and rel is not usable[0]:
                    if not _rocm_variants(usable[0], platform):
                        text = _("torch {newest} is newer but publishes no ROCm build; its ROCm wheels, once in torch.toml with their GPU code, would unlock it.")
                    else:
                        text = _("torch {newest} is newer but has no ROCm build whose GPU code is known to hold {targets}; a newer ROCm build listing it in torch.toml would unlock it.")
                    reasons.append(text.format(newest=usable[0].version, targets=", ".join(targets)))
                return GpuBuild(rel, v, tuple(reasons), tuple(findings))
    # Nothing holds every card: an APU's graphics beside a discrete card (gfx1036 beside gfx1102) is
    # the usual case. Serve the cards the newest build holds and say how to hide the rest.
    if len(targets) > 1:
        for rel in usable:
            for v in _rocm_variants(rel, platform):
                served = [g for g in amd if v.gpu_targets is not None and (forced or g.arch) in v.gpu_targets]
                if served:
                    left = [g for g in amd if all(g is not s for s in served)]
                    text = _("No ROCm build holds every AMD GPU; torch {version} + {variant} holds {served}, not {left}.").format(
                        version=rel.version, variant=v.name, served=join_list(_label(g) for g in served),
                        left=join_list(_label(g) for g in left))
                    reasons.append(text)
                    findings.append(Finding(
                        "rocm_gpu_left_out", "warning", text,
                        fix=_("Hide {left} from ROCm with HIP_VISIBLE_DEVICES (list only the other GPUs' indices, as rocminfo numbers them).").format(
                            left=join_list(_label(g) for g in left))))
                    return GpuBuild(rel, v, tuple(reasons), tuple(findings))
    # Nothing covers: does an override onto a sibling target unlock a build?
    hints = []
    for t in targets:
        for rel in usable:
            for v in _rocm_variants(rel, platform):
                sib = sibling_target(t, v.gpu_targets or ())
                if sib and not forced:
                    hints.append((t, sib, rel.version, v.name))
                    break
            if hints and hints[-1][0] == t:
                break
    why = _("No ROCm build of torch in the manifest has GPU code for {targets}.").format(targets=", ".join(targets))
    if hints:
        t, sib, version, variant = hints[0]
        findings.append(Finding(
            "rocm_override_needed", "info",
            _("{gfx} is in no ROCm build's targets; torch {version} + {variant} runs on it only with {name}={value} (its {sib} code; AMD does not support this).").format(
                gfx=t, version=version, variant=variant, name=HSA_OVERRIDE, value=override_version(sib), sib=sib),
            fix=_("Set {name}={value} and plan again with --variant {variant}, at your own risk.").format(
                name=HSA_OVERRIDE, value=override_version(sib), variant=variant)))
    return GpuBuild(None, None, tuple(reasons), tuple(findings), why)


def xpu_build(usable: Sequence[TorchRelease], intel: Sequence[Gpu], platform: str, latest: bool) -> GpuBuild:
    reasons = [_("Intel GPUs: {names}.").format(names=join_list(_label(g) for g in intel))]
    families = {g.arch for g in intel}
    if None in families or not families:
        unknown = [g for g in intel if not g.arch]
        why = _("{names} is not in a GPU family PyTorch's XPU builds validate (Arc A/B-series, Data Center GPU Max), so the plan keeps the CPU build.").format(
            names=join_list(_label(g) for g in unknown))
        return GpuBuild(None, None, tuple(reasons), (), why)
    for rel in usable:
        v = rel.variant("xpu")
        if v is None or platform not in v.platforms or v.gpu_targets is None:
            continue
        allowed = list(v.targets_for(platform) or ())
        if all(f in allowed for f in families):
            reasons.append(_("torch {version} + xpu: PyTorch's XPU builds validate {families} ({list}).").format(
                version=rel.version, families=", ".join(sorted(families)), list=", ".join(allowed)))
            if latest and rel is not usable[0]:
                reasons.append(_("torch {newest} is newer but its XPU build is not in the manifest for this GPU; listing it in torch.toml would unlock it.").format(
                    newest=usable[0].version))
            return GpuBuild(rel, v, tuple(reasons))
    why = _("No XPU build of torch in the manifest validates {families} on {platform}.").format(
        families=", ".join(sorted(f for f in families if f)), platform=platform)
    return GpuBuild(None, None, tuple(reasons), (), why)


def explicit_check(
    version: str, v: TorchVariant, others: Sequence[Gpu], override: str | None
) -> tuple[str, Finding | None] | None:
    """(reason, warning or None) for a ROCm variant asked for by name; None where it cannot be checked."""
    amd = [g for g in others if g.vendor == "amd" and g.arch]
    if not v.name.startswith("rocm") or v.gpu_targets is None or not amd:
        return None
    forced = gfx_from_override(override)
    missing = [g for g in amd if (forced or g.arch) not in v.gpu_targets]
    if not missing:
        return _("torch {version} + {variant} requested: its ROCm GPU code holds {targets}.").format(
            version=version, variant=v.name, targets=", ".join(sorted({forced or g.arch for g in amd if g.arch}))), None
    names = join_list(_label(g) for g in missing)
    text = _("torch {version} + {variant} requested, but its ROCm GPU code ({list}) has nothing for {names}: kernels will fail with \"HIP error: invalid device function\".").format(
        version=version, variant=v.name, list=", ".join(v.gpu_targets), names=names)
    return text, Finding("gpu_arch_unsupported_by_requested_version", "warning", text,
                         fix=_("Use --variant auto to get the newest ROCm build that holds it."))
