"""Torch plans off the plain CUDA path: AMD and Intel GPUs, a GPU of unknown architecture, an assumed GPU."""

from __future__ import annotations

from typing import Sequence

from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests, TorchRelease, driver_floor, driver_satisfies
from nktenv.plan import vendors as plan_vendors
from nktenv.plan.cuda import _arch_range, _breadth, _Check, _cpu_variant, _cuda_checks, _driver_table
from nktenv.plan.machine_view import Machine, _gpu_label
from nktenv.plan.model import FrameworkPlan, _fail, _requirements
from nktenv.plan.request import PlanRequest
from nktenv.wording import join_list


def _vendor_torch(
    vendor: str, usable: Sequence[TorchRelease], m: Machine, req: PlanRequest, reasons: list[str]
) -> tuple[FrameworkPlan | None, list[Finding]]:
    """A ROCm or XPU build for the AMD or Intel GPUs, else the CPU build and why."""
    latest = req.torch.strip().lower() == "latest"
    gpus = [g for g in m.others if g.vendor == vendor]
    if vendor == "amd":
        pick = plan_vendors.rocm_build(usable, gpus, m.platform, m.wsl, m.hsa_override, latest)
    else:
        pick = plan_vendors.xpu_build(usable, gpus, m.platform, latest)
    reasons.extend(pick.reasons)
    findings = list(pick.findings)
    if pick.release is not None and pick.variant is not None:
        rel, v = pick.release, pick.variant
        return FrameworkPlan(rel.version, v.name, v.index_url, _requirements(rel), tuple(reasons), True), findings
    why = pick.why_not or ""
    if not req.cpu_fallback:
        return None, findings + [_fail("no_compatible_variant", why, _("Use --variant cpu."))]
    target = usable[0]
    cpu = _cpu_variant(target, m)
    if cpu is None:
        return None, findings + [_fail("no_wheel_for_platform", _("torch {version} publishes no CPU wheel for {platform}.").format(
            version=target.version, platform=m.platform))]
    reasons.append(_("CPU build of torch {version} from the CPU index: {why}").format(version=target.version, why=why))
    findings.append(Finding(
        "cpu_fallback", "warning", _("No GPU build of torch qualifies on this machine; planning the CPU build."),
        fix=next((f.fix for f in findings if f.fix), None)))
    return FrameworkPlan(target.version, "cpu", cpu.index_url, _requirements(target), tuple(reasons), False), findings


def _widest(
    chosen: tuple[TorchRelease, _Check, list[_Check]],
    usable: Sequence[TorchRelease],
    m: Machine,
    manifests: Manifests,
    unknown: Sequence[Gpu],
    reasons: list[str],
) -> tuple[TorchRelease, _Check, list[_Check]]:
    """For a GPU of unknown architecture the newest build may lack its kernels: take the build (of
    any usable release the driver allows) whose kernels cover the most GPU architectures, the newest
    among equals, and say so."""
    best = chosen
    score = _breadth(chosen[1].variant, m, manifests)
    for rel in usable:
        for c in _cuda_checks(rel, m, manifests):
            if c.ok and _breadth(c.variant, m, manifests) > score:
                best, score = (rel, c, [c]), _breadth(c.variant, m, manifests)
    rel, c, _good = best
    names = join_list(_gpu_label(g) for g in unknown)
    if best is chosen:
        text = _("The architecture of {names} is unknown; torch {version} + {variant} is both the newest build the driver allows and one whose kernels cover the widest range ({range}).")
    else:
        text = _("The architecture of {names} is unknown, so the plan takes torch {version} + {variant}, the build whose kernels cover the widest range ({range}), rather than the newest, torch {newest} + {newest_variant}.")
    reasons.append(text.format(names=names, version=rel.version, variant=c.variant.name, range=_arch_range(c.variant, m),
                               newest=chosen[0].version, newest_variant=chosen[1].variant.name))
    return best


def _assumed_gpu(
    usable: Sequence[TorchRelease], m: Machine, manifests: Manifests, reasons: list[str]
) -> FrameworkPlan:
    """NKTENV_OVERRIDE_DRIVER without a GPU (planning for a machine that is not here, like uv's
    UV_CUDA_DRIVER_VERSION): the newest build the driver allows, for a GPU every build covers."""
    for rel in usable:
        for v in rel.variants_for(m.platform):
            if not v.is_cuda or not v.archs_known:
                continue
            floor = driver_floor(v.cuda, m.driver_os, manifests=manifests)
            if m.driver and floor and driver_satisfies(m.driver, floor):
                reasons.append(
                    _("No GPU is visible and NKTENV_OVERRIDE_DRIVER={driver} is set: the plan assumes a GPU that every CUDA build covers. torch {version} + {variant} is the newest the driver allows (floor {floor}, {table}); its kernels run on {range}.").format(
                        driver=m.driver, version=rel.version, variant=v.name, floor=floor, table=_driver_table(m),
                        range=_arch_range(v, m))
                )
                return FrameworkPlan(rel.version, v.name, v.index_url, _requirements(rel), tuple(reasons), True,
                                     cuda=v.cuda)
    target = usable[0]
    cpu = _cpu_variant(target, m)
    reasons.append(_("No GPU is visible and no CUDA build of torch allows driver {driver}: CPU build of torch {version}.").format(
        driver=m.driver, version=target.version))
    return FrameworkPlan(target.version, "cpu", cpu.index_url if cpu else None, _requirements(target),
                         tuple(reasons), False)
