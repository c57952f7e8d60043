"""The verdict under the findings: which stack works, or what blocks it."""

from __future__ import annotations

from nktenv.doctor.context import Ctx
from nktenv.facts import Framework
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list, join_sentences


def _driver_sentence(ctx: Ctx) -> str | None:
    if not ctx.driver_version:
        return None
    if ctx.driver_cuda:
        return _("Driver {driver} can run CUDA builds up to {ceiling} (the driver's ceiling, not an installed CUDA toolkit).").format(
            driver=ctx.driver_version, ceiling=ctx.driver_cuda)
    return _("Driver {driver}.").format(driver=ctx.driver_version)


def _works(name: str, fw: Framework, gpu: str) -> str:
    build = _("CUDA {cuda} build").format(cuda=fw.cuda) if fw.cuda else _("GPU build")
    if fw.kernel_ok:
        return _("{framework} {version} ({build}) runs on {gpu}; a real matmul and convolution gave correct results.").format(
            framework=name, version=fw.version, build=build, gpu=gpu)
    return _("{framework} {version} ({build}) sees {gpu}.").format(framework=name, version=fw.version, build=build, gpu=gpu)


def driver_seen(ctx: Ctx) -> list[str]:
    """Every sign of a working NVIDIA driver in the facts: a version, a loaded kernel module, NVML answering,
    nvidia-smi counting GPUs, a framework that lists a GPU. Empty only when none is there."""
    signs: list[str] = []
    drv = ctx.facts.driver
    if ctx.driver_version:
        signs.append(_("driver {version}").format(version=ctx.driver_version))
    if drv is not None:
        if drv.kernel_module is not None and drv.kernel_module.loaded:
            signs.append(_("the nvidia kernel module is loaded"))
        if ctx.driver_extra("nvml").get("available"):
            signs.append(_("NVML answers"))
        count = ctx.driver_extra("nvidia_smi").get("gpu_count")
        if isinstance(count, int) and count > 0:
            signs.append(_("nvidia-smi counts {count} GPU(s)").format(count=count))
    for name, fw in (("PyTorch", ctx.torch), ("TensorFlow", ctx.tf)):
        if fw is not None and (fw.cuda_available or (fw.device_count or 0) > 0):
            signs.append(_("{framework} lists a GPU").format(framework=name))
    return signs


def _failing(ctx: Ctx, findings: list[Finding]) -> list[str]:
    """Error texts in the evidence: lines no rule explained, and a framework's own error."""
    out = [f.evidence[0] for f in findings if f.code == "unexplained_error" and f.evidence]
    for fw in (ctx.torch, ctx.tf):
        text = (fw.error or "").strip() if fw is not None else ""
        # a whitespace-only error (a lone "\r" from a Windows log) quotes nothing
        if text and not any(fw.error in e or e in fw.error for f in findings for e in f.evidence if e):
            out.append(text.splitlines()[-1])
    return out


def _unrecognised(f: Finding) -> str:
    """The verdict for an error no rule explains: quote it, say what such errors mean and where to look."""
    return join_sentences([
        _("Not ready: an error nktenv does not recognise: \u201c{line}\u201d.").format(line=f.evidence[0][:200]),
        f.why or "", f.fix or ""])


def _other_gpus(ctx: Ctx) -> list[str]:
    """AMD and Intel GPUs in the facts, named with their architecture where known."""
    return [f"{g.name or g.vendor.upper()} ({g.arch})" if g.arch else (g.name or g.vendor.upper())
            for g in ctx.facts.gpus if g.vendor in ("amd", "intel")]


def render(ctx: Ctx, findings: list[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if errors:
        return _("{count} problem(s) keep the GPU stack from working: {codes}. Fix them in the order shown.").format(
            count=len(errors), codes=join_list(dict.fromkeys(f.code for f in errors)))
    # An error no rule explains drives the verdict: never "ready" over it.
    unknown = next((f for f in findings if f.code == "unexplained_error" and f.severity != "info" and f.evidence), None)
    if unknown is not None:
        return _unrecognised(unknown)
    failed = [n for n, fw in (("torch", ctx.torch), ("tensorflow", ctx.tf)) if fw is not None and fw.kernel_ok is False]
    if failed:
        # The GPU check ran and failed, and no rule found why (no driver in the facts to blame either).
        return _("Not ready: {what}.").format(what=_("{framework}'s GPU matmul/convolution check failed").format(framework=failed[0]))
    warnings = [f for f in warnings if f.code != "unexplained_error"]
    failing = _failing(ctx, findings)
    signs = driver_seen(ctx)
    parts: list[str] = []
    gpus = ctx.nvidia_gpus
    gpu = join_list(
        _("{name} (compute capability {cc})").format(name=g.name or "GPU", cc=g.compute_capability)
        if g.compute_capability else (g.name or "GPU")
        for g in gpus
    ) or _("the NVIDIA GPU")
    working = [(n, fw) for n, fw in (("PyTorch", ctx.torch), ("TensorFlow", ctx.tf)) if fw is not None and fw.cuda_available]
    checked = any(fw.kernel_ok for _n, fw in working)
    if working and (checked or not failing):
        parts.append(_("All good.") if not warnings else _("Working, with {count} warning(s).").format(count=len(warnings)))
        for n, fw in working:
            devices = fw.extra.get("devices")
            seen = join_list(str(d) for d in devices) if isinstance(devices, list) and devices else gpu
            parts.append(_works(n, fw, seen))
    elif working:
        # The GPU is listed but the evidence also holds an error and no GPU check ran: not "ready".
        parts.append(_("Not confirmed: {framework} lists the GPU, but the evidence holds an error (\u201c{line}\u201d) and "
                       "no GPU check ran; run nktenv doctor on that machine to test the GPU.").format(
            framework=working[0][0], line=failing[0][:200]))
    elif ctx.gpus_unknown and not signs:
        parts.append(_("No blocking problem found; the snapshot does not say whether this machine has an NVIDIA GPU or driver."))
    elif not ctx.has_nvidia and not signs and _other_gpus(ctx):
        # AMD and Intel GPUs have ROCm / XPU builds: "will run on the CPU" would be wrong for them.
        parts.append(_("No NVIDIA GPU or driver found; {gpus} found: run nktenv plan to see whether a ROCm or XPU build "
                       "of PyTorch fits it.").format(gpus=join_list(_other_gpus(ctx))))
    elif not ctx.has_nvidia and not signs:
        parts.append(_("No NVIDIA GPU or driver found: frameworks will run on the CPU."))
    elif not ctx.has_nvidia:
        parts.append(_("An NVIDIA driver is there ({signs}), but the snapshot names no GPU or driver version; "
                       "no framework has used the GPU yet.").format(signs=join_list(signs)))
    elif failing:
        parts.append(_("Not confirmed: no rule found a problem, but the evidence holds an error (\u201c{line}\u201d) and no "
                       "framework has used the GPU yet.").format(line=failing[0][:200]))
    elif ctx.torch is None and ctx.tf is None and not ctx.framework_unknown("torch") and ctx.driver_version:
        parts.append(_("No problem found. {gpu} is ready; no GPU framework is installed in this interpreter yet (nktenv plan picks one).").format(gpu=gpu))
    else:
        parts.append(_("No blocking problem found, but no framework has used the GPU yet.") if not warnings else
                     _("No blocking problem found ({count} warning(s)), but no framework has used the GPU yet.").format(
                         count=len(warnings)))
    driver = _driver_sentence(ctx)
    if driver and ctx.has_nvidia:
        parts.append(driver)
    return join_sentences(parts)
