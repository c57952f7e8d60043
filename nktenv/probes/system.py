"""OS, CPU, memory and the Python interpreter. Parsers are pure; reading goes through the seam."""

from __future__ import annotations

import re
from typing import Any, Mapping

from nktenv.facts import CpuFacts, MemoryFacts, OsFacts, PythonFacts
from nktenv.probes._ctx import CMD_TIMEOUT_S, Ctx

SECURE_BOOT_EFIVAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

_ARCH = {
    "x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "em64t": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64", "armv8": "aarch64", "armv8l": "aarch64",
}


def normalise_arch(machine: str | None) -> str | None:
    """'AMD64' -> 'x86_64', 'arm64' -> 'aarch64'; anything else is unknown (None)."""
    return _ARCH.get((machine or "").strip().lower())


def parse_os_release(text: str | None) -> dict[str, str]:
    """Parse /etc/os-release (shell-style KEY=value lines, optionally quoted)."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip('"').strip("'")
    return out


def distro_name(os_release: Mapping[str, str]) -> str | None:
    if os_release.get("PRETTY_NAME"):
        return os_release["PRETTY_NAME"]
    name, version = os_release.get("NAME"), os_release.get("VERSION")
    return f"{name} {version}" if name and version else name


def wsl_version(release: str | None, proc_version: str | None = None) -> int | None:
    """WSL 1 runs Microsoft's 4.4.0-<build>-Microsoft kernel emulation; WSL 2 a real kernel
    (5.15.153.1-microsoft-standard-WSL2). None when neither says WSL."""
    text = f"{release or ''} {proc_version or ''}"
    if re.search(r"\b4\.4\.0-\d+-Microsoft\b", text):
        return 1
    if re.search(r"microsoft-standard|WSL2", text, re.IGNORECASE):
        return 2
    return None


TEGRA_RELEASE_FILE = "/etc/nv_tegra_release"


def parse_nv_tegra_release(text: str | None) -> str | None:
    """/etc/nv_tegra_release: '# R36 (release), REVISION: 4.3, GCID: ...' -> '36.4.3'."""
    m = re.search(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+(?:\.\d+)*)", text or "")
    if not m:
        return None
    return f"{m.group(1)}.{m.group(2)}"


def l4t_from_proc_version(text: str | None) -> str | None:
    """JetPack 5 names the L4T release in /proc/driver/nvidia/version ('... for aarch64  35.3.1  Release
    Build ...'); desktop drivers and JetPack 6's OpenRM (540.4.0) have majors in the hundreds."""
    m = re.search(r"Kernel Module for aarch64\s+(\d+)\.(\d+(?:\.\d+)*)", text or "")
    return f"{m.group(1)}.{m.group(2)}" if m and int(m.group(1)) < 100 else None


def windows_distro(build: str | None) -> str | None:
    """'10.0.22631' -> 'Windows 11' (Windows 11 keeps major version 10; builds >= 22000 are 11)."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", build or "")
    if not m:
        return None
    return "Windows 11" if int(m.group(1)) == 10 and int(m.group(3)) >= 22000 else f"Windows {m.group(1)}"


def parse_secure_boot_efivar(data: bytes | None) -> bool | None:
    """The efivar is 4 attribute bytes followed by one value byte (1 = enabled)."""
    if not data or len(data) < 5:
        return None
    return data[4] == 1


def parse_mokutil(text: str | None) -> bool | None:
    """`mokutil --sb-state` prints 'SecureBoot enabled' or 'SecureBoot disabled'."""
    t = (text or "").lower()
    if "secureboot enabled" in t:
        return True
    if "secureboot disabled" in t:
        return False
    return None


def parse_cpuinfo_model(text: str | None) -> str | None:
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("model name", "hardware", "cpu model") and value.strip():
            return value.strip()
    return None


def parse_reg_value(text: str | None, name: str) -> str | None:
    """The data of `name` in `reg query KEY /v NAME` output ('    NAME    REG_SZ    data')."""
    for line in (text or "").splitlines():
        parts = line.strip().split(None, 2)
        if len(parts) >= 3 and parts[0].lower() == name.lower() and parts[1].startswith("REG_"):
            return parts[2].strip()
    return None


def container_kind(ctx: Ctx) -> str | None:
    if ctx.seam.exists("/.dockerenv"):
        return "docker"
    if ctx.seam.exists("/run/.containerenv"):
        return "podman"
    if ctx.getenv("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    env_kind = ctx.getenv("container")
    if env_kind:
        return env_kind
    cgroup = ctx.seam.read_text("/proc/1/cgroup") or ""
    for marker, kind in (("kubepods", "kubernetes"), ("docker", "docker"), ("lxc", "lxc"), ("containerd", "containerd")):
        if marker in cgroup:
            return kind
    return None


def probe_os(ctx: Ctx) -> OsFacts:
    """Command line equivalent: `uname -srm; cat /etc/os-release; mokutil --sb-state`."""
    plat = ctx.plat
    system = ctx.system
    extra: dict[str, Any] = {"locale_encoding": plat.get("encoding")}
    release = plat.get("release")
    distro = None
    wsl = container = secure_boot = None
    glibc = None
    os_id = version_id = codename = wsl_ver = tegra = l4t = None
    if system == "linux":
        osr = parse_os_release(ctx.seam.read_text("/etc/os-release"))
        distro = distro_name(osr)
        os_id, version_id = osr.get("ID") or None, osr.get("VERSION_ID") or None
        codename = osr.get("VERSION_CODENAME") or osr.get("UBUNTU_CODENAME") or None
        # An Ubuntu derivative (Linux Mint 21.3: virginia) keeps the Ubuntu codename apt repositories use here.
        extra["ubuntu_codename"] = osr.get("UBUNTU_CODENAME") or None
        extra["id_like"] = osr.get("ID_LIKE") or None
        proc_version = ctx.seam.read_text("/proc/version") or ""
        wsl = "microsoft" in f"{release} {proc_version}".lower() or bool(ctx.getenv("WSL_DISTRO_NAME"))
        wsl_ver = wsl_version(release, proc_version) if wsl else None
        tegra_text = ctx.seam.read_text(TEGRA_RELEASE_FILE)
        l4t = parse_nv_tegra_release(tegra_text) or l4t_from_proc_version(
            ctx.seam.read_text("/proc/driver/nvidia/version"))
        tegra = bool(l4t or tegra_text is not None or "tegra" in (release or "").lower())
        kind = container_kind(ctx)
        container = kind is not None
        extra["container_kind"] = kind
        libc = plat.get("libc") or []
        if len(libc) == 2 and libc[0] == "glibc":
            glibc = libc[1]
        data = ctx.seam.read_bytes(SECURE_BOOT_EFIVAR)
        secure_boot = parse_secure_boot_efivar(data)
        extra["secure_boot_source"] = "efivars" if secure_boot is not None else None
        if secure_boot is None and not wsl and ctx.seam.which("mokutil"):
            res = ctx.seam.run(["mokutil", "--sb-state"], timeout=CMD_TIMEOUT_S)
            secure_boot = parse_mokutil(res.stdout + res.stderr)
            extra["secure_boot_source"] = "mokutil" if secure_boot is not None else None
    elif system == "windows":
        win = plat.get("win32_ver") or []
        release = (win[1] if len(win) > 1 and win[1] else None) or plat.get("version") or release
        distro = windows_distro(release)
        wsl, container = False, False
    elif system == "darwin":
        mac = plat.get("mac_ver")
        distro = f"macOS {mac}" if mac else "macOS"
        wsl, container = False, False
    return OsFacts(
        system=system,
        release=release,
        distro=distro,
        arch=normalise_arch(plat.get("machine")),
        wsl=wsl,
        container=container,
        glibc=glibc,
        secure_boot=secure_boot,
        id=os_id,
        version_id=version_id,
        version_codename=codename,
        wsl_version=wsl_ver,
        tegra=tegra,
        l4t_release=l4t,
        extra=extra,
    )


def probe_cpu(ctx: Ctx) -> CpuFacts:
    plat = ctx.plat
    model = None
    if ctx.system == "linux":
        model = parse_cpuinfo_model(ctx.seam.read_text("/proc/cpuinfo"))
    elif ctx.system == "windows":
        res = ctx.seam.run(
            ["reg", "query", r"HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0", "/v", "ProcessorNameString"],
            timeout=CMD_TIMEOUT_S,
        )
        model = parse_reg_value(res.stdout, "ProcessorNameString")
    elif ctx.system == "darwin":
        res = ctx.seam.run(["sysctl", "-n", "machdep.cpu.brand_string"], timeout=CMD_TIMEOUT_S)
        model = res.stdout.strip() or None
    model = model or plat.get("processor") or ctx.getenv("PROCESSOR_IDENTIFIER") or None
    return CpuFacts(model=model, physical_cores=plat.get("cpu_physical"), logical_cores=plat.get("cpu_logical"))


def probe_memory(ctx: Ctx) -> MemoryFacts:
    total = ctx.plat.get("memory_total")
    extra = {"error": ctx.plat["psutil_error"]} if ctx.plat.get("psutil_error") else {}
    return MemoryFacts(total_bytes=int(total) if total is not None else None, extra=extra)


def python_kind(ctx: Ctx, info: Mapping[str, Any]) -> str:
    """venv / uv / conda / store / pyenv / system, from the interpreter's own paths."""
    exe = str(info.get("executable") or "")
    prefix = str(info.get("prefix") or "")
    base = str(info.get("base_prefix") or prefix)
    low = exe.replace("\\", "/").lower()
    if "/windowsapps/" in low or "pythonsoftwarefoundation.python" in low:
        return "store"
    if prefix and base and prefix != base:
        cfg = ctx.seam.read_text(ctx.path.join(prefix, "pyvenv.cfg")) or ""
        return "uv" if re.search(r"^\s*uv\s*=", cfg, re.MULTILINE) else "venv"
    if info.get("conda") or (prefix and ctx.seam.exists(ctx.path.join(prefix, "conda-meta"))):
        return "conda"
    if "/uv/python/" in low:
        return "uv"
    if "/.pyenv/" in low or "/pyenv-win/" in low:
        return "pyenv"
    if exe:
        return "system"
    return "unknown"


def probe_python(ctx: Ctx, info: Mapping[str, Any] | None, error: str | None = None) -> PythonFacts:
    """The probed interpreter. `info` is what checks/probe.py (or the seam's platform) reported."""
    if not info:
        return PythonFacts(kind="unknown", extra={"error": error} if error else {})
    kind = python_kind(ctx, info)
    prefix = info.get("prefix")
    extra: dict[str, Any] = {
        "prefix": prefix,
        "base_prefix": info.get("base_prefix"),
        "conda_prefix": prefix if kind == "conda" else None,
        "packages": dict(info.get("packages") or {}),
    }
    if error:
        extra["error"] = error
    return PythonFacts(
        version=info.get("version") or info.get("python_version"),
        executable=info.get("executable"),
        implementation=info.get("implementation") or info.get("python_implementation"),
        kind=kind,
        extra=extra,
    )
