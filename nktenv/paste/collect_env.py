"""`python -m torch.utils.collect_env`: every format since 2019 (Yes/No, N/A, 'No CUDA', CPU blocks)."""

from __future__ import annotations

import re
from typing import Any

from nktenv.paste.model import Piece, cuda_from_tag, is_prompt, known

# Every field collect_env has printed, old and new. Values of the ones nktenv does not map stay in
# frameworks.torch.collect_env, so nothing the user pasted is dropped.
FIELDS = (
    "PyTorch version", "Is debug build", "CUDA used to build PyTorch", "ROCM used to build PyTorch", "OS",
    "GCC version", "Clang version", "CMake version", "Libc version", "Python version", "Python platform",
    "Is CUDA available", "CUDA runtime version", "CUDA_MODULE_LOADING set to", "GPU models and configuration",
    "Nvidia driver version", "cuDNN version", "HIP runtime version", "MIOpen runtime version",
    "Is XNNPACK available", "Is XPU available", "XPU used to build PyTorch", "Intel GPU driver version",
    "Intel GPU models onboard", "Intel GPU models detected", "Caching allocator config", "Is debug build",
)
_FIELD = re.compile(r"^(?P<key>" + "|".join(re.escape(f) for f in sorted(set(FIELDS), key=len, reverse=True))
                    + r"):\s*(?P<value>.*?)\s*$")
_LIB = re.compile(r"^\[(?P<tool>pip3?|conda)\]\s+(?P<rest>.+?)\s*$")
_GPU_LINE = re.compile(r"^\s*GPU\s+(?P<index>\d+):\s*(?P<name>.+?)\s*$")
_AMD_GPU_LINE = re.compile(r"^\s*(?P<name>.+?)\s*\((?P<arch>gfx[0-9a-f]{3,4})(?::[\w+-]+)*\)\s*$")
_CONTINUATION = {
    "GPU models and configuration": re.compile(r"^GPU\s+\d+:|^.+\(gfx[0-9a-f]{3,4}[^)]*\)\s*$"),
    "cuDNN version": re.compile(r"^(?:/|[A-Za-z]:\\|Probably one of the following)"),
    "Intel GPU driver version": re.compile(r"^\*"),
    "Intel GPU models onboard": re.compile(r"^\*"),
    "Intel GPU models detected": re.compile(r"^\*"),
}
_MULTI = ("GPU models and configuration", "cuDNN version", "Intel GPU driver version", "Intel GPU models onboard",
          "Intel GPU models detected")


def detect(lines: list[str]) -> bool:
    keys = {m.group("key") for m in (_FIELD.match(ln.strip()) for ln in lines) if m}
    return "PyTorch version" in keys and len(keys) >= 3


def _bool(value: str | None) -> bool | None:
    v = (value or "").strip().lower()
    return True if v in ("true", "yes") else False if v in ("false", "no") else None


def _cudnn_from(text: str) -> str | None:
    """'/usr/lib/x86_64-linux-gnu/libcudnn.so.8.2.0' -> '8.2.0'; 'cudnn64_7.dll' -> '7'; '9.1.0' -> '9.1.0'."""
    m = re.search(r"libcudnn(?:_\w+)?\.so\.(\d+(?:\.\d+)*)", text) or re.search(r"cudnn(?:_\w+)?64_(\d+)\.dll", text, re.I)
    if m:
        return m.group(1)
    m = re.fullmatch(r"\s*(\d+\.\d+(?:\.\d+)?)\s*", text)
    return m.group(1) if m else None


def parse(lines: list[str]) -> Piece:
    piece = Piece("collect_env")
    fields: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    libs: list[tuple[str, str]] = []
    cpu: list[str] = []
    block: str | None = None
    for i, raw in enumerate(lines):
        ln = raw.strip()
        if not ln:
            block = None if block in ("CPU",) + _MULTI else block
            continue
        if ln.startswith("Collecting") and "environment information" in ln:
            piece.lines.add(i)
            continue
        m = _FIELD.match(ln)
        if m:
            key, value = m.group("key"), m.group("value")
            fields[key] = value
            block = key if key in _MULTI else None
            piece.lines.add(i)
            continue
        if ln == "CPU:":
            block = "CPU"
            piece.lines.add(i)
            continue
        if ln == "Versions of relevant libraries:":
            block = "libs"
            piece.lines.add(i)
            continue
        lib = _LIB.match(ln)
        if lib:
            libs.append((lib.group("tool"), lib.group("rest")))
            piece.lines.add(i)
            continue
        if block == "CPU":
            cpu.append(ln)
            piece.lines.add(i)
            continue
        if block in _MULTI and _CONTINUATION[block].match(ln):
            multi.setdefault(block, []).append(ln)
            piece.lines.add(i)
            continue
        if is_prompt(raw) or re.fullmatch(r"(?:python3? )?(?:-m )?(?:torch\.utils\.)?collect_env(?:\.py)?.*", ln):
            piece.lines.add(i)
    _to_data(piece, fields, multi, libs, cpu)
    for key in ("PyTorch version", "OS", "Python version", "Is CUDA available"):
        if key not in fields:
            piece.missing.append(key)
    if "Versions of relevant libraries:" not in (ln.strip() for ln in lines):
        piece.missing.append("Versions of relevant libraries")
    return piece


def _to_data(piece: Piece, fields: dict[str, str], multi: dict[str, list[str]], libs: list[tuple[str, str]],
             cpu: list[str]) -> None:
    d = piece.data
    torch: dict[str, Any] = {"collect_env": dict(fields)}
    version = known(fields.get("PyTorch version"))
    if version:
        torch["version"] = version
        torch["package"] = "torch"
    build_cuda = known(fields.get("CUDA used to build PyTorch"))
    if build_cuda:
        m = re.match(r"(\d+\.\d+)", build_cuda)
        torch["cuda"] = m.group(1) if m else build_cuda
        torch["is_cuda_build"] = True
    elif fields.get("CUDA used to build PyTorch", "").strip() in ("None", "N/A") and version:
        torch["is_cuda_build"] = False
    else:
        tag_build, _ = cuda_from_tag(version)
        if tag_build is not None:
            torch["is_cuda_build"] = tag_build
    available = _bool(fields.get("Is CUDA available"))
    if available is not None:
        torch["cuda_available"] = available
    os_: dict[str, Any] = {}
    os_text = known(fields.get("OS"))
    platform = known(fields.get("Python platform")) or ""
    if os_text:
        if "Windows" in os_text:
            os_["system"] = "windows"
            os_["distro"] = re.sub(r"\s*\(.*\)\s*$", "", os_text)
            b = re.search(r"\((\d+\.\d+\.\d+)", os_text)
            if b:
                os_["release"] = b.group(1)
        elif "Mac OSX" in os_text or "macOS" in os_text:
            os_["system"] = "darwin"
        else:
            os_["system"] = "linux"
            os_["distro"] = re.sub(r"\s*\((x86_64|aarch64|arm64|ppc64le)\)\s*$", "", os_text)
        a = re.search(r"\((x86_64|aarch64|arm64)\)", os_text)
        if a:
            os_["arch"] = "aarch64" if a.group(1) == "arm64" else a.group(1)
    if platform.startswith("Linux-"):
        os_.setdefault("system", "linux")
        r = re.match(r"Linux-(?P<release>.+?)-(?P<arch>x86_64|aarch64)-with", platform)
        if r:
            os_["release"] = r.group("release")
            os_.setdefault("arch", r.group("arch"))
        os_["wsl"] = "microsoft" in platform.lower() and "wsl" in platform.lower()
        g = re.search(r"glibc(\d+\.\d+)", platform)
        if g:
            os_["glibc"] = g.group(1)
    elif platform.startswith("Windows-"):
        os_["system"] = "windows"
        r = re.match(r"Windows-\d+-(\d+\.\d+\.\d+)", platform)
        if r:
            os_.setdefault("release", r.group(1))
    libc = known(fields.get("Libc version"))
    if libc and libc.startswith("glibc-"):
        os_.setdefault("glibc", libc.removeprefix("glibc-"))
    if os_:
        d["os"] = os_
    py = known(fields.get("Python version"))
    if py:
        d["python"] = {"version": py.split()[0]}
    runtime = known(fields.get("CUDA runtime version"))
    if runtime:
        m = re.match(r"(\d+\.\d+)", runtime)
        d["toolkits"] = [{"version": m.group(1) if m else runtime, "full_version": runtime}]
    rocm_build = known(fields.get("ROCM used to build PyTorch"))
    gpu_text = [known(fields.get("GPU models and configuration"))] + multi.get("GPU models and configuration", [])
    gpus = []
    for t in filter(None, gpu_text):
        g = _GPU_LINE.match(t)
        if g:
            gpus.append({"index": int(g.group("index")), "name": g.group("name"), "vendor": "nvidia"})
        elif (a := _AMD_GPU_LINE.match(t)) and rocm_build:
            # A ROCm build names each GPU with its target: 'AMD Radeon RX 7600 XT (gfx1102)'.
            gpus.append({"index": len(gpus), "name": a.group("name"), "vendor": "amd", "arch": a.group("arch")})
    if gpus:
        d["gpus"] = gpus
        if available:
            torch["device_count"] = len(gpus)
    driver = known(fields.get("Nvidia driver version"))
    if driver:
        d["driver"] = {"version": driver}
    cudnn_lines = [known(fields.get("cuDNN version"))] + multi.get("cuDNN version", [])
    cudnn = []
    for t in filter(None, cudnn_lines):
        if t.startswith("Probably one of the following"):
            continue
        v = _cudnn_from(t)
        location = t if ("/" in t or "\\" in t) else None
        cudnn.append({"version": v, "location": location, "source": "library"})
    # collect_env lists every library file of one copy; keep one entry per folder.
    seen: dict[str | None, dict[str, Any]] = {}
    for c in cudnn:
        folder = re.sub(r"[\\/][^\\/]+$", "", c["location"]) if c["location"] else None
        seen.setdefault(folder, {**c, "location": folder or c["location"]})
    if seen:
        d["cudnn"] = list(seen.values())
    packages: dict[str, str] = {}
    conda: dict[str, str] = {}
    for tool, rest in libs:
        if rest.strip() == "Could not collect":
            continue
        if tool.startswith("pip"):
            name, _, ver = rest.partition("==")
            if ver:
                packages[name.strip().lower()] = ver.strip()
        else:
            parts = rest.split()
            if len(parts) >= 2:
                conda[parts[0].lower()] = parts[1]
    if packages:
        from nktenv.paste.packages import _relevant

        d["packages"] = _relevant(packages)
    if conda:
        d["conda"] = {"packages": conda}
    if cpu:
        model = None
        for ln in cpu:
            m = re.match(r"^(?:Model name|Name)\s*[:=]\s*(.+)$", ln)
            if m:
                model = m.group(1).strip()
                break
        cores = next((int(m.group(1)) for m in (re.match(r"^CPU\(s\):\s*(\d+)$", ln) for ln in cpu) if m), None)
        d["cpu"] = {"model": model, "logical_cores": cores}
    d["torch"] = torch
