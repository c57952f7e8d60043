"""Every cuDNN copy: headers, library files (cuDNN 9's split libraries too), pip, conda, frameworks."""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from nktenv.facts import CudaToolkit, Cudnn
from nktenv.probes._ctx import Ctx, same_path

LIB_PATTERN_LINUX = "libcudnn*.so*"
LIB_PATTERN_WINDOWS = "cudnn*.dll"


def parse_cudnn_header(text: str | None) -> str | None:
    """cudnn_version.h (cuDNN >= 8) or cudnn.h (older): CUDNN_MAJOR / MINOR / PATCHLEVEL defines."""
    parts = {}
    for key in ("MAJOR", "MINOR", "PATCHLEVEL"):
        m = re.search(rf"#define\s+CUDNN_{key}\s+(\d+)", text or "")
        if m:
            parts[key] = m.group(1)
    if "MAJOR" not in parts:
        return None
    return ".".join(parts[k] for k in ("MAJOR", "MINOR", "PATCHLEVEL") if k in parts)


def version_from_library(name: str) -> str | None:
    """'libcudnn.so.8.9.7' -> '8.9.7'; 'libcudnn_graph.so.9' -> '9'; 'cudnn64_8.dll' -> '8'."""
    m = re.search(r"\.so\.(\d+(?:\.\d+)*)$", name)
    if m:
        return m.group(1)
    m = re.search(r"64_(\d+)\.dll$", name, re.IGNORECASE)
    return m.group(1) if m else None


def cudnn_int_to_version(value: Any) -> str | None:
    """torch.backends.cudnn.version(): 8902 -> '8.9.2', 90100 -> '9.1.0'."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        return str(value) if value else None
    if v >= 10000:
        return f"{v // 10000}.{(v % 10000) // 100}.{v % 100}"
    return f"{v // 1000}.{(v % 1000) // 100}.{v % 100}"


def major_of(version: str | None) -> int | None:
    m = re.match(r"(\d+)", version or "")
    return int(m.group(1)) if m else None


def _best_version(names: Iterable[str]) -> str | None:
    versions = [v for v in (version_from_library(n) for n in names) if v]
    return max(versions, key=lambda v: (v.count("."), [int(x) for x in v.split(".")]), default=None)


def _entry(version: str | None, location: str, source: str, **extra: Any) -> Cudnn:
    return Cudnn(version=version, location=location, source=source, extra={"major": major_of(version), **extra})


def _lib_dirs(ctx: Ctx, toolkits: list[CudaToolkit]) -> list[tuple[str, str]]:
    """(folder, origin) where cuDNN libraries may be found, in rough search order."""
    p = ctx.path
    dirs: list[tuple[str, str]] = []
    if ctx.windows:
        dirs += [(d, "PATH") for d in ctx.path_dirs("PATH")]
        for tk in toolkits:
            if tk.root:
                dirs += [(p.join(tk.root, "bin"), "toolkit"), (p.join(tk.root, "lib", "x64"), "toolkit")]
        conda = ctx.getenv("CONDA_PREFIX")
        if conda:
            dirs.append((p.join(conda, "Library", "bin"), "conda"))
    else:
        dirs += [(d, "LD_LIBRARY_PATH") for d in ctx.path_dirs("LD_LIBRARY_PATH")]
        conda = ctx.getenv("CONDA_PREFIX")
        if conda:
            dirs.append((f"{conda}/lib", "conda"))
        for tk in toolkits:
            if tk.root:
                dirs += [(f"{tk.root}/lib64", "toolkit"), (f"{tk.root}/targets/x86_64-linux/lib", "toolkit")]
        dirs += [("/usr/lib/x86_64-linux-gnu", "system"), ("/usr/lib/aarch64-linux-gnu", "system"),
                 ("/usr/lib64", "system"), ("/usr/local/lib", "system")]
    seen: list[str] = []
    out = []
    for d, origin in dirs:
        if any(same_path(d, s, ctx.windows) for s in seen):
            continue
        seen.append(d)
        out.append((d, origin))
    return out


def _header_dirs(ctx: Ctx, toolkits: list[CudaToolkit]) -> list[tuple[str, str]]:
    p = ctx.path
    dirs = [(p.join(tk.root, "include"), "toolkit") for tk in toolkits if tk.root]
    conda = ctx.getenv("CONDA_PREFIX")
    if conda:
        dirs.append((p.join(conda, "Library", "include") if ctx.windows else f"{conda}/include", "conda"))
    if not ctx.windows:
        dirs += [("/usr/include", "system"), ("/usr/include/x86_64-linux-gnu", "system")]
    return dirs


def probe_cudnn(ctx: Ctx, toolkits: list[CudaToolkit], python_packages: Mapping[str, str] | None,
                frameworks: Mapping[str, Any] | None = None) -> list[Cudnn]:
    """Command line equivalent: `grep CUDNN_MAJOR -A2 */include/cudnn_version.h; ls */libcudnn*; pip list`."""
    if ctx.system == "darwin":
        return []
    found: list[Cudnn] = []
    p = ctx.path
    for folder, origin in _header_dirs(ctx, toolkits):
        for header in ("cudnn_version.h", "cudnn.h"):
            path = p.join(folder, header)
            version = parse_cudnn_header(ctx.seam.read_text(path))
            if version:
                found.append(_entry(version, path, "header", origin=origin))
                break
    pattern = LIB_PATTERN_WINDOWS if ctx.windows else LIB_PATTERN_LINUX
    for folder, origin in _lib_dirs(ctx, toolkits):
        names = ctx.seam.listdir(folder, pattern)
        if names:
            found.append(_entry(_best_version(names), folder, "library", origin=origin, libraries=names))
    conda = ctx.getenv("CONDA_PREFIX")
    if conda:
        for name in ctx.seam.listdir(p.join(conda, "conda-meta"), "cudnn-*.json") or []:
            m = re.match(r"cudnn-(\d+(?:\.\d+)*)-", name)
            if m:
                found.append(_entry(m.group(1), p.join(conda, "conda-meta", name), "conda", origin="conda"))
    for dist, version in sorted((python_packages or {}).items()):
        if re.fullmatch(r"nvidia-cudnn(-cu\d+)?", dist):
            found.append(_entry(version, f"pip:{dist}", "pip", origin="pip", distribution=dist))
    for name, fw in (frameworks or {}).items():
        if fw and fw.get("cudnn"):
            found.append(_entry(fw["cudnn"], f"{name}:{fw.get('version')}", "framework", origin="framework",
                                framework=name))
    return found
