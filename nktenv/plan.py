"""Pick PyTorch and TensorFlow builds for a machine: a pure function of facts + manifests + request.

A torch variant qualifies when it was published for the release and platform, the driver meets the
CUDA minor-version-compatibility floor (WSL: the Windows host driver's floors), and its GPU code covers
every GPU visible to CUDA. The newest qualifying CUDA variant wins; `latest` is the newest release
with a qualifying GPU build, and the plan says what would unlock anything newer. Without a GPU build
the plan falls back to the CPU index (never PyPI's multi-GB CUDA default on Linux) with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from nktenv import gpuarch, plan_vendors
from nktenv.facts import Facts, Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list
from nktenv.manifest import (
    Manifests,
    TfRelease,
    TorchRelease,
    TorchVariant,
    build_covers,
    driver_floor,
    driver_satisfies,
    major_minor,
    version_tuple,
)

SCHEMA_ID = "nktenv.plan/1"

# Finding codes a failed request carries (the `nktenv.plan/1` contract).
FAILURE_CODES = (
    "python_version_unsupported",
    "variant_not_published",
    "no_wheel_for_platform",
    "gpu_arch_unsupported_by_requested_version",
    "mixed_arch_unsatisfiable",
    "driver_too_old",
    "no_compatible_variant",
)


@dataclass(frozen=True)
class PlanRequest:
    torch: str = "latest"  # latest | none | VERSION
    tensorflow: str = "none"  # none | latest | VERSION
    variant: str = "auto"  # auto | cpu | cu126 | rocm6.2 | xpu ...
    python: str | None = None  # X.Y; None = the probed interpreter
    cpu_fallback: bool = True
    variant_from_env: bool = False  # the variant is NKTENV_TORCH_BACKEND's, not --variant's


BACKEND_ENV = "NKTENV_TORCH_BACKEND"
_BACKEND = re.compile(r"^(auto|cpu|xpu|cu\d{3}|rocm\d+\.\d+(\.\d+)?)$")


def torch_backend(flag: str | None, environ: Mapping[str, str]) -> tuple[str, bool]:
    """(variant, from_env): --variant wins; else NKTENV_TORCH_BACKEND (like uv's UV_TORCH_BACKEND); else auto.

    Raises:
        NktenvError: "bad-torch-backend" (usage) for a value that names no backend.
    """
    if flag is not None and flag.strip():
        return flag.strip().lower(), False
    value = (environ.get(BACKEND_ENV) or "").strip().lower()
    if not value:
        return "auto", False
    if not _BACKEND.match(value):
        from nktenv.errors import ExitCode, NktenvError

        raise NktenvError(
            "bad-torch-backend",
            _("{name}={value} names no PyTorch backend.").format(name=BACKEND_ENV, value=environ.get(BACKEND_ENV)),
            hint=_("Use auto, cpu, cuXYZ (such as cu126), rocmX.Y (such as rocm6.4) or xpu, or unset it."),
            exit_code=ExitCode.USAGE,
        )
    return value, value != "auto"


@dataclass(frozen=True)
class FrameworkPlan:
    version: str
    variant: str | None
    index_url: str | None  # None = the default index (PyPI)
    requirements: tuple[str, ...]
    reasons: tuple[str, ...]
    gpu: bool
    extra_index_urls: tuple[str, ...] = ()
    cuda: str | None = None  # CUDA the build brings (torch) or needs (TensorFlow)

    def pip_command(self, python: str = "python") -> list[str]:
        """The exact argv that installs this plan."""
        argv = [python, "-m", "pip", "install", *self.requirements]
        if self.index_url:
            argv += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            argv += ["--extra-index-url", url]
        return argv

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "variant": self.variant,
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "requirements": list(self.requirements),
            "gpu": self.gpu,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Plan:
    ok: bool
    python: str | None
    torch: FrameworkPlan | None
    tensorflow: FrameworkPlan | None
    findings: tuple[Finding, ...] = ()

    @property
    def separate_venvs(self) -> bool:
        """PyTorch and TensorFlow must go into separate venvs (their CUDA libraries conflict)."""
        return any(f.code == "separate_venvs" for f in self.findings)

    def finding(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "ok": self.ok,
            "python": self.python,
            "torch": self.torch.to_dict() if self.torch else None,
            "tensorflow": self.tensorflow.to_dict() if self.tensorflow else None,
            "findings": [
                {"code": f.code, "severity": f.severity, "title": f.title, "fix": f.fix}
                for f in self.findings
            ],
        }


# --- the machine as the planner sees it ------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    system: str  # linux | windows | darwin
    wsl: bool
    arch: str  # x86_64 | aarch64
    platform: str  # linux-x86_64 | linux-aarch64 | windows-x86_64 | windows-arm64 | macos-arm64 | macos-x86_64
    driver_os: str  # linux | windows (WSL uses the Windows host driver)
    driver: str | None
    python: str | None  # X.Y
    gpus: tuple[Gpu, ...]  # NVIDIA GPUs visible to CUDA
    hidden: tuple[Gpu, ...]  # NVIDIA GPUs masked by CUDA_VISIBLE_DEVICES
    glibc: str | None
    notes: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()
    tegra: bool = False  # NVIDIA Jetson (L4T): the desktop and server wheel indexes do not apply
    l4t: str | None = None
    assumed_gpu: bool = False  # NKTENV_OVERRIDE_DRIVER without a GPU: plan for a GPU every build covers
    others: tuple[Gpu, ...] = ()  # AMD and Intel GPUs (plan_vendors)
    hsa_override: str | None = None  # HSA_OVERRIDE_GFX_VERSION

    @property
    def ccs(self) -> tuple[tuple[int, int], ...]:
        return tuple(cc for cc in (g.cc for g in self.gpus) if cc is not None)


def _is_nvidia(gpu: Gpu) -> bool:
    return gpu.vendor == "nvidia" or (gpu.vendor is None and gpu.compute_capability is not None)


def visible_gpus(facts: Facts) -> tuple[tuple[Gpu, ...], tuple[Gpu, ...]]:
    """(visible, hidden) NVIDIA GPUs under CUDA_VISIBLE_DEVICES (indices or GPU-UUID prefixes).

    Like the CUDA runtime, the list is read in order and stops at the first entry that names no
    device; an empty value hides every GPU.
    """
    nvidia = [g for g in facts.gpus if _is_nvidia(g)]
    value = facts.getenv("CUDA_VISIBLE_DEVICES")
    if value is None:
        return tuple(nvidia), ()
    chosen: list[Gpu] = []
    for raw in value.split(","):
        token = raw.strip()
        match: Gpu | None = None
        if token.lstrip("-").isdigit():
            index = int(token)
            match = next(
                (g for pos, g in enumerate(nvidia) if (g.index if g.index is not None else pos) == index),
                None,
            )
        elif token[:4].upper() == "GPU-":
            wanted = token.lower()
            hits = [g for g in nvidia if g.uuid and g.uuid.lower().startswith(wanted)]
            match = hits[0] if len(hits) == 1 else None
        if match is None:
            break
        if all(match is not g for g in chosen):
            chosen.append(match)
    hidden = tuple(g for g in nvidia if all(g is not c for c in chosen))
    return tuple(chosen), hidden


def machine(facts: Facts, request: PlanRequest) -> Machine:
    system = facts.os.system
    wsl = bool(facts.os.wsl) and system == "linux"
    arch = facts.os.arch or ("aarch64" if system == "darwin" else "x86_64")
    if system == "darwin":
        platform = "macos-arm64" if arch == "aarch64" else "macos-x86_64"
    elif system == "windows":
        # Wheel tags (and the manifest) call Windows on Arm "arm64".
        platform = "windows-arm64" if arch == "aarch64" else f"windows-{arch}"
    else:
        platform = f"linux-{arch}"
    driver_os = "windows" if system == "windows" or wsl else "linux"
    python = request.python or (facts.python.version if facts.python else None)
    python = major_minor(python) if python else None
    visible, hidden = visible_gpus(facts)
    if system == "darwin":
        visible, hidden = (), ()
    notes: list[str] = []
    warnings: list[Finding] = []
    if hidden:
        notes.append(
            _("CUDA_VISIBLE_DEVICES={value} hides {names}; only visible GPUs count.").format(
                value=facts.getenv("CUDA_VISIBLE_DEVICES"), names=join_list(_gpu_label(g) for g in hidden)
            )
        )
        masked_by_index = any(
            t.strip().isdigit() for t in (facts.getenv("CUDA_VISIBLE_DEVICES") or "").split(",")
        )
        kinds = {g.compute_capability for g in (*visible, *hidden)}
        if masked_by_index and len(kinds) > 1 and facts.getenv("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
            warnings.append(
                Finding(
                    "cuda_device_order",
                    "warning",
                    _(
                        "CUDA_VISIBLE_DEVICES uses indices but CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA may number these different GPUs in another order than nvidia-smi."
                    ),
                    fix=_("Set CUDA_DEVICE_ORDER=PCI_BUS_ID, or mask GPUs by UUID."),
                )
            )
    for g in visible:
        notes.extend(_derived_note(g))
    unknown = [g for g in visible if g.cc is None]
    if unknown:
        warnings.append(
            Finding(
                "gpu_arch_unknown",
                "warning",
                _(
                    "The compute capability of {names} is unknown, so the build's GPU code cannot be checked for it."
                ).format(names=join_list(_gpu_label(g) for g in unknown)),
                fix=_(
                    "Run `nktenv detect` with a working driver (NVML or nvidia-smi) and plan from that snapshot."
                ),
            )
        )
    driver = facts.driver.version if facts.driver else None
    overrides = (facts.driver.extra.get("overrides") or {}) if facts.driver else {}
    assumed = bool(driver and "version" in overrides and "gpus" not in overrides and not visible and not hidden
                   and not any(g.vendor in ("amd", "intel") for g in facts.gpus))
    return Machine(
        system=system,
        wsl=wsl,
        arch=arch,
        platform=platform,
        driver_os=driver_os,
        driver=driver,
        python=python,
        gpus=visible,
        hidden=hidden,
        glibc=facts.os.glibc,
        notes=tuple(notes),
        warnings=tuple(warnings),
        tegra=bool(facts.os.tegra),
        l4t=facts.os.l4t_release,
        assumed_gpu=assumed and system != "darwin",
        others=() if system == "darwin" else tuple(g for g in facts.gpus if g.vendor in ("amd", "intel")),
        hsa_override=facts.getenv(plan_vendors.HSA_OVERRIDE),
    )


def _derived_note(gpu: Gpu) -> list[str]:
    d = gpuarch.derived(gpu)
    if not d or not gpu.compute_capability:
        return []
    if d.get("source") == "pci-id":
        text = _("The driver does not report the compute capability of {gpu}; sm_{cc} comes from its PCI id {key} (gpu-ids.toml).")
    else:
        text = _("The driver does not report the compute capability of {gpu}; sm_{cc} comes from its name, {key} (gpu-ids.toml).")
    return [text.format(gpu=gpu.name or gpu.index, cc=gpu.compute_capability.replace(".", ""), key=d.get("from"))]


def _gpu_label(gpu: Gpu) -> str:
    name = gpu.name or _("GPU {index}").format(index=gpu.index)
    if gpu.compute_capability:
        return f"{name} (sm_{gpu.compute_capability.replace('.', '')})"
    return name


# --- torch -------------------------------------------------------------------------------------


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


def _requirements(rel: TorchRelease) -> tuple[str, ...]:
    # torchvision pins its torch exactly, so where the pairing is not in the manifest pip finds it.
    # torchaudio comes along only where torch.toml pairs it: the torch index carries that build, so the
    # one --index-url serves all three and no other index can slip a mismatched build in.
    reqs = (f"torch=={rel.version}", f"torchvision=={rel.torchvision}" if rel.torchvision else "torchvision")
    return reqs + ((f"torchaudio=={rel.torchaudio}",) if rel.torchaudio else ())


def _fail(code: str, title: str, fix: str | None = None, severity: str = "error") -> Finding:
    return Finding(code, severity, title, fix=fix)


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


def _driver_table(m: Machine) -> str:
    if m.wsl:
        return _("Windows host driver, as WSL2 uses it")
    return _("Windows") if m.driver_os == "windows" else _("Linux")


def _cpu_variant(rel: TorchRelease, m: Machine) -> TorchVariant | None:
    v = rel.variant("cpu")
    return v if v is not None and m.platform in v.platforms else None


def _torch(m: Machine, manifests: Manifests, req: PlanRequest) -> tuple[FrameworkPlan | None, list[Finding]]:
    findings: list[Finding] = []
    reasons: list[str] = list(m.notes)
    wanted = req.torch.strip().lower()
    if wanted == "latest":
        # A release candidate is planned only when asked for by version.
        releases: Sequence[TorchRelease] = [r for r in manifests.torch if not r.is_prerelease]
    else:
        rel = manifests.torch_release(wanted)
        if rel is None:
            return None, [
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
        return None, [
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
            return None, [
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
    chosen: tuple[TorchRelease, _Check, list[_Check]] | None = None
    if m.gpus:
        for rel in usable:
            checks = _cuda_checks(rel, m, manifests)
            good = [c for c in checks if c.ok]
            if good:
                chosen = (rel, good[0], good)
                break
    unknown = [g for g in m.gpus if g.cc is None]
    if chosen is not None and unknown:
        chosen = _widest(chosen, usable, m, manifests, unknown, reasons)
    if chosen is not None:
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

    # No GPU build qualifies: CPU fallback, or a failure that says why.
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


# --- TensorFlow --------------------------------------------------------------------------------


def _tf_route(m: Machine) -> str:
    if m.system == "windows":
        return "windows-native"
    return "wsl" if m.wsl else "linux"


def _tf_gpu_problem(rel: TfRelease, m: Machine, manifests: Manifests) -> Finding | None:
    """None when `rel` can use every visible GPU here; else a finding (severity error) saying why."""
    route = _tf_route(m)
    if not m.gpus:
        return _fail(
            "no_compatible_variant",
            _("No NVIDIA GPU is visible to CUDA."),
            _("Use the CPU build, or check the GPU with `nktenv doctor`."),
        )
    if m.arch != "x86_64":
        return _fail(
            "no_wheel_for_platform",
            _("TensorFlow publishes no CUDA wheel for {platform}.").format(platform=m.platform),
        )
    if route not in rel.gpu_platforms:
        if route == "windows-native":
            return _fail(
                "tf_windows_native_gpu_unsupported",
                _("TensorFlow {version} has no GPU support on native Windows (it ended with 2.10).").format(
                    version=rel.version
                ),
                _("Use WSL2, or TensorFlow 2.10 with Python <= 3.10 and CUDA 11.2 + cuDNN 8.1."),
            )
        return _fail(
            "no_compatible_variant",
            _("TensorFlow {version} has no GPU build for {route}.").format(version=rel.version, route=route),
        )
    if rel.and_cuda_for(m.python) == "broken" and route != "windows-native":
        if rel.and_cuda == "broken":
            fix = _("Use the .post1 release of the same version.")
        else:
            fix = _("Use Python {spec} for this release, or a newer TensorFlow.").format(
                spec=rel.and_cuda_python
            )
        return _fail(
            "no_compatible_variant",
            _(
                "tensorflow[and-cuda]=={version} cannot be installed (a pinned dependency is not on PyPI)."
            ).format(version=rel.version),
            fix,
        )
    floor = driver_floor(rel.cuda, m.driver_os, manifests=manifests) if rel.cuda else None
    if floor and not (m.driver and driver_satisfies(m.driver, floor)):
        return _fail(
            "driver_too_old",
            _(
                "TensorFlow {version} (CUDA {cuda}) needs driver >= {floor}; this machine has {driver}."
            ).format(version=rel.version, cuda=rel.cuda, floor=floor, driver=m.driver or _("none")),
            _("Upgrade the NVIDIA driver to {floor} or newer.").format(floor=floor),
        )
    if rel.min_cc:
        low = [g for g in m.gpus if g.cc is not None and g.cc < version_tuple(rel.min_cc)[:2]]
        if low:
            return _fail(
                "gpu_arch_unsupported_by_requested_version",
                _("TensorFlow {version} needs compute capability >= {cc}; {names} is older.").format(
                    version=rel.version, cc=rel.min_cc, names=join_list(_gpu_label(g) for g in low)
                ),
                _("Use an older TensorFlow release, or PyTorch."),
            )
    return None


def _tf_installable(rel: TfRelease, m: Machine) -> Finding | None:
    if m.python and not rel.supports_python(m.python):
        return _fail(
            "python_version_unsupported",
            _("Python {python} is not supported by TensorFlow {version} (it needs Python {spec}).").format(
                python=m.python, version=rel.version, spec=rel.python
            ),
            _("Use a Python in {spec}, or another TensorFlow release.").format(spec=rel.python),
        )
    if m.platform == "macos-x86_64" and not rel.macos_x86_64:
        return _fail(
            "no_wheel_for_platform",
            _("TensorFlow {version} has no macOS x86_64 wheel (2.16 was the last).").format(
                version=rel.version
            ),
        )
    if (
        m.system == "linux"
        and m.glibc
        and rel.glibc_min
        and version_tuple(m.glibc) < version_tuple(rel.glibc_min)
    ):
        return _fail(
            "no_wheel_for_platform",
            _("TensorFlow {version} needs glibc >= {need}; this system has {have}.").format(
                version=rel.version, need=rel.glibc_min, have=m.glibc
            ),
            _("Use an older TensorFlow release or a newer Linux."),
        )
    return None


def _tf_plan(rel: TfRelease, m: Machine, gpu: bool, reasons: list[str]) -> FrameworkPlan:
    route = _tf_route(m)
    if m.system == "darwin":
        package = rel.macos_arm64_package if m.arch == "aarch64" else "tensorflow"
        reasons.append(
            _(
                "macOS: plain {package} from PyPI; no CUDA on macOS (tensorflow-metal adds the Apple GPU)."
            ).format(package=package)
        )
        return FrameworkPlan(rel.version, None, None, (f"{package}=={rel.version}",), tuple(reasons), False)
    if gpu and route in ("linux", "wsl") and rel.and_cuda_for(m.python) == "ok":
        reasons.append(
            _("tensorflow[and-cuda] brings CUDA {cuda} and cuDNN {cudnn} as pip packages.").format(
                cuda=rel.cuda, cudnn=rel.cudnn
            )
        )
        return FrameworkPlan(
            rel.version,
            "and-cuda",
            None,
            (f"tensorflow[and-cuda]=={rel.version}",),
            tuple(reasons),
            True,
            cuda=rel.cuda,
        )
    if gpu:
        reasons.append(
            _(
                "TensorFlow {version} needs CUDA {cuda} and cuDNN {cudnn} installed outside pip (e.g. conda install -c conda-forge cudatoolkit={cuda} cudnn={cudnn})."
            ).format(version=rel.version, cuda=rel.cuda, cudnn=rel.cudnn)
        )
        return FrameworkPlan(
            rel.version,
            "system-cuda",
            None,
            (f"tensorflow=={rel.version}",),
            tuple(reasons),
            True,
            cuda=rel.cuda,
        )
    return FrameworkPlan(rel.version, "cpu", None, (f"tensorflow=={rel.version}",), tuple(reasons), False)


def _tensorflow(
    m: Machine, manifests: Manifests, req: PlanRequest
) -> tuple[FrameworkPlan | None, list[Finding]]:
    wanted = req.tensorflow.strip().lower()
    reasons: list[str] = []
    findings: list[Finding] = []
    if wanted == "latest":
        candidates = [r for r in manifests.tensorflow if r.and_cuda != "broken" and not r.is_prerelease]
    else:
        rel = manifests.tf_release(wanted)
        if rel is None:
            return None, [
                _fail(
                    "no_wheel_for_platform",
                    _("TensorFlow {version} is not in the manifest (newest known: {newest}).").format(
                        version=req.tensorflow, newest=manifests.tensorflow[0].version
                    ),
                )
            ]
        if rel.and_cuda == "broken" and m.gpus and _tf_route(m) in ("linux", "wsl"):
            fixed = next(
                (
                    r
                    for r in manifests.tensorflow
                    if r.version.startswith(rel.version + ".post") and r.and_cuda == "ok"
                ),
                None,
            )
            if fixed is not None:
                reasons.append(
                    _(
                        "tensorflow[and-cuda]=={version} cannot be installed; {fixed} is the same release with that fixed."
                    ).format(version=rel.version, fixed=fixed.version)
                )
                rel = fixed
        candidates = [rel]
    installable: list[TfRelease] = []
    first_problem: Finding | None = None
    for rel in candidates:
        problem = _tf_installable(rel, m)
        if problem is None:
            installable.append(rel)
        elif first_problem is None:
            first_problem = problem
    if not installable:
        assert first_problem is not None
        return None, [first_problem]
    if m.system == "darwin":
        return _tf_plan(installable[0], m, False, reasons), findings
    newest = installable[0]
    for rel in installable:
        if _tf_gpu_problem(rel, m, manifests) is None:
            if rel is not newest:
                why = _tf_gpu_problem(newest, m, manifests)
                reasons.append(
                    _(
                        "TensorFlow {version} is the newest release that can use the GPU here; {newest} cannot: {why}"
                    ).format(version=rel.version, newest=newest.version, why=why.title if why else "")
                )
                if why is not None and why.code == "tf_windows_native_gpu_unsupported":
                    findings.append(Finding(why.code, "info", why.title, fix=why.fix))
            if _tf_route(m) == "windows-native":
                findings.extend(_windows_tf_libs(rel, m))
            return _tf_plan(rel, m, True, reasons), findings
    why = _tf_gpu_problem(newest, m, manifests)
    assert why is not None
    code = why.code
    if not req.cpu_fallback:
        if code == "tf_windows_native_gpu_unsupported":
            findings.append(Finding(code, "warning", why.title, fix=why.fix))
            code = "no_compatible_variant"
        return None, findings + [Finding(code, "error", why.title, fix=why.fix)]
    if m.gpus or m.hidden:
        findings.append(Finding(code, "warning", why.title, fix=why.fix))
    reasons.append(
        _("CPU build of TensorFlow {version}: {why}").format(version=newest.version, why=why.title)
    )
    findings.append(
        Finding(
            "cpu_fallback",
            "warning",
            _("No GPU build of TensorFlow qualifies on this machine; planning the CPU build."),
            fix=why.fix,
        )
    )
    return _tf_plan(newest, m, False, reasons), findings


def _windows_tf_libs(rel: TfRelease, m: Machine) -> list[Finding]:
    return [
        Finding(
            "tf_needs_system_cuda",
            "info",
            _(
                "Native-Windows TensorFlow {version} uses a system-wide CUDA {cuda} and cuDNN {cudnn}, which pip does not install."
            ).format(version=rel.version, cuda=rel.cuda, cudnn=rel.cudnn),
            fix=_("conda install -c conda-forge cudatoolkit={cuda} cudnn={cudnn}, or use WSL2.").format(
                cuda=rel.cuda, cudnn=rel.cudnn
            ),
        )
    ]


# --- entry point -------------------------------------------------------------------------------


def make_plan(facts: Facts, manifests: Manifests, request: PlanRequest | None = None) -> Plan:
    """Choose builds for `facts` from `manifests`. Pure: no I/O, no clock, no environment."""
    req = request or PlanRequest()
    version, _sep, local = req.torch.strip().partition("+")
    if local and req.variant == "auto":
        # "2.1.0+cu118" names its build.
        from dataclasses import replace as _replace

        req = _replace(req, torch=version, variant=local.split(".")[0].lower())
    gpus = gpuarch.with_derived_arch(facts.gpus, manifests)
    if gpus != facts.gpus:  # a snapshot from before derivation, or a hand-written one
        from dataclasses import replace as _replace

        facts = _replace(facts, gpus=gpus)
    m = machine(facts, req)
    findings: list[Finding] = list(m.warnings)
    if m.tegra and (req.torch.strip().lower() != "none" or req.tensorflow.strip().lower() != "none"):
        findings.append(_fail(
            "no_wheel_for_platform",
            _("This is an NVIDIA Jetson (Tegra, L4T {l4t}): the wheel indexes in nktenv's manifests are for desktop and server GPUs, and none of them applies here.").format(
                l4t=m.l4t or "?"),
            _("Install the PyTorch or TensorFlow build that NVIDIA publishes for your JetPack release (L4T {l4t}).").format(
                l4t=m.l4t or "?"),
        ))
        return Plan(ok=False, python=m.python, torch=None, tensorflow=None, findings=tuple(_dedupe(findings)))
    torch_plan: FrameworkPlan | None = None
    tf_plan: FrameworkPlan | None = None
    if req.torch.strip().lower() != "none":
        torch_plan, more = _torch(m, manifests, req)
        findings += more
    if req.tensorflow.strip().lower() != "none":
        tf_plan, more = _tensorflow(m, manifests, req)
        findings += more
    if torch_plan and tf_plan and torch_plan.gpu and tf_plan.gpu and _pip_cuda(tf_plan):
        # Only TensorFlow's [and-cuda] pins NVIDIA's pip packages (exact versions, unlike torch's);
        # a TensorFlow that uses the system's CUDA libraries can share the venv.
        text = _(
            "Install PyTorch and TensorFlow into separate venvs: each pins its own versions of NVIDIA's CUDA library packages (torch {torch_cuda}, TensorFlow {tf_cuda}) and one venv cannot hold both sets."
        ).format(torch_cuda=torch_plan.cuda or "?", tf_cuda=tf_plan.cuda or "?")
        findings.append(
            Finding("separate_venvs", "info", text, fix=_("Run nktenv setup once per framework, each with its own --venv: first with --tensorflow none, then with --torch none."))
        )
        torch_plan = _with_reason(torch_plan, text)
        tf_plan = _with_reason(tf_plan, text)
    findings = _dedupe(findings)
    ok = not any(f.severity == "error" for f in findings)
    return Plan(ok=ok, python=m.python, torch=torch_plan, tensorflow=tf_plan, findings=tuple(findings))


def _pip_cuda(plan: FrameworkPlan) -> bool:
    return any("[and-cuda]" in r.replace(" ", "") for r in plan.requirements)


def _with_reason(plan: FrameworkPlan, text: str) -> FrameworkPlan:
    from dataclasses import replace

    return replace(plan, reasons=plan.reasons + (text,))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.code, f.title)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


__all__ = [
    "FAILURE_CODES",
    "SCHEMA_ID",
    "FrameworkPlan",
    "Plan",
    "PlanRequest",
    "make_plan",
    "visible_gpus",
]
