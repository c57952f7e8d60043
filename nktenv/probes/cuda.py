"""Every CUDA toolkit on the machine, with how it was found and its version."""

from __future__ import annotations

import dataclasses
import json
import re


from nktenv.facts import CudaToolkit
from nktenv.probes._ctx import CMD_TIMEOUT_S, Ctx, same_path


def parse_version_json(text: str | None) -> str | None:
    """version.json (CUDA >= 11.1): {"cuda": {"version": "12.4.1"}, ...}."""
    try:
        data = json.loads(text or "")
        version = data["cuda"]["version"]
        return str(version) if version else None
    except (ValueError, KeyError, TypeError):
        return None


def parse_version_json_components(text: str | None) -> dict[str, str | None]:
    """version.json beside the toolkit's version: nvcc ("cuda_nvcc") and the driver it bundles ("nvidia_driver")."""
    try:
        data = json.loads(text or "")
    except ValueError:
        data = None
    out: dict[str, str | None] = {"nvcc_version": None, "driver_version": None}
    if not isinstance(data, dict):
        return out
    for key, entry in (("nvcc_version", "cuda_nvcc"), ("driver_version", "nvidia_driver")):
        value = data.get(entry)
        version = value.get("version") if isinstance(value, dict) else None
        out[key] = str(version) if version else None
    return out


def parse_version_txt(text: str | None) -> str | None:
    """version.txt (CUDA <= 11.0): 'CUDA Version 10.2.89'."""
    m = re.search(r"CUDA Version\s+(\d+\.\d+(?:\.\d+)?)", text or "")
    return m.group(1) if m else None


def parse_nvcc_version(text: str | None) -> str | None:
    """`nvcc --version`: '... release 11.8, V11.8.89' -> '11.8.89' (falls back to '11.8')."""
    t = text or ""
    m = re.search(r"\bV(\d+\.\d+\.\d+)", t)
    if m:
        return m.group(1)
    m = re.search(r"release (\d+\.\d+)", t)
    return m.group(1) if m else None


def version_from_folder(name: str) -> str | None:
    """'cuda-12.4' or 'v11.8' -> the version in the folder's name."""
    m = re.search(r"(\d+\.\d+)$", name)
    return m.group(1) if m else None


# An absolute path to an nvcc in a wrapper script's command line: after a line start, blank, quote or
# `=`; a path built from variables (`${CUDA_HOME}/bin/nvcc`) is not one.
_WRAPPED_NVCC = re.compile(r"""(?:^|(?<=[\s"'=]))(/[^\s"'`;|&<>$]*/nvcc)(?=["'\s;|&)]|$)""")
WRAPPER_HOPS = 4


def wrapper_target(text: str | None, own_path: str = "") -> str | None:
    """The nvcc a wrapper script runs: `exec /usr/lib/nvidia-cuda-toolkit/bin/nvcc "$@"` (Debian's
    /usr/bin/nvcc) -> that path. None for a binary, for a script naming no absolute nvcc, or for one
    naming several different ones (which one runs is then a guess)."""
    if not text or not text.startswith("#!"):
        return None
    found = set()
    for line in text.splitlines()[1:]:
        if line.lstrip().startswith("#"):
            continue
        for m in _WRAPPED_NVCC.finditer(line):
            if m.group(1) != own_path:
                found.add(m.group(1))
    return found.pop() if len(found) == 1 else None


def _unwrap(ctx: Ctx, nvcc: str) -> tuple[str, list[str]]:
    """Follow links and wrapper scripts from `nvcc` to the real compiler; returns it and the wrappers passed."""
    p = ctx.path
    wrappers: list[str] = []
    real = ctx.seam.realpath(nvcc)
    for _hop in range(WRAPPER_HOPS):
        # A real nvcc sits beside its nvcc.profile; reading it would only read a binary.
        if ctx.seam.exists(p.join(p.dirname(real), "nvcc.profile")):
            break
        target = wrapper_target(ctx.seam.read_text(real), real)
        if target is None or not ctx.seam.exists(target):
            break
        wrappers.append(real)
        real = ctx.seam.realpath(target)
    return real, wrappers


def _candidates(ctx: Ctx) -> list[tuple[str, str, bool]]:
    """(root, found_by, on_path) in order of precedence."""
    out: list[tuple[str, str, bool]] = []
    p = ctx.path
    nvcc = ctx.seam.which("nvcc")
    if nvcc:
        # /usr/local/bin/nvcc is often a link into the real toolkit
        out.append((p.dirname(p.dirname(ctx.seam.realpath(nvcc))), "PATH", True))
    for name in ("CUDA_PATH", "CUDA_HOME", "CUDA_ROOT"):
        value = ctx.getenv(name)
        if value:
            out.append((value, name, False))
    for key in sorted(ctx.env, key=str.upper):
        if key.upper().startswith("CUDA_PATH_V") and ctx.env[key]:
            out.append((ctx.env[key], key.upper(), False))
    if ctx.windows:
        pf = ctx.getenv("ProgramFiles") or r"C:\Program Files"
        base = p.join(pf, "NVIDIA GPU Computing Toolkit", "CUDA")
        for name in ctx.seam.listdir(base, "v*") or []:
            out.append((p.join(base, name), "default", False))
    elif ctx.system == "linux":
        for name in ctx.seam.listdir("/usr/local", "cuda*") or []:
            out.append((f"/usr/local/{name}", "default", False))
        if ctx.seam.exists("/opt/cuda"):
            out.append(("/opt/cuda", "default", False))
    return out


def probe_toolkit(ctx: Ctx, root: str) -> CudaToolkit | None:
    p = ctx.path
    nvcc_path = p.join(root, "bin", "nvcc.exe" if ctx.windows else "nvcc")
    has_nvcc = ctx.seam.exists(nvcc_path)
    version_json = ctx.seam.read_text(p.join(root, "version.json"))
    version = parse_version_json(version_json)
    source = "version.json" if version else None
    parts = parse_version_json_components(version_json)
    if not version:
        version = parse_version_txt(ctx.seam.read_text(p.join(root, "version.txt")))
        source = "version.txt" if version else None
    if not version and has_nvcc:
        res = ctx.seam.run([nvcc_path, "--version"], timeout=CMD_TIMEOUT_S)
        version = parse_nvcc_version(res.stdout)
        source = "nvcc" if version else None
    if not version and not has_nvcc:
        folder_version = version_from_folder(p.basename(root.rstrip("\\/")))
        if not folder_version or not ctx.seam.exists(p.join(root, "bin")):
            return None  # a stale variable or an empty folder is not a toolkit
        version, source = folder_version, "folder"
    return CudaToolkit(version=version, root=root, nvcc=nvcc_path if has_nvcc else None, source=source,
                       nvcc_version=parts["nvcc_version"], driver_version=parts["driver_version"])


def probe_cuda(ctx: Ctx) -> list[CudaToolkit]:
    """Command line equivalent: `which nvcc; echo $CUDA_PATH $CUDA_HOME; ls -d /usr/local/cuda*; cat version.json`."""
    toolkits: list[CudaToolkit] = []
    found_by: list[list[str]] = []
    aliases: list[list[str]] = []
    on_path: list[bool] = []
    missing: dict[str, list[str]] = {}
    wrappers: list[str] = []
    candidates = _candidates(ctx)
    nvcc = ctx.seam.which("nvcc")
    if nvcc and candidates and candidates[0][1] == "PATH" and not ctx.windows:
        # /usr/bin/nvcc may be a script that runs a toolkit's nvcc: that toolkit is the one on PATH,
        # so it is not also listed a second time under /usr (found by the script's folder).
        real, wrappers = _unwrap(ctx, nvcc)
        if wrappers:
            p = ctx.path
            candidates[0] = (p.dirname(p.dirname(real)), "PATH", True)
    for given, how, first in candidates:
        given = given.rstrip("\\/") or given
        root = ctx.seam.realpath(given).rstrip("\\/") or given
        for i, tk in enumerate(toolkits):
            if same_path(tk.root or "", root, ctx.windows):
                if how not in found_by[i]:
                    found_by[i].append(how)
                if not same_path(given, root, ctx.windows) and given not in aliases[i]:
                    aliases[i].append(given)
                on_path[i] = on_path[i] or first
                break
        else:
            tk = probe_toolkit(ctx, root)
            if tk is None:
                if how != "default":
                    missing.setdefault(given, []).append(how)
                continue
            toolkits.append(tk)
            found_by.append([how])
            aliases.append([given] if not same_path(given, root, ctx.windows) else [])
            on_path.append(first)
    out = []
    for tk, how, alias, first in zip(toolkits, found_by, aliases, on_path):
        extra: dict[str, object] = {"found_by": how, "on_path": first, "aliases": alias}
        if first and wrappers:
            extra["nvcc_wrappers"] = list(wrappers)  # the scripts `nvcc` on PATH runs through
        out.append(dataclasses.replace(tk, extra=extra))
    if missing:
        # A variable pointing at nothing is evidence for doctor, not a toolkit.
        ctx.cache["cuda_missing_roots"] = missing
    return out
