"""AMD and Intel GPUs: PCI display devices, the KFD topology, ROCm's tools, the Windows adapter list.

Linux: `/sys/bus/pci/devices/*/{class,vendor,device}` (display class 0x03), `/sys/class/kfd/kfd/topology/
nodes/*/properties` (gfx_target_version), `rocminfo`, `amd-smi` and `rocm_agent_enumerator` where installed. Windows:
`Get-CimInstance Win32_VideoController` (PNPDeviceID `PCI\\VEN_1002&DEV_744C...`). The architecture lands
in `arch` (gfx1100); where no tool says it, `nktenv.gpuarch` derives it from the PCI id later.
"""

from __future__ import annotations

import re
from typing import Any

from nktenv.facts import Gpu
from nktenv.gpuarch import gfx_from_target_version
from nktenv.probes._ctx import CMD_TIMEOUT_S, Ctx

PCI_DIR = "/sys/bus/pci/devices"
KFD_NODES = "/sys/class/kfd/kfd/topology/nodes"
VENDORS = {"0x1002": "amd", "0x8086": "intel", "0x10de": "nvidia"}
POWERSHELL_TIMEOUT_S = 20.0  # PowerShell alone takes seconds to start on a cold machine
WIN_VIDEO_ARGV = ("powershell", "-NoProfile", "-NonInteractive", "-Command",
                  "Get-CimInstance Win32_VideoController | Format-List *")
_PNP = re.compile(r"PCI\\VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})", re.IGNORECASE)


# --- pure parsers -------------------------------------------------------------------------------


def parse_kfd_properties(text: str | None) -> dict[str, int]:
    """KFD's `properties` file ('gfx_target_version 110000' per line) -> {key: int}."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"-?\d+", parts[1]):
            out[parts[0]] = int(parts[1])
    return out


def bdf_address(location_id: int, domain: int = 0) -> str:
    """KFD location_id / rocminfo BDFID (bus << 8 | device << 3 | function) -> '0000:03:00.0'."""
    return f"{domain:04x}:{(location_id >> 8) & 0xFF:02x}:{(location_id >> 3) & 0x1F:02x}.{location_id & 0x7}"


def parse_rocminfo(text: str | None) -> list[dict[str, Any]]:
    """The GPU agents of `rocminfo`: name (gfx target), marketing name, chip id, PCI address."""
    agents: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if re.fullmatch(r"Agent \d+", line):
            current = {}
            agents.append(current)
            continue
        if current is None or raw.startswith("    "):  # deeper levels are pools and ISAs
            continue
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Marketing Name", "Device Type", "Chip ID", "BDFID", "Vendor Name"):
            current.setdefault(key, value.strip())
    out = []
    for a in agents:
        if a.get("Device Type") != "GPU":
            continue
        chip = re.search(r"\(0x([0-9a-f]+)\)", a.get("Chip ID", ""), re.IGNORECASE)
        bdf = a.get("BDFID", "")
        out.append({
            "arch": a.get("Name") if re.fullmatch(r"gfx[0-9a-f]+", a.get("Name", "")) else None,
            "name": a.get("Marketing Name") or None,
            "device": f"{int(chip.group(1), 16):04x}" if chip else None,
            "address": bdf_address(int(bdf)) if bdf.isdigit() else None,
        })
    return out


def parse_amd_smi_static(text: str | None) -> list[dict[str, Any]]:
    """`amd-smi static --asic --bus` -> [{arch, name, device, address}] per `GPU: N` record."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        m = re.fullmatch(r"GPU: (\d+)", line)
        if m and not raw.startswith(" "):
            current = {"arch": None, "name": None, "device": None, "address": None}
            out.append(current)
            continue
        key, sep, value = line.partition(":")
        value = value.strip()
        if current is None or not sep or value in ("", "N/A"):
            continue
        if key == "TARGET_GRAPHICS_VERSION" and re.fullmatch(r"gfx[0-9a-f]+", value):
            current["arch"] = value
        elif key == "MARKET_NAME" and not re.fullmatch(r"0x[0-9a-fA-F]+", value):
            current["name"] = value
        elif key == "DEVICE_ID" and re.fullmatch(r"0x[0-9a-fA-F]{1,4}", value):
            current["device"] = value[2:].lower().zfill(4)
        elif key == "BDF" and re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]", value):
            current["address"] = value.lower()
    return out


def parse_agent_enumerator(text: str | None) -> list[str]:
    """`rocm_agent_enumerator` -> GPU targets; gfx000 (the CPU agent before ROCm 6) is dropped."""
    return [ln.strip() for ln in (text or "").splitlines() if re.fullmatch(r"gfx[0-9a-f]+", ln.strip())
            and ln.strip() != "gfx000"]


def parse_video_controllers(text: str | None) -> list[dict[str, str | None]]:
    """`Get-CimInstance Win32_VideoController | Format-List` -> [{name, vendor_id, device_id, driver_version}]."""
    out: list[dict[str, str | None]] = []
    record: dict[str, str] = {}

    def flush() -> None:
        pnp = _PNP.search(record.get("PNPDeviceID", ""))
        if record.get("Name") or pnp:
            out.append({"name": record.get("Name") or None,
                        "vendor_id": pnp.group(1).lower() if pnp else None,
                        "device_id": pnp.group(2).lower() if pnp else None,
                        "driver_version": record.get("DriverVersion") or None})
        record.clear()

    for line in (text or "").splitlines():
        if not line.strip():
            if "Name" in record or "PNPDeviceID" in record:
                flush()
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            record.setdefault(key.strip(), value.strip())
    flush()
    return out


# --- probing ------------------------------------------------------------------------------------


def _read_hex(ctx: Ctx, path: str) -> str | None:
    text = (ctx.seam.read_text(path) or "").strip().lower()
    return text if re.fullmatch(r"0x[0-9a-f]+", text) else None


def sysfs_display_devices(ctx: Ctx) -> list[dict[str, str]]:
    """Display-class PCI devices (class 0x03xxxx) of the three GPU vendors, by address."""
    names = ctx.seam.listdir(PCI_DIR)
    out = []
    for addr in names or []:
        cls = _read_hex(ctx, f"{PCI_DIR}/{addr}/class")
        if not cls or not cls.startswith("0x03"):
            continue
        vendor = _read_hex(ctx, f"{PCI_DIR}/{addr}/vendor")
        if vendor not in VENDORS:
            continue
        device = _read_hex(ctx, f"{PCI_DIR}/{addr}/device")
        out.append({"address": addr, "vendor": VENDORS[vendor], "vendor_id": vendor[2:],
                    "device_id": device[2:].zfill(4) if device else "", "class": cls})
    return out


def kfd_gpus(ctx: Ctx) -> list[dict[str, Any]]:
    """GPU nodes of the KFD topology (CPU nodes have gfx_target_version 0)."""
    out = []
    for node in sorted(ctx.seam.listdir(KFD_NODES) or [], key=lambda n: int(n) if n.isdigit() else 0):
        props = parse_kfd_properties(ctx.seam.read_text(f"{KFD_NODES}/{node}/properties"))
        target = gfx_from_target_version(props.get("gfx_target_version", 0))
        if not target:
            continue
        out.append({
            "node": node,
            "arch": target,
            "vendor_id": f"{props['vendor_id']:04x}" if "vendor_id" in props else None,
            "device_id": f"{props['device_id']:04x}" if "device_id" in props else None,
            "address": bdf_address(props["location_id"], props.get("domain", 0)) if "location_id" in props else None,
        })
    return out


def parse_stat_mode(text: str | None) -> dict[str, Any] | None:
    """`stat -c '%a %G' /dev/kfd` ('666 render') -> {"mode": "666", "group": "render"}."""
    parts = (text or "").split()
    if len(parts) != 2 or not re.fullmatch(r"[0-7]{3,4}", parts[0]):
        return None
    return {"mode": parts[0], "group": parts[1]}


def rocm_access(ctx: Ctx) -> dict[str, Any]:
    """Whether this user may open /dev/kfd: its groups (`id -Gn`) and the device's mode and group.

    ROCm needs read-write access to /dev/kfd and /dev/dri/renderD*; distributions give it to the
    `render` group (older ones `video`), so a user in neither gets "No HIP GPUs are available"."""
    out: dict[str, Any] = {"user_groups": None, "kfd": None}
    if ctx.seam.which("id"):
        res = ctx.seam.run(["id", "-Gn"], timeout=CMD_TIMEOUT_S)
        if res.ok:
            out["user_groups"] = res.stdout.split()
    if ctx.seam.exists("/dev/kfd") and ctx.seam.which("stat"):
        res = ctx.seam.run(["stat", "-c", "%a %G", "/dev/kfd"], timeout=CMD_TIMEOUT_S)
        out["kfd"] = parse_stat_mode(res.stdout) if res.ok else None
    return out


def probe_linux(ctx: Ctx) -> tuple[list[Gpu], dict[str, Any]]:
    """AMD and Intel GPUs of a Linux machine, plus the NVIDIA PCI ids seen (for deriving their arch)."""
    pci = sysfs_display_devices(ctx)
    kfd = kfd_gpus(ctx)
    info: dict[str, Any] = {"pci_display_devices": pci or None, "kfd_nodes": len(kfd) if kfd else None}
    rows: dict[str, dict[str, Any]] = {}
    for dev in pci:
        if dev["vendor"] == "nvidia":
            continue
        rows[dev["address"]] = {"vendor": dev["vendor"], "pci_id": f"{dev['vendor_id']}:{dev['device_id']}",
                                "sources": ["sysfs"]}
    for pos, node in enumerate(kfd):
        key = node["address"] or f"kfd-node-{node['node']}"
        row = rows.setdefault(key, {"vendor": "amd", "sources": []})
        row.setdefault("order", pos)  # ROCm numbers GPUs in KFD node order, not by PCI address
        row["arch"] = node["arch"]
        row["sources"].append("kfd")
        if node["vendor_id"] and node["device_id"]:
            row.setdefault("pci_id", f"{node['vendor_id']}:{node['device_id']}")
    has_amd = any(r["vendor"] == "amd" for r in rows.values())
    if has_amd or ctx.seam.exists("/dev/kfd"):
        info["rocm_access"] = rocm_access(ctx)
        if ctx.seam.which("rocminfo"):
            res = ctx.seam.run(["rocminfo"], timeout=CMD_TIMEOUT_S)
            info["rocminfo_error"] = None if res.ok else (res.stderr.strip() or res.error or f"exit code {res.returncode}")
            for pos, agent in enumerate(parse_rocminfo(res.stdout) if res.ok else []):
                key = agent["address"] or f"rocminfo-{len(rows)}"
                row = rows.setdefault(key, {"vendor": "amd", "sources": []})
                row.setdefault("order", pos)
                row["sources"].append("rocminfo")
                row["arch"] = row.get("arch") or agent["arch"]
                row["name"] = agent["name"]
                if agent["device"]:
                    row.setdefault("pci_id", f"1002:{agent['device']}")
        amd_rows = [r for r in rows.values() if r["vendor"] == "amd"]
        if (not amd_rows or any(not r.get("arch") or not r.get("name") for r in amd_rows)) and ctx.seam.which("amd-smi"):
            res = ctx.seam.run(["amd-smi", "static", "--asic", "--bus"], timeout=CMD_TIMEOUT_S)
            info["amd_smi_error"] = None if res.ok else (res.stderr.strip() or res.error or f"exit code {res.returncode}")
            for gpu in parse_amd_smi_static(res.stdout) if res.ok else []:
                key = gpu["address"] or f"amd-smi-{len(rows)}"
                row = rows.setdefault(key, {"vendor": "amd", "sources": []})
                row["sources"].append("amd-smi")
                row["arch"] = row.get("arch") or gpu["arch"]
                row["name"] = row.get("name") or gpu["name"]
                if gpu["device"]:
                    row.setdefault("pci_id", f"1002:{gpu['device']}")
            amd_rows = [r for r in rows.values() if r["vendor"] == "amd"]
        if any(not r.get("arch") for r in amd_rows) and ctx.seam.which("rocm_agent_enumerator"):
            res = ctx.seam.run(["rocm_agent_enumerator"], timeout=CMD_TIMEOUT_S)
            targets = parse_agent_enumerator(res.stdout) if res.ok else []
            info["rocm_agent_enumerator"] = targets
            if len(targets) == len(amd_rows):  # it lists agents in KFD order, without addresses
                for row, target in zip(amd_rows, targets):
                    if not row.get("arch"):
                        row["arch"] = target
                        row["sources"].append("rocm_agent_enumerator")
    gpus: list[Gpu] = []
    per_vendor: dict[str, int] = {}
    for addr in sorted(rows, key=lambda a: (rows[a].get("order", 1 << 16), a)):
        row = rows[addr]
        index = per_vendor.get(row["vendor"], 0)
        per_vendor[row["vendor"]] = index + 1
        extra: dict[str, Any] = {"source": "+".join(dict.fromkeys(row["sources"])), "pci_id": row.get("pci_id")}
        if row["vendor"] == "intel":
            # Intel's integrated graphics always sit at 00:02.0; discrete Arc cards behind a bridge.
            extra["integrated"] = addr.endswith("00:02.0")
        gpus.append(Gpu(index=index, vendor=row["vendor"], name=row.get("name"), arch=row.get("arch"),
                        pci_bus_id=None if addr.startswith(("kfd-", "rocminfo-", "amd-smi-")) else addr, extra=extra))
    info["nvidia_pci_ids"] = {d["address"]: f"10de:{d['device_id']}" for d in pci if d["vendor"] == "nvidia"} or None
    return gpus, info


def probe_windows(ctx: Ctx) -> tuple[list[Gpu], dict[str, Any]]:
    """AMD and Intel adapters from the Windows display-adapter list (WMI's Win32_VideoController)."""
    res = ctx.seam.run(list(WIN_VIDEO_ARGV), timeout=POWERSHELL_TIMEOUT_S)
    info: dict[str, Any] = {"video_controllers_error": None if res.ok or res.not_found else (
        res.stderr.strip() or res.error or f"exit code {res.returncode}")}
    gpus: list[Gpu] = []
    per_vendor: dict[str, int] = {}
    nvidia: dict[str, str] = {}
    for ad in parse_video_controllers(res.stdout) if res.ok else []:
        vendor = VENDORS.get(f"0x{ad['vendor_id']}") if ad["vendor_id"] else None
        if vendor == "nvidia":
            if ad["name"]:
                nvidia[ad["name"]] = f"10de:{ad['device_id']}"
            continue
        if vendor not in ("amd", "intel"):
            continue  # Microsoft Basic Display Adapter, remote-desktop and virtual adapters
        index = per_vendor.get(vendor, 0)
        per_vendor[vendor] = index + 1
        extra = {"source": "win32_videocontroller", "pci_id": f"{ad['vendor_id']}:{ad['device_id']}",
                 "driver_version": ad["driver_version"]}
        if vendor == "intel":
            # Windows gives no bus address here; Intel names its integrated graphics UHD / Iris / HD.
            extra["integrated"] = bool(re.search(r"\b(UHD|Iris|HD Graphics)\b", ad["name"] or ""))
        gpus.append(Gpu(index=index, vendor=vendor, name=ad["name"], extra=extra))
    info["nvidia_pci_ids"] = nvidia or None
    return gpus, info


def probe_other_gpus(ctx: Ctx) -> tuple[list[Gpu], dict[str, Any]]:
    if ctx.system == "linux" and not ctx.cache.get("wsl"):
        return probe_linux(ctx)
    if ctx.windows:
        return probe_windows(ctx)
    return [], {}


def _bus(address: str | None) -> str | None:
    """'00000000:03:00.0', '0000:03:00.0' and '03:00.0' -> '0000:03:00.0'."""
    m = re.search(r"(?:([0-9a-f]+):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$", (address or "").lower())
    if not m:
        return None
    return f"{int(m.group(1) or '0', 16):04x}:{m.group(2)}:{m.group(3)}.{m.group(4)}"


def merge(nvidia: list[Gpu], other: list[Gpu], info: dict[str, Any]) -> list[Gpu]:
    """NVIDIA GPUs first (CUDA's numbering), then AMD and Intel; an NVIDIA GPU without a compute
    capability gets the PCI id the PCI bus or the adapter list gave for it, to derive one from."""
    import dataclasses

    ids = info.get("nvidia_pci_ids") or {}
    out = []
    for gpu in nvidia:
        if gpu.compute_capability is None and not gpu.extra.get("pci_id"):
            pid = ids.get(_bus(gpu.pci_bus_id) or "") or next(
                (v for k, v in ids.items() if _bus(k) and _bus(k) == _bus(gpu.pci_bus_id)), None) or ids.get(gpu.name or "")
            if pid:
                gpu = dataclasses.replace(gpu, extra={**gpu.extra, "pci_id": pid})
        out.append(gpu)
    errors = {k: v for k, v in info.items() if k.endswith("_error") and v}
    if errors:
        info["errors"] = errors
    return out + list(other)
