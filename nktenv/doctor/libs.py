"""CUDA libraries of the wrong copy: an application built for cuDNN 8 beside cuDNN 9, and any CUDA library
that the process loaded from another folder than the wheels it was installed with."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor.context import Ctx, finding, vtuple
from nktenv.findings import Finding
from nktenv.i18n import _

# cuDNN 8's split libraries (cuDNN 9 renamed them: libcudnn_ops.so.9, cudnn_ops64_9.dll), so these names
# mean a program built for cuDNN 8. "Could not load library cudnn_cnn_infer64_8.dll" is a found DLL whose
# dependency is missing (zlibwapi_missing); "Could not locate" is a DLL that is not there.
CUDNN8_LINES = (
    r"Could not load library libcudnn_\w+_(?:infer|train)\.so\.8|libcudnn_\w+_(?:infer|train)\.so\.8: cannot open shared object file|"
    r"Could not locate cudnn_\w+_(?:infer|train)64_8\.dll"
)

# The first release of an application that loads cuDNN 9 (for CUDA 12). Sources: faster-whisper README, "GPU"
# (OpenNMT/CTranslate2#1806: "Ctranslate2 4.5.0 - first to use cuDNN 9.1"; https://github.com/SYSTRAN/faster-whisper#gpu: "The latest versions of ctranslate2 only support CUDA 12 and cuDNN 9 ...
# for cuDNN 8 downgrade to ctranslate2==4.4.0"); ONNX Runtime CUDA Execution Provider requirements
# (https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html: 1.19 and newer, CUDA 12.x with cuDNN 9).
CUDNN9_SINCE = {"ctranslate2": "4.5.0", "onnxruntime-gpu": "1.19.0"}

# Any CUDA library (not only the ones cuda_pip_libs_mixed names) failing to bind a symbol of its own family.
_CUDA_NAMES = r"cublas|cublasLt|cusparse|cusolver|cufft|curand|nvrtc|nvJitLink|cudart|cupti|nccl|cufile|nvToolsExt|cudnn\w*"
_CUDA_SO = rf"lib(?:{_CUDA_NAMES})\.so\.\d+"
SYMBOL_LINES = re.compile(rf"({_CUDA_SO})[\w.]*: (?:undefined symbol: \S+|version `[^']+' not found)|"
                          rf"undefined symbol: \w+, version ({_CUDA_SO})|"
                          rf"symbol \w+, version ({_CUDA_SO}) not defined in file")
LDD_LINE = re.compile(rf"^\s*({_CUDA_SO})\s*=>\s*(/\S+)")
_WHEEL_DIR = re.compile(r"[/\\](?:site|dist)-packages[/\\]nvidia[/\\]")


def _cudnn_majors(ctx: Ctx) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for c in ctx.facts.cudnn:
        if vtuple(c.version)[:1]:
            out.setdefault(vtuple(c.version)[0], []).append(_("cuDNN {version} at {location}").format(
                version=c.version, location=c.location or c.source or "?"))
    for name, version in ctx.packages.items():
        if re.fullmatch(r"nvidia-cudnn-cu1\d", name) and vtuple(version)[:1]:
            out.setdefault(vtuple(version)[0], []).append(f"{name}=={version}")
    return out


def cudnn8_not_found(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(CUDNN8_LINES)
    if not lines:
        return
    majors = _cudnn_majors(ctx)
    ev = list(lines) + majors.get(9, [])
    moved = []
    for pkg, since in CUDNN9_SINCE.items():
        have = ctx.packages.get(pkg)
        if have and vtuple(have) < vtuple(since):
            ev.append(f"{pkg}=={have}")
            moved.append(_("upgrade {package} to {since} or newer, which loads cuDNN 9: {pip} install -U \"{package}>={since}\"").format(
                package=pkg, since=since, pip=ctx.pip()))
        elif have:
            ev.append(f"{pkg}=={have}")
    cu = "cu11" if any(n.endswith("-cu11") for n in ctx.packages) else "cu12"
    if ctx.native_windows:
        give8 = _("install cuDNN 8.9 for your CUDA from NVIDIA's cuDNN archive and put its bin folder on PATH")
    else:
        give8 = _("give it cuDNN 8 in its own environment: {pip} install \"nvidia-cudnn-{cu}<9\" (or sudo apt install libcudnn8), "
                  "not in one with torch 2.4 or newer, which needs cuDNN 9 from the same package").format(pip=ctx.pip(), cu=cu)
    later = moved[0] if moved else _("move to the application's release that uses cuDNN 9 (ctranslate2 4.5.0 or newer, "
                                     "onnxruntime-gpu 1.19 or newer)")
    yield finding(
        "cudnn8_not_found",
        "error",
        _("The application needs cuDNN 8, which is not installed (only cuDNN 9 is)") if 9 in majors and 8 not in majors
        else _("The application needs cuDNN 8, which cannot be loaded"),
        evidence=ev,
        fix=_("Either {first}; or {second}.").format(first=later, second=give8),
        why=_("cuDNN 8 and 9 are different libraries (libcudnn_ops_infer.so.8 became libcudnn_ops.so.9); a program built "
              "for one major cannot load the other, and installing cuDNN 9 does not provide the cuDNN 8 files."),
        wants="8",
        installed=sorted(majors),
    )


def _loaded(ctx: Ctx) -> dict[str, str]:
    """CUDA library -> the file the process actually loaded: the framework's own report, then ldd lines."""
    out: dict[str, str] = {}
    for fw in (ctx.torch, ctx.tf):
        libs = fw.extra.get("loaded_libraries") if fw is not None else None
        if isinstance(libs, dict):
            for name, path in libs.items():
                m = re.match(_CUDA_SO, str(name).rsplit("/", 1)[-1])
                if m and isinstance(path, str):
                    out.setdefault(m.group(0), path)
    for line in ctx.lines:
        m = LDD_LINE.match(line.text)
        if m:
            out.setdefault(m.group(1), m.group(2))
    return out


def _wheel_version(ctx: Ctx, lib: str) -> tuple[str, str] | None:
    stem = re.sub(r"^lib|\.so\.\d+$", "", lib).lower()
    names = {"cublaslt": "cublas", "nvjitlink": "nvjitlink", "cudart": "cuda-runtime", "nvrtc": "cuda-nvrtc",
             "cupti": "cuda-cupti", "nvtoolsext": "nvtx"}
    want = names.get(stem, stem)
    for name, version in ctx.packages.items():
        if re.fullmatch(rf"nvidia-{re.escape(want)}-cu1\d", name):
            return name, version
    return None


def _path_version(path: str) -> tuple[int, ...]:
    m = re.search(r"\.so\.(\d+\.\d+(?:\.\d+)*)$", path) or re.search(r"cuda-(\d+\.\d+)", path)
    return vtuple(m.group(1)) if m else ()


def cuda_lib_shadowed(ctx: Ctx) -> Iterable[Finding]:
    """A CUDA library loaded from a folder outside the wheels the framework was installed with, and failing.

    The copy the process loaded is what counts, older or newer: either can lack a symbol its companions need.
    cuda_pip_libs_mixed owns the NCCL / nvJitLink / cuSPARSE texts it knows; this covers the rest."""
    if ctx.native_windows:
        return
    from nktenv.doctor.paths import MIXED_LIB_LINES

    failing = [ln for ln in ctx.grep(SYMBOL_LINES) if not re.search(MIXED_LIB_LINES, ln, re.I)]
    loaded = {lib: path for lib, path in _loaded(ctx).items() if not _WHEEL_DIR.search(path)}
    framework_failed = any(fw is not None and fw.is_cuda_build and (fw.cuda_available is False or fw.kernel_ok is False)
                           for fw in (ctx.torch, ctx.tf))
    outside = {lib: path for lib, path in loaded.items() if _wheel_version(ctx, lib) is not None}
    if not failing and not (outside and framework_failed):
        return
    if ctx.grep(MIXED_LIB_LINES) and not failing:
        return
    ev = list(failing)
    folders: list[str] = []
    for lib, path in sorted(outside.items()):
        wheel = _wheel_version(ctx, lib)
        have = _path_version(path)
        rel = ""
        if wheel and have:
            w = vtuple(wheel[1])
            rel = _(" (newer than the wheel's {version})").format(version=wheel[1]) if have[:2] > w[:2] else (
                _(" (older than the wheel's {version})").format(version=wheel[1]) if have[:2] < w[:2] else "")
        ev.append(_("{library} loaded from {path}{relation}").format(library=lib, path=path, relation=rel))
        folder = path.rsplit("/", 1)[0]
        if folder not in folders:
            folders.append(folder)
    ld = ctx.env("LD_LIBRARY_PATH") or ""
    if ld:
        ev.append(f"LD_LIBRARY_PATH={ld}")
    for ln in failing:  # a failing library named by its path outside the wheels ("/usr/local/cuda-11.1/lib64/libcublas.so")
        for path in re.findall(rf"(/[^\s:'\"]+)/lib(?:{_CUDA_NAMES})\.so\b", ln):
            if not _WHEEL_DIR.search(path + "/") and path not in folders:
                folders.append(path)
    if not folders:
        folders = [d for d in ld.split(":") if d and re.search(r"cuda|nvidia|conda|hpc_sdk", d, re.I)]
    libs = sorted({m.group(1) or m.group(2) or m.group(3) for ln in failing for m in [SYMBOL_LINES.search(ln)] if m} | set(outside))
    where = " ".join(folders) or _("the system CUDA or conda lib folder")
    yield finding(
        "cuda_lib_shadowed",
        "error",
        _("A CUDA library is loaded from another copy than the framework's own: {libraries}").format(libraries=", ".join(libs)),
        evidence=ev,
        fix=_("Take {folders} off the library path so the wheels' copies load (LD_LIBRARY_PATH in ~/.bashrc or the job script, "
              "/etc/ld.so.conf.d/*.conf then sudo ldconfig; in conda, a cudatoolkit in the environment's lib). Check with "
              "ldd on the failing library that every CUDA library resolves under site-packages/nvidia/, then rerun.").format(folders=where),
        why=_("The CUDA libraries a framework's wheels bring are built to work with each other; a copy from a CUDA toolkit or "
              "conda that comes first on the loader path, whether older or newer, can lack the exact symbols they call."),
        libraries=libs,
        folders=folders,
    )
