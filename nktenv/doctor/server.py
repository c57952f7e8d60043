"""Server-room and container breakages: the NVSwitch fabric, forward compatibility, containers that lose
their GPU, Docker on WSL2, and a GPU whose memory or bus reports errors (Xid, ECC, row remapping)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

from nktenv.doctor.context import Ctx, finding, vtuple
from nktenv.findings import Finding
from nktenv.i18n import _

SYSTEM_NOT_READY = (
    r"Error 802\b|\(802\)|code=802\b|\b802\b.*system not yet initialized|system not yet initialized|"
    r"cudaErrorSystemNotReady|CUDA_ERROR_SYSTEM_NOT_READY"
)
FORWARD_COMPAT = (
    r"Error 804\b|\(804\)|forward compatibility was attempted on non supported HW|cudaErrorCompatNotSupportedOnDevice|"
    r"CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"
)
NVML_UNKNOWN = r"Failed to initi\w*ize NVML:? Unknown Error"  # users retype it: "initiailize", no colon
# Words that place a text inside a container, or name the systemd reload that detaches it.
_CONTAINER_HINTS = r"docker|container|podman|kubectl|daemon-reload|cgroup|\broot@[0-9a-f]{12}:"
WSL_NOT_FOUND = r"CUDA_ERROR_NOT_FOUND|named symbol not found|cuda driver library init failure: 500"
XID_LINE = re.compile(r"NVRM: Xid \((?:PCI:)?[0-9a-fA-F:.]+\): (\d+)\b")
ECC_LINES = (
    r"uncorrectable ECC error encountered|ECC_UNCORRECTABLE|cudaErrorECCUncorrectable|"
    r"Remapping Failure Occurred\s*:\s*Yes|Row Remapper: Failed|unable to retire page|"
    r"An uncorrectable double bit error"
)

# GPUs whose NVLink goes through NVSwitches (HGX/DGX boards): they need nvidia-fabricmanager.
_NVSWITCH_GPUS = r"A100-SXM|A800-SXM|H100 80GB HBM3|H100-SXM|H800|H200|H20\b|B200|B100|GB200|DGX|HGX"
# Forward compatibility (the cuda-compat libcuda) runs only on data-center GPUs (NVIDIA CUDA Compatibility
# guide, "Forward Compatibility": NVIDIA Data Center GPUs and select NGC Server Ready RTX SKUs).
_CONSUMER_GPU = r"GeForce|TITAN"


def _native_floor(ctx: Ctx, cuda: str) -> str | None:
    """The driver that runs `cuda` without forward compatibility (the toolkit's bundled driver)."""
    if ctx.m is None:
        return None
    from nktenv.manifest import driver_floor

    return driver_floor(cuda, ctx.driver_os, mvc=False, manifests=ctx.m)


def _gpu_names(ctx: Ctx) -> list[str]:
    return [g.name for g in ctx.nvidia_gpus if g.name]


def _failure_lines(ctx: Ctx, pattern: str) -> list[str]:
    return ctx.grep(pattern)


def fabric_manager_not_running(ctx: Ctx) -> Iterable[Finding]:
    """CUDA error 802: on NVSwitch machines CUDA waits for the fabric manager to train the NVLink fabric."""
    lines = _failure_lines(ctx, SYSTEM_NOT_READY)
    if not lines:
        return
    nvswitch = [n for n in _gpu_names(ctx) if re.search(_NVSWITCH_GPUS, n, re.I)]
    drv = ctx.driver_version
    branch = drv.split(".", 1)[0] if drv else "<driver branch>"
    fm = ctx.driver_extra("fabricmanager")
    ev = list(lines) + [_("GPU {name}: an NVSwitch (HGX/DGX) board").format(name=n) for n in dict.fromkeys(nvswitch)]
    names = _gpu_names(ctx)
    if names and not nvswitch:
        # No NVSwitch board among the known GPUs: the fabric manager is not the cause there.
        ev.append(_("no GPU here is an NVSwitch (HGX/DGX) board: {gpus}").format(gpus=", ".join(dict.fromkeys(names))))
    if fm.get("version") and drv and fm["version"] != drv:
        ev.append(_("nvidia-fabricmanager {fm} beside driver {driver}: the versions must be equal").format(fm=fm["version"], driver=drv))
    elif fm.get("active") is False:
        ev.append(_("nvidia-fabricmanager: not running"))
    yield finding(
        "fabric_manager_not_running",
        "error",
        _("CUDA error 802 'system not yet initialized': the NVSwitch fabric is not up (nvidia-fabricmanager)")
        if nvswitch or not names else _("CUDA error 802 'system not yet initialized' on a machine without NVSwitches"),
        evidence=ev,
        fix=_("Check the fabric: systemctl status nvidia-fabricmanager and nvidia-smi -q | grep -A 2 -i fabric "
              "(State should be Completed, Status Success). Install the fabric manager of exactly the driver's version "
              "({driver}): sudo apt install nvidia-fabricmanager-{branch} (RHEL: sudo dnf install nvidia-fabric-manager), "
              "then sudo systemctl enable --now nvidia-fabricmanager and rerun. If it fails to start, "
              "journalctl -u nvidia-fabricmanager names the version it expected.").format(driver=drv or "nvidia-smi: Driver Version", branch=branch)
        if nvswitch or not names else
        _("nvidia-smi topo -m shows whether the GPUs are linked through NVSwitches (NV# entries); without them the fabric "
          "manager does not apply: check sudo dmesg | grep -i NVRM, update the driver and reboot."),
        why=_("On HGX/DGX boards (A100/H100/H200/B200 SXM) the GPUs talk through NVSwitches; until nvidia-fabricmanager, "
              "of the same version as the driver, has set up the fabric, every CUDA program fails with error 802. "
              "nvidia-smi still works, so the driver looks fine."),
        nvswitch=bool(nvswitch),
    )


def cuda_forward_compat_unsupported(ctx: Ctx) -> Iterable[Finding]:
    """CUDA error 804: a forward-compatibility libcuda (an image's /usr/local/cuda/compat, a cuda-compat package)
    loaded on a GPU that does not support forward compatibility."""
    lines = _failure_lines(ctx, FORWARD_COMPAT)
    if not lines:
        return
    ev = list(lines)
    consumer = [n for n in _gpu_names(ctx) if re.search(_CONSUMER_GPU, n, re.I)]
    ev += [_("GPU {name}: not a data-center GPU, forward compatibility is not supported").format(name=n)
           for n in dict.fromkeys(consumer)]
    ld = ctx.env("LD_LIBRARY_PATH") or ""
    compat = [d for d in ld.split(":") if "compat" in d]
    if compat:
        ev.append(f"LD_LIBRARY_PATH={ld}")
    ev += ctx.grep(r"/usr/local/cuda[\w.-]*/compat|cuda-compat-\d+")
    fw = next((f for f in (ctx.torch, ctx.tf) if f is not None and f.cuda), None)
    floor = _native_floor(ctx, fw.cuda) if fw is not None else None
    drv = ctx.driver_version
    if floor and drv:
        upgrade = _("upgrade the host driver to {floor} or newer (this one is {driver}), so that it runs CUDA {cuda} natively").format(
            floor=floor, driver=drv, cuda=fw.cuda)
    else:
        upgrade = _("upgrade the host driver to one whose 'CUDA Version' (nvidia-smi) is at least the CUDA of the image or program")
    ceiling = ctx.driver_cuda
    older = (_("or use an image or build for CUDA {ceiling} or older (this driver's ceiling)").format(ceiling=ceiling) if ceiling
             else _("or use an image or build for an older CUDA"))
    steps = [upgrade, older]
    if compat:
        keep = ":".join(d for d in ld.split(":") if d and "compat" not in d)
        steps.append(_("and take the compat folder off the library path: {command}").format(
            command=f'export LD_LIBRARY_PATH="{keep}"' if keep else "unset LD_LIBRARY_PATH"))
    else:
        steps.append(_("outside a container, remove the cuda-compat package: sudo apt remove 'cuda-compat-*'"))
    yield finding(
        "cuda_forward_compat_unsupported",
        "error",
        _("CUDA error 804: a forward-compatibility CUDA driver library was loaded on a GPU that does not support it"),
        evidence=ev,
        fix=_("Either {steps}.").format(steps="; ".join(steps)),
        why=_("An image or cuda-compat package built for a newer CUDA than the host driver brings its own libcuda "
              "(forward compatibility). Only data-center GPUs support that; on GeForce/RTX cards CUDA refuses with error 804."),
        consumer_gpu=bool(consumer),
    )


def container_lost_gpu(ctx: Ctx) -> Iterable[Finding]:
    """'Failed to initialize NVML: Unknown Error' inside a container that worked: systemd re-applied the
    container's device cgroup (a daemon-reload) and dropped the GPU device nodes."""
    lines = ctx.grep(NVML_UNKNOWN)
    if not lines or ctx.wsl or ctx.native_windows or ctx.facts.os.container is False:
        return
    hints = ctx.grep(_CONTAINER_HINTS)
    if not (ctx.facts.os.container or hints):
        return
    ev = list(lines) + [h for h in hints if re.search(r"daemon-reload|cgroup", h, re.I)][:3]
    yield finding(
        "container_lost_gpu",
        "error",
        _("The container lost its GPU: NVML fails with 'Unknown Error' inside it"),
        evidence=ev,
        fix=_("Now: recreate the container (docker rm -f <name>, then docker run again; in Kubernetes delete the pod); "
              "a restart inside it does not help. Lasting (NVIDIA Container Toolkit troubleshooting): create the /dev/char "
              "links with sudo nvidia-ctk system create-dev-char-symlinks --create-all (and the udev rule the toolkit documents), "
              "or run Docker with the cgroupfs driver (\"exec-opts\": [\"native.cgroupdriver=cgroupfs\"] in /etc/docker/daemon.json, "
              "then sudo systemctl restart docker), or pass the device nodes explicitly (--device /dev/nvidia0 --device "
              "/dev/nvidiactl --device /dev/nvidia-uvm --device /dev/nvidia-uvm-tools)."),
        why=_("Usually the systemd cgroup driver: a systemctl daemon-reload (often run by package updates) rewrites the "
              "container's device rules without the NVIDIA devices; the GPU stays fine on the host, the running container can "
              "no longer open it."),
    )


def wsl_container_toolkit_outdated(ctx: Ctx) -> Iterable[Finding]:
    """Docker on WSL2 after a 555+ Windows driver: an older container toolkit does not map libnvdxgdmal.so.1."""
    lines = ctx.grep(WSL_NOT_FOUND)
    if not lines:
        return
    dockerish = ctx.facts.os.container or ctx.grep(r"docker|container")
    wsl = ctx.wsl or ctx.grep(r"\bwsl2?\b|/usr/lib/wsl/|dxg|Docker Desktop")
    if not (dockerish and wsl):
        return
    drv = ctx.driver_version
    ev = list(lines) + ctx.grep(r"libnvdxgdmal\.so\.1")[:2]
    if drv and vtuple(drv)[:1] >= (555,):
        ev.append(_("Windows driver {driver} (555 or newer adds libnvdxgdmal.so.1)").format(driver=drv))
    yield finding(
        "wsl_container_toolkit_outdated",
        "error",
        _("Docker on WSL2: the container toolkit is too old for this Windows driver (libnvdxgdmal.so.1 is not mapped)"),
        evidence=ev,
        fix=_("Update the NVIDIA Container Toolkit in the WSL distribution to 1.14.4, 1.15.0 or newer "
              "(sudo apt-get install --only-upgrade nvidia-container-toolkit; nvidia-ctk --version shows it), or Docker Desktop "
              "to 4.31.0 or newer, then restart Docker and recreate the container. Going back to a Windows driver older than 555 "
              "also works, but only until the next driver update."),
        why=_("Windows drivers 555 and newer added libnvdxgdmal.so.1, which must be mapped into a WSL2 container; older toolkits "
              "leave it out and CUDA fails to start with error 500 'named symbol not found' (CUDA_ERROR_NOT_FOUND)."),
    )


@lru_cache(maxsize=1)
def xid_table() -> dict[int, dict[str, Any]]:
    """NVIDIA's Xid catalog as shipped data (manifests/xid.toml): code -> name, kind, source."""
    from nktenv.manifest import _toml, manifests_dir

    try:
        doc = _toml().loads((manifests_dir() / "xid.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {int(e["code"]): e for e in doc.get("xid", []) if isinstance(e, dict) and "code" in e}


_KIND_ORDER = ("hardware", "reset", "driver", "app", "info")


def gpu_hardware_errors(ctx: Ctx) -> Iterable[Finding]:
    """Uncorrectable ECC errors, failed page retirement / row remapping, and Xid codes in the kernel log."""
    from nktenv.doctor.host import BIOS_LINES

    table = xid_table()
    ecc = ctx.grep(ECC_LINES)
    bus = bool(ctx.grep(BIOS_LINES))  # gpu_init_failed_bios owns "fallen off the bus"
    xids: dict[int, str] = {}
    for line in ctx.lines:
        m = XID_LINE.search(line.text)
        if m and not (bus and m.group(1) == "79"):
            xids.setdefault(int(m.group(1)), line.text)
            cause = re.search(r"caused by previous Xid (\d+)", line.text)  # Xid 45 names the fault it cleans up after
            if cause:
                xids.setdefault(int(cause.group(1)), line.text)
    if not ecc and not xids:
        return
    kinds = {table.get(c, {}).get("kind", "driver") for c in xids}
    if ecc:
        kinds.add("reset")
    worst = next(k for k in _KIND_ORDER if k in kinds)
    ev = list(ecc)
    for code, line in sorted(xids.items()):
        entry = table.get(code)
        ev.append(line)
        ev.append(_("Xid {code}: {name} (NVIDIA's Xid catalog)").format(code=code, name=entry["name"]) if entry else
                  _("Xid {code}: not in nktenv's Xid table; see NVIDIA's Xid catalog").format(code=code))
    check = "nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER"
    if worst == "app":
        severity, title = "warning", _("The kernel log shows Xid errors that usually mean the program itself faulted")
        fix = _("Rerun the program with CUDA_LAUNCH_BLOCKING=1 (and compute-sanitizer for CUDA extensions) to find the faulting "
                "kernel; if the Xid repeats with programs that work elsewhere, check the memory state: {check}.").format(check=check)
    else:
        severity = "error"
        title = (_("The GPU reports uncorrectable memory errors (ECC)") if ecc or worst == "reset"
                 else _("The GPU reports hardware or driver errors (Xid)"))
        fix = _("Check the memory state: {check} (look at 'Uncorrectable' counts, 'Pending' retirement/remapping and "
                "'Remapping Failure Occurred'). Stop every process on the GPU and reset it (sudo nvidia-smi -r -i <index>) or "
                "reboot: that activates the retired pages or remapped rows. If uncorrectable errors come back after the reset, "
                "'Remapping Failure Occurred' is Yes, or Xid 64, 79, 92 or 95 repeats, the card is failing: take it out of use "
                "and contact the vendor (RMA).").format(check=check)
    yield finding(
        "gpu_hardware_errors",
        severity,
        title,
        evidence=ev,
        fix=fix,
        why=_("The driver logs every GPU fault as an Xid in the kernel log (dmesg); ECC errors that cannot be corrected stop "
              "the programs using that memory until the GPU is reset. No software setting repairs failing memory."),
        xids=sorted(xids),
        kind=worst,
    )
