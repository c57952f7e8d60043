"""TensorFlow rules: native Windows, `[and-cuda]`, removed packages, and harmless log noise."""

from __future__ import annotations

from typing import Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, base_version, finding, py_range
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_sentences

AND_CUDA_LINES = r'extra == "and-cuda"|tensorflow\[and-cuda\]'
DLOPEN_LINES = r"Cannot dlopen some GPU libraries|Skipping registering GPU devices"
TF_GPU_REMOVED_LINES = r'"tensorflow-gpu" package has been removed|No matching distribution found for tensorflow-gpu'
TENSORRT_LINES = (
    r"(?:Could not find a version that satisfies the requirement|No matching distribution found for) "
    r"tensorrt(?:-libs|-bindings)?(?:[=<>~!]|\b)"
)
NOISE_LINES = (
    r"Unable to register (?:cuDNN|cuFFT|cuBLAS) factory|Attempting to register factory for plugin|"
    r"TF-TRT Warning: Could not find TensorRT|successful NUMA node read from SysFS had negative value|"
    r"This TensorFlow binary is optimized to use available CPU instructions|oneDNN custom operations are on|"
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR|"
    r"computation placer already registered"
)


def _nvidia_pip_packages(ctx: Ctx) -> list[str]:
    return sorted(n for n in ctx.packages if n.startswith("nvidia-") and ("-cu1" in n or n.endswith("-cu13")))


def tf_windows_native_gpu_unsupported(ctx: Ctx) -> Iterable[Finding]:
    fw = ctx.tf
    rel = versions.tf_release(ctx)
    if not ctx.native_windows or fw is None or rel is None or not ctx.has_nvidia:
        return
    if "windows-native" in rel.gpu_platforms:
        return
    ev = [_("TensorFlow {version} on native Windows").format(version=fw.version)]
    if fw.cuda_available is False:
        ev.append(_("tf.config.list_physical_devices('GPU') returned []"))
    last = next((r for r in ctx.m.tensorflow if "windows-native" in r.gpu_platforms), None) if ctx.m else None
    legacy = ""
    if last is not None:
        legacy = _(
            "To stay native: Python {python} with conda install -c conda-forge cudatoolkit={cuda} cudnn={cudnn} "
            "and pip install \"tensorflow=={version}\"."
        ).format(python=py_range(last.python), cuda=last.cuda, cudnn=last.cudnn, version=last.version)
    yield finding(
        "tf_windows_native_gpu_unsupported",
        "warning",
        _("TensorFlow {version} has no GPU support on native Windows; it runs on the CPU").format(version=base_version(fw.version)),
        evidence=ev,
        fix=join_sentences([_(
            "Run TensorFlow in WSL2 for the GPU: wsl --install -d Ubuntu, then inside WSL: python3 -m venv ~/tf && "
            "~/tf/bin/pip install \"tensorflow[and-cuda]\"."
        ), legacy]),
        why=_("TensorFlow 2.10 was the last release with GPU support on native Windows; later releases silently list no GPU."),
    )


def tf_and_cuda_on_windows(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.native_windows:
        return
    lines = ctx.grep(AND_CUDA_LINES)
    pkgs = _nvidia_pip_packages(ctx) if ctx.tf is not None else []
    if not lines and not pkgs:
        return
    ev = list(lines) + [f"{n}=={ctx.packages[n]}" for n in pkgs]
    uninstall = f"{ctx.pip()} uninstall -y {' '.join(pkgs)}" if pkgs else None
    fix = _("Do not use tensorflow[and-cuda] on Windows: install plain tensorflow ({pip} install tensorflow) "
            "and use WSL2 for the GPU.").format(pip=ctx.pip())
    if uninstall:
        fix = join_sentences([_("Remove the unused CUDA wheels: {command}.").format(command=uninstall), fix])
    yield finding(
        "tf_and_cuda_on_windows",
        "error" if lines else "warning",
        _("tensorflow[and-cuda] is a Linux-only install; on Windows it fails or installs CUDA wheels TensorFlow never uses"),
        evidence=ev,
        fix=fix,
        why=_("The [and-cuda] extra pins Linux CUDA wheels; native-Windows TensorFlow has no GPU build after 2.10."),
    )


def tf_and_cuda_libs_not_found(ctx: Ctx) -> Iterable[Finding]:
    fw = ctx.tf
    if not ctx.linux or fw is None or fw.is_cuda_build is False:
        return
    pkgs = _nvidia_pip_packages(ctx)
    lines = ctx.grep(DLOPEN_LINES)
    if not any(p.startswith("nvidia-cudnn") for p in pkgs):
        return
    if not (lines or (fw.cuda_available is False and ctx.has_nvidia)):
        return
    ev = list(lines) + [f"{n}=={ctx.packages[n]}" for n in pkgs if n.startswith(("nvidia-cudnn", "nvidia-cuda-runtime"))]
    if fw.cuda_available is False:
        ev.append(_("tf.config.list_physical_devices('GPU') returned []"))
    py = ctx.python_exe
    yield finding(
        "tf_and_cuda_libs_not_found",
        "error",
        _("TensorFlow does not find the CUDA libraries that tensorflow[and-cuda] installed"),
        evidence=ev,
        fix=_(
            "Link the pip CUDA libraries next to TensorFlow (the step from TensorFlow's install guide): "
            "cd \"$(dirname $({python} -c 'print(__import__(\"tensorflow\").__file__)'))\" && ln -svf ../nvidia/*/lib/*.so* . ; "
            "or put every site-packages/nvidia/*/lib folder on LD_LIBRARY_PATH."
        ).format(python=py),
        why=_("Some TensorFlow releases look for the CUDA libraries only on the system loader path, not inside site-packages/nvidia."),
    )


def tensorflow_gpu_package_removed(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(TF_GPU_REMOVED_LINES)
    fw = ctx.tf
    installed = (fw is not None and (fw.package or "").lower() == "tensorflow-gpu") or "tensorflow-gpu" in ctx.packages
    if not lines and not installed:
        return
    ev = list(lines)
    if installed:
        ev.append(f"tensorflow-gpu=={ctx.packages.get('tensorflow-gpu') or (fw.version if fw else '?')}")
    target = "tensorflow" if ctx.native_windows or ctx.system == "darwin" else "tensorflow[and-cuda]"
    yield finding(
        "tensorflow_gpu_package_removed",
        "error" if lines else "warning",
        _("The tensorflow-gpu package is discontinued; GPU support is in the tensorflow package"),
        evidence=ev,
        fix=_("{pip} uninstall -y tensorflow-gpu && {pip} install \"{target}\"").format(pip=ctx.pip(), target=target),
        why=_("Since December 2022 tensorflow-gpu is an empty package that refuses to install; tensorflow has included GPU support since 2.1."),
    )


def tensorrt_and_cuda_unresolvable(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(TENSORRT_LINES)
    if not lines:
        return
    if ctx.tf is None and not ctx.grep(AND_CUDA_LINES):
        return  # a TensorRT install of its own: no tensorflow[and-cuda] release to suggest
    rel = versions.tf_release(ctx)
    m = ctx.search(r"tensorflow\[and-cuda\]==([\w.]+)")
    if m and ctx.m is not None:
        rel = ctx.m.tf_release(m.group(1)) or rel
    broken = rel is not None and rel.and_cuda == "broken"
    good = None
    if ctx.m is not None:
        ok = [r for r in ctx.m.tensorflow if r.and_cuda == "ok" and (not ctx.python_version or r.supports_python(ctx.python_version))]
        same_line = [r for r in ok if rel is not None and r.version.startswith(rel.version.rsplit(".", 1)[0] + ".")]
        good = (same_line or ok or [None])[0]
    ev = list(lines) + ([_("tensorflow[and-cuda]=={version} cannot be installed from PyPI").format(version=rel.version)] if broken and rel else [])
    yield finding(
        "tensorrt_and_cuda_unresolvable",
        "error",
        _("pip cannot resolve the TensorRT pin of tensorflow[and-cuda]"),
        evidence=ev,
        fix=_("Install a release whose [and-cuda] extra resolves: {pip} install \"tensorflow[and-cuda]=={version}\"").format(
            pip=ctx.pip(), version=good.version) if good else _("Install tensorflow[and-cuda] 2.16 or newer."),
        why=_("TensorFlow 2.14/2.15 pinned TensorRT wheels that are not on PyPI (or not for this Python); 2.15.0.post1 removed the pin."),
    )


def tf_log_noise(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(NOISE_LINES)
    if not lines:
        return
    yield finding(
        "tf_log_noise",
        "info",
        _("TensorFlow's start-up warnings here are harmless"),
        evidence=lines[:6],
        fix=_("Nothing to do; set TF_CPP_MIN_LOG_LEVEL=1 to hide them (it also hides useful messages)."),
        why=_("Duplicate factory registrations and the missing-TensorRT warning are printed by every TensorFlow 2.14+ import."),
    )


def tf_without_and_cuda(ctx: Ctx) -> Iterable[Finding]:
    """Linux: plain `pip install tensorflow` (2.14+) brings no CUDA libraries, so TensorFlow lists no GPU."""
    fw = ctx.tf
    if not ctx.linux or fw is None or fw.is_cuda_build is False or ctx.facts.os.tegra:
        return
    rel = versions.tf_release(ctx)
    if rel is None or rel.and_cuda not in ("ok", "broken"):
        return  # releases before [and-cuda] expect a system CUDA: cuda_libs_missing speaks of them
    pkgs = _nvidia_pip_packages(ctx)
    if any(p.startswith("nvidia-cudnn") for p in pkgs):
        return  # [and-cuda] is there: tf_and_cuda_libs_not_found
    listed = fw.packages is not None or (ctx.facts.python is not None and isinstance(ctx.facts.python.extra.get("packages"), dict))
    lines = ctx.grep(DLOPEN_LINES)
    no_gpu = fw.cuda_available is False
    if not (lines or no_gpu) or not (ctx.has_nvidia or ctx.gpus_unknown or lines):
        return
    ev = list(lines) + ctx.grep(r"pip3? install (?:-U |--upgrade )?[\"']?tensorflow(?:==[\w.]+)?[\"']?(?:\s|$)")
    if no_gpu:
        ev.append(_("tf.config.list_physical_devices('GPU') returned []"))
    ev.append(_("no nvidia-cudnn-cu* wheel is installed beside tensorflow {version}").format(version=fw.version) if listed
              else _("the installed packages are not in the snapshot (unknown): pip list would show whether nvidia-cudnn-cu* is there"))
    yield finding(
        "tf_without_and_cuda",
        "error" if listed else "warning",
        _("TensorFlow {version} was installed without its CUDA libraries (pip install tensorflow instead of tensorflow[and-cuda])").format(
            version=base_version(fw.version)),
        evidence=ev,
        fix=_("Install the GPU extra of the same release: {command}").format(command=versions.tf_install_command(ctx, rel)),
        why=_("On Linux, TensorFlow 2.14 and newer gets CUDA and cuDNN from pip wheels that only the [and-cuda] extra installs; "
              "without them it silently runs on the CPU."),
        framework="tensorflow",
    )
