"""Windows only: long paths, the Visual C++ runtime, and which PATH folders hold CUDA/cuDNN/zlib DLLs."""

from __future__ import annotations

from nktenv.facts import WindowsFacts
from nktenv.probes._ctx import CMD_TIMEOUT_S, Ctx
from nktenv.probes.system import parse_reg_value

LONG_PATHS_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\FileSystem"
VC_RUNTIME_KEY = r"HKLM\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64"
DLL_PATTERN = "|".join((
    "cudart64_*.dll", "cublas64_*.dll", "cublasLt64_*.dll", "cufft64_*.dll", "curand64_*.dll", "cusolver64_*.dll",
    "cusparse64_*.dll", "nvrtc64_*.dll", "cudnn*.dll", "zlibwapi.dll", "nvcuda.dll",
))


def parse_reg_dword(text: str | None, name: str) -> bool | None:
    """'LongPathsEnabled    REG_DWORD    0x1' -> True."""
    value = parse_reg_value(text, name)
    if value is None:
        return None
    try:
        return int(value, 16 if value.lower().startswith("0x") else 10) != 0
    except ValueError:
        return None


def probe_windows(ctx: Ctx) -> WindowsFacts | None:
    """Command line equivalent: `reg query ...\\FileSystem /v LongPathsEnabled`, `reg query ...\\Runtimes\\x64`, `where cudart64_*.dll`."""
    if not ctx.windows:
        return None
    p = ctx.path
    res = ctx.seam.run(["reg", "query", LONG_PATHS_KEY, "/v", "LongPathsEnabled"], timeout=CMD_TIMEOUT_S)
    long_paths = parse_reg_dword(res.stdout, "LongPathsEnabled")
    if long_paths is None and res.returncode == 1 and not res.timed_out:
        long_paths = False  # the value does not exist: the default is disabled
    vc = ctx.seam.run(["reg", "query", VC_RUNTIME_KEY, "/v", "Version"], timeout=CMD_TIMEOUT_S)
    vc_version = parse_reg_value(vc.stdout, "Version")
    if vc_version:
        vc_version = vc_version.lstrip("vV")
    system_root = ctx.getenv("SystemRoot") or r"C:\Windows"
    dll = p.join(system_root, "System32", "vcruntime140.dll")
    vc_dll = dll if ctx.seam.exists(dll) else None
    dlls: dict[str, list[str]] = {}
    for folder in ctx.path_dirs("PATH"):
        for name in ctx.seam.listdir(folder, DLL_PATTERN) or []:
            holders = dlls.setdefault(name.lower(), [])
            if folder not in holders:
                holders.append(folder)
    return WindowsFacts(
        long_paths_enabled=long_paths,
        vc_runtime_version=vc_version,
        dlls_on_path={k: list(v) for k, v in sorted(dlls.items())},  # as facts.from_dict loads it
        extra={
            "long_paths_source": "registry" if long_paths is not None else None,
            "vc_runtime_source": "registry" if vc_version else ("file" if vc_dll else None),
            "vc_runtime_dll": vc_dll,
        },
    )
