"""Which torch release and variant a machine gets: candidate releases, per-variant checks, the choice."""

from __future__ import annotations

from typing import Sequence

from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests, TorchRelease
from nktenv.plan import vendors as plan_vendors
from nktenv.plan.cuda import _Check, _cpu_variant, _cuda_checks, _driver_table
from nktenv.plan.explain import _cheapest_unlock, _diagnose, _unlock_floor
from nktenv.plan.machine_view import Machine, _gpu_label
from nktenv.plan.model import FrameworkPlan, _fail, _requirements
from nktenv.plan.named_variant import _explicit_variant
from nktenv.plan.request import BACKEND_ENV, PlanRequest
from nktenv.plan.torch_routes import _assumed_gpu, _vendor_torch, _widest
from nktenv.wording import join_list


def _torch(m: Machine, manifests: Manifests, req: PlanRequest) -> tuple[FrameworkPlan | None, list[Finding]]:
    findings: list[Finding] = []
    reasons: list[str] = list(m.notes)
    wanted = req.torch.strip().lower()
    usable, failure = _candidate_releases(m, manifests, req, wanted, reasons, findings)
    if failure is not None:
        return None, failure

    newest = usable[0]
    if m.system == "darwin":
        if req.variant not in ("auto", "cpu"):
            return None, [
                _fail(
                    "variant_not_published",
                    _(
                        "Variant {variant} is not published for macOS; macOS wheels come from PyPI (CPU and Apple MPS)."
                    ).format(variant=req.variant),
                    _("Use --variant auto."),
                )
            ]
        reasons.append(
            _(
                "macOS: torch {version} from the default index (PyPI); no CUDA on macOS, Apple GPUs use MPS."
            ).format(version=newest.version)
        )
        return FrameworkPlan(
            newest.version, "cpu", None, _requirements(newest), tuple(reasons), False
        ), findings

    if req.variant != "auto":
        if req.variant_from_env:
            reasons.append(_("{name}={variant} chooses the build (--variant overrides it).").format(
                name=BACKEND_ENV, variant=req.variant))
        plan, more = _explicit_variant(usable, m, manifests, req, reasons)
        return plan, findings + more
    if m.assumed_gpu:
        return _assumed_gpu(usable, m, manifests, reasons), findings
    choice = plan_vendors.choose_vendor(m.gpus, m.others)
    reasons.extend(choice.notes)
    if choice.vendor in ("amd", "intel"):
        plan, more = _vendor_torch(choice.vendor, usable, m, req, reasons)
        return plan, findings + more

    if m.gpus:
        reasons.append(
            _("GPUs visible to CUDA: {names}.").format(names=join_list(_gpu_label(g) for g in m.gpus))
        )
    chosen = _first_qualifying(usable, m, manifests)
    unknown = [g for g in m.gpus if g.cc is None]
    if chosen is not None and unknown:
        chosen = _widest(chosen, usable, m, manifests, unknown, reasons)
    if chosen is not None:
        return _cuda_plan(chosen, newest, wanted, unknown, m, manifests, reasons, findings)
    return _cpu_fallback(newest, usable, m, manifests, req, reasons, findings)


def _candidate_releases(
    m: Machine, manifests: Manifests, req: PlanRequest, wanted: str, reasons: list[str], findings: list[Finding]
) -> tuple[Sequence[TorchRelease], list[Finding] | None]:
    """The releases the request allows on this platform and Python, newest first; or why there are none."""
    if wanted == "latest":
        # A release candidate is planned only when asked for by version.
        releases: Sequence[TorchRelease] = [r for r in manifests.torch if not r.is_prerelease]
    else:
        rel = manifests.torch_release(wanted)
        if rel is None:
            return (), [
                _fail(
                    "no_wheel_for_platform",
                    _("torch {version} is not in the manifest (newest known: {newest}).").format(
                        version=req.torch, newest=manifests.torch[0].version
                    ),
                    _(
                        "Check the version, or run `nktenv manifests refresh` if it is newer than the manifest."
                    ),
                )
            ]
        releases = (rel,)

    on_platform = [r for r in releases if r.variants_for(m.platform)]
    if not on_platform:
        return (), [
            _fail(
                "no_wheel_for_platform",
                _("No torch release in the manifest publishes a wheel for {platform}.").format(
                    platform=m.platform
                )
                if wanted == "latest"
                else _("torch {version} publishes no wheel for {platform}.").format(
                    version=releases[0].version, platform=m.platform
                ),
                _("Use another release, or a supported platform (macOS x86_64 wheels end at 2.2.2)."),
            )
        ]
    if m.python:
        usable = [r for r in on_platform if r.supports_python(m.python)]
        if not usable:
            rel = on_platform[0]
            return (), [
                _fail(
                    "python_version_unsupported",
                    _("Python {python} is not supported by torch {version} (it needs Python {spec}).").format(
                        python=m.python, version=rel.version, spec=rel.python
                    ),
                    _("Use a Python in {spec} (nktenv setup --python X.Y), or another torch release.").format(
                        spec=rel.python
                    ),
                )
            ]
        if wanted == "latest" and usable[0] is not on_platform[0]:
            newest = on_platform[0]
            reasons.append(
                _(
                    "torch {version} is newer but needs Python {spec}; this plan targets Python {python}."
                ).format(version=newest.version, spec=newest.python, python=m.python)
            )
    else:
        usable = on_platform
        findings.append(
            Finding(
                "python_unknown",
                "warning",
                _("The target Python version is unknown, so the Python range of torch was not checked."),
                fix=_("Pass --python X.Y."),
            )
        )
    return usable, None


def _first_qualifying(
    usable: Sequence[TorchRelease], m: Machine, manifests: Manifests
) -> tuple[TorchRelease, _Check, list[_Check]] | None:
    """The newest release with a CUDA variant that qualifies here: (release, best variant, all that qualify)."""
    chosen: tuple[TorchRelease, _Check, list[_Check]] | None = None
    if m.gpus:
        for rel in usable:
            checks = _cuda_checks(rel, m, manifests)
            good = [c for c in checks if c.ok]
            if good:
                chosen = (rel, good[0], good)
                break
    return chosen


def _cuda_plan(
    chosen: tuple[TorchRelease, _Check, list[_Check]],
    newest: TorchRelease,
    wanted: str,
    unknown: Sequence[Gpu],
    m: Machine,
    manifests: Manifests,
    reasons: list[str],
    findings: list[Finding],
) -> tuple[FrameworkPlan, list[Finding]]:
    """The chosen CUDA build, why it won, and what a newer driver would unlock."""
    rel, best, good = chosen
    v = best.variant
    if unknown:
        reasons.append(
            _("torch {version} + {variant}: driver {driver} meets its floor {floor} ({table}).").format(
                version=rel.version, variant=v.name, driver=m.driver, floor=best.floor, table=_driver_table(m))
        )
    else:
        reasons.append(
            _(
                "torch {version} + {variant}: driver {driver} meets its floor {floor} ({table}), and its GPU code covers every visible GPU."
            ).format(
                version=rel.version, variant=v.name, driver=m.driver, floor=best.floor, table=_driver_table(m)
            )
        )
    if len(good) > 1 and not unknown:
        reasons.append(
            _("Newest qualifying CUDA variant chosen; {others} also qualify.").format(
                others=join_list(c.variant.name for c in good[1:])
            )
        )
    if wanted == "latest" and rel is not newest and not unknown:
        why = _diagnose(newest, m, manifests, severity="info")
        reasons.append(
            _(
                "torch {version} is the newest release with a usable GPU build here; {newest} is not: {why}"
            ).format(version=rel.version, newest=newest.version, why=why.title)
        )
        if why.code == "driver_too_old":
            floor = _unlock_floor(newest, m, manifests)
            if floor:
                floor_v, variant = floor
                findings.append(
                    Finding(
                        "driver_upgrade_unlocks",
                        "info",
                        _("Driver >= {floor} unlocks torch {version} + {variant}.").format(
                            floor=floor_v, version=newest.version, variant=variant
                        ),
                        fix=_("Upgrade the NVIDIA driver to {floor} or newer.").format(floor=floor_v),
                    )
                )
    return FrameworkPlan(
        rel.version, v.name, v.index_url, _requirements(rel), tuple(reasons), True, cuda=v.cuda
    ), findings


def _cpu_fallback(
    newest: TorchRelease,
    usable: Sequence[TorchRelease],
    m: Machine,
    manifests: Manifests,
    req: PlanRequest,
    reasons: list[str],
    findings: list[Finding],
) -> tuple[FrameworkPlan | None, list[Finding]]:
    """No GPU build qualifies: the CPU build, or a failure that says why."""
    target = newest
    why = _diagnose(target, m, manifests, severity="warning" if req.cpu_fallback else "error", scope=usable)
    if not req.cpu_fallback:
        return None, findings + [why]
    cpu = _cpu_variant(target, m)
    if cpu is None:
        return None, findings + [
            _fail(
                "no_wheel_for_platform",
                _("torch {version} publishes no CPU wheel for {platform}.").format(
                    version=target.version, platform=m.platform
                ),
            )
        ]
    if m.gpus or m.hidden:
        findings.append(why)
    cheapest = _cheapest_unlock(usable, m, manifests) if why.code == "driver_too_old" else None
    if cheapest is not None:
        floor_v, version, variant = cheapest
        findings.append(
            Finding(
                "driver_upgrade_unlocks",
                "info",
                _("Driver >= {floor} unlocks torch {version} + {variant}.").format(
                    floor=floor_v, version=version, variant=variant
                ),
                fix=_("Upgrade the NVIDIA driver to {floor} or newer.").format(floor=floor_v),
            )
        )
    reasons.append(
        _("CPU build of torch {version} from the CPU index: {why}").format(
            version=target.version, why=why.title
        )
    )
    if m.system == "linux":
        reasons.append(
            _("The CPU index keeps pip from downloading the multi-GB CUDA wheels PyPI serves on Linux.")
        )
    findings.append(
        Finding(
            "cpu_fallback",
            "warning",
            _("No GPU build of torch qualifies on this machine; planning the CPU build."),
            fix=why.fix,
        )
    )
    return FrameworkPlan(
        target.version, "cpu", cpu.index_url, _requirements(target), tuple(reasons), False
    ), findings
