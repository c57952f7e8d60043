"""Pick PyTorch and TensorFlow builds for a machine: a pure function of facts + manifests + request.

A torch variant qualifies when it was published for the release and platform, the driver meets the
CUDA minor-version-compatibility floor (WSL: the Windows host driver's floors), and its GPU code covers
every GPU visible to CUDA. The newest qualifying CUDA variant wins; `latest` is the newest release
with a qualifying GPU build, and the plan says what would unlock anything newer. Without a GPU build
the plan falls back to the CPU index (never PyPI's multi-GB CUDA default on Linux) with a warning.
"""

from __future__ import annotations

from nktenv import gpuarch
from nktenv.facts import Facts
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.manifest import Manifests

# The steps live in the modules below; their names stay importable from `nktenv.plan`.
from nktenv.plan import vendors as plan_vendors
from nktenv.plan.cuda import (
    _arch_range,
    _breadth,
    _check,
    _Check,
    _cpu_variant,
    _cuda_checks,
    _driver_table,
    _known_ccs,
)
from nktenv.plan.explain import _cheapest_unlock, _diagnose, _release_covering, _unlock_floor
from nktenv.plan.machine_view import Machine, _derived_note, _gpu_label, _is_nvidia, machine, visible_gpus
from nktenv.plan.model import FAILURE_CODES, SCHEMA_ID, FrameworkPlan, Plan, _fail, _requirements
from nktenv.plan.named_variant import _explicit_variant
from nktenv.plan.request import _BACKEND, BACKEND_ENV, PlanRequest, torch_backend
from nktenv.plan.tensorflow import (
    _tensorflow,
    _tf_gpu_problem,
    _tf_installable,
    _tf_plan,
    _tf_route,
    _windows_tf_libs,
)
from nktenv.plan.torch import _torch
from nktenv.plan.torch_routes import _assumed_gpu, _vendor_torch, _widest


def make_plan(facts: Facts, manifests: Manifests, request: PlanRequest | None = None) -> Plan:
    """Choose builds for `facts` from `manifests`. Pure: no I/O, no clock, no environment."""
    req = request or PlanRequest()
    version, _sep, local = req.torch.strip().partition("+")
    if local and req.variant == "auto":
        # "2.1.0+cu118" names its build.
        from dataclasses import replace as _replace

        req = _replace(req, torch=version, variant=local.split(".")[0].lower())
    gpus = gpuarch.with_derived_arch(facts.gpus, manifests)
    if gpus != facts.gpus:  # a snapshot from before derivation, or a hand-written one
        from dataclasses import replace as _replace

        facts = _replace(facts, gpus=gpus)
    m = machine(facts, req)
    findings: list[Finding] = list(m.warnings)
    if m.tegra and (req.torch.strip().lower() != "none" or req.tensorflow.strip().lower() != "none"):
        findings.append(_fail(
            "no_wheel_for_platform",
            _("This is an NVIDIA Jetson (Tegra, L4T {l4t}): the wheel indexes in nktenv's manifests are for desktop and server GPUs, and none of them applies here.").format(
                l4t=m.l4t or "?"),
            _("Install the PyTorch or TensorFlow build that NVIDIA publishes for your JetPack release (L4T {l4t}).").format(
                l4t=m.l4t or "?"),
        ))
        return Plan(ok=False, python=m.python, torch=None, tensorflow=None, findings=tuple(_dedupe(findings)))
    torch_plan: FrameworkPlan | None = None
    tf_plan: FrameworkPlan | None = None
    if req.torch.strip().lower() != "none":
        torch_plan, more = _torch(m, manifests, req)
        findings += more
    if req.tensorflow.strip().lower() != "none":
        tf_plan, more = _tensorflow(m, manifests, req)
        findings += more
    if torch_plan and tf_plan and torch_plan.gpu and tf_plan.gpu and _pip_cuda(tf_plan):
        # Only TensorFlow's [and-cuda] pins NVIDIA's pip packages (exact versions, unlike torch's);
        # a TensorFlow that uses the system's CUDA libraries can share the venv.
        text = _(
            "Install PyTorch and TensorFlow into separate venvs: each pins its own versions of NVIDIA's CUDA library packages (torch {torch_cuda}, TensorFlow {tf_cuda}) and one venv cannot hold both sets."
        ).format(torch_cuda=torch_plan.cuda or "?", tf_cuda=tf_plan.cuda or "?")
        findings.append(
            Finding("separate_venvs", "info", text, fix=_("Run nktenv setup once per framework, each with its own --venv: first with --tensorflow none, then with --torch none."))
        )
        torch_plan = _with_reason(torch_plan, text)
        tf_plan = _with_reason(tf_plan, text)
    findings = _dedupe(findings)
    ok = not any(f.severity == "error" for f in findings)
    return Plan(ok=ok, python=m.python, torch=torch_plan, tensorflow=tf_plan, findings=tuple(findings))


def _pip_cuda(plan: FrameworkPlan) -> bool:
    return any("[and-cuda]" in r.replace(" ", "") for r in plan.requirements)


def _with_reason(plan: FrameworkPlan, text: str) -> FrameworkPlan:
    from dataclasses import replace

    return replace(plan, reasons=plan.reasons + (text,))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.code, f.title)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


__all__ = [
    "FAILURE_CODES",
    "SCHEMA_ID",
    "FrameworkPlan",
    "Plan",
    "PlanRequest",
    "make_plan",
    "visible_gpus",
]
