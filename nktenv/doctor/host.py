"""Host rules: kernel modules, Secure Boot, firmware, containers, device visibility, hangs."""

from __future__ import annotations

from typing import Iterable

from nktenv.doctor.context import Ctx, finding
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list, join_sentences

NOUVEAU_LINES = r"nouveau, rivafb, nvidiafb or rivatv|NVIDIA probe routine was not called|nouveau.*(?:ownership|loaded)"
SECURE_BOOT_LINES = (
    r"Key was rejected by service|Loading of unsigned module is rejected|"
    r"unsigned module loading is restricted|Required key not available"
)
UVM_LINES = (
    r"CUDA unknown error - this may be due to an incorrectly set up environment|"
    r"CUDA_ERROR_UNKNOWN|cudaErrorUnknown|Error 999: unknown error|"
    r"could not insert 'nvidia_uvm'"
)
BIOS_LINES = (
    r"RmInitAdapter failed|rm_init_adapter failed|PCI I/O region assigned to your NVIDIA device is invalid|"
    r"BAR\d is 0M @|BAR \d: no space for|NVIDIA probe routine failed|GPU has fallen off the bus|"
    r"Unable to determine the device handle for GPU"
)
NO_DRIVER_LINES = (
    r"Could not find cuda drivers on your machine|Found no NVIDIA driver on your system|"
    r"kernel driver does not appear to be running on this host|/proc/driver/nvidia/version does not exist|"
    r"CUDA_ERROR_NO_DEVICE|no CUDA-capable device is detected|NVIDIA-SMI has failed because it couldn't communicate"
)
TIMEOUT_LINES = r"timed out|timeout expired|did not answer within"
DOCKER_RUNTIME_LINES = (
    r"could not select device driver \"[^\"]*\" with capabilities: \[\[gpu\]\]|unknown or invalid runtime name: nvidia|"
    r"nvidia-container-cli: initialization error|Auto-detected mode as 'legacy'.*nvidia-container|"
    r"exec: \"nvidia-container-runtime-hook\": executable file not found"
)


def nouveau_loaded(ctx: Ctx) -> Iterable[Finding]:
    drv = ctx.facts.driver
    lines = ctx.grep(NOUVEAU_LINES)
    if not ctx.linux or ctx.wsl or not ((drv and drv.nouveau_loaded) or lines):
        return
    ev = [_("nouveau kernel module: loaded")] if drv and drv.nouveau_loaded else []
    yield finding(
        "nouveau_loaded",
        "error",
        _("The open-source nouveau driver owns the GPU, so the NVIDIA driver cannot load"),
        evidence=ev + lines,
        fix=_(
            "Blacklist nouveau and install the NVIDIA driver, then reboot: "
            "printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf "
            "&& sudo update-initramfs -u && sudo ubuntu-drivers install && sudo reboot"
        ),
        why=_("Only one kernel driver can bind a GPU; while nouveau holds it, CUDA sees no device."),
    )


def secure_boot_module_rejected(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.linux or ctx.wsl:
        return
    lines = ctx.grep(SECURE_BOOT_LINES)
    drv = ctx.facts.driver
    if drv is not None and drv.extra.get("module_signature_rejected") and not lines:
        lines = [_("kernel log: the nvidia module signature was rejected")]
    km = drv.kernel_module if drv else None
    inferred = bool(ctx.facts.os.secure_boot) and km is not None and km.loaded is False and not ctx.driver_version
    if not lines and not inferred:
        return
    ev = list(lines)
    if ctx.facts.os.secure_boot:
        ev.append(_("Secure Boot: enabled"))
    if km is not None and km.loaded is False:
        ev.append(_("nvidia kernel module: not loaded"))
    yield finding(
        "secure_boot_module_rejected",
        "error" if lines else "warning",
        _("Secure Boot rejected the unsigned NVIDIA kernel module"),
        evidence=ev,
        fix=_(
            "Enroll the key the driver's modules were signed with and reboot to confirm it in the blue MOK screen: "
            "sudo mokutil --import /var/lib/shim-signed/mok/MOK.der && sudo reboot "
            "(or install the distribution's signed driver with sudo ubuntu-drivers install, or turn Secure Boot off in the firmware)"
        ),
        why=_("With Secure Boot on, the kernel only loads modules signed by a key it trusts."),
    )


def nvidia_uvm_stale(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.linux or ctx.wsl or ctx.facts.os.tegra:
        return  # a Jetson's CUDA goes through nvgpu, not nvidia_uvm
    drv = ctx.facts.driver
    lines = ctx.grep(UVM_LINES)
    km_loaded = bool(drv and drv.kernel_module and drv.kernel_module.loaded)
    uvm_missing = bool(drv and drv.nvidia_uvm_loaded is False and km_loaded)
    # The unknown-error texts only point at nvidia_uvm when the driver itself answers.
    if not (uvm_missing or (lines and ctx.driver_version)):
        return
    ev = list(lines) + ([_("nvidia_uvm kernel module: not loaded")] if uvm_missing else [])
    yield finding(
        "nvidia_uvm_stale",
        "error",
        _("CUDA cannot initialise although the driver answers: the nvidia_uvm module is missing or stale"),
        evidence=ev,
        fix=_("Reload the module (close every CUDA program first): sudo rmmod nvidia_uvm ; sudo modprobe nvidia_uvm — or reboot."),
        why=_("CUDA needs nvidia_uvm; after suspend/resume or a driver update it is often left unloaded or wedged, and CUDA reports 'unknown error'."),
    )


def gpu_init_failed_bios(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(BIOS_LINES)
    if not lines or ctx.grep(r"requires use of the NVIDIA open kernel modules"):
        return  # blackwell_needs_open_kernel_module explains the failed initialisation
    if any("fallen off the bus" in line for line in lines):
        title = _("The GPU dropped off the PCIe bus")
        fix = _(
            "Power the machine off; check the GPU's power cables, the power supply's capacity and the card's seat (or riser); "
            "in the BIOS/UEFI set that PCIe slot to a fixed generation (e.g. Gen3) and update the BIOS. If it happens again "
            "under load, have the card or power supply checked."
        )
        why = _("'Fallen off the bus' (Xid 79) means the card stopped answering on PCIe: power, seating or link trouble, not software.")
    else:
        title = _("The driver could not initialise the GPU (firmware/PCIe resources)")
        fix = _(
            "In the BIOS/UEFI setup enable 'Above 4G Decoding' (and 'Resizable BAR' if offered), set the primary display "
            "to the onboard/PCIe slot you use, check the GPU's power cables and seat, then boot and run nvidia-smi again."
        )
        why = _("The card got no usable PCI memory window (BAR) or failed to start; no software setting fixes that.")
    yield finding("gpu_init_failed_bios", "error", title, evidence=lines, fix=fix, why=why)


def container_without_gpu(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.facts.os.container:
        return
    drv = ctx.facts.driver
    lines = ctx.grep(NO_DRIVER_LINES)
    no_nodes = drv is None or drv.device_nodes is False
    if not (no_nodes and (not ctx.driver_version or lines)):
        return
    # Inside, a GPU-less host looks the same; only signs that GPU use is intended make it an error.
    cuda_builds = [fw.version for fw in (ctx.torch, ctx.tf) if fw is not None and fw.cuda]
    wanted = ctx.env("NVIDIA_VISIBLE_DEVICES") or ctx.env("NVIDIA_DRIVER_CAPABILITIES")
    ev = [_("running in a container")]
    if drv is not None and drv.device_nodes is False:
        ev.append(_("/dev/nvidia0 and /dev/nvidiactl are missing"))
    elif drv is None:
        ev.append(ctx.not_known("driver"))
    ev += [_("CUDA build installed: {version}").format(version=v) for v in cuda_builds]
    if wanted:
        ev.append(f"NVIDIA_VISIBLE_DEVICES={ctx.env('NVIDIA_VISIBLE_DEVICES')}")
    yield finding(
        "container_without_gpu",
        "error" if (lines or cuda_builds or wanted) else "warning",
        _("This container was started without access to the GPU")
        if (lines or cuda_builds or wanted) else _("This container has no GPU access (if the host has an NVIDIA GPU, pass it in)"),
        evidence=ev + lines,
        fix=_(
            "Install the NVIDIA Container Toolkit on the host (sudo apt install nvidia-container-toolkit && "
            "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker), then start the container "
            "with GPUs: docker run --gpus all ..."
        ),
        why=_("Containers see the GPU only when the runtime passes /dev/nvidia* and the driver libraries in."),
    )


def _visible_devices_problem(value: str, count: int) -> str | None:
    """'all', 'some', 'missing' or None. CUDA reads the list up to the first entry it cannot use:
    an index, a GPU-/MIG- UUID (prefix) are valid; anything else hides that entry and all after it."""
    v = value.strip()
    if v in ("", "-1") or v.lower() in ("none", "void", "nodevfiles"):
        return "all"
    if v.lower() == "all":
        return None
    ids = [p.strip() for p in v.split(",")]
    for i, p in enumerate(ids):
        valid = p.isdigit() or p.upper().startswith(("GPU-", "MIG-"))
        if not valid:
            return "all" if i == 0 else "some"
        if p.isdigit() and count and int(p) >= count:
            return "missing"
    if count and len(ids) < count:
        return "some"
    return None


def _seen_by_frameworks(ctx: Ctx) -> list[str]:
    for fw in (ctx.torch, ctx.tf):
        devices = fw.extra.get("devices") if fw is not None else None
        if isinstance(devices, list) and devices:
            return [str(d) for d in devices]
    return []


def cuda_visible_devices_hidden(ctx: Ctx) -> Iterable[Finding]:
    from nktenv.doctor.visible import cuda_visible_devices

    # CUDA_VISIBLE_DEVICES as CUDA reads it (nktenv.doctor.visible); the container runtime's variable here.
    yield from cuda_visible_devices(ctx)
    if not ctx.has_nvidia and not ctx.gpus_unknown:
        return  # the probes looked: no NVIDIA GPU here to hide
    gpus = ctx.nvidia_gpus
    count = len(gpus)
    no_device = ctx.grep(r"CUDA_ERROR_NO_DEVICE|no CUDA-capable device is detected")
    for var in ("NVIDIA_VISIBLE_DEVICES",):
        value = ctx.env(var)
        if value is None:
            continue
        problem = _visible_devices_problem(value, count)
        if problem is None:
            continue
        unset = f"Remove-Item Env:{var}" if ctx.native_windows else f"unset {var}"
        ev = [f"{var}={value}"]
        ev.append(_("GPUs present: {count}").format(count=count) if count or "gpus" not in ctx.unknown else ctx.not_known("gpus"))
        seen = _seen_by_frameworks(ctx)
        if seen:
            ev.append(_("the framework sees: {devices}").format(devices=join_list(seen)))
        ev += no_device
        if problem == "some":
            hidden = [g for g in gpus if seen and (g.name or "") not in seen]
            title = _("{var} hides some GPUs: {names}").format(
                var=var, names=join_list(g.name or "?" for g in hidden) or _("see evidence"))
            pick = next((g.uuid for g in hidden if g.uuid), None)
            fix = _("To use every GPU, clear it ({unset}) and remove it from your shell profile or job script. To choose GPUs "
                    "reliably, name them by UUID (e.g. {var}={uuid}) or set CUDA_DEVICE_ORDER=PCI_BUS_ID so that indices match "
                    "nvidia-smi.").format(unset=unset, var=var, uuid=pick or "GPU-<uuid>")
        elif problem == "all":
            title = _("{var} hides the GPUs from CUDA").format(var=var)
            fix = _("Clear it for this shell ({unset}) and remove it from your shell profile or job script.").format(unset=unset)
        else:
            title = _("{var} names GPUs that do not exist").format(var=var)
            fix = _("Clear it ({unset}) or list valid indices 0 to {last}.").format(unset=unset, last=max(count - 1, 0))
        # Sure when a GPU is known or CUDA itself says it saw none; otherwise the GPU may not exist.
        sure = ctx.has_nvidia or bool(no_device)
        yield finding(
            "cuda_visible_devices_hidden",
            "error" if problem == "all" and sure else "warning",
            title,
            evidence=ev,
            fix=fix,
            why=_("CUDA only numbers the devices listed there (in fastest-first order unless CUDA_DEVICE_ORDER=PCI_BUS_ID); "
                  "an empty value or -1 means no GPU at all."),
            variable=var,
        )


def probe_timeout(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(TIMEOUT_LINES, sources=("driver.", "torch.error", "tensorflow.error"))
    smi = ctx.driver_extra("nvidia_smi")
    if smi.get("timed_out"):
        lines.insert(0, _("{path} did not answer in time").format(path=smi.get("path") or "nvidia-smi"))
    slow_framework = False
    for name, fw in (("torch", ctx.torch), ("tensorflow", ctx.tf)):
        if fw is not None and fw.extra.get("timed_out"):
            slow_framework = True
            lines.append(_("the {framework} check did not finish in time").format(framework=name))
    if not lines:
        return
    fix = _(
        "A hanging nvidia-smi or CUDA call usually means a wedged GPU or driver: check 'sudo dmesg | grep -i -e NVRM -e Xid', "
        "close programs holding the GPU (nvidia-smi --query-compute-apps=pid --format=csv) and reboot if it persists."
    )
    if slow_framework:
        fix = join_sentences([fix, _("A first run that JIT-compiles kernels can also be slow: try nktenv doctor --timeout 600 once.")])
    yield finding(
        "probe_timeout",
        "error",
        _("A GPU tool or framework check hung and was stopped"),
        evidence=lines,
        fix=fix,
        why=_("nktenv stops every external command after a time limit so that the diagnosis itself always returns."),
    )


def docker_gpu_runtime_missing(ctx: Ctx) -> Iterable[Finding]:
    """`docker run --gpus` refused on the host: the NVIDIA Container Toolkit is missing or not configured."""
    lines = ctx.grep(DOCKER_RUNTIME_LINES)
    if not lines:
        return
    ev = list(lines)
    if ctx.driver_version:
        ev.append(_("host driver {driver} answers").format(driver=ctx.driver_version))
    if ctx.wsl:
        fix = _("In WSL 2 use Docker Desktop with the WSL 2 backend (it brings GPU support), or install the toolkit inside WSL: "
                "sudo apt install nvidia-container-toolkit && sudo nvidia-ctk runtime configure --runtime=docker && "
                "sudo service docker restart; then docker run --rm --gpus all ubuntu nvidia-smi")
    else:
        fix = _("Install and register the NVIDIA Container Toolkit on the host (NVIDIA's apt repository, "
                "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html): "
                "sudo apt install nvidia-container-toolkit && sudo nvidia-ctk runtime configure --runtime=docker && "
                "sudo systemctl restart docker; check with docker run --rm --gpus all ubuntu nvidia-smi. "
                "Docker installed as a snap needs sudo snap install docker with its own nvidia support instead.")
    yield finding(
        "docker_gpu_runtime_missing",
        "error",
        _("Docker cannot give containers the GPU: the NVIDIA Container Toolkit is missing or not registered"),
        evidence=ev,
        fix=fix,
        why=_("docker run --gpus needs the NVIDIA runtime hook; without it Docker finds no device driver with the 'gpu' capability."),
    )
