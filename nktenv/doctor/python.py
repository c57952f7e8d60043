"""Framework build and interpreter rules: CPU-only wheels on GPU machines, unsupported Python."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, base_version, finding, py_range, vtuple
from nktenv.findings import Finding
from nktenv.i18n import _

NOT_COMPILED = r"Torch not compiled with CUDA enabled"
NO_VERSION = (
    r"(?:Could not find a version that satisfies the requirement|No matching distribution found for) "
    r"(torch|tensorflow(?:-cpu|-intel)?)\s*(?:\[[\w-]+\])?\s*((?:[=<>~!]=?\s*[\w.*]+,?)*)"
)


def _pypi_windows_torch(ctx: Ctx) -> bool:
    """torch on native Windows with no local tag and no CUDA: PyPI's Windows wheels are CPU-only."""
    t = ctx.torch
    return (ctx.native_windows and t is not None and bool(t.version) and "+" not in (t.version or "")
            and not t.cuda and t.is_cuda_build is not True)


def cpu_only_wheel(ctx: Ctx) -> Iterable[Finding]:
    if ctx.system == "darwin" or not (ctx.has_nvidia or ctx.gpus_unknown):
        return
    torch = ctx.torch
    lines = ctx.grep(NOT_COMPILED)
    pypi = _pypi_windows_torch(ctx)
    if torch is not None and (torch.is_cuda_build is False or (torch.version or "").endswith("+cpu") or lines or pypi):
        command = versions.torch_fix(ctx)
        gpu = ctx.nvidia_gpus[0].name if ctx.nvidia_gpus else None
        built = (_("torch {version} on Windows has no +cuXXX tag: it is PyPI's wheel, which is CPU-only").format(version=torch.version)
                 if pypi and torch.is_cuda_build is None
                 else _("torch {version}: built without CUDA").format(version=torch.version))
        yield finding(
            "cpu_only_wheel",
            "error" if ctx.has_nvidia else "warning",
            _("PyTorch {version} is a CPU-only build on a machine with an NVIDIA GPU").format(version=torch.version)
            if ctx.has_nvidia else
            _("PyTorch {version} is a CPU-only build (if this machine has an NVIDIA GPU, it is not used)").format(version=torch.version),
            evidence=[built] + ([gpu] if gpu else [ctx.not_known("gpus")]) + lines,
            fix=_("Replace it with a CUDA build: {command}").format(command=command)
            if command
            else _("Run nktenv plan to pick a CUDA build for this GPU and driver."),
            why=_("On Windows (and from PyPI on some platforms) plain pip install torch gives the CPU build; CUDA builds come from download.pytorch.org."),
            framework="torch",
        )
    tf = ctx.tf
    if tf is None or tf.is_cuda_build is not False:
        return
    rel = versions.tf_release(ctx)
    plat = versions.tf_gpu_platform(ctx)
    if rel is None or plat is None or plat not in rel.gpu_platforms:
        return  # no GPU build exists here (native Windows >= 2.11 has its own finding)
    yield finding(
        "cpu_only_wheel",
        "error",
        _("TensorFlow {version} is a CPU-only build on a machine with an NVIDIA GPU").format(version=tf.version),
        evidence=[_("{package} {version}: built without CUDA").format(package=tf.package or "tensorflow", version=tf.version)],
        fix=_("{pip} uninstall -y {package} && {command}").format(
            pip=ctx.pip(), package=tf.package or "tensorflow", command=versions.tf_install_command(ctx, rel)),
        why=_("tensorflow-cpu (and tensorflow-intel / aarch64 builds) never use the GPU."),
        framework="tensorflow",
    )


def _mkvenv(ctx: Ctx, version: str) -> str:
    if ctx.native_windows:
        return f"py -{version} -m venv .venv"
    return f"uv venv --python {version} .venv"


def python_version_unsupported(ctx: Ctx) -> Iterable[Finding]:
    py = ctx.python_version
    if not py or ctx.m is None:
        return
    short = ".".join(str(p) for p in (vtuple(py) or ())[:2])
    for line in ctx.grep(NO_VERSION):
        m = re.search(NO_VERSION, line, re.IGNORECASE)
        if not m:
            continue
        name, spec = m.group(1).lower(), m.group(2).replace(" ", "")
        pinned = re.match(r"==([\d.]+(?:\.post\d+)?)", spec)
        if name == "torch":
            rels = [ctx.m.torch_release(pinned.group(1))] if pinned else list(ctx.m.torch)
        else:
            rels = [ctx.m.tf_release(pinned.group(1))] if pinned else list(ctx.m.tensorflow)
        rels = [r for r in rels if r is not None]
        if not rels or any(r.supports_python(py) for r in rels):
            continue
        target = rels[0]
        suggestion = _first_python(target.python)
        yield finding(
            "python_version_unsupported",
            "error",
            _("{package} {version} has no wheels for Python {python}").format(package=name, version=target.version, python=short),
            evidence=[line, _("Python {python}; {package} {version} supports Python {range}").format(
                python=py, package=name, version=target.version, range=py_range(target.python))],
            fix=_("Create the environment with a supported Python: {command}, then install {package}=={version} there.").format(
                command=_mkvenv(ctx, suggestion), package=name, version=target.version) if suggestion
            else _("Use a Python in the range {range}.").format(range=py_range(target.python)),
            why=_("pip only offers releases that publish wheels for the running Python, so the requested version looks missing."),
            package=name,
        )
        return
    # Installed frameworks outside their Python range (a forced or unofficial install).
    for name, fw in (("torch", ctx.torch), ("tensorflow", ctx.tf)):
        if fw is None or not fw.version:
            continue
        rel = ctx.m.torch_release(fw.version) if name == "torch" else ctx.m.tf_release(base_version(fw.version) or "")
        if rel is None or rel.supports_python(py):
            continue
        suggestion = _first_python(rel.python)
        yield finding(
            "python_version_unsupported",
            "warning",
            _("{package} {version} does not support Python {python}").format(package=name, version=rel.version, python=short),
            evidence=[_("Python {python}; {package} {version} supports Python {range}").format(
                python=py, package=name, version=rel.version, range=py_range(rel.python))],
            fix=_("Recreate the environment with Python {target}: {command}").format(
                target=suggestion, command=_mkvenv(ctx, suggestion)) if suggestion else _("Use a supported Python."),
            why=_("Releases are only tested and published for their Python range."),
            package=name,
        )


def _first_python(spec: str) -> str | None:
    """A Python to suggest for a specifier: 3.10 (the lab's version) when allowed, else the lowest allowed."""
    from nktenv.manifest import python_in

    allowed = [f"3.{minor}" for minor in range(6, 20) if python_in(f"3.{minor}", spec)]
    if not allowed:
        return None
    return "3.10" if "3.10" in allowed else allowed[0]
