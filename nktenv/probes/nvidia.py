"""The NVIDIA driver and GPUs: NVML first, then /sys, /proc, nvidia-smi; modules, /dev nodes, kernel log."""

from __future__ import annotations

import re
from typing import Any, Mapping

from nktenv.facts import DriverFacts, Gpu, KernelModule, MigDevice, Pcie, cuda_version_from_int
from nktenv.probes._ctx import CMD_TIMEOUT_S, Ctx
from nktenv.probes.seam import CmdResult

SMI_FIELDS = (
    "index", "name", "uuid", "compute_cap", "memory.total", "pci.bus_id", "driver_version",
    "pcie.link.gen.current", "pcie.link.gen.max", "pcie.link.width.current", "pcie.link.width.max",
)
WSL_LIB_DIRS = ("/usr/lib/wsl/lib", "/usr/lib/wsl/drivers")
# Kernel-log lines worth quoting: the driver's own (NVRM), module loading, signature rejections.
_KLOG = re.compile(
    r"NVRM|nvidia|nouveau|Lockdown: |module verification failed|Key was rejected|unsigned module|PKCS#7",
    re.IGNORECASE,
)
_REJECTED = re.compile(
    r"Key was rejected|Loading of unsigned module is rejected|module verification failed: signature|"
    r"PKCS#7 signature not signed with a trusted key|Lockdown: .*unsigned module",
    re.IGNORECASE,
)


# --- pure parsers -------------------------------------------------------------------------------


def parse_proc_driver_version(text: str | None) -> tuple[str | None, str | None]:
    """First line of /proc/driver/nvidia/version -> (version, 'open' | 'proprietary')."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    m = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)*)", line)
    if not m:
        return None, None
    flavor = "open" if "Open Kernel Module" in line else "proprietary"
    return m.group(1), flavor


def parse_smi_header(text: str | None) -> dict[str, str | None]:
    """`nvidia-smi` table header -> driver version, CUDA version (the driver's ceiling), smi version.

    From the 610 branch the fields read `KMD Version:` / `CUDA UMD Version:`; before 410 there is no
    CUDA field at all (then cuda_version is None).
    """
    t = text or ""
    driver = re.search(r"(?:Driver|KMD) Version:\s*(\d[\d.]*)", t)
    cuda = re.search(r"CUDA (?:UMD )?Version:\s*(\d[\d.]*)", t)
    smi = re.search(r"NVIDIA-SMI\s+(\d[\d.]*)", t)
    lib = re.search(r"NVML library version:\s*(\d[\d.]*)", t)
    return {
        "driver_version": driver.group(1) if driver else None,
        "cuda_version": cuda.group(1) if cuda else None,
        "smi_version": smi.group(1) if smi else None,
        "nvml_library_version": lib.group(1) if lib else None,
    }


_DRIVER_MODELS = {"WDDM", "TCC", "MCDM"}
_COMPUTE_MODES = {"Default", "Exclusive_Process", "Exclusive_Thread", "Prohibited", "E. Process", "E. Thread"}


def parse_smi_table(text: str | None) -> dict[int, dict[str, str | None]]:
    """The GPU rows of the `nvidia-smi` table -> {index: {driver_model, compute_mode, mig_mode}}.

    Each GPU is a block of up to three lines between `+---` rules. Its first cell ends with the
    driver model where the header names the column `Driver-Model` / `TCC/WDDM` (Windows); the
    third cell of the second line ends with the compute mode, that of the third line with MIG M.
    """
    out: dict[int, dict[str, str | None]] = {}
    lines = [ln.strip() for ln in (text or "").splitlines()]  # pasted tables are often indented
    has_model = any(re.search(r"\|\s*GPU\s+Name\s.*(?:Driver-Model|TCC/WDDM)", ln) for ln in lines)
    start = next((i for i, ln in enumerate(lines) if ln.startswith("|===")), None)
    if start is None:
        return out
    block: list[list[str]] = []

    def flush() -> None:
        if not block:
            return
        first = block[0]
        m = re.match(r"\s*(\d+)\s", first[0]) if first else None
        if m:
            model = first[0].split()[-1] if has_model and first[0].split() else None
            compute = mig = None
            if len(block) > 1 and len(block[1]) >= 3:
                tail = block[1][2].strip()
                compute = next((c for c in sorted(_COMPUTE_MODES, key=len, reverse=True) if tail.endswith(c)), None)
            if len(block) > 2 and len(block[2]) >= 3:
                mig = block[2][2].strip() or None
            out[int(m.group(1))] = {
                "driver_model": model if model in _DRIVER_MODELS else None,
                "compute_mode": {"E. Process": "Exclusive_Process", "E. Thread": "Exclusive_Thread"}.get(
                    compute or "", compute),
                "mig_mode": {"Enabled": "enabled", "Disabled": "disabled"}.get(mig or ""),
            }
        block.clear()

    for ln in lines[start + 1:]:
        if not ln.strip() or "MIG devices:" in ln or "Processes:" in ln:
            break  # the end of the GPU table (the blank line between them is not always kept)
        if ln.startswith("+") or ln.startswith("|==="):
            flush()
            continue
        if ln.startswith("|"):
            block.append(ln.strip().strip("|").split("|"))
    flush()
    return out


def parse_smi_list(text: str | None) -> dict[int, list[MigDevice]]:
    """`nvidia-smi -L` -> {gpu index: MIG devices} for the GPUs that list any."""
    out: dict[int, list[MigDevice]] = {}
    gpu: int | None = None
    for line in (text or "").splitlines():
        g = re.match(r"GPU (\d+):", line)
        if g:
            gpu = int(g.group(1))
            continue
        m = re.match(r"\s+MIG\s+(\S+)\s+Device\s+(\d+):\s*\(UUID:\s*([^)\s]+)\)", line)
        if m and gpu is not None:
            out.setdefault(gpu, []).append(MigDevice(index=int(m.group(2)), uuid=m.group(3), name=m.group(1)))
    return out


def _num(value: str) -> int | None:
    value = value.strip()
    try:
        return int(float(value))
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def unknown_query_field(text: str | None) -> str | None:
    """The field `--query-gpu` refused: 'Field "compute_cap" is not a valid field to query.' -> 'compute_cap'."""
    m = re.search(r'Field "([^"]+)" is not a valid field to query', text or "")
    return m.group(1) if m else None


def parse_smi_query(text: str | None, fields: tuple[str, ...] = SMI_FIELDS) -> list[dict[str, Any]]:
    """`--query-gpu=...` with `--format=csv,noheader,nounits` -> one dict per GPU, keys = field names."""
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        values = [v.strip() for v in line.split(",")]
        if len(values) != len(fields):
            continue
        rows.append(dict(zip(fields, values)))
    return rows


def smi_rows_to_gpus(rows: list[dict[str, Any]]) -> list[Gpu]:
    gpus = []
    for i, row in enumerate(rows):
        cc = row.get("compute_cap")
        mem = _num(row.get("memory.total", ""))
        gpus.append(Gpu(
            index=_num(row.get("index", "")) if row.get("index") else i,
            vendor="nvidia",
            name=row.get("name") or None,
            uuid=row.get("uuid") or None,
            compute_capability=cc if cc and re.fullmatch(r"\d+\.\d+", cc) else None,
            memory_total_bytes=mem * 1024 * 1024 if mem is not None else None,  # MiB with nounits
            pci_bus_id=row.get("pci.bus_id") or None,
            pcie=Pcie(
                gen_current=_num(row.get("pcie.link.gen.current", "")),
                gen_max=_num(row.get("pcie.link.gen.max", "")),
                width_current=_num(row.get("pcie.link.width.current", "")),
                width_max=_num(row.get("pcie.link.width.max", "")),
            ),
            extra={"source": "nvidia-smi"},
        ))
    return gpus


# NVML's enums (nvml.h: nvmlDriverModel_t, nvmlComputeMode_t); NVML calls TCC "WDM".
_NVML_DRIVER_MODEL = {0: "WDDM", 1: "TCC", 2: "MCDM"}
_NVML_COMPUTE_MODE = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}


def nvml_gpus(data: Mapping[str, Any]) -> list[Gpu]:
    gpus = []
    for dev in data.get("devices") or []:
        cc = dev.get("compute_capability")
        pcie = dev.get("pcie") or {}
        gpus.append(Gpu(
            index=dev.get("index"),
            vendor="nvidia",
            name=dev.get("name"),
            uuid=dev.get("uuid"),
            compute_capability=f"{cc[0]}.{cc[1]}" if cc and len(cc) == 2 else None,
            memory_total_bytes=dev.get("memory_total"),
            pci_bus_id=dev.get("pci_bus_id"),
            pcie=Pcie(**{k: pcie.get(k) for k in ("gen_current", "gen_max", "width_current", "width_max")}),
            driver_model=_NVML_DRIVER_MODEL.get(dev.get("driver_model")),  # type: ignore[arg-type]
            compute_mode=_NVML_COMPUTE_MODE.get(dev.get("compute_mode")),  # type: ignore[arg-type]
            mig_mode={1: "enabled", 0: "disabled"}.get(dev.get("mig_mode")),  # type: ignore[arg-type]
            mig_devices=tuple(MigDevice(index=m.get("index"), uuid=m.get("uuid"), name=m.get("name"),
                                        memory_total_bytes=m.get("memory_total"))
                              for m in dev.get("mig_devices") or []),
            extra={"source": "nvml", "errors": dict(dev.get("errors") or {})},
        ))
    return gpus


def parse_proc_modules(text: str | None) -> set[str]:
    return {line.split()[0] for line in (text or "").splitlines() if line.strip()}


def parse_lspci(text: str | None) -> list[Gpu]:
    """NVIDIA display controllers from `lspci -nn` (a GPU the driver does not see)."""
    gpus = []
    for line in (text or "").splitlines():
        if "NVIDIA" in line and re.search(r"VGA compatible controller|3D controller|Display controller", line):
            bus, _, rest = line.partition(" ")
            name = re.sub(r"\s*\(rev \w+\)\s*$", "", rest.split(": ", 1)[-1])
            ids = re.search(r"\[([0-9a-f]{4}:[0-9a-f]{4})\]\s*$", name)
            if ids:
                name = name[: ids.start()]
            gpus.append(Gpu(index=len(gpus), vendor="nvidia", name=name.strip(), pci_bus_id=bus,
                            extra={"source": "lspci", "pci_id": ids.group(1) if ids else None}))
    return gpus


_OVERRIDE_VENDORS = ("nvidia", "amd", "intel")
_NAME_VENDOR = (
    ("amd", re.compile(r"\b(AMD|Radeon|Instinct|ATI)\b", re.IGNORECASE)),
    ("intel", re.compile(r"\b(Intel|Arc)\b", re.IGNORECASE)),
    ("nvidia", re.compile(r"\b(NVIDIA|GeForce|Tesla|Quadro|TITAN|RTX|GTX|[ABHL]\d{1,3}0?S?)\b", re.IGNORECASE)),
)
_ARCH_OF = {
    "nvidia": re.compile(r"^(\d+\.\d+|sm_?\d{2,3})$", re.IGNORECASE),
    "amd": re.compile(r"^gfx[0-9a-f]{3,4}$", re.IGNORECASE),
    "intel": re.compile(r"^(pvc|bmg|dg2|acm-g\d+|mtl(-[a-z])?|lnl(-[a-z])?|arl(-[a-z])?|ptl(-[a-z])?)$", re.IGNORECASE),
}


class OverrideError(ValueError):
    """An NKTENV_OVERRIDE_GPUS item nktenv cannot read; `why`: vendor | arch | mismatch."""

    def __init__(self, item: str, why: str) -> None:
        super().__init__(f"{item!r}: {why}")
        self.item = item
        self.why = why


def _arch_vendor(value: str) -> str | None:
    return next((v for v, rx in _ARCH_OF.items() if rx.match(value)), None)


def _name_vendor(name: str) -> str | None:
    return next((v for v, rx in _NAME_VENDOR if rx.search(name)), None)


def _cc_text(value: str) -> str:
    m = re.fullmatch(r"sm_?(\d+)(\d)", value, re.IGNORECASE)
    return f"{m.group(1)}.{m.group(2)}" if m else value


def parse_override_gpus(value: str) -> list[Gpu]:
    """NKTENV_OVERRIDE_GPUS: comma-separated `[VENDOR:][NAME][:ARCH]` items; an empty string means no GPUs.

    VENDOR is nvidia, amd or intel; without it the vendor comes from ARCH (8.6 / sm_86: NVIDIA, gfx1100:
    AMD, dg2 / bmg: Intel) or from the name (Radeon, Arc, GeForce...). ARCH is the compute capability for
    NVIDIA and the target for AMD and Intel; left out, it is derived from the name (gpu-ids.toml).

    Raises:
        OverrideError: an item whose vendor cannot be told, or whose ARCH does not fit its vendor.
    """
    gpus: list[Gpu] = []
    counts: dict[str, int] = {}
    for item in (p.strip() for p in value.split(",")):
        if not item:
            continue
        parts = [p.strip() for p in item.split(":")]
        vendor = parts.pop(0).lower() if parts[0].lower() in _OVERRIDE_VENDORS and len(parts) > 1 else None
        arch = parts.pop() if len(parts) > 1 or (parts and _arch_vendor(parts[-1])) else None
        name = ":".join(parts).strip() or None
        arch_vendor = _arch_vendor(arch) if arch else None
        if arch is not None and arch_vendor is None:
            raise OverrideError(item, "arch")
        named = _name_vendor(name) if name else None
        vendor = vendor or arch_vendor or named
        if vendor is None:
            raise OverrideError(item, "vendor")
        if (arch_vendor and arch_vendor != vendor) or (named and named != vendor):
            raise OverrideError(item, "mismatch")
        index = counts.get(vendor, 0)
        counts[vendor] = index + 1
        gpus.append(Gpu(
            index=index, vendor=vendor, name=name,
            compute_capability=_cc_text(arch) if arch and vendor == "nvidia" else None,
            arch=arch.lower() if arch and vendor != "nvidia" else None,
            extra={"source": "override"},
        ))
    return gpus


def kernel_log_lines(text: str | None, limit: int = 60) -> list[str]:
    lines = [ln.rstrip() for ln in (text or "").splitlines() if _KLOG.search(ln)]
    return lines[-limit:]


# --- probing ------------------------------------------------------------------------------------


def find_nvidia_smi(ctx: Ctx) -> str | None:
    """nvidia-smi on PATH; on Windows also System32 and Program Files\\NVIDIA Corporation\\NVSMI; on WSL /usr/lib/wsl/lib."""
    found = ctx.seam.which("nvidia-smi")
    if found:
        return found
    candidates: list[str] = []
    if ctx.windows:
        root = ctx.getenv("SystemRoot") or r"C:\Windows"
        pf = ctx.getenv("ProgramFiles") or r"C:\Program Files"
        candidates = [ctx.path.join(root, "System32", "nvidia-smi.exe"),
                      ctx.path.join(pf, "NVIDIA Corporation", "NVSMI", "nvidia-smi.exe")]
    elif ctx.system == "linux":
        candidates = [f"{d}/nvidia-smi" for d in WSL_LIB_DIRS] + ["/usr/bin/nvidia-smi"]
    for c in candidates:
        if ctx.seam.exists(c):
            return c
    return None


def _smi_error(res: CmdResult) -> str | None:
    if res.ok:
        return None
    if res.timed_out:
        return f"nvidia-smi did not answer within {CMD_TIMEOUT_S:g} s (timed out)"
    text = (res.stdout.strip() + "\n" + res.stderr.strip()).strip()
    return text or res.error or f"nvidia-smi exited with code {res.returncode}"


def probe_nvidia_smi(ctx: Ctx, path: str) -> tuple[dict[str, Any], list[Gpu]]:
    """Command line equivalent: `nvidia-smi` (header) and `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`."""
    info: dict[str, Any] = {"path": path, "found": True, "timed_out": False, "returncode": None,
                            "version": None, "driver_version": None, "cuda_version": None, "error": None}
    head = ctx.seam.run([path], timeout=CMD_TIMEOUT_S)
    info["returncode"] = head.returncode
    info["timed_out"] = head.timed_out
    hdr = parse_smi_header(head.stdout + "\n" + head.stderr)
    info["version"] = hdr["smi_version"] or hdr["nvml_library_version"]
    info["driver_version"] = hdr["driver_version"]
    info["cuda_version"] = hdr["cuda_version"]
    info["error"] = _smi_error(head)
    if head.timed_out or not head.ok:
        return info, []  # a hung or broken nvidia-smi is not asked twice
    fields = SMI_FIELDS
    res = ctx.seam.run([path, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"], timeout=CMD_TIMEOUT_S)
    for _retry in range(2):
        # nvidia-smi before ~510 does not know compute_cap, and NVIDIA deprecated "Driver Version" for
        # "KMD Version" in 610, so driver_version may go too. nvidia-smi names the field it refuses.
        unknown = unknown_query_field(res.stdout + "\n" + res.stderr) if not res.ok else None
        if unknown not in fields or unknown in ("index", "name"):
            break
        fields = tuple(f for f in fields if f != unknown)
        res = ctx.seam.run([path, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"],
                           timeout=CMD_TIMEOUT_S)
    if not res.ok:
        info["query_error"] = _smi_error(res)
        return info, []
    gpus = with_smi_table(smi_rows_to_gpus(parse_smi_query(res.stdout, fields)), parse_smi_table(head.stdout))
    if any(g.mig_mode == "enabled" for g in gpus):
        listing = ctx.seam.run([path, "-L"], timeout=CMD_TIMEOUT_S)
        if listing.ok:
            gpus = with_mig_devices(gpus, parse_smi_list(listing.stdout))
    return info, gpus


def with_smi_table(gpus: list[Gpu], table: Mapping[int, Mapping[str, str | None]]) -> list[Gpu]:
    """Driver model, compute mode and MIG mode from the `nvidia-smi` table, matched by index."""
    import dataclasses

    out = []
    for i, gpu in enumerate(gpus):
        row = table.get(gpu.index if gpu.index is not None else i) or {}
        if row:
            gpu = dataclasses.replace(gpu, driver_model=row.get("driver_model"),
                                      compute_mode=row.get("compute_mode"), mig_mode=row.get("mig_mode"))
        out.append(gpu)
    return out


def with_mig_devices(gpus: list[Gpu], listing: Mapping[int, list[MigDevice]]) -> list[Gpu]:
    import dataclasses

    return [dataclasses.replace(g, mig_devices=tuple(listing[g.index])) if g.index in listing else g for g in gpus]


def probe_driver(ctx: Ctx, nvml: Mapping[str, Any] | None = None) -> tuple[DriverFacts | None, list[Gpu]]:
    """NVML, then the kernel module files, then nvidia-smi; plus modules, device nodes, kernel log."""
    errors: list[str] = []
    extra: dict[str, Any] = {}
    version = cuda = source = userspace = None
    gpus: list[Gpu] = []
    linux = ctx.system == "linux"
    if ctx.system == "darwin":
        return None, []

    nv = dict(nvml) if nvml is not None else ctx.seam.nvml()
    extra["nvml"] = {"available": bool(nv.get("available")), "error": nv.get("error"),
                     "error_name": nv.get("error_name"), "library_version": nv.get("nvml_version")}
    if nv.get("available"):
        version = nv.get("driver_version")
        cuda = cuda_version_from_int(nv.get("cuda_driver_version"))
        source = "nvml" if version else None
        nvml_version = nv.get("nvml_version") or ""
        userspace = nvml_version.split(".", 1)[1] if nvml_version.count(".") >= 2 else None
        gpus = nvml_gpus(nv)
        errors += [f"NVML {k}: {v}" for k, v in (nv.get("errors") or {}).items()]
    elif nv.get("error"):
        errors.append(str(nv["error"]))

    module = None
    modules: set[str] = set()
    if linux:
        sys_version = (ctx.seam.read_text("/sys/module/nvidia/version") or "").strip() or None
        proc_text = ctx.seam.read_text("/proc/driver/nvidia/version")
        proc_version, flavor = parse_proc_driver_version(proc_text)
        extra["proc_version"] = proc_text.strip().splitlines()[0] if proc_text and proc_text.strip() else None
        modules_text = ctx.seam.read_text("/proc/modules")
        modules = parse_proc_modules(modules_text)
        loaded = ("nvidia" in modules) if modules_text is not None else (bool(sys_version or proc_version) or None)
        kversion = sys_version or proc_version
        if loaded or kversion:
            module = KernelModule(loaded=loaded, version=kversion, flavor=flavor)
        elif modules_text is not None:
            module = KernelModule(loaded=False)
        if not version and kversion:
            version, source = kversion, ("sysfs" if sys_version else "procfs")

    smi_path = find_nvidia_smi(ctx)
    if not nv.get("available") or not gpus:
        if smi_path:
            smi, smi_gpus = probe_nvidia_smi(ctx, smi_path)
            extra["nvidia_smi"] = smi
            if smi.get("error"):
                errors.append(smi["error"])
            if smi.get("driver_version") and not version:
                version, source = smi["driver_version"], "nvidia-smi"
            cuda = cuda or smi.get("cuda_version")
            userspace = userspace or smi.get("version")
            if smi_gpus and not gpus:
                gpus = smi_gpus
        else:
            extra["nvidia_smi"] = {"path": None, "found": False, "timed_out": False, "returncode": None,
                                   "version": None, "driver_version": None, "cuda_version": None, "error": None}
    else:
        extra["nvidia_smi"] = {"path": smi_path, "found": bool(smi_path), "not_run": "NVML answered"}

    device_nodes = None
    kernel_log: list[str] = []
    wsl = linux and (ctx.cache.get("wsl") is True)
    if linux:
        nodes = ctx.seam.listdir("/dev", "nvidia*")
        extra["device_node_list"] = [f"/dev/{n}" for n in nodes] if nodes is not None else None
        device_nodes = bool(nodes) and "nvidia0" in nodes and "nvidiactl" in nodes if nodes is not None else None
        if wsl:
            libcuda = None
            for d in WSL_LIB_DIRS:
                if ctx.seam.exists(f"{d}/libcuda.so.1"):
                    libcuda = f"{d}/libcuda.so.1"
                    break
            extra["wsl_libcuda"] = libcuda
            device_nodes = ctx.seam.exists("/dev/dxg")
        if not gpus and not wsl and ctx.seam.which("lspci"):
            res = ctx.seam.run(["lspci", "-nn"], timeout=CMD_TIMEOUT_S)
            if res.ok:
                gpus = parse_lspci(res.stdout)
        dmesg = ctx.seam.run(["dmesg"], timeout=5.0)
        if dmesg.ok:
            kernel_log = kernel_log_lines(dmesg.stdout)
            extra["kernel_log_error"] = None
        else:
            extra["kernel_log_error"] = (dmesg.stderr.strip() or dmesg.error or f"dmesg exit code {dmesg.returncode}")
            # Ubuntu denies dmesg to users (kernel.dmesg_restrict) but lets the adm group read the journal.
            if ctx.seam.which("journalctl"):
                journal = ctx.seam.run(["journalctl", "-k", "-b", "--no-pager", "-q", "-n", "5000"], timeout=5.0)
                if journal.ok and journal.stdout.strip():
                    kernel_log = kernel_log_lines(journal.stdout)
                    extra["kernel_log_error"] = None
        extra["module_signature_rejected"] = any(_REJECTED.search(ln) for ln in kernel_log)

    nouveau = ("nouveau" in modules) if linux and modules else (False if linux and module is not None else None)
    uvm = ("nvidia_uvm" in modules) if linux and modules else None
    trace = any([version, gpus, module and (module.loaded or module.version), nouveau, smi_path,
                 extra.get("wsl_libcuda"), nv.get("available")])
    if not trace and not errors and not kernel_log:
        return (DriverFacts(errors=(), extra=extra) if linux else None), gpus
    return DriverFacts(
        version=version,
        cuda_version=cuda,
        source=source,
        kernel_module=module,
        userspace_version=userspace,
        nouveau_loaded=nouveau,
        nvidia_uvm_loaded=uvm,
        device_nodes=device_nodes,
        errors=tuple(dict.fromkeys(errors)),
        kernel_log=tuple(kernel_log),
        extra=extra,
    ), gpus


def apply_overrides(ctx: Ctx, driver: DriverFacts | None, gpus: list[Gpu]) -> tuple[DriverFacts | None, list[Gpu]]:
    """NKTENV_OVERRIDE_DRIVER / _CUDA_DRIVER / _GPUS win over what was probed (source: override)."""
    import dataclasses

    over_driver = ctx.getenv("NKTENV_OVERRIDE_DRIVER")
    over_cuda = ctx.getenv("NKTENV_OVERRIDE_CUDA_DRIVER")
    over_gpus = ctx.getenv("NKTENV_OVERRIDE_GPUS")
    overrides: dict[str, str] = {}
    if over_driver is not None or over_cuda is not None:
        driver = driver or DriverFacts()
        changes: dict[str, Any] = {"source": "override"}
        if over_driver is not None:
            changes["version"] = over_driver.strip() or None
            overrides["version"] = over_driver
        if over_cuda is not None:
            changes["cuda_version"] = over_cuda.strip() or None
            overrides["cuda_version"] = over_cuda
        driver = dataclasses.replace(driver, **changes)
    if over_gpus is not None:
        gpus = parse_override_gpus(over_gpus)
        overrides["gpus"] = over_gpus
    if overrides and driver is not None:
        driver = dataclasses.replace(driver, extra={**driver.extra, "overrides": overrides})
    return driver, gpus
