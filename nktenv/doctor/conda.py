"""Conda's CUDA copies seen beside pip's: conda-meta packages, and `$CONDA_PREFIX/lib` paths in error texts.

A conda environment can hold the same CUDA library twice: conda's package (`cudnn`, `libcublas`,
`cuda-cudart`, or the all-in-one `cudatoolkit`) in `$CONDA_PREFIX/lib` (`Library\\bin` on Windows), and
pip's `nvidia-*-cuNN` wheel in site-packages. The conda interpreter's RPATH searches its lib folder
first, so a framework built against the pip wheel can load conda's older copy.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterable

from nktenv.doctor.context import Ctx, finding
from nktenv.findings import Finding
from nktenv.i18n import _

# conda package -> (library, pip distribution stem). cudatoolkit (CUDA <= 11.8) carries all but cuDNN and NCCL.
LIBRARIES: dict[str, tuple[str, str]] = {
    "cudnn": ("cuDNN", "nvidia-cudnn"), "libcudnn": ("cuDNN", "nvidia-cudnn"),
    "libcublas": ("cuBLAS", "nvidia-cublas"), "cuda-cudart": ("CUDA runtime", "nvidia-cuda-runtime"),
    "cuda-nvrtc": ("NVRTC", "nvidia-cuda-nvrtc"), "libcufft": ("cuFFT", "nvidia-cufft"),
    "libcurand": ("cuRAND", "nvidia-curand"), "libcusolver": ("cuSOLVER", "nvidia-cusolver"),
    "libcusparse": ("cuSPARSE", "nvidia-cusparse"), "libnvjitlink": ("nvJitLink", "nvidia-nvjitlink"),
    "nccl": ("NCCL", "nvidia-nccl"), "libnccl": ("NCCL", "nvidia-nccl"), "cuda-cupti": ("CUPTI", "nvidia-cuda-cupti"),
}
TOOLKIT_LIBS = ("nvidia-cublas", "nvidia-cuda-runtime", "nvidia-cuda-nvrtc", "nvidia-cufft", "nvidia-curand",
                "nvidia-cusolver", "nvidia-cusparse", "nvidia-nvjitlink", "nvidia-cuda-cupti")
# A library file name -> pip distribution stem.
_FILE_LIB = (
    (r"cudnn", "nvidia-cudnn"), (r"cublas", "nvidia-cublas"), (r"cudart", "nvidia-cuda-runtime"), (r"nvrtc", "nvidia-cuda-nvrtc"),
    (r"cufft", "nvidia-cufft"), (r"curand", "nvidia-curand"), (r"cusolver", "nvidia-cusolver"),
    (r"cusparse", "nvidia-cusparse"), (r"nvjitlink", "nvidia-nvjitlink"), (r"nccl", "nvidia-nccl"), (r"cupti", "nvidia-cuda-cupti"),
)
# A conda environment's own library folder in a message (not its site-packages, where pip's wheels live).
_ENV_ROOT = r"(?:[\w.+~-]*(?:conda|forge)\d*(?:/envs/[^/\s'\"]+)?|[^/\s'\"]+/envs/[^/\s'\"]+)"
LINUX_LIB = re.compile(rf"(/(?:[^\s'\":]+/)?{_ENV_ROOT})(?:/bin/\.\.)?/lib/((?:lib)?[\w.+-]*?(?:cudnn|cublas|cudart|nvrtc|cufft|curand|"
                       rf"cusolver|cusparse|nvjitlink|nccl|cupti)[\w.+-]*\.so[\d.]*)", re.I)
WINDOWS_LIB = re.compile(r"([A-Za-z]:\\[^\s'\"]*?(?:conda|forge)\d*(?:\\envs\\[^\\\s'\"]+)?)\\Library\\bin\\([\w.-]*?(?:cudnn|"
                         r"cublas|cudart|nvrtc|cufft|curand|cusolver|cusparse|nvjitlink|nccl|cupti)[\w.-]*\.dll)", re.I)


@dataclass(frozen=True)
class CondaPkg:
    name: str
    version: str
    build: str | None


def conda_packages(ctx: Ctx) -> list[CondaPkg]:
    """The environment's CUDA packages: the conda-meta probe, else what a pasted `conda list` named."""
    py = ctx.facts.python
    listed = py.extra.get("conda_cuda_packages") if py is not None else None
    out: list[CondaPkg] = []
    if isinstance(listed, list):
        for p in listed:
            if isinstance(p, dict) and p.get("name") and p.get("version"):
                out.append(CondaPkg(str(p["name"]), str(p["version"]), p.get("build")))
    names = {p.name for p in out}
    for c in ctx.facts.cudnn:
        if c.source == "conda" and c.version and "cudnn" not in names:
            out.append(CondaPkg("cudnn", c.version, None))
    for t in ctx.facts.cuda_toolkits:
        if t.extra.get("found_by") == "conda" and "cudatoolkit" not in names:
            out.append(CondaPkg("cudatoolkit", str(t.extra.get("full_version") or t.version), None))
    return out


def conda_lib_paths(ctx: Ctx) -> list[tuple[str, str, str]]:
    """(evidence line, library file, its conda folder) for each conda-lib path the error texts name."""
    prefix = _prefix(ctx)
    out: list[tuple[str, str, str]] = []
    for line in ctx.lines:
        if "site-packages" in line.text and not re.search(r"/lib/lib|\\Library\\bin\\", line.text):
            continue
        for rx in (LINUX_LIB, WINDOWS_LIB):
            for m in rx.finditer(line.text):
                if "site-packages" in m.group(0):
                    continue
                folder = m.group(1) + ("/lib" if rx is LINUX_LIB else "\\Library\\bin")
                out.append((line.text, m.group(2), folder))
        if prefix and prefix + "/lib/" in line.text and not out:
            m = re.search(re.escape(prefix) + r"/lib/(\S+\.so[\d.]*)", line.text)
            if m:
                out.append((line.text, m.group(1), prefix + "/lib"))
    return out


def _prefix(ctx: Ctx) -> str | None:
    py = ctx.facts.python
    p = (py.extra.get("conda_prefix") if py is not None else None) or ctx.env("CONDA_PREFIX")
    return posixpath.normpath(str(p)) if p and not re.match(r"^[A-Za-z]:\\", str(p)) else (str(p) if p else None)


def _pip(ctx: Ctx, stem: str) -> list[tuple[str, str]]:
    return sorted((n, v) for n, v in ctx.packages.items() if re.fullmatch(rf"{re.escape(stem)}-cu\d+", n))


def _lib_of(file_name: str) -> str | None:
    low = file_name.lower()
    return next((stem for key, stem in _FILE_LIB if key in low), None)


def conda_copies(ctx: Ctx) -> Iterable[Finding]:
    """conda and pip copies of the same CUDA library, side by side (code conda_pip_cuda_mix)."""
    pkgs = conda_packages(ctx)
    pairs: list[tuple[str, CondaPkg, list[tuple[str, str]]]] = []
    for p in pkgs:
        if p.name == "cudatoolkit":
            for stem in TOOLKIT_LIBS:
                pip = _pip(ctx, stem)
                if pip:
                    pairs.append((stem, p, pip))
            continue
        lib = LIBRARIES.get(p.name)
        if lib is not None and _pip(ctx, lib[1]):
            pairs.append((lib[1], p, _pip(ctx, lib[1])))
    paths = [(line, f, folder) for line, f, folder in conda_lib_paths(ctx) if _lib_of(f) and _pip(ctx, _lib_of(f) or "")]
    if not pairs and not paths:
        return
    ev: list[str] = []
    for _stem, p, pip in pairs:
        ev.append(_("conda {name} {version}{build} beside pip {wheels}").format(
            name=p.name, version=p.version, build=f" ({p.build})" if p.build else "",
            wheels=", ".join(f"{n}=={v}" for n, v in pip)))
    for line, f, folder in paths:
        ev.append(_("loaded from the conda environment: {file} in {folder}").format(file=f, folder=folder))
        ev.append(line)
    for line, f, folder in paths:
        stem = _lib_of(f)
        if stem and not any(s == stem for s, _p, _w in pairs):
            ev.append(_("pip also installed {wheels}").format(wheels=", ".join(f"{n}=={v}" for n, v in _pip(ctx, stem))))
    conda_names = sorted({p.name for _s, p, _w in pairs})
    wheels = sorted({n for _s, _p, pip in pairs for n, _v in pip} | {n for _l, f, _d in paths for n, _v in _pip(ctx, _lib_of(f) or "")})
    if conda_names:
        fix = _("Keep one source. To keep the pip wheels the framework was built with: conda remove --force {conda}. To keep "
                "conda's: pip uninstall {wheels}. Or create a clean environment with nktenv setup.").format(
            conda=" ".join(conda_names), wheels=" ".join(wheels))
    else:  # the path says which file, not which conda package brought it
        fix = _("Keep one source. Find the conda package that installed {file} (conda list | findstr /i cud on Windows, "
                "conda list | grep -i cud elsewhere) and remove it with conda remove --force <name>, or pip uninstall {wheels}. "
                "Or create a clean environment with nktenv setup.").format(file=paths[0][1], wheels=" ".join(wheels))
    yield finding(
        "conda_pip_cuda_mix",
        "error" if paths else "warning",
        _("This conda environment holds CUDA libraries from both conda and pip"),
        evidence=ev,
        fix=fix,
        why=_("Two copies of the same CUDA library compete on the loader path; the conda interpreter searches "
              "$CONDA_PREFIX/lib first, so conda's copy can load where the framework expects pip's."),
        conda=[f"{p.name}={p.version}" for _s, p, _w in pairs], pip=wheels,
    )
