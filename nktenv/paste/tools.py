"""Short outputs: `nvcc --version`, /proc/driver/nvidia/version, torch and TensorFlow prints, env lines."""

from __future__ import annotations

import re
from typing import Any

from nktenv.paste.model import Piece, cuda_from_tag, is_code, is_prompt

# --- nvcc --version -----------------------------------------------------------------------------

_NVCC_RELEASE = re.compile(r"Cuda compilation tools,\s*release\s+(?P<version>\d+\.\d+),\s*V(?P<full>[\d.]+)")
_NVCC_NOISE = re.compile(r"^\s*(?:nvcc: NVIDIA \(R\) Cuda compiler driver|Copyright \(c\) \d{4}-\d{4} NVIDIA Corporation"
                         r"|Built on \S+|Build cuda_\S+)\s*$")


def detect_nvcc(lines: list[str]) -> bool:
    return any(_NVCC_RELEASE.search(ln) for ln in lines)


def parse_nvcc(lines: list[str]) -> Piece:
    piece = Piece("nvcc")
    for i, ln in enumerate(lines):
        m = _NVCC_RELEASE.search(ln)
        if m:
            piece.data.setdefault("toolkits", []).append({"version": m.group("version"), "full_version": m.group("full")})
            piece.lines.add(i)
        elif _NVCC_NOISE.match(ln) or (is_prompt(ln) and "nvcc" in ln) or re.fullmatch(r"\s*nvcc (?:--version|-V)\s*", ln):
            piece.lines.add(i)
            m2 = re.search(r"Built on \w+_(\w+)_\d\d:\d\d:\d\d_(\w+)_\d{4}", ln)
            if m2 and "Time" in m2.group(2):  # Windows builds print the zone in words: Pacific_Daylight_Time
                piece.data.setdefault("os", {})["system"] = "windows"
    return piece


# --- /proc/driver/nvidia/version ----------------------------------------------------------------

_NVRM = re.compile(r"NVRM version:\s*NVIDIA UNIX")


def detect_proc_version(lines: list[str]) -> bool:
    return any(_NVRM.search(ln) for ln in lines)


def parse_proc_version(lines: list[str]) -> Piece:
    from nktenv.probes.nvidia import parse_proc_driver_version  # the probe's own pure parser

    piece = Piece("proc-driver-version")
    for i, ln in enumerate(lines):
        if _NVRM.search(ln):
            version, flavor = parse_proc_driver_version(ln[ln.index("NVRM"):])
            arch = re.search(r"Kernel Module for (\S+)|UNIX (x86_64|aarch64) Kernel Module", ln)
            piece.data["driver"] = {"version": version, "proc_version": ln[ln.index("NVRM"):].strip(),
                                    "kernel_module": {"loaded": True, "version": version, "flavor": flavor}}
            piece.data["os"] = {"system": "linux"}
            if arch:
                piece.data["os"]["arch"] = arch.group(1) or arch.group(2)
            piece.lines.add(i)
        elif re.match(r"^\s*GCC version:\s+gcc version", ln) or (is_prompt(ln) and "/proc/driver" in ln):
            piece.lines.add(i)
    if not piece.data.get("driver", {}).get("version"):
        piece.missing.append("driver.version")
    return piece


# --- environment lines ----------------------------------------------------------------------------

_ENV = re.compile(r"^\s*(?:export\s+|set\s+|\$env:)?(?P<name>[A-Z][A-Z0-9_]+)\s*=\s*(?P<value>.*?)\s*$")


def parse_env(lines: list[str]) -> Piece | None:
    """`CUDA_VISIBLE_DEVICES=...`, `export LD_LIBRARY_PATH=...`, `$env:CUDA_PATH=...` for the variables detect lists."""
    from nktenv.probes import ENV_VARS

    piece = Piece("env")
    for i, ln in enumerate(lines):
        m = _ENV.match(ln)
        if m and (m.group("name") in ENV_VARS or m.group("name").startswith("CUDA_PATH_V")):
            piece.data.setdefault("env", {})[m.group("name")] = m.group("value").strip("'\"")
            piece.lines.add(i)
    return piece if piece.lines else None


# --- torch prints ---------------------------------------------------------------------------------

_TORCH_VERSION = r"\d+\.\d+\.\d+(?:[.a-z0-9]*)(?:\+[\w.]+)?"
# print(torch.__version__, torch.version.cuda, torch.cuda.is_available()) -> "2.6.0+cu124 12.4 True"
_ONE_LINE = re.compile(rf"^\s*(?P<version>{_TORCH_VERSION})\s+(?P<cuda>None|\d+\.\d+)\s+(?P<avail>True|False)\s*$")
_ASKED = {
    "version": re.compile(r"torch\.__version__"),
    "cuda": re.compile(r"torch\.version\.cuda"),
    "cuda_available": re.compile(r"torch\.cuda\.is_available\(\)"),
    "device_count": re.compile(r"torch\.cuda\.device_count\(\)"),
    "cudnn_version": re.compile(r"torch\.backends\.cudnn\.version\(\)"),
}
_ANSWER = re.compile(r"^\s*(?:return\s+)?(?P<value>True|False|None|\d+|" + _TORCH_VERSION + r"|\d+\.\d+)\s*$")


def detect_torch_print(lines: list[str]) -> bool:
    return any(_ONE_LINE.match(ln) for ln in lines) or any(
        rx.search(ln) for ln in lines for rx in _ASKED.values())


def parse_torch_print(lines: list[str]) -> Piece:
    piece = Piece("torch-print")
    torch: dict[str, Any] = {}
    pending: str | None = None
    for i, ln in enumerate(lines):
        m = _ONE_LINE.match(ln)
        if m:
            torch["version"] = m.group("version")
            torch["cuda"] = None if m.group("cuda") == "None" else m.group("cuda")
            torch["cuda_available"] = m.group("avail") == "True"
            piece.lines.add(i)
            pending = None
            continue
        asked = [k for k, rx in _ASKED.items() if rx.search(ln)]
        if len(asked) == 1:
            pending = asked[0]
            piece.lines.add(i)
            continue
        if pending and ln.strip():
            a = _ANSWER.match(ln)
            if a:
                value: Any = a.group("value")
                if pending == "cuda_available":
                    value = value == "True" if value in ("True", "False") else None
                elif pending == "device_count":
                    value = int(value) if value.isdigit() else None
                elif pending == "cuda" and value == "None":
                    value = None
                torch[pending] = value
                piece.lines.add(i)
            pending = None
        elif is_code(ln) or re.match(r"^\s*>>>", ln):
            piece.lines.add(i)
        else:
            banner = re.match(r"^\s*Python (?P<v>3\.\d+\.\d+)\s+\(.*\)\s*$", ln)
            if banner:  # the REPL's first line; its second names the platform
                piece.data.setdefault("python", {})["version"] = banner.group("v")
                piece.lines.add(i)
            elif re.match(r"^\s*\[(?:GCC|Clang|MSC) .*\] (?:.* )?on (?:linux|win32|darwin)\s*$", ln):
                system = {"linux": "linux", "win32": "windows", "darwin": "darwin"}[ln.strip().rsplit(" ", 1)[-1]]
                piece.data.setdefault("os", {})["system"] = system
                piece.lines.add(i)
            elif re.match(r'^\s*Type "help", "copyright", "credits" or "license" for more information\.\s*$', ln):
                piece.lines.add(i)
    if "version" in torch:
        build, cuda = cuda_from_tag(torch["version"])
        torch.setdefault("cuda", cuda)
        if build is not None:
            torch["is_cuda_build"] = build
    if torch.get("cuda"):
        torch["is_cuda_build"] = True
    if torch:
        piece.data["torch"] = torch
    return piece


# --- TensorFlow device lists ------------------------------------------------------------------------

_TF_DEVICE = re.compile(r"PhysicalDevice\(name='/physical_device:(?P<kind>[A-Z_]+):(?P<n>\d+)',\s*device_type='(?P<type>[A-Z_]+)'\)")
_TF_ASK = re.compile(r"list_physical_devices\((?P<arg>[^)]*)\)")
_TF_EMPTY = re.compile(r"^\s*(?:\w+\s+)?\[\]\s*$")
_TF_COUNT = re.compile(r"Num GPUs(?: Available)?:\s*(?P<n>\d+)")


_TF_VERSION = re.compile(r"^\s*(?:TensorFlow version|tf\.__version__)\s*[:=]?\s*(?P<v>\d+\.\d+\.\d+\S*)\s*$")
_TF_BUILT = re.compile(r"tf\.test\.is_built_with_cuda\(\)")


def detect_tf_devices(lines: list[str]) -> bool:
    return any(_TF_DEVICE.search(ln) or _TF_COUNT.search(ln) or _TF_BUILT.search(ln) for ln in lines) or (
        any(_TF_ASK.search(ln) for ln in lines) and any(_TF_EMPTY.match(ln) for ln in lines))


def parse_tf_devices(lines: list[str]) -> Piece:
    piece = Piece("tf-devices")
    gpus: set[int] = set()
    said_none = False
    tf: dict[str, Any] = {}
    ask_built = False
    for i, ln in enumerate(lines):
        if ask_built and ln.strip():
            ask_built = False
            if ln.strip() in ("True", "False"):
                tf["is_cuda_build"] = ln.strip() == "True"
                piece.lines.add(i)
                continue
        if _TF_BUILT.search(ln):
            ask_built = True
            piece.lines.add(i)
            continue
        v = _TF_VERSION.match(ln)
        if v:
            tf["version"] = v.group("v")
            piece.lines.add(i)
            continue
        if re.match(r"^\s*>>>\s*import tensorflow", ln):
            piece.lines.add(i)
            continue
        found = list(_TF_DEVICE.finditer(ln))
        if found:
            gpus.update(int(m.group("n")) for m in found if m.group("type") == "GPU")
            piece.lines.add(i)
            continue
        c = _TF_COUNT.search(ln)
        if c:
            if int(c.group("n")) == 0:
                said_none = True
            else:
                gpus.update(range(int(c.group("n"))))
            piece.lines.add(i)
            continue
        if _TF_EMPTY.match(ln):
            said_none = True
            piece.lines.add(i)
        elif _TF_ASK.search(ln) or is_code(ln) or re.fullmatch(r"\s*(?:and for|The output is:?)\s*", ln):
            piece.lines.add(i)
    if gpus or said_none:
        tf.update({"cuda_available": bool(gpus), "device_count": len(gpus)})
    if tf:
        piece.data["tensorflow"] = tf
    return piece
