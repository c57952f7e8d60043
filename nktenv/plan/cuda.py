"""CUDA coverage: whether a variant's driver floor and GPU code fit this machine's driver and GPUs."""

from __future__ import annotations

from dataclasses import dataclass

from nktenv.facts import Gpu
from nktenv.i18n import _
from nktenv.manifest import Manifests, TorchRelease, TorchVariant, build_covers, driver_floor, driver_satisfies
from nktenv.plan.machine_view import Machine


@dataclass(frozen=True)
class _Check:
    """Why one CUDA variant does or does not qualify on this machine."""

    variant: TorchVariant
    floor: str | None
    driver_ok: bool
    uncovered: tuple[Gpu, ...]

    @property
    def ok(self) -> bool:
        return self.driver_ok and not self.uncovered and self.variant.archs_known


def _check(v: TorchVariant, m: Machine, manifests: Manifests) -> _Check:
    floor = driver_floor(v.cuda, m.driver_os, manifests=manifests) if v.cuda else None
    driver_ok = bool(m.driver and floor and driver_satisfies(m.driver, floor))
    sass, ptx = v.archs(m.driver_os if m.system == "windows" else "linux", m.arch)
    uncovered = tuple(
        g for g in m.gpus if g.cc is not None and not (v.archs_known and build_covers(g.cc, sass, ptx))
    )
    return _Check(v, floor, driver_ok, uncovered)


def _cuda_checks(rel: TorchRelease, m: Machine, manifests: Manifests) -> list[_Check]:
    return [_check(v, m, manifests) for v in rel.variants_for(m.platform) if v.is_cuda]


def _driver_table(m: Machine) -> str:
    if m.wsl:
        return _("Windows host driver, as WSL2 uses it")
    return _("Windows") if m.driver_os == "windows" else _("Linux")


def _cpu_variant(rel: TorchRelease, m: Machine) -> TorchVariant | None:
    v = rel.variant("cpu")
    return v if v is not None and m.platform in v.platforms else None


def _known_ccs(manifests: Manifests) -> list[tuple[int, int]]:
    """Every compute capability a real GPU has, from gpu-ids.toml and the generations table."""
    from nktenv.manifest import cc_tuple

    ccs = {cc_tuple(r.value) for r in manifests.gpu_ids if r.vendor == "nvidia"}
    ccs |= {cc_tuple(a.cc_min) for a in manifests.gpu_archs} | {cc_tuple(a.cc_max) for a in manifests.gpu_archs}
    return sorted(ccs)


def _breadth(v: TorchVariant, m: Machine, manifests: Manifests) -> int:
    sass, ptx = v.archs(m.driver_os if m.system == "windows" else "linux", m.arch)
    return sum(1 for cc in _known_ccs(manifests) if build_covers(cc, sass, ptx))


def _arch_range(v: TorchVariant, m: Machine) -> str:
    """'sm_50 to sm_90, newer through PTX compute_90' — what a build's GPU code runs on."""
    from nktenv.manifest import cc_tuple

    sass, ptx = v.archs(m.driver_os if m.system == "windows" else "linux", m.arch)
    if not sass:
        return "-"
    low, high = min(sass, key=cc_tuple), max(sass, key=cc_tuple)
    text = _("sm_{low} to sm_{high}").format(low=low.replace(".", ""), high=high.replace(".", ""))
    if ptx:
        text = _("{range}, newer GPUs through PTX compute_{ptx}").format(
            range=text, ptx=max(ptx, key=cc_tuple).replace(".", ""))
    return text
