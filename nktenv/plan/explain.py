"""Why no CUDA build qualifies, which release would cover a GPU, and which driver upgrade unlocks one."""

from __future__ import annotations

from typing import Sequence

from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests, TorchRelease, version_tuple
from nktenv.plan.cuda import _cuda_checks, _driver_table
from nktenv.plan.machine_view import Machine, _gpu_label
from nktenv.plan.model import _fail
from nktenv.wording import join_list


def _diagnose(
    rel: TorchRelease,
    m: Machine,
    manifests: Manifests,
    severity: str = "error",
    scope: Sequence[TorchRelease] = (),
) -> Finding:
    """Why no CUDA build of `rel` qualifies here: one finding with the fix.

    `scope` are the releases the request allowed (all of them for `latest`): GPUs that each have a
    build somewhere in it, but never one build together, are `mixed_arch_unsatisfiable`."""
    checks = _cuda_checks(rel, m, manifests)
    if not m.gpus:
        if m.hidden:
            return _fail(
                "no_compatible_variant",
                _("No NVIDIA GPU is visible to CUDA (CUDA_VISIBLE_DEVICES hides them all)."),
                _("Unset CUDA_VISIBLE_DEVICES or list a GPU in it."),
                severity,
            )
        return _fail(
            "no_compatible_variant",
            _(
                "No NVIDIA GPU is visible on this machine, so no CUDA build of torch {version} applies."
            ).format(version=rel.version),
            _("If this machine has an NVIDIA GPU, check it with `nktenv doctor`."),
            severity,
        )
    if not checks:
        return _fail(
            "no_compatible_variant",
            _("torch {version} publishes no CUDA build for {platform}.").format(
                version=rel.version, platform=m.platform
            ),
            _("Use the CPU build or another release."),
            severity,
        )
    if all(not c.variant.archs_known for c in checks):
        return _fail(
            "no_compatible_variant",
            _(
                "The GPU code of torch {version}'s CUDA builds is not in the manifest yet, so none can be checked against this GPU."
            ).format(version=rel.version),
            _("Fill in their sass/ptx lists in torch.toml (docs/manifests.md), or use an older release."),
            severity,
        )
    covering = [c for c in checks if not c.uncovered and c.variant.archs_known]
    if covering:
        best = min(covering, key=lambda c: version_tuple(c.floor or "0"))
        if m.driver is None:
            return _fail(
                "driver_too_old",
                _("No NVIDIA driver was found; torch {version} + {variant} needs driver >= {floor}.").format(
                    version=rel.version, variant=best.variant.name, floor=best.floor
                ),
                _("Install the NVIDIA driver (>= {floor}).").format(floor=best.floor),
                severity,
            )
        return _fail(
            "driver_too_old",
            _(
                "Driver {driver} is too old for torch {version}: {variant} needs driver >= {floor} ({table} floor)."
            ).format(
                driver=m.driver,
                version=rel.version,
                variant=best.variant.name,
                floor=best.floor,
                table=_driver_table(m),
            ),
            _("Upgrade the NVIDIA driver to {floor} or newer.").format(floor=best.floor),
            severity,
        )
    # No variant covers every visible GPU. Mixed: each GPU is covered by some variant, just not one.
    known = [g for g in m.gpus if g.cc is not None]
    scope_checks = [
        c for r in (scope or (rel,)) for c in _cuda_checks(r, m, manifests) if c.variant.archs_known
    ]
    each_covered = all(any(g not in c.uncovered for c in scope_checks) for g in known)
    if len({g.cc for g in known}) > 1 and each_covered:
        names = join_list(_gpu_label(g) for g in known)
        return _fail(
            "mixed_arch_unsatisfiable",
            _("No single torch build covers all visible GPUs: {names}.").format(names=names)
            if len(scope) > 1
            else _("No single torch {version} build covers all visible GPUs: {names}.").format(
                version=rel.version, names=names
            ),
            _("Mask one kind of GPU with CUDA_VISIBLE_DEVICES (by UUID), or use separate environments."),
            severity,
        )
    stuck = [g for g in known if all(g in c.uncovered or not c.variant.archs_known for c in checks)]
    gpu = stuck[0] if stuck else known[0]
    other = _release_covering(gpu, m, manifests, rel)
    if other is not None:
        fix = _("torch {other} has a build with kernels for it; request it with --torch {other}.").format(
            other=other
        )
    else:
        fix = _("No torch release in the manifest has kernels for this GPU on {platform}.").format(
            platform=m.platform
        )
    arch = manifests.gpu_arch(gpu.cc) if gpu.cc else None
    return _fail(
        "gpu_arch_unsupported_by_requested_version",
        _("torch {version} has no kernels for {gpu} [{generation}].").format(
            version=rel.version, gpu=_gpu_label(gpu), generation=arch.name
        )
        if arch
        else _("torch {version} has no kernels for {gpu}.").format(version=rel.version, gpu=_gpu_label(gpu)),
        fix,
        severity,
    )


def _release_covering(gpu: Gpu, m: Machine, manifests: Manifests, not_this: TorchRelease) -> str | None:
    """The newest release (Python permitting) with a CUDA build whose code covers `gpu`."""
    if gpu.cc is None:
        return None
    for rel in manifests.torch:
        if rel is not_this or (m.python and not rel.supports_python(m.python)):
            continue
        for c in _cuda_checks(rel, m, manifests):
            if c.variant.archs_known and gpu not in c.uncovered:
                return rel.version
    return None


def _cheapest_unlock(
    releases: Sequence[TorchRelease], m: Machine, manifests: Manifests
) -> tuple[str, str, str] | None:
    """(floor, release, variant): the smallest driver upgrade that gives a GPU build, and the newest
    release it reaches."""
    best: tuple[str, str, str] | None = None
    for rel in releases:  # newest first, so ties keep the newest release
        for c in _cuda_checks(rel, m, manifests):
            if c.uncovered or not c.variant.archs_known or not c.floor:
                continue
            if best is None or version_tuple(c.floor) < version_tuple(best[0]):
                best = (c.floor, rel.version, c.variant.name)
    return best


def _unlock_floor(rel: TorchRelease, m: Machine, manifests: Manifests) -> tuple[str, str] | None:
    """(driver floor, variant) of the newest variant of `rel` that would qualify with a newer driver."""
    for c in _cuda_checks(rel, m, manifests):
        if not c.uncovered and c.variant.archs_known and c.floor:
            return c.floor, c.variant.name
    return None
