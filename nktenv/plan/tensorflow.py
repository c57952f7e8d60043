"""Which TensorFlow release a machine gets, by route (Linux, WSL2, native Windows), and why."""

from __future__ import annotations

from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests, TfRelease, driver_floor, driver_satisfies, version_tuple
from nktenv.plan.machine_view import Machine, _gpu_label
from nktenv.plan.model import FrameworkPlan, _fail
from nktenv.plan.request import PlanRequest
from nktenv.wording import join_list


def _tf_route(m: Machine) -> str:
    if m.system == "windows":
        return "windows-native"
    return "wsl" if m.wsl else "linux"


def _tf_gpu_problem(rel: TfRelease, m: Machine, manifests: Manifests) -> Finding | None:
    """None when `rel` can use every visible GPU here; else a finding (severity error) saying why."""
    route = _tf_route(m)
    if not m.gpus:
        return _fail(
            "no_compatible_variant",
            _("No NVIDIA GPU is visible to CUDA."),
            _("Use the CPU build, or check the GPU with `nktenv doctor`."),
        )
    if m.arch != "x86_64":
        return _fail(
            "no_wheel_for_platform",
            _("TensorFlow publishes no CUDA wheel for {platform}.").format(platform=m.platform),
        )
    if route not in rel.gpu_platforms:
        if route == "windows-native":
            return _fail(
                "tf_windows_native_gpu_unsupported",
                _("TensorFlow {version} has no GPU support on native Windows (it ended with 2.10).").format(
                    version=rel.version
                ),
                _("Use WSL2, or TensorFlow 2.10 with Python <= 3.10 and CUDA 11.2 + cuDNN 8.1."),
            )
        return _fail(
            "no_compatible_variant",
            _("TensorFlow {version} has no GPU build for {route}.").format(version=rel.version, route=route),
        )
    if rel.and_cuda_for(m.python) == "broken" and route != "windows-native":
        if rel.and_cuda == "broken":
            fix = _("Use the .post1 release of the same version.")
        else:
            fix = _("Use Python {spec} for this release, or a newer TensorFlow.").format(
                spec=rel.and_cuda_python
            )
        return _fail(
            "no_compatible_variant",
            _(
                "tensorflow[and-cuda]=={version} cannot be installed (a pinned dependency is not on PyPI)."
            ).format(version=rel.version),
            fix,
        )
    floor = driver_floor(rel.cuda, m.driver_os, manifests=manifests) if rel.cuda else None
    if floor and not (m.driver and driver_satisfies(m.driver, floor)):
        return _fail(
            "driver_too_old",
            _(
                "TensorFlow {version} (CUDA {cuda}) needs driver >= {floor}; this machine has {driver}."
            ).format(version=rel.version, cuda=rel.cuda, floor=floor, driver=m.driver or _("none")),
            _("Upgrade the NVIDIA driver to {floor} or newer.").format(floor=floor),
        )
    if rel.min_cc:
        low = [g for g in m.gpus if g.cc is not None and g.cc < version_tuple(rel.min_cc)[:2]]
        if low:
            return _fail(
                "gpu_arch_unsupported_by_requested_version",
                _("TensorFlow {version} needs compute capability >= {cc}; {names} is older.").format(
                    version=rel.version, cc=rel.min_cc, names=join_list(_gpu_label(g) for g in low)
                ),
                _("Use an older TensorFlow release, or PyTorch."),
            )
    return None


def _tf_installable(rel: TfRelease, m: Machine) -> Finding | None:
    if m.python and not rel.supports_python(m.python):
        return _fail(
            "python_version_unsupported",
            _("Python {python} is not supported by TensorFlow {version} (it needs Python {spec}).").format(
                python=m.python, version=rel.version, spec=rel.python
            ),
            _("Use a Python in {spec}, or another TensorFlow release.").format(spec=rel.python),
        )
    if m.platform == "macos-x86_64" and not rel.macos_x86_64:
        return _fail(
            "no_wheel_for_platform",
            _("TensorFlow {version} has no macOS x86_64 wheel (2.16 was the last).").format(
                version=rel.version
            ),
        )
    if (
        m.system == "linux"
        and m.glibc
        and rel.glibc_min
        and version_tuple(m.glibc) < version_tuple(rel.glibc_min)
    ):
        return _fail(
            "no_wheel_for_platform",
            _("TensorFlow {version} needs glibc >= {need}; this system has {have}.").format(
                version=rel.version, need=rel.glibc_min, have=m.glibc
            ),
            _("Use an older TensorFlow release or a newer Linux."),
        )
    return None


def _tf_plan(rel: TfRelease, m: Machine, gpu: bool, reasons: list[str]) -> FrameworkPlan:
    route = _tf_route(m)
    if m.system == "darwin":
        package = rel.macos_arm64_package if m.arch == "aarch64" else "tensorflow"
        reasons.append(
            _(
                "macOS: plain {package} from PyPI; no CUDA on macOS (tensorflow-metal adds the Apple GPU)."
            ).format(package=package)
        )
        return FrameworkPlan(rel.version, None, None, (f"{package}=={rel.version}",), tuple(reasons), False)
    if gpu and route in ("linux", "wsl") and rel.and_cuda_for(m.python) == "ok":
        reasons.append(
            _("tensorflow[and-cuda] brings CUDA {cuda} and cuDNN {cudnn} as pip packages.").format(
                cuda=rel.cuda, cudnn=rel.cudnn
            )
        )
        return FrameworkPlan(
            rel.version,
            "and-cuda",
            None,
            (f"tensorflow[and-cuda]=={rel.version}",),
            tuple(reasons),
            True,
            cuda=rel.cuda,
        )
    if gpu:
        reasons.append(
            _(
                "TensorFlow {version} needs CUDA {cuda} and cuDNN {cudnn} installed outside pip (e.g. conda install -c conda-forge cudatoolkit={cuda} cudnn={cudnn})."
            ).format(version=rel.version, cuda=rel.cuda, cudnn=rel.cudnn)
        )
        return FrameworkPlan(
            rel.version,
            "system-cuda",
            None,
            (f"tensorflow=={rel.version}",),
            tuple(reasons),
            True,
            cuda=rel.cuda,
        )
    return FrameworkPlan(rel.version, "cpu", None, (f"tensorflow=={rel.version}",), tuple(reasons), False)


def _tensorflow(
    m: Machine, manifests: Manifests, req: PlanRequest
) -> tuple[FrameworkPlan | None, list[Finding]]:
    wanted = req.tensorflow.strip().lower()
    reasons: list[str] = []
    findings: list[Finding] = []
    if wanted == "latest":
        candidates = [r for r in manifests.tensorflow if r.and_cuda != "broken" and not r.is_prerelease]
    else:
        rel = manifests.tf_release(wanted)
        if rel is None:
            return None, [
                _fail(
                    "no_wheel_for_platform",
                    _("TensorFlow {version} is not in the manifest (newest known: {newest}).").format(
                        version=req.tensorflow, newest=manifests.tensorflow[0].version
                    ),
                )
            ]
        if rel.and_cuda == "broken" and m.gpus and _tf_route(m) in ("linux", "wsl"):
            fixed = next(
                (
                    r
                    for r in manifests.tensorflow
                    if r.version.startswith(rel.version + ".post") and r.and_cuda == "ok"
                ),
                None,
            )
            if fixed is not None:
                reasons.append(
                    _(
                        "tensorflow[and-cuda]=={version} cannot be installed; {fixed} is the same release with that fixed."
                    ).format(version=rel.version, fixed=fixed.version)
                )
                rel = fixed
        candidates = [rel]
    installable: list[TfRelease] = []
    first_problem: Finding | None = None
    for rel in candidates:
        problem = _tf_installable(rel, m)
        if problem is None:
            installable.append(rel)
        elif first_problem is None:
            first_problem = problem
    if not installable:
        assert first_problem is not None
        return None, [first_problem]
    if m.system == "darwin":
        return _tf_plan(installable[0], m, False, reasons), findings
    newest = installable[0]
    for rel in installable:
        if _tf_gpu_problem(rel, m, manifests) is None:
            if rel is not newest:
                why = _tf_gpu_problem(newest, m, manifests)
                reasons.append(
                    _(
                        "TensorFlow {version} is the newest release that can use the GPU here; {newest} cannot: {why}"
                    ).format(version=rel.version, newest=newest.version, why=why.title if why else "")
                )
                if why is not None and why.code == "tf_windows_native_gpu_unsupported":
                    findings.append(Finding(why.code, "info", why.title, fix=why.fix))
            if _tf_route(m) == "windows-native":
                findings.extend(_windows_tf_libs(rel, m))
            return _tf_plan(rel, m, True, reasons), findings
    why = _tf_gpu_problem(newest, m, manifests)
    assert why is not None
    code = why.code
    if not req.cpu_fallback:
        if code == "tf_windows_native_gpu_unsupported":
            findings.append(Finding(code, "warning", why.title, fix=why.fix))
            code = "no_compatible_variant"
        return None, findings + [Finding(code, "error", why.title, fix=why.fix)]
    if m.gpus or m.hidden:
        findings.append(Finding(code, "warning", why.title, fix=why.fix))
    reasons.append(
        _("CPU build of TensorFlow {version}: {why}").format(version=newest.version, why=why.title)
    )
    findings.append(
        Finding(
            "cpu_fallback",
            "warning",
            _("No GPU build of TensorFlow qualifies on this machine; planning the CPU build."),
            fix=why.fix,
        )
    )
    return _tf_plan(newest, m, False, reasons), findings


def _windows_tf_libs(rel: TfRelease, m: Machine) -> list[Finding]:
    return [
        Finding(
            "tf_needs_system_cuda",
            "info",
            _(
                "Native-Windows TensorFlow {version} uses a system-wide CUDA {cuda} and cuDNN {cudnn}, which pip does not install."
            ).format(version=rel.version, cuda=rel.cuda, cudnn=rel.cudnn),
            fix=_("conda install -c conda-forge cudatoolkit={cuda} cudnn={cudnn}, or use WSL2.").format(
                cuda=rel.cuda, cudnn=rel.cudnn
            ),
        )
    ]
