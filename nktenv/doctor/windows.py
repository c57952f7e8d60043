"""Windows and WSL rules: Store Python, long paths, DLL search, VC++ runtime, WSL's libcuda."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor.context import Ctx, finding
from nktenv.findings import Finding
from nktenv.i18n import _

LONG_PATH_LINES = r"does not have Windows Long Path support enabled|enable-long-paths|\[WinError 206\]|filename or extension is too long"
# Python-side load failures only: TensorFlow's own loader ("Could not load dynamic library") does search PATH,
# so a DLL on PATH that it cannot load is missing a dependency instead (zlibwapi, VC++ runtime).
DLL_FAIL = r"Could not find module '[^']+' \(or one of its dependencies\)|DLL load failed while importing|\[WinError 126\]"
VC_LINES = (
    r"Microsoft Visual C\+\+ Redistributable is not installed|(?:msvcp140(?:_1)?|vcruntime140(?:_1)?)\.dll"
    r"(?: was not found| is missing|' not found|'; dlerror| not found)"
)
WSL_LIBCUDA_LINES = (
    r"libcuda\.so(?:\.1)?: cannot open shared object file|Could not find cuda drivers on your machine|"
    r"Found no NVIDIA driver on your system|Could not load library libcudnn_\w+\.so\.\d+\. Error: libcuda\.so"
)


def windows_store_python(ctx: Ctx) -> Iterable[Finding]:
    py = ctx.facts.python
    if py is None or not ctx.native_windows:
        return
    exe = py.executable or ""
    if py.kind != "store" and "\\windowsapps\\" not in exe.lower():
        return
    yield finding(
        "windows_store_python",
        "warning",
        _("This is the Microsoft Store Python, which breaks GPU framework installs"),
        evidence=[f"{exe} ({py.version})" if exe else f"python.kind = {py.kind}"],
        fix=_("Install Python from python.org (winget install Python.Python.3.10) and create the environment with it: "
              "py -3.10 -m venv .venv (or nktenv setup --python <that python.exe>)."),
        why=_("The Store Python redirects AppData writes into a sandbox and hits path-length limits, so large wheels such as tensorflow fail or land where other tools cannot see them."),
    )


def windows_long_paths_disabled(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.native_windows:
        return
    lines = ctx.grep(LONG_PATH_LINES)
    win = ctx.facts.windows
    off = win is not None and win.long_paths_enabled is False
    if not off and not lines:
        return
    yield finding(
        "windows_long_paths_disabled",
        "error" if lines else "warning",
        _("Windows long path support is off; installing TensorFlow or PyTorch can fail"),
        evidence=([_("LongPathsEnabled = 0")] if off else []) + lines,
        fix=_("In an administrator PowerShell: New-ItemProperty -Path \"HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem\" "
              "-Name LongPathsEnabled -Value 1 -PropertyType DWORD -Force ; then open a new terminal and install again."),
        why=_("Some files in these wheels have paths longer than 260 characters, the Windows default limit."),
    )


def windows_dll_search_path(ctx: Ctx) -> Iterable[Finding]:
    from nktenv.doctor.dllsearch import windows_dll_search_path as rule

    yield from rule(ctx)  # per loader: Python's extension and ctypes loads, TensorFlow's own LoadLibrary


def vc_redist_missing(ctx: Ctx) -> Iterable[Finding]:
    from nktenv.doctor.dllsearch import vc_redist_missing as rule

    yield from rule(ctx)  # names the runtime file that is missing, from the probe of windows.vc_runtime_files


def wsl_libcuda_not_found(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.wsl:
        return
    lines = ctx.grep(WSL_LIBCUDA_LINES)
    drv = ctx.facts.driver
    missing = drv is not None and "wsl_libcuda" in drv.extra and drv.extra.get("wsl_libcuda") is None
    if not lines and not missing:
        return
    ld = ctx.env("LD_LIBRARY_PATH") or ""
    ev = ([_("/usr/lib/wsl/lib/libcuda.so.1: not found")] if missing else []) + lines
    if missing:
        fix = _("Install or update the NVIDIA driver in Windows (not inside WSL), then run wsl --update and wsl --shutdown in Windows and reopen WSL.")
    else:
        fix = _("Let the loader find WSL's libcuda: export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH (add it to ~/.bashrc) "
                "and do not install a Linux NVIDIA driver inside WSL.")
    yield finding(
        "wsl_libcuda_not_found",
        "error",
        _("Inside WSL, the CUDA driver library (libcuda.so) from the Windows driver is not found"),
        evidence=ev + ([f"LD_LIBRARY_PATH={ld}"] if ld and "/usr/lib/wsl/lib" not in ld else []),
        fix=fix,
        why=_("In WSL the GPU driver lives in Windows; its libcuda.so is mounted at /usr/lib/wsl/lib."),
    )


WSL_LINUX_DRIVER_LINES = (
    r"GPU access blocked by the operating system|Driver/library version mismatch|"
    r"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver|"
    r"couldn't find libnvidia-ml\.so|Failed to initialize NVML: Driver Not Loaded|Failed to properly shut down NVML"
)
_WSL_LIB = "/usr/lib/wsl/lib"


def wsl_linux_driver_installed(ctx: Ctx) -> Iterable[Finding]:
    """WSL 2: a Linux NVIDIA driver (nvidia-driver-*, nvidia-utils-*) installed inside WSL over the Windows one."""
    if not ctx.wsl:
        return
    drv = ctx.facts.driver
    smi = ctx.driver_extra("nvidia_smi")
    libcuda = drv.extra.get("wsl_libcuda") if drv is not None else None
    ev: list[str] = []
    smi_path = smi.get("path") if isinstance(smi.get("path"), str) else None
    if smi_path and not smi_path.startswith(_WSL_LIB):
        ev.append(_("nvidia-smi found at {path}, not {wsl}").format(path=smi_path, wsl=f"{_WSL_LIB}/nvidia-smi"))
    if isinstance(libcuda, str) and not libcuda.startswith(_WSL_LIB):
        ev.append(_("libcuda.so.1 loads from {path}, not {wsl}").format(path=libcuda, wsl=_WSL_LIB))
    libs = ctx.grep(r"libcuda\.so(?:\.1)?\s*=>\s*/(?!usr/lib/wsl)\S+|/(?:usr/)?lib\S*/libcuda\.so\.1\b(?!.*wsl)")
    ev += [line for line in libs if "/usr/lib/wsl" not in line]
    pkgs = sorted(n for n in ctx.packages if re.match(r"(?:nvidia-driver|nvidia-utils|libnvidia-compute)-\d+", n))
    ev += pkgs
    ev += ctx.grep(r"apt(?:-get)?\s+install\b.*\b(?:nvidia-(?:utils|driver)-\d+|libnvidia-compute-\d+)")
    lines = ctx.grep(WSL_LINUX_DRIVER_LINES)
    if not ev and not (lines and (smi_path is None or not smi_path.startswith(_WSL_LIB))):
        return
    if not ev:
        if any("blocked by the operating system" in line for line in lines):
            ev.append(_("inside WSL 2"))
        else:
            return  # the same messages come from a Windows driver that is too old or missing
    yield finding(
        "wsl_linux_driver_installed",
        "error",
        _("A Linux NVIDIA driver is installed inside WSL over the Windows driver"),
        evidence=ev + lines,
        fix=_("Remove it inside WSL: sudo apt remove --purge 'nvidia-driver-*' 'nvidia-utils-*' 'libnvidia-compute-*' && "
              "sudo apt autoremove; then in Windows run wsl --shutdown and reopen WSL. nvidia-smi and libcuda then come from "
              "/usr/lib/wsl/lib (install only the CUDA toolkit inside WSL, the 'WSL-Ubuntu' package, never a driver)."),
        why=_("In WSL 2 the GPU is driven by the Windows driver, which mounts its libcuda and nvidia-smi at /usr/lib/wsl/lib; a Linux "
              "driver's copies cannot talk to the GPU and shadow them."),
    )
