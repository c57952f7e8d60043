"""Library and toolkit rules: missing CUDA runtime libraries, conda/pip mixes, toolkit vs build."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, finding, vtuple
from nktenv.facts import CudaToolkit
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list

# CUDA runtime libraries (not the driver's libcuda, not cuDNN, not TensorRT's libnvinfer: other rules own those).
_LIB = r"(?:lib(?:cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|nvrtc|nvJitLink|cupti)\b[\w.]*|(?:cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|nvrtc)64_\w+\.dll)"
CUDA_LIB_LINES = (
    rf"Could not load dynamic library '{_LIB}'|{_LIB}: cannot open shared object file|"
    rf"Could not find '{_LIB}'|{_LIB}(?:'; dlerror:)? not found|Error loading \"[^\"]*{_LIB}\""
)
EXT_MISMATCH = r"The detected CUDA version \((\S+)\) mismatches the version that was used to compile"


def cuda_libs_missing(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(CUDA_LIB_LINES)
    if not lines:
        return
    libs = sorted({m.group(0) for line in lines for m in re.finditer(_LIB, line)})
    tf_rel = versions.tf_release(ctx)
    from_tf = any(line.source.startswith("tensorflow") and re.search(CUDA_LIB_LINES, line.text, re.I) for line in ctx.lines)
    if (from_tf or ctx.torch is None) and ctx.tf is not None and tf_rel is not None:
        if ctx.native_windows and tf_rel.cuda and "windows-native" in tf_rel.gpu_platforms:
            fix = _("Install the CUDA {cuda} runtime and cuDNN {cudnn} that TensorFlow {version} was built with: "
                    "conda install -c conda-forge cudatoolkit={cuda} cudnn={cudnn}").format(
                cuda=tf_rel.cuda, cudnn=tf_rel.cudnn, version=tf_rel.version)
        elif tf_rel.and_cuda == "ok" and ctx.linux:
            fix = _("Install TensorFlow together with its CUDA libraries: {command}").format(
                command=versions.tf_install_command(ctx, tf_rel))
        else:
            fix = _("Install the CUDA {cuda} runtime libraries that TensorFlow {version} was built with.").format(
                cuda=tf_rel.cuda or "?", version=tf_rel.version)
    else:
        command = versions.torch_fix(ctx)
        fix = (_("Reinstall PyTorch from its own index; its wheels bring the CUDA libraries: {command}").format(command=command)
               if command else _("Reinstall the framework so that its CUDA libraries are installed with it."))
    yield finding(
        "cuda_libs_missing",
        "error",
        _("CUDA runtime libraries the framework needs cannot be loaded: {libraries}").format(libraries=join_list(libs)),
        evidence=lines,
        fix=fix,
        why=_("A GPU build needs the CUDA runtime of the version it was compiled with; the driver alone is not enough."),
        libraries=libs,
    )


def conda_pip_cuda_mix(ctx: Ctx) -> Iterable[Finding]:
    from nktenv.doctor.conda import conda_copies

    found = list(conda_copies(ctx))  # library by library, from conda-meta and the error texts' paths
    if found:
        yield from found
        return
    py = ctx.facts.python
    conda = (py.extra.get("conda_prefix") if py is not None else None) or (ctx.env("CONDA_PREFIX") if py and py.kind == "conda" else None)
    if not conda and not (py is not None and py.kind == "conda"):
        return
    pip_pkgs = sorted(n for n in ctx.packages if n.startswith("nvidia-") and re.search(r"-cu\d+$", n))
    conda_cudnn = [c for c in ctx.facts.cudnn if c.source == "conda" or (conda and c.location and c.location.startswith(str(conda)))]
    conda_tk = [t for t in ctx.facts.cuda_toolkits if conda and t.root and t.root.startswith(str(conda))]
    if not pip_pkgs or not (conda_cudnn or conda_tk):
        return
    ev = [f"{n}=={ctx.packages[n]}" for n in pip_pkgs]
    ev += [_("conda cuDNN {version} at {location}").format(version=c.version, location=c.location) for c in conda_cudnn]
    ev += [_("conda CUDA toolkit {version} at {root}").format(version=t.version, root=t.root) for t in conda_tk]
    yield finding(
        "conda_pip_cuda_mix",
        "warning",
        _("This conda environment holds CUDA libraries from both conda and pip"),
        evidence=ev,
        fix=_("Keep one source: remove the conda copies (conda remove --force cudatoolkit cudnn) and keep the pip wheels, "
              "or create a clean environment with nktenv setup."),
        why=_("Two copies of the same CUDA library compete on the loader path; which one wins depends on import order."),
    )


def _active_toolkit(ctx: Ctx) -> CudaToolkit | None:
    tks = ctx.facts.cuda_toolkits
    for tk in tks:
        if tk.extra.get("on_path"):
            return tk
    home = ctx.env("CUDA_HOME") or ctx.env("CUDA_PATH")
    if home:
        for tk in tks:
            if tk.root and tk.root.rstrip("/\\").lower() == home.rstrip("/\\").lower():
                return tk
    return next((tk for tk in tks if tk.nvcc), None)


def cuda_toolkit_version_mismatch(ctx: Ctx) -> Iterable[Finding]:
    m = ctx.search(EXT_MISMATCH)
    tk = _active_toolkit(ctx)
    fw = ctx.torch
    ceiling = ctx.driver_cuda
    note = _("nvidia-smi's 'CUDA Version: {ceiling}' is the newest CUDA the driver can run, not an installed toolkit.").format(
        ceiling=ceiling) if ceiling else None
    problems: list[str] = []
    severity = "info"
    if m:
        problems.append(m.group(0))
        severity = "error"
    want = fw.cuda if fw is not None and fw.cuda else None
    if tk is not None and tk.version and want and vtuple(tk.version)[:1] != vtuple(want)[:1]:
        problems.append(_("CUDA toolkit {version} at {root}; torch {torch} was built with CUDA {cuda}").format(
            version=tk.version, root=tk.root or tk.nvcc, torch=fw.version, cuda=want))
    if tk is not None and tk.version and ceiling and (vtuple(tk.version) or ())[:2] > (vtuple(ceiling) or ())[:2]:
        problems.append(_("CUDA toolkit {version} is newer than the driver supports (up to {ceiling})").format(
            version=tk.version, ceiling=ceiling))
        severity = "error" if severity == "error" else "warning"
    if not problems:
        return
    match = next((t for t in ctx.facts.cuda_toolkits if want and t.version and vtuple(t.version)[:2] == vtuple(want)[:2] and t.root), None)
    if match is not None:
        if ctx.native_windows:
            fix = _("Point builds at the matching toolkit: set CUDA_HOME={root} and put {root}\\bin first on PATH.").format(root=match.root)
        else:
            fix = _("Point builds at the matching toolkit: export CUDA_HOME={root} PATH={root}/bin:$PATH").format(root=match.root)
    elif want:
        fix = _("Install CUDA toolkit {cuda} (only needed to compile CUDA extensions; PyTorch wheels bring their own runtime) "
                "and set CUDA_HOME to it.").format(cuda=want)
    else:
        fix = _("Update the driver, or use a toolkit no newer than CUDA {ceiling}.").format(ceiling=ceiling)
    yield finding(
        "cuda_toolkit_version_mismatch",
        severity,
        _("The CUDA toolkit on this machine does not match what the framework or the driver expects"),
        evidence=problems + ([note] if note else []),
        fix=fix,
        why=_("Framework wheels carry their own CUDA runtime; the toolkit (nvcc) matters only for compiling extensions. ")
        + (note or ""),
    )


# A CUDA library of the pip wheels resolved against a copy of another version (or a mix of wheels).
MIXED_LIB_LINES = (
    r"lib(?:cusparse|cusolver|cublas|cublasLt|cufft|nvJitLink|cudnn\w*)\.so\.\d+: undefined symbol|"
    r"libtorch_cuda\.so: undefined symbol: nccl\w+|undefined symbol: nccl\w+|"
    r"undefined symbol: __nvJitLink\w+|version `?libnvJitLink\.so\.\d+'? not found"
)


def cuda_pip_libs_mixed(ctx: Ctx) -> Iterable[Finding]:
    """NCCL / nvJitLink / cuSPARSE undefined symbols: the nvidia-*-cu12 wheels torch pins are shadowed by
    LD_LIBRARY_PATH, or another package installed different versions of them."""
    if ctx.native_windows:
        return
    lines = ctx.grep(MIXED_LIB_LINES)
    if not lines:
        return
    ld = ctx.env("LD_LIBRARY_PATH") or ""
    cuda_dirs = [d for d in ld.split(":") if d and re.search(r"cuda|nvidia|nccl|hpc_sdk|conda", d, re.I)]
    # ldd output shows where the companion really came from: a folder outside the wheels is the culprit.
    resolved = [line for line in ctx.grep(r"lib(?:nvJitLink|cusparse|cublas\w*|nccl|cudnn\w*)\.so\.\d+\s*=>\s*/\S+")
                if "/nvidia/" not in line.split("=>", 1)[1]]
    for line in resolved:
        folder = line.split("=>", 1)[1].strip().split()[0].rsplit("/", 1)[0]
        if folder not in cuda_dirs:
            cuda_dirs.append(folder)
    nv = {n: v for n, v in ctx.packages.items() if n.startswith("nvidia-") and re.search(r"-cu1\d$", n)}
    majors = sorted({n.rsplit("-", 1)[1] for n in nv})
    ev = list(lines) + resolved
    if ld:
        ev.append(f"LD_LIBRARY_PATH={ld}")
    elif "env" in ctx.unknown:
        ev.append(ctx.not_known("env"))
    if len(majors) > 1:
        ev += [f"{n}=={v}" for n, v in sorted(nv.items())]
    command = versions.torch_fix(ctx)
    steps: list[str] = []
    if cuda_dirs and not ld:
        # The variable itself is not known: name the folder and both places the loader learns it from.
        steps.append(_("Take {folders} off the library path so the wheels' own copies load: remove it from LD_LIBRARY_PATH "
                       "(echo $LD_LIBRARY_PATH; ~/.bashrc) or from /etc/ld.so.conf.d/*.conf followed by sudo ldconfig").format(
            folders=" ".join(cuda_dirs)))
    elif cuda_dirs:
        keep = ":".join(d for d in ld.split(":") if d and d not in cuda_dirs and d.rstrip("/") not in cuda_dirs)
        steps.append(_("Take the system CUDA folders off the library path so the wheels' own copies load: {command}").format(
            command=f'export LD_LIBRARY_PATH="{keep}"' if keep else "unset LD_LIBRARY_PATH"))
    if len(majors) > 1:
        other = [n for n in nv if not n.endswith(majors[-1])]
        steps.append(_("Remove the wheels of the other CUDA major: {pip} uninstall -y {packages}").format(
            pip=ctx.pip(), packages=" ".join(sorted(other))))
    if ctx.torch is None or not ctx.torch.version:
        command = f"{ctx.pip()} install --force-reinstall torch==<installed version> --index-url https://download.pytorch.org/whl/cu<NNN>"
    steps.append(_("Reinstall torch so that pip puts back the exact nvidia-* wheels it pins: {command}").format(
        command=command or f"{ctx.pip()} install --force-reinstall torch --index-url https://download.pytorch.org/whl/cu<NNN>"))
    yield finding(
        "cuda_pip_libs_mixed",
        "error",
        _("A CUDA library loads against another version of its companion (NCCL, nvJitLink, cuSPARSE)"),
        evidence=ev,
        fix=" ".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
        why=_("torch's CUDA wheels must load the exact nvidia-*-cu12 versions it pins; a CUDA toolkit folder on "
              "LD_LIBRARY_PATH, or another package's wheels, put other copies first (older or newer: the copy the process "
              "loads is what counts) and symbols go missing."),
        ld_library_path=cuda_dirs,
    )
