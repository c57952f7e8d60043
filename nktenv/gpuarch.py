"""A GPU's architecture when its driver does not say it: from its PCI id, chip or marketing name.

Pure: a `Gpu` plus the manifests' gpu-ids table give a `Derivation`. `with_derived_arch` fills the
GPU's `compute_capability` (NVIDIA) or `arch` (AMD, Intel) and records where the value came from as
`derived_arch: {"source": "pci-id" | "name", "from": ..., "table": "gpu-ids.toml"}`, so a plan or a
person can tell a measured architecture from a derived one.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from nktenv.facts import Gpu
    from nktenv.manifest import GpuId, Manifests

_PCI_ID = re.compile(r"\b(10de|1002|8086):([0-9a-f]{4})\b", re.IGNORECASE)
_CHIP_TOKEN = re.compile(r"\b([A-Z]{2}\d{2,3}[A-Z0-9]*)\b")
_VENDOR_IDS = {"10de": "nvidia", "1002": "amd", "8086": "intel"}


@dataclass(frozen=True)
class Derivation:
    value: str  # a compute capability ("12.0") or a target ("gfx1100")
    source: str  # pci-id | name
    key: str  # the id, chip or name it was read from
    row: GpuId

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "from": self.key, "table": "gpu-ids.toml", "reference": self.row.source}


def pci_id(gpu: Gpu) -> str | None:
    """'10de:2b85' from the GPU's recorded PCI id (lspci, sysfs, the Windows adapter list)."""
    raw = str(gpu.extra.get("pci_id") or "")
    m = _PCI_ID.search(raw)
    return f"{m.group(1).lower()}:{m.group(2).lower()}" if m else None


def gfx_from_target_version(value: int) -> str | None:
    """KFD's gfx_target_version (major*10000 + minor*100 + stepping) -> 'gfx1100', 'gfx90a', 'gfx942'."""
    if value <= 0:
        return None
    major, minor, step = value // 10000, (value // 100) % 100, value % 100
    if major == 0 or minor > 9 or step > 15:
        return None
    return f"gfx{major}{minor}{step:x}"


def derive(gpu: Gpu, rows: Iterable[GpuId]) -> Derivation | None:
    """The architecture of `gpu` from the table: exact PCI id, then chip name, then marketing name."""
    rows = tuple(rows)
    vendor = gpu.vendor or "nvidia"
    pid = pci_id(gpu)
    if pid:
        vendor = _VENDOR_IDS.get(pid[:4], vendor)
        for row in rows:
            if row.kind == "device" and row.key == pid:
                return Derivation(row.value, "pci-id", pid, row)
    name = gpu.name or ""
    if not name:
        return None
    tokens = _CHIP_TOKEN.findall(name)
    for row in rows:
        if row.kind == "chip" and row.vendor == vendor and any(t.startswith(row.key) for t in tokens):
            return Derivation(row.value, "name", next(t for t in tokens if t.startswith(row.key)), row)
    for row in rows:
        if row.kind == "name" and row.vendor == vendor and re.search(row.key, name, re.IGNORECASE):
            return Derivation(row.value, "name", name, row)
    return None


def with_derived_arch(gpus: Iterable[Gpu], manifests: Manifests | None) -> tuple[Gpu, ...]:
    """The GPUs, each without an architecture given one from the table where it knows the device."""
    out = []
    for gpu in gpus:
        if manifests is not None and not gpu.name and pci_id(gpu):
            # sysfs and KFD give ids, not names: the PCI ID Repository's name, marked as such.
            row = next((r for r in manifests.gpu_ids if r.kind == "device" and r.key == pci_id(gpu) and r.name), None)
            if row is not None:
                gpu = dataclasses.replace(gpu, name=row.name, extra={**gpu.extra, "name_source": "pci-id"})
        known = gpu.compute_capability if gpu.vendor in (None, "nvidia") else gpu.arch
        if known or manifests is None or not manifests.gpu_ids:
            out.append(gpu)
            continue
        d = derive(gpu, manifests.gpu_ids)
        if d is None:
            out.append(gpu)
            continue
        field = "compute_capability" if d.row.vendor == "nvidia" else "arch"
        out.append(dataclasses.replace(gpu, **{field: d.value}, extra={**gpu.extra, "derived_arch": d.to_dict()}))
    return tuple(out)


def derived(gpu: Gpu) -> dict[str, str] | None:
    """Where a derived architecture came from, or None when the driver reported it."""
    value = gpu.extra.get("derived_arch")
    return dict(value) if isinstance(value, dict) else None
