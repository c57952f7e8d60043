"""nvidia-smi as people paste it: the table (every header layout since 2019), `-q`, `-L`."""

from __future__ import annotations

import re
from typing import Any

from nktenv.paste.model import Piece, is_prompt, known, mib

# Both header layouts: `Driver Version: / CUDA Version:` and, from the 610 drivers,
# `KMD Version: / CUDA UMD Version:` (the old names are deprecated there).
_HEADER = re.compile(
    r"NVIDIA-SMI\s+(?P<smi>[\d.]+)\s+(?:Driver|KMD)\s+Version:\s*(?P<driver>[\d.]+)"
    r"(?:\s+CUDA(?:\s+UMD)?\s+Version:\s*(?P<cuda>[\d.]+|N/A))?"
)
_ID_ROW = re.compile(r"^\s*\|\s+ID\s+ID\b.*$")  # second line of the process table's column header
_BORDER = re.compile(r"^\s*[+|][-=+|\s]*[+|]\s*$")
_TIMESTAMP = re.compile(r"^\s*\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4}\s*$")
_COLUMNS = re.compile(r"^\s*\|.*(?:Persistence-M|Driver-Model|TCC/WDDM|Pwr:Usage/Cap|MIG M\.|Memory-Usage|"
                      r"Processes:|Process name|GPU Memory|Usage\s*\||MIG devices:|Shared Memory-Usage|"
                      r"Shared BAR1-Usage|ID\s+ID\s+Dev|ECC\|).*\|\s*$")
_GPU_ROW = re.compile(
    r"^\s*\|\s*(?P<index>\d+)\s+(?P<name>.+?)\s+(?P<mode>On|Off|WDDM|TCC|MCDM|N/A)\s*\|\s*"
    r"(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s+(?P<disp>On|Off|N/A)\s*\|"
    r"\s*(?P<ecc>.*?)\s*\|\s*$"
)
_STATS_ROW = re.compile(
    r"^\s*\|.*?\|\s*(?P<used>\d+MiB|N/A)\s*/\s*(?P<total>\d+MiB|N/A)\s*\|\s*(?P<util>\S+)\s+(?P<cm>.+?)\s*\|\s*$"
)
_MIG_M_ROW = re.compile(r"^\s*\|\s*\|\s*\|\s*(?P<mig>N/A|Enabled|Disabled)\s*\|\s*$")
_MIG_DEV_ROW = re.compile(
    r"^\s*\|\s*(?P<gpu>\d+)\s+(?P<gi>\d+)\s+(?P<ci>\d+)\s+(?P<dev>\d+)\s*\|\s*(?P<used>\d+MiB)\s*/\s*(?P<total>\d+MiB)"
)
_MIG_BAR1_ROW = re.compile(r"^\s*\|\s*\|\s*\d+MiB\s*/\s*\d+MiB\s*\|")
_PROC_ROW = re.compile(
    r"^\s*\|\s*(?P<gpu>\d+)\s+(?P<gi>\d+|N/A)\s+(?P<ci>\d+|N/A)\s+(?P<pid>\d+)\s+(?P<type>C\+G|C|G|M|M\+C)\s+"
    r"(?P<name>.+?)\s+(?P<mem>\d+MiB|N/A)\s*\|\s*$"
)
_NO_PROC = re.compile(r"^\s*\|\s*No running processes found\s*\|\s*$")
# nvidia-smi writes compute modes abbreviated in the table.
_COMPUTE_MODES = {"Default": "Default", "E. Process": "Exclusive_Process", "E. Thread": "Exclusive_Thread",
                  "Prohibited": "Prohibited"}


def detect_table(lines: list[str]) -> bool:
    return any(_HEADER.search(ln) for ln in lines) or any(_GPU_ROW.match(ln) for ln in lines)


def parse_table(lines: list[str]) -> Piece:
    piece = Piece("nvidia-smi")
    gpus: dict[int, dict[str, Any]] = {}
    driver: dict[str, Any] = {}
    current: int | None = None
    proc_header = proc_rows = False
    procs: dict[int, list[dict[str, Any]]] = {}
    no_procs = False
    mig_by_gpu: dict[int, list[dict[str, Any]]] = {}
    model_column = None
    for i, ln in enumerate(lines):
        m = _HEADER.search(ln)
        if m:
            proc_header = False  # a second table pasted below the first starts over
            current = None
            driver = {"version": m.group("driver"), "cuda_version": known(m.group("cuda")),
                      "smi_version": m.group("smi"),
                      "header": "kmd" if "KMD Version" in ln else "driver"}
            piece.lines.add(i)
            continue
        if _TIMESTAMP.match(ln) or _BORDER.match(ln) or is_prompt(ln):
            piece.lines.add(i)
            if "=" in ln and proc_header:
                proc_rows = True
            continue
        if _COLUMNS.match(ln) or _ID_ROW.match(ln):
            piece.lines.add(i)
            if "Driver-Model" in ln or "TCC/WDDM" in ln:
                model_column = "driver_model"
            elif "Persistence-M" in ln:
                model_column = "persistence"
            if "Processes:" in ln:
                proc_header = True
            continue
        m = _GPU_ROW.match(ln)
        if m:
            idx = int(m.group("index"))
            name = m.group("name").strip()
            gpu: dict[str, Any] = {"index": idx, "name": name, "pci_bus_id": m.group("bus")}
            if name.endswith("...") or name.endswith("…"):
                gpu["name_truncated"] = True  # the table cuts long names; -L and -q print them whole
            mode = m.group("mode")
            if mode in ("WDDM", "TCC", "MCDM") or model_column == "driver_model":
                gpu["driver_model"] = mode if mode in ("WDDM", "TCC", "MCDM") else None
            elif mode in ("On", "Off"):
                gpu["persistence_mode"] = mode
            gpus[idx] = gpu
            current = idx
            piece.lines.add(i)
            continue
        m = _STATS_ROW.match(ln)
        if m and current is not None and "memory_total_bytes" not in gpus[current]:
            g = gpus[current]
            g["memory_total_bytes"] = mib(m.group("total"))
            g["memory_used_bytes"] = mib(m.group("used"))
            g["compute_mode"] = _COMPUTE_MODES.get(m.group("cm").strip(), m.group("cm").strip())
            piece.lines.add(i)
            continue
        m = _MIG_M_ROW.match(ln)
        if m and current is not None and not proc_header:
            mig = m.group("mig")
            gpus[current]["mig_mode"] = None if mig == "N/A" else mig.lower()
            piece.lines.add(i)
            current = None
            continue
        m = _MIG_DEV_ROW.match(ln)
        if m:
            mig_by_gpu.setdefault(int(m.group("gpu")), []).append({
                "index": int(m.group("dev")), "gpu_instance": int(m.group("gi")),
                "compute_instance": int(m.group("ci")), "memory_total_bytes": mib(m.group("total"))})
            piece.lines.add(i)
            continue
        if _MIG_BAR1_ROW.match(ln):
            piece.lines.add(i)
            continue
        m = _PROC_ROW.match(ln)
        if m:
            procs.setdefault(int(m.group("gpu")), []).append({
                "pid": int(m.group("pid")), "name": m.group("name").strip(), "type": m.group("type"),
                "used_memory_bytes": mib(m.group("mem"))})
            piece.lines.add(i)
            continue
        if _NO_PROC.match(ln):
            no_procs = True
            piece.lines.add(i)
    for idx, g in gpus.items():
        g["vendor"] = "nvidia"
        if idx in mig_by_gpu:
            g["mig_devices"] = mig_by_gpu[idx]
        # The process list is known only when the paste reached its rows; a cut paste says nothing.
        if proc_rows or no_procs:
            g["processes"] = procs.get(idx, [])
    if driver:
        piece.data["driver"] = driver
    else:
        piece.missing.append("header")
    piece.data["gpus"] = [gpus[k] for k in sorted(gpus)]
    if any(g.get("driver_model") for g in gpus.values()):
        piece.data["os"] = {"system": "windows"}  # only Windows has driver models (WDDM/TCC/MCDM)
    if not gpus:
        piece.missing.append("gpus")
    if not (proc_rows or no_procs):
        piece.missing.append("processes")
    return piece


# --- nvidia-smi -q ----------------------------------------------------------------------------

_KV = re.compile(r"^(?P<indent>\s*)(?P<key>[^:]+?)\s*:\s*(?P<value>.*?)\s*$")
_GPU_BLOCK = re.compile(r"^GPU\s+(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$")
_TOP_KEYS = {"Timestamp", "Driver Version", "CUDA Version", "KMD Version", "CUDA UMD Version", "Attached GPUs",
             "Unit Count", "HIC Info"}
_DEPRECATED = re.compile(r"\s*\[Deprecated[^\]]*\]\s*$")


def detect_query(lines: list[str]) -> bool:
    return any("NVSMI LOG" in ln for ln in lines) or (
        any(_GPU_BLOCK.match(ln) for ln in lines) and any("Product Name" in ln for ln in lines))


def parse_query(lines: list[str]) -> Piece:
    """`nvidia-smi -q`: indented `Key : value` lines under section titles."""
    piece = Piece("nvidia-smi-q")
    driver: dict[str, Any] = {}
    gpus: list[dict[str, Any]] = []
    gpu: dict[str, Any] | None = None
    path: list[tuple[int, str]] = []  # (indent, section title)
    proc: dict[str, Any] | None = None
    inside = False
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        if "NVSMI LOG" in raw:
            inside = True
            piece.lines.add(i)
            continue
        m = _GPU_BLOCK.match(raw)
        if not m and not raw[:1].isspace():
            # At the left margin -q prints only its header keys and "GPU <bus id>"; anything else
            # is text pasted after the report.
            kv0 = _KV.match(raw)
            inside = inside and bool(kv0) and kv0.group("key").strip() in _TOP_KEYS
        if not inside and not m:
            if is_prompt(raw) and "nvidia-smi" in raw:
                piece.lines.add(i)
            continue
        if m:
            inside = True
            gpu = {"index": len(gpus), "vendor": "nvidia", "pci_bus_id": m.group("bus"), "processes": None}
            gpus.append(gpu)
            path = []
            proc = None
            piece.lines.add(i)
            continue
        indent = len(raw) - len(raw.lstrip())
        while path and path[-1][0] >= indent:
            path.pop()
        kv = _KV.match(raw)
        if not kv or (not kv.group("value") and ":" not in raw):
            path.append((indent, raw.strip()))  # a section title such as "FB Memory Usage"
            if raw.strip() == "MIG Device" and gpu is not None:
                gpu.setdefault("mig_devices", []).append({})
            piece.lines.add(i)
            continue
        key, value = kv.group("key").strip(), _DEPRECATED.sub("", kv.group("value"))
        section = path[-1][1] if path else ""
        piece.lines.add(i)
        if gpu is not None and any(t == "MIG Device" for _, t in path):
            mig = gpu["mig_devices"][-1]
            if key == "Index" and section == "MIG Device":
                mig["index"] = int(value) if value.isdigit() else None
            elif key == "GPU Instance ID":
                mig["gpu_instance"] = int(value) if value.isdigit() else None
            elif key == "Compute Instance ID":
                mig["compute_instance"] = int(value) if value.isdigit() else None
            elif key == "Total" and section == "Shared FB Memory Usage":
                mig["memory_total_bytes"] = mib(value)
            continue
        if gpu is None:
            if key in ("Driver Version", "KMD Version") and value:
                driver.setdefault("version", value)
            elif key in ("CUDA Version", "CUDA UMD Version") and value:
                driver.setdefault("cuda_version", known(value))
            continue
        if key == "Product Name":
            gpu["name"] = value
        elif key == "GPU UUID":
            gpu["uuid"] = value
        elif key == "Product Architecture":
            gpu["architecture"] = value
        elif key == "Total" and section == "FB Memory Usage":
            gpu["memory_total_bytes"] = mib(value)
        elif key == "Compute Mode":
            gpu["compute_mode"] = value
        elif key == "Current" and section == "Driver Model":
            gpu["driver_model"] = known(value)
            if gpu["driver_model"]:
                piece.data["os"] = {"system": "windows"}
        elif key == "Current" and section == "MIG Mode":
            gpu["mig_mode"] = known(value) and value.lower()
        elif key == "Processes":
            gpu["processes"] = [] if value == "None" else gpu.get("processes")
        elif key == "Process ID":
            proc = {"pid": int(value) if value.isdigit() else None}
            gpu["processes"] = (gpu.get("processes") or []) + [proc]
        elif proc is not None and key == "Type":
            proc["type"] = value
        elif proc is not None and key == "Name":
            proc["name"] = value
        elif proc is not None and key == "Used GPU Memory":
            proc["used_memory_bytes"] = mib(value)
    if driver:
        piece.data["driver"] = driver
    else:
        piece.missing.append("driver")
    piece.data["gpus"] = gpus
    if not gpus:
        piece.missing.append("gpus")
    for g in gpus:
        for key in ("name", "uuid", "memory_total_bytes"):
            if g.get(key) is None:
                piece.missing.append(f"gpus[{g['index']}].{key}")
    return piece


# --- nvidia-smi -L ----------------------------------------------------------------------------

_L_GPU = re.compile(r"^\s*GPU\s+(?P<index>\d+):\s+(?P<name>.+?)\s+\(UUID:\s*(?P<uuid>GPU-[0-9a-fA-F-]+)\)\s*$")
_L_MIG = re.compile(r"^\s*MIG\s+(?P<profile>\S+)\s+Device\s+(?P<index>\d+):\s+\(UUID:\s*(?P<uuid>MIG-[^)]+)\)\s*$")


def detect_list(lines: list[str]) -> bool:
    return any(_L_GPU.match(ln) for ln in lines)


def parse_list(lines: list[str]) -> Piece:
    piece = Piece("nvidia-smi-L")
    gpus: list[dict[str, Any]] = []
    for i, ln in enumerate(lines):
        m = _L_GPU.match(ln)
        if m:
            gpus.append({"index": int(m.group("index")), "vendor": "nvidia", "name": m.group("name"),
                         "uuid": m.group("uuid")})
            piece.lines.add(i)
            continue
        m = _L_MIG.match(ln)
        if m and gpus:
            gpus[-1].setdefault("mig_devices", []).append(
                {"index": int(m.group("index")), "uuid": m.group("uuid"), "name": m.group("profile")})
            gpus[-1]["mig_mode"] = "enabled"
            piece.lines.add(i)
            continue
        if is_prompt(ln):
            piece.lines.add(i)
    piece.data["gpus"] = gpus
    if gpus:
        piece.data["driver"] = {"kernel_module": {"loaded": True}}  # -L lists GPUs only through a loaded driver
    return piece


# --- nvidia-smi failing ----------------------------------------------------------------------------

_FAILED = re.compile(r"^\s*(?P<msg>NVIDIA-SMI has failed because it couldn.t communicate with the NVIDIA driver\..*"
                     r"|Failed to initialize NVML: .+|Unable to determine the device handle for GPU.+"
                     r"|No devices were found|Make sure that the latest NVIDIA driver is installed and running\.?)\s*$")
_NVML_LIB = re.compile(r"^\s*NVML library version:\s*(?P<v>[\d.]+)\s*$")


def detect_failure(lines: list[str]) -> bool:
    return any(_FAILED.match(ln) for ln in lines)


def parse_failure(lines: list[str]) -> Piece:
    """nvidia-smi's own error: a driver is expected there but does not answer (a fact, not an unknown)."""
    piece = Piece("nvidia-smi-error")
    errors: list[str] = []
    lib = None
    for i, ln in enumerate(lines):
        m = _FAILED.match(ln)
        if m:
            errors.append(m.group("msg").strip())
            piece.lines.add(i)
            continue
        m = _NVML_LIB.match(ln)
        if m:
            lib = m.group("v")
            piece.lines.add(i)
        elif is_prompt(ln) and "nvidia-smi" in ln:
            piece.lines.add(i)
    text = "\n".join(errors)
    piece.data["driver"] = {"errors": errors, "nvidia_smi_error": text, "smi_version": lib}
    return piece


# --- nvidia-smi --query-gpu / --query-compute-apps --format=csv ------------------------------------

_CSV_GPU_FIELDS = {"name", "driver_version", "uuid", "pci.bus_id", "index", "compute_cap", "memory.total [MiB]",
                   "memory.total"}
_CSV_APP_FIELDS = {"pid", "process_name", "used_gpu_memory [MiB]", "used_memory [MiB]", "gpu_uuid", "gpu_bus_id"}


def _csv(line: str) -> list[str]:
    return [c.strip() for c in line.split(",")]


def _csv_header(line: str) -> str | None:
    cells = set(_csv(line))
    if len(cells & _CSV_GPU_FIELDS) >= 2:
        return "gpu"
    if len(cells & _CSV_APP_FIELDS) >= 2 and "pid" in cells:
        return "apps"
    return None


def detect_csv(lines: list[str]) -> bool:
    return any("," in ln and _csv_header(ln) for ln in lines)


def parse_csv(lines: list[str]) -> Piece:
    """The CSV people paste from `--query-gpu=...`/`--query-compute-apps=...` (with its header, units or not)."""
    piece = Piece("nvidia-smi-csv")
    gpus: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    driver: dict[str, Any] = {}
    header: list[str] | None = None
    what = None
    for i, ln in enumerate(lines):
        if "," in ln and _csv_header(ln):
            header, what = _csv(ln), _csv_header(ln)
            piece.lines.add(i)
            continue
        if is_prompt(ln) and "nvidia-smi" in ln:
            piece.lines.add(i)
            continue
        if header is None or not ln.strip():
            header = None if not ln.strip() else header
            continue
        cells = _csv(ln)
        if len(cells) != len(header):
            header = None
            continue
        row = dict(zip(header, cells))
        piece.lines.add(i)
        if what == "gpu":
            gpu: dict[str, Any] = {"vendor": "nvidia", "name": known(row.get("name")), "uuid": known(row.get("uuid")),
                                   "pci_bus_id": known(row.get("pci.bus_id"))}
            if row.get("index", "").isdigit():
                gpu["index"] = int(row["index"])
            mem = row.get("memory.total [MiB]") or row.get("memory.total")
            gpu["memory_total_bytes"] = mib(mem if mem and "MiB" in mem else f"{mem} MiB" if mem else None)
            cc = known(row.get("compute_cap"))
            if cc and re.fullmatch(r"\d+\.\d+", cc):
                gpu["compute_capability"] = cc
            cm = known(row.get("compute_mode"))
            if cm:
                gpu["compute_mode"] = cm
            dm = known(row.get("driver_model.current"))
            if dm:
                gpu["driver_model"] = dm
                piece.data["os"] = {"system": "windows"}
            mig = known(row.get("mig.mode.current"))
            if mig:
                gpu["mig_mode"] = mig.lower()
            gpus.append(gpu)
            version = known(row.get("driver_version")) or known(row.get("kmd_version"))
            if version:
                driver.setdefault("version", version)
        else:
            mem = row.get("used_gpu_memory [MiB]") or row.get("used_memory [MiB]") or row.get("used_gpu_memory")
            apps.append({"pid": int(row["pid"]) if row.get("pid", "").isdigit() else None,
                         "name": known(row.get("process_name")), "gpu_uuid": known(row.get("gpu_uuid")),
                         "gpu_bus_id": known(row.get("gpu_bus_id")), "gpu_name": known(row.get("gpu_name")),
                         "used_memory_bytes": mib(mem if mem and "MiB" in mem else f"{mem} MiB" if mem else None),
                         "type": "C"})  # --query-compute-apps lists compute processes only
    for app in apps:
        # A process row names its GPU by UUID and bus id; an entry per GPU carries the list.
        target = next((g for g in gpus if app["gpu_uuid"] and g.get("uuid") == app["gpu_uuid"]), None)
        if target is None:
            target = {"vendor": "nvidia", "uuid": app["gpu_uuid"], "pci_bus_id": app["gpu_bus_id"],
                      "name": app["gpu_name"]}
            if not any(g.get("uuid") == target["uuid"] and g.get("pci_bus_id") == target["pci_bus_id"] for g in gpus):
                gpus.append(target)
            target = next(g for g in gpus if g.get("uuid") == target["uuid"] and g.get("pci_bus_id") == target["pci_bus_id"])
        target.setdefault("processes", []).append(
            {k: app[k] for k in ("pid", "name", "used_memory_bytes", "type")})
    if driver:
        piece.data["driver"] = driver
    piece.data["gpus"] = gpus
    return piece
