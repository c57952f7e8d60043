"""What the facts say about the machine, as the planner sees it: platform, driver, visible GPUs."""

from __future__ import annotations

from dataclasses import dataclass

from nktenv import gpuarch
from nktenv.facts import Facts, Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import major_minor
from nktenv.plan import vendors as plan_vendors
from nktenv.plan.request import PlanRequest
from nktenv.wording import join_list


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
