"""Driver rules: kernel module vs user space, driver floors, legacy branches, open modules."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, cc_text, finding, vtuple
from nktenv.facts import cuda_version_from_int
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_sentences

MISMATCH_LINES = (
    r"Driver/library version mismatch|API mismatch: the client has the version|"
    r"this kernel module has the version|NVML library version: \S+"
)
# From the 610 branch nvidia-smi prints "KMD Version:" where it printed "Driver Version:".
SMI_HEADER = r"NVIDIA-SMI\s+(\d[\d.]*)\s+(?:Driver|KMD) Version:\s*(\d[\d.]*)"
TOO_OLD_LINES = (
    r"CUDA driver version is insufficient for CUDA runtime version|NVIDIA driver on your system is too old|"
    r"cudaErrorInsufficientDriver|CUDA_ERROR_INSUFFICIENT_DRIVER|driver version is insufficient"
)
OPEN_MODULE_LINES = r"requires use of the NVIDIA open kernel modules|open kernel modules? (?:is|are) required"


def _kernel_version(ctx: Ctx) -> str | None:
    drv = ctx.facts.driver
    if drv is None:
        return None
    if drv.kernel_module is not None and drv.kernel_module.version:
        return drv.kernel_module.version
    return None


def _tegra(ctx: Ctx) -> bool:
    """A Jetson's driver version is an L4T release (35.3.1) or its own OpenRM build, not a desktop branch."""
    return bool(ctx.facts.os.tegra)


def _branch(version: str | None) -> str | None:
    v = vtuple(version)
    return str(v[0]) if v else None


def nvml_version_mismatch(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(MISMATCH_LINES)
    drv = ctx.facts.driver
    kver = _kernel_version(ctx)
    user = (drv.userspace_version if drv else None) or ctx.driver_extra("nvml").get("library_version")
    nvml_down = ctx.driver_extra("nvml").get("available") is False
    differs = bool(kver and user and vtuple(kver) != vtuple(user) and not ctx.wsl)
    if not lines and not (differs and nvml_down):
        return
    ev = list(lines)
    if kver:
        ev.append(_("kernel module version: {version}").format(version=kver))
    if user:
        ev.append(_("user-space driver library version: {version}").format(version=user))
    if ctx.wsl:
        fix = _(
            "Inside WSL only the Windows driver may provide the GPU libraries: remove any Linux driver installed in WSL "
            "(sudo apt remove --purge 'nvidia-driver-*' 'libnvidia-*'), then run wsl --shutdown in Windows and reopen WSL."
        )
    else:
        fix = _(
            "Reboot so the kernel loads the module that matches the updated libraries (sudo reboot). Without a reboot: stop "
            "every GPU program and the display manager, then sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia."
        )
    yield finding(
        "nvml_version_mismatch",
        "error",
        _("The NVIDIA kernel module and the user-space driver libraries are different versions"),
        evidence=ev,
        fix=fix,
        why=_("A driver update replaced the libraries but the old kernel module is still loaded; NVML and CUDA refuse to talk to it."),
        kernel_module=kver,
        userspace=user,
    )


def nvidia_smi_userspace_stale(ctx: Ctx) -> Iterable[Finding]:
    if ctx.grep(MISMATCH_LINES):
        return  # the full mismatch is reported by nvml_version_mismatch
    smi = ctx.driver_extra("nvidia_smi")
    ev: list[str] = []
    stale = None
    def differs(tool: str, driver: str) -> bool:
        # WSL's nvidia-smi carries the Linux build number of the Windows driver (555.52.01 vs 555.99): same branch is fine.
        a, b = vtuple(tool) or (), vtuple(driver) or ()
        return a[:1] != b[:1] if ctx.wsl else a != b

    for line in ctx.grep(SMI_HEADER):
        m = re.search(SMI_HEADER, line, re.IGNORECASE)
        if m and differs(m.group(1), m.group(2)):
            ev.append(line)
            stale = m.group(1)
    smi_version = smi.get("version") if isinstance(smi.get("version"), str) else None
    running = smi.get("driver_version") or ctx.driver_version
    if smi_version and running and differs(smi_version, running) and not ev:
        ev.append(_("{path}: NVIDIA-SMI {smi}, Driver Version {driver}").format(
            path=smi.get("path") or "nvidia-smi", smi=smi_version, driver=running))
        stale = smi_version
    kver = _kernel_version(ctx)
    user = ctx.facts.driver.userspace_version if ctx.facts.driver else None
    if kver and user and vtuple(kver) != vtuple(user) and ctx.driver_extra("nvml").get("available") is not False:
        ev.append(_("kernel module {kernel}, user-space tools {user}").format(kernel=kver, user=user))
        stale = stale or user
    if not ev:
        return
    target = _branch(kver or ctx.driver_version) or "<branch>"
    if ctx.native_windows:
        fix = _(
            "Use the nvidia-smi that ships with the current driver (C:\\Windows\\System32\\nvidia-smi.exe) and remove the old "
            "folder {path} from PATH."
        ).format(path=str(smi.get("path") or "C:\\Program Files\\NVIDIA Corporation\\NVSMI"))
    elif ctx.wsl:
        fix = _(
            "WSL gets nvidia-smi from the Windows driver at /usr/lib/wsl/lib/nvidia-smi; remove the Linux copy "
            "(sudo apt remove --purge 'nvidia-utils-*') so the stale one is no longer first on PATH."
        )
    else:
        fix = _(
            "Reinstall the user-space tools that match the loaded driver branch {branch}: "
            "sudo apt install --reinstall nvidia-utils-{branch} libnvidia-compute-{branch} (or rerun the same driver installer), then reboot."
        ).format(branch=target)
    yield finding(
        "nvidia_smi_userspace_stale",
        "warning",
        _("nvidia-smi (user space) is from another driver version than the one running"),
        evidence=ev,
        fix=fix,
        why=_("A partly upgraded driver leaves old tools behind; they report wrong versions and may fail."),
        stale_version=stale,
    )


def driver_too_old(ctx: Ctx) -> Iterable[Finding]:
    if _tegra(ctx):
        return  # desktop driver floors do not apply to an L4T release
    lines = ctx.grep(TOO_OLD_LINES)
    driver = ctx.driver_version
    reported: set[str] = set()
    for name, fw in (("torch", ctx.torch), ("tensorflow", ctx.tf)):
        if fw is None or not fw.cuda:
            continue
        floor = versions.driver_floor(ctx, fw.cuda)
        if floor is None or driver is None or versions.driver_ok(ctx, driver, floor):
            continue
        reported.add(name)
        yield _too_old(ctx, name, fw.version, fw.cuda, floor, lines)
    if lines and not reported and not ctx.grep(MISMATCH_LINES):
        m = ctx.search(r"found version (\d+)")
        ev = list(lines)
        found = cuda_version_from_int(int(m.group(1))) if m else None
        if found:
            builds = [vtuple(fw.cuda)[:2] for fw in (ctx.torch, ctx.tf) if fw is not None and fw.cuda]
            if builds and all(vtuple(found) >= b for b in builds):
                return  # the driver is new enough; the message comes from another failure
            ev.append(_("the driver supports CUDA up to {cuda}").format(cuda=found))
        yield _too_old(ctx, None, None, None, None, ev)


def _too_old(ctx: Ctx, name: str | None, version: str | None, cuda: str | None, floor: str | None, lines: list[str]) -> Finding:
    driver = ctx.driver_version
    ev: list[str] = []
    if driver and ctx.driver_cuda:
        ev.append(_("driver {driver} (supports CUDA up to {ceiling})").format(driver=driver, ceiling=ctx.driver_cuda))
    elif driver:
        ev.append(_("driver {driver}").format(driver=driver))
    if name and cuda:
        ev.append(_("{framework} {version} was built for CUDA {cuda}, which needs driver >= {floor}").format(
            framework=name, version=version, cuda=cuda, floor=floor))
    ev += lines
    if floor:
        fix = _("Install NVIDIA driver {floor} or newer: {how}").format(floor=floor, how=versions.driver_install_hint(ctx))
    else:
        fix = _("Install a newer NVIDIA driver: {how}").format(how=versions.driver_install_hint(ctx))
    alt = versions.torch_fix(ctx) if name == "torch" else None
    if alt:
        fix = join_sentences([fix, _("Or keep this driver and install a build for an older CUDA: {command}").format(command=alt)])
    from nktenv.doctor.legacy import capped_fix, capped_gpu

    cap = capped_gpu(ctx, floor)
    if cap is not None:  # the GPU cannot take a newer driver: the build has to fit the driver
        fix, cap_ev = capped_fix(ctx, cap, name, cuda)
        ev = cap_ev + ev
    return finding(
        "driver_too_old",
        "error",
        _("The NVIDIA driver is too old for the installed framework build"),
        evidence=ev,
        fix=fix,
        why=_("Each CUDA build needs a minimum driver; nvidia-smi's 'CUDA Version' is the newest CUDA this driver can run, not an installed toolkit."),
        framework=name,
        floor=floor,
    )


def gpu_legacy_driver_cap(ctx: Ctx) -> Iterable[Finding]:
    if _tegra(ctx):
        return  # Jetson GPUs have no legacy desktop branch
    for gpu in ctx.nvidia_gpus:
        arch = versions.gpu_arch(ctx, gpu.cc)
        if arch is None or not getattr(arch, "last_driver_branch", None):
            continue
        branch = str(arch.last_driver_branch)
        last_cuda = getattr(arch, "last_cuda", None)
        ev = [_("{name}: compute capability {cc} ({arch})").format(name=gpu.name or "GPU", cc=gpu.compute_capability, arch=arch.name)]
        if ctx.driver_version:
            ev.append(_("driver {driver}").format(driver=ctx.driver_version))
        too_new = []
        for name, fw in (("torch", ctx.torch), ("tensorflow", ctx.tf)):
            if fw is not None and fw.cuda and last_cuda and vtuple(fw.cuda) > vtuple(last_cuda):
                too_new.append(name)
                ev.append(_("{framework} {version} is built for CUDA {cuda}").format(framework=name, version=fw.version, cuda=fw.cuda))
        drv_branch = vtuple(ctx.driver_version)
        driver_past = bool(drv_branch and drv_branch[0] > int(branch))
        if driver_past:
            too_new.append("driver")
        yield finding(
            "gpu_legacy_driver_cap",
            "error" if too_new else "info",
            _("{name} is only supported by the legacy {branch} driver branch (CUDA up to {cuda})").format(
                name=gpu.name or "This GPU", branch=branch, cuda=last_cuda or "?"),
            evidence=ev,
            fix=_(
                "Stay on the {branch} driver branch and choose framework builds for CUDA {cuda} or older "
                "(nktenv plan picks them); newer drivers and CUDA releases no longer support {arch} GPUs."
            ).format(branch=branch, cuda=last_cuda or "?", arch=arch.name),
            why=_("NVIDIA moves old GPU generations to a legacy driver branch that never gains newer CUDA versions."),
            gpu=gpu.name,
            compute_capability=gpu.compute_capability,
            branch=branch,
            last_cuda=last_cuda,
        )


def blackwell_needs_open_kernel_module(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.linux or ctx.wsl:
        return
    lines = ctx.grep(OPEN_MODULE_LINES)
    drv = ctx.facts.driver
    flavor = drv.kernel_module.flavor if drv and drv.kernel_module else None
    needing = [g for g in ctx.nvidia_gpus if (a := versions.gpu_arch(ctx, g.cc)) is not None and versions.requires_open(a)]
    if not lines and not (needing and flavor == "proprietary"):
        return
    ev = [_("{name}: compute capability {cc}").format(name=g.name or "GPU", cc=g.compute_capability) for g in needing]
    if flavor:
        ev.append(_("loaded kernel module flavour: {flavor}").format(flavor=flavor))
    branch = _branch(ctx.driver_version or _kernel_version(ctx)) or "<branch>"
    yield finding(
        "blackwell_needs_open_kernel_module",
        "error",
        _("This GPU needs NVIDIA's open kernel modules, but the proprietary ones are installed"),
        evidence=ev + lines,
        fix=_(
            "Install the open flavour of the same driver branch and reboot: sudo apt install nvidia-driver-{branch}-open && sudo reboot "
            "(with NVIDIA's .run installer: sh NVIDIA-Linux-x86_64-<version>.run -m=kernel-open)."
        ).format(branch=branch),
        why=_("Blackwell and newer GPUs are only supported by the open GPU kernel modules."),
        gpus=[cc_text(g.cc) for g in needing if g.cc],
    )


def driver_not_installed(ctx: Ctx) -> Iterable[Finding]:
    """An NVIDIA GPU on the bus but no driver (nouveau and containers have their own findings).

    Only an error when the probes looked and found none; with no driver block at all, a message that
    says so ("NVML Shared Library Not Found") makes it a warning, and silence says nothing.
    """
    drv = ctx.facts.driver
    gpus = [g for g in ctx.facts.gpus if g.vendor == "nvidia"]
    if not gpus or ctx.driver_version or ctx.facts.os.container or ctx.system == "darwin" or ctx.wsl:
        return
    if drv is not None and (drv.nouveau_loaded or (drv.kernel_module and drv.kernel_module.loaded)):
        return
    if ctx.grep(SECURE_BOOT_HINT) or (drv is not None and drv.extra.get("module_signature_rejected")):
        return
    state = ctx.driver_state
    said = ctx.grep(NO_DRIVER_TEXT)
    if state == "unknown" and not said:
        return  # nothing says there is no driver: facts_incomplete names what is missing
    ev = [g.name or "NVIDIA GPU" for g in gpus]
    if state == "absent":
        ev.append(_("NVIDIA driver: the probes looked and found none"))
        ev += list(drv.errors) if drv is not None else []
    else:
        ev.append(ctx.not_known("driver"))
    yield finding(
        "driver_not_installed",
        "error" if state == "absent" else "warning",
        _("An NVIDIA GPU is present but no NVIDIA driver is installed") if state == "absent"
        else _("An NVIDIA GPU is present and a message says no NVIDIA driver answers"),
        evidence=ev + said,
        fix=_("Install the driver: {how}").format(how=versions.driver_install_hint(ctx)),
        why=_("Without the driver no framework can use the GPU; PyTorch and TensorFlow fall back to the CPU silently."),
        driver=state,
    )


# What tools print when they find no driver at all (not a driver that is there but hidden or busy).
NO_DRIVER_TEXT = (
    r"NVML Shared Library Not Found|Found no NVIDIA driver on your system|"
    r"couldn't find libnvidia-ml\.so|/proc/driver/nvidia/version does not exist"
)
SECURE_BOOT_HINT = r"Key was rejected by service|Loading of unsigned module is rejected"
