"""A torch variant asked for by name (--variant or NKTENV_TORCH_BACKEND): does it fit, and if not, why."""

from __future__ import annotations

from typing import Sequence

from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests, TorchRelease
from nktenv.plan import vendors as plan_vendors
from nktenv.plan.cuda import _check, _driver_table
from nktenv.plan.machine_view import Machine, _gpu_label
from nktenv.plan.model import FrameworkPlan, _fail, _requirements
from nktenv.plan.request import PlanRequest
from nktenv.wording import join_list


def _explicit_variant(
    usable: Sequence[TorchRelease], m: Machine, manifests: Manifests, req: PlanRequest, reasons: list[str]
) -> tuple[FrameworkPlan | None, list[Finding]]:
    name = req.variant.strip().lower()
    published = [r for r in usable if (v := r.variant(name)) is not None and m.platform in v.platforms]
    if not published:
        return None, [
            _fail(
                "variant_not_published",
                _("Variant {variant} was never published for any torch release on {platform}.").format(
                    variant=name, platform=m.platform
                )
                if req.torch.strip().lower() == "latest"
                else _("Variant {variant} was never published for torch {version} on {platform}.").format(
                    variant=name, version=usable[0].version, platform=m.platform
                ),
                _("Published here: {variants}.").format(
                    variants=join_list(v.name for v in usable[0].variants_for(m.platform)) or "-"
                ),
            )
        ]
    first = published[0]
    v = first.variant(name)
    assert v is not None
    if not v.is_cuda:
        if name == "cpu":
            reasons.append(_("CPU build of torch {version} requested.").format(version=first.version))
        else:
            more = plan_vendors.explicit_check(first.version, v, m.others, m.hsa_override)
            if more is None:
                reasons.append(
                    _(
                        "torch {version} + {variant} requested; nktenv does not check AMD or Intel GPUs against it."
                    ).format(version=first.version, variant=name)
                )
            else:
                reasons.append(more[0])
                if more[1] is not None:
                    return FrameworkPlan(
                        first.version, name, v.index_url, _requirements(first), tuple(reasons), True
                    ), [more[1]]
        return FrameworkPlan(
            first.version, name, v.index_url, _requirements(first), tuple(reasons), name != "cpu"
        ), []
    for rel in published:
        c = _check(rel.variant(name), m, manifests)  # type: ignore[arg-type]
        if c.ok:
            reasons.append(
                _(
                    "torch {version} + {variant} requested: driver {driver} meets its floor {floor} ({table}), and its GPU code covers every visible GPU."
                ).format(
                    version=rel.version, variant=name, driver=m.driver, floor=c.floor, table=_driver_table(m)
                )
            )
            return FrameworkPlan(
                rel.version,
                name,
                c.variant.index_url,
                _requirements(rel),
                tuple(reasons),
                True,
                cuda=c.variant.cuda,
            ), []
    c = _check(v, m, manifests)
    if not m.gpus:
        return None, [
            _fail(
                "no_compatible_variant",
                _("No NVIDIA GPU is visible to CUDA, so {variant} cannot be used.").format(variant=name),
                _("Use --variant cpu, or check the GPU with `nktenv doctor`."),
            )
        ]
    if not c.driver_ok:
        return None, [
            _fail(
                "driver_too_old",
                _(
                    "Driver {driver} is too old for torch {version} + {variant}: it needs driver >= {floor} ({table} floor)."
                ).format(
                    driver=m.driver or _("(none)"),
                    version=first.version,
                    variant=name,
                    floor=c.floor,
                    table=_driver_table(m),
                ),
                _("Upgrade the NVIDIA driver to {floor} or newer.").format(floor=c.floor),
            )
        ]
    if not v.archs_known:
        return None, [
            _fail(
                "gpu_arch_unsupported_by_requested_version",
                _(
                    "The GPU code of torch {version} + {variant} is not known to nktenv, so it cannot be checked for {names}."
                ).format(version=first.version, variant=name, names=join_list(_gpu_label(g) for g in m.gpus)),
                _("Add its sass/ptx lists to the manifest (docs/manifests.md)."),
            )
        ]
    sass, ptx = v.archs(m.driver_os if m.system == "windows" else "linux", m.arch)
    return None, [
        _fail(
            "gpu_arch_unsupported_by_requested_version",
            _("torch {version} + {variant} has no kernels for {names} (it carries {archs}).").format(
                version=first.version,
                variant=name,
                names=join_list(_gpu_label(g) for g in c.uncovered),
                archs=" ".join(
                    [f"sm_{s.replace('.', '')}" for s in sass]
                    + [f"compute_{p.replace('.', '')}" for p in ptx]
                ),
            ),
            _("Choose --variant auto to find a build that covers it."),
        )
    ]
