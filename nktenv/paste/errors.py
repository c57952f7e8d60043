"""Tracebacks, framework warnings and installer errors: kept verbatim as logs, with the facts they state."""

from __future__ import annotations

import re

from nktenv.paste.model import Piece, is_prompt

_TRACEBACK = re.compile(r"^\s*Traceback \(most recent call last\):\s*$")
_FRAME = re.compile(r'^\s*File "[^"]+", line \d+|^\s{2,}\S|^\s*\^+\s*$|^\s*raise\b')
_EXC = re.compile(r"^\s*(?:\w+\.)*\w*(?:Error|Exception|Warning|Interrupt|Exit)\b(?::.*)?$")
_TORCH_WARN = re.compile(r"\bUserWarning:")
_SM = re.compile(r"(?:^|:\s)(?P<name>[^:]+?) with CUDA capability sm_(?P<cc>\d+) is not compatible with the current PyTorch installation")
_SUPPORTS = re.compile(r"The current PyTorch install supports CUDA capabilities (?P<arches>(?:(?:sm|compute)_\d+\w*\s*)+)")
_PIP = re.compile(r"ERROR: (?:Could not find a version that satisfies the requirement|No matching distribution found for)"
                  r"|ERROR: Could not install packages|ERROR: pip's dependency resolver|error: subprocess-exited-with-error"
                  r"|ERROR: Failed building wheel|Looking in indexes:")
_UV = re.compile(r"No solution found when resolving dependencies|^\s*(?:[╰`]─?▶|`->)\s|^\s*help:\s|^\s*│\s"
                 r"|^\s*error: (?:Failed to fetch|Request failed|Failed to download|error sending request)|dns error"
                 r"|failed to lookup address|^\s*[⠁-⣿]\s+Resolving dependencies"
                 r"|Caused by:")
_CUDA_ERR = re.compile(r"CUDA (?:error|out of memory)|CUDA kernel errors|CUDA_LAUNCH_BLOCKING|TORCH_USE_CUDA_DSA|"
                       r"no kernel image|named symbol not found|undefined symbol|cannot open shared object file|"
                       r"NCCL (?:error|WARN|INFO)|ncclUnhandled|Could not load (?:dynamic )?library|Could not locate \S+\.dll|"
                       r"DLL load failed|\[WinError \d+\]|cuDNN (?:error|version incompatibility)|CUDNN_STATUS_\w+|"
                       r"If you want to use the .+ GPU with PyTorch|not compatible with the current PyTorch|"
                       r"The current PyTorch install supports|Found no NVIDIA driver|NVIDIA driver on your system is too old|"
                       r"Torch not compiled with CUDA|Failed to initialize NVML|CUDA driver version is insufficient|"
                       r"could not select device driver|nvidia-container-cli|Cannot dlopen some GPU libraries|"
                       r"xFormers can't load C\+\+/CUDA extensions|Please reinstall xformers|Triton is not available|"
                       r"XFORMERS_MORE_DETAILS")
# TensorFlow/XLA's C++ log lines (`2023-12-29 16:17:51.727737: I tensorflow/...cc:182] ...`, absl's `E0000 00:00:...`)
# and the wrapped second line of the CPU-instructions notice.
_FW_LOG = re.compile(r"^\s*(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\]|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]"
                     r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
                     r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)")
# xFormers names the torch it was built for and the one installed: "PyTorch 2.1.0+cu121 with CUDA 1201 (you have 2.1.0+cpu)".
_XFORMERS = re.compile(r"^\s*PyTorch (?P<built>\S+) with CUDA (?P<cuda>\d+) \(you have (?P<have>[^)\s]+)\)")
_XF_PY = re.compile(r"^\s*Python\s+(?P<built>3\.\d+\.\d+) \(you have (?P<have>3\.\d+\.\d+)\)")
_PY_BUILD = re.compile(r"^\s*Python version:\s+(?P<v>3\.\d+\.\d+) \(.*\) \[(?P<cc>MSC|GCC|Clang)[^\]]*\]")
_PY_VERSION = re.compile(r"(?:^|\s)(?:version\s+)?Python\s+(?P<v>3\.\d+(?:\.\d+)?)\b")


def detect(lines: list[str]) -> bool:
    return any(_FW_LOG.match(ln) or _TRACEBACK.match(ln) or _TORCH_WARN.search(ln) or _PIP.search(ln) or _UV.search(ln)
               or _CUDA_ERR.search(ln) for ln in lines)


def kinds(lines: list[str]) -> list[str]:
    out = []
    if any(_PIP.search(ln) for ln in lines):
        out.append("pip-error")
    if any(_UV.search(ln) for ln in lines):
        out.append("uv-error")
    if any(_TRACEBACK.match(ln) or _TORCH_WARN.search(ln) or _CUDA_ERR.search(ln) or _EXC.match(ln) for ln in lines):
        out.append("traceback")
    if any(_FW_LOG.match(ln) for ln in lines):
        out.append("framework-log")
    return out


def parse(lines: list[str]) -> Piece:
    """The lines that belong to an error report; the rules grep them (they become `logs`)."""
    piece = Piece("error")
    torch: dict[str, object] = {}
    gpus = []
    in_tb = False
    for i, ln in enumerate(lines):
        if not ln.strip():
            continue
        hit = False
        if _TRACEBACK.match(ln):
            in_tb = hit = True
        elif in_tb and _FRAME.match(ln):
            hit = True
        elif _FW_LOG.match(ln) or re.match(r"^\s*warnings\.warn\(\s*$", ln) or _EXC.match(ln) or _TORCH_WARN.search(ln) or _PIP.search(ln) or _UV.search(ln) or _CUDA_ERR.search(ln):
            hit = True
            in_tb = False
        elif is_prompt(ln):
            hit = True
        if re.match(r"^\s{2,}\S", ln) and piece.lines and (i - 1) in piece.lines:
            hit = True  # the indented line under a warning, or a message uv wrapped at 100 columns
        xf = _XFORMERS.match(ln)
        if xf:
            torch["version"] = xf.group("have")
            torch["xformers_built_for"] = xf.group("built")
            hit = True
        xp = _XF_PY.match(ln)
        if xp:
            piece.data.setdefault("python", {"version": xp.group("have")})
            hit = True
        pb = _PY_BUILD.match(ln)
        if pb:  # an app's own "Python version: 3.10.11 (...) [MSC v.1929 64 bit (AMD64)]" line
            piece.data.setdefault("python", {"version": pb.group("v")})
            if pb.group("cc") == "MSC":
                piece.data.setdefault("os", {"system": "windows"})
            hit = True
        sm = _SM.search(ln)
        if sm:
            cc = sm.group("cc")
            gpus.append({"name": sm.group("name").strip(), "vendor": "nvidia",
                         "compute_capability": f"{cc[:-1]}.{cc[-1]}"})
        sup = _SUPPORTS.search(ln)
        if sup:
            torch["arch_list"] = sup.group("arches").split()
        pv = _PY_VERSION.search(ln)
        if pv and (hit or re.match(r"^\s*(?:version\s+)?Python\s+3", ln)):
            piece.data.setdefault("python", {"version": pv.group("v")})
            hit = True
        if re.search(r"[A-Za-z]:\\(?:Users|Program Files|Windows|ProgramData)|\\site-packages\\", ln):
            piece.data.setdefault("os", {"system": "windows"})
        if hit:
            piece.lines.add(i)
    if gpus:
        piece.data["gpus"] = gpus
        # torch read the GPU's name and capability, which it can only do through a loaded driver.
        piece.data["driver"] = {"kernel_module": {"loaded": True}}
    if torch:
        piece.data["torch"] = torch
    return piece
