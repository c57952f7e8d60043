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


def render(ctx: Ctx, findings: list[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if errors:
        return _("{count} problem(s) keep the GPU stack from working: {codes}. Fix them in the order shown.").format(
            count=len(errors), codes=join_list(dict.fromkeys(f.code for f in errors)))
    parts: list[str] = []
    gpus = ctx.nvidia_gpus
    gpu = join_list(
        _("{name} (compute capability {cc})").format(name=g.name or "GPU", cc=g.compute_capability)
        if g.compute_capability else (g.name or "GPU")
        for g in gpus
    ) or _("the NVIDIA GPU")
    working = [(n, fw) for n, fw in (("PyTorch", ctx.torch), ("TensorFlow", ctx.tf)) if fw is not None and fw.cuda_available]
    if working:
        parts.append(_("All good.") if not warnings else _("Working, with {count} warning(s).").format(count=len(warnings)))
        for n, fw in working:
            devices = fw.extra.get("devices")
            seen = join_list(str(d) for d in devices) if isinstance(devices, list) and devices else gpu
            parts.append(_works(n, fw, seen))
    elif ctx.gpus_unknown:
        parts.append(_("No blocking problem found; the snapshot does not say whether this machine has an NVIDIA GPU or driver."))
    elif not ctx.has_nvidia:
        parts.append(_("No NVIDIA GPU or driver found: frameworks will run on the CPU."))
    elif ctx.torch is None and ctx.tf is None:
        parts.append(_("No problem found. {gpu} is ready; no GPU framework is installed in this interpreter yet (nktenv plan picks one).").format(gpu=gpu))
    else:
        parts.append(_("No blocking problem found, but no framework has used the GPU yet.") if not warnings else
                     _("No blocking problem found ({count} warning(s)), but no framework has used the GPU yet.").format(
                         count=len(warnings)))
    driver = _driver_sentence(ctx)
    if driver and ctx.has_nvidia:
        parts.append(driver)
    return join_sentences(parts)
