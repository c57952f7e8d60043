"""GPU state rules: a GPU held by another process, a compute mode that refuses new contexts."""

from __future__ import annotations

import re
from typing import Iterable

from nktenv.doctor.context import Ctx, finding
from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _

OOM_LINES = r"CUDA out of memory|CUDA error: out of memory|cuda runtime error \(2\) : out of memory|OutOfMemoryError|CUDA_ERROR_OUT_OF_MEMORY|RESOURCE_EXHAUSTED: Out of memory|cudaErrorMemoryAllocation"
BUSY_LINES = (
    r"all CUDA-capable devices are busy or unavailable|CUDA-capable device\(s\) is/are busy or unavailable|"
    r"cudaErrorDevicesUnavailable|CUDA_ERROR_DEVICE_UNAVAILABLE|device busy or unavailable"
)
# Another process holding a large share of a GPU's memory is worth naming (one tenth, or 1 GiB).
_HELD_SHARE = 0.10
_HELD_BYTES = 1 << 30


def _mib(n: int | None) -> str:
    return f"{(n or 0) // (1 << 20)} MiB"


def _holders(gpu: Gpu) -> list[tuple[int | None, str, int]]:
    out = []
    for p in gpu.processes or ():
        used = p.used_memory_bytes or 0
        if (p.type or "C").upper().startswith("G") and used < _HELD_BYTES:
            continue  # the desktop's own small graphics allocations
        out.append((p.pid, p.name or "?", used))
    return out


def gpu_memory_held_by_other_process(ctx: Ctx) -> Iterable[Finding]:
    """Out of memory while other processes (nvidia-smi's process list) hold the GPU's memory."""
    oom = ctx.grep(OOM_LINES, sources=("log:", "torch.", "tensorflow."))
    for gpu in ctx.nvidia_gpus:
        holders = _holders(gpu)
        held = sum(u for _p, _n, u in holders)
        total = gpu.memory_total_bytes or 0
        used = gpu.extra.get("memory_used_bytes")
        # No process list (nvidia-smi's table cut off, or not looked), but the memory in use says it.
        unlisted = not holders and gpu.processes is None and isinstance(used, int) and used >= _HELD_BYTES
        if unlisted:
            held = used
        big = held >= _HELD_BYTES or (total and held >= _HELD_SHARE * total)
        if not (holders or unlisted) or not big:
            continue
        if not oom:
            continue  # a busy GPU is normal; it only matters when memory runs out
        ev = list(oom)
        if unlisted:
            ev.append(_("GPU {index}: {used} of {total} in use before the job; the process list is not in the snapshot").format(
                index=gpu.index if gpu.index is not None else "?", used=_mib(used), total=_mib(total)))
        for pid, name, used in holders:
            ev.append(_("GPU {index}: process {pid} ({name}) uses {used}").format(
                index=gpu.index if gpu.index is not None else "?", pid=pid if pid is not None else "?", name=name, used=_mib(used)))
        if total and holders:
            ev.append(_("GPU {index}: {held} of {total} held by other processes").format(
                index=gpu.index if gpu.index is not None else "?", held=_mib(held), total=_mib(total)))
        pids = " ".join(str(p) for p, _n, _u in holders if p is not None)
        if ctx.native_windows:
            stop = _("End them in Task Manager, or: taskkill /PID {pids} /F").format(pids=pids.replace(" ", " /PID ")) if pids else ""
        else:
            stop = _("Stop them (kill {pids}; check first with ps -o user,cmd -p {pids}), or ask their owner").format(pids=pids) if pids else ""
        yield finding(
            "gpu_memory_held_by_other_process",
            "warning" if unlisted else "error",
            _("Out of GPU memory: other processes hold {held} of GPU {index}'s memory").format(
                held=_mib(held), index=gpu.index if gpu.index is not None else "?"),
            evidence=ev,
            fix=_("{stop}; or run on another GPU (CUDA_VISIBLE_DEVICES=<free GPU index>), then rerun. "
                  "nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv lists who holds it.").format(
                stop=stop or _("Stop the processes listed by nvidia-smi")),
            why=_("CUDA cannot use memory another process has allocated; the job fails even though the model would fit an idle GPU."),
            gpu=gpu.index,
            pids=[p for p, _n, _u in holders if p is not None],
        )
        return


def gpu_compute_mode_restricted(ctx: Ctx) -> Iterable[Finding]:
    busy = ctx.grep(BUSY_LINES)
    for gpu in ctx.nvidia_gpus:
        mode = (gpu.compute_mode or "").replace(" ", "_").lower()
        if mode not in ("prohibited", "exclusive_process", "e._process", "exclusive_thread"):
            continue
        prohibited = mode == "prohibited"
        holders = _holders(gpu)
        index = gpu.index if gpu.index is not None else 0
        ev = [_("GPU {index} ({name}): compute mode {mode}").format(index=index, name=gpu.name or "GPU", mode=gpu.compute_mode)]
        for pid, name, used in holders:
            ev.append(_("GPU {index}: process {pid} ({name}) uses {used}").format(index=index, pid=pid if pid is not None else "?",
                                                                            name=name, used=_mib(used)))
        ev += busy
        # Exclusive_Process is a deliberate setting on shared servers; it only blocks when another process holds the GPU.
        blocking = prohibited or bool(busy) or bool(holders)
        yield finding(
            "gpu_compute_mode_restricted",
            "error" if blocking else "info",
            _("GPU {index} is in compute mode {mode}: it refuses new CUDA programs").format(index=index, mode=gpu.compute_mode)
            if prohibited else
            _("GPU {index} is in compute mode {mode}: only one process may use it at a time").format(index=index, mode=gpu.compute_mode),
            evidence=ev,
            fix=_("Set it back to the default mode (administrator; lasts until reboot): sudo nvidia-smi -i {index} -c DEFAULT "
                  "(Windows: nvidia-smi -i {index} -c DEFAULT in an administrator terminal). If an administrator chose this mode "
                  "for a shared server, use a free GPU instead.").format(index=index),
            why=_("In Prohibited mode no process may create a CUDA context; in Exclusive_Process mode a second process gets "
                  "'all CUDA-capable devices are busy or unavailable'."),
            gpu=index,
            compute_mode=gpu.compute_mode,
        )
    if busy and not any(re.search(r"prohibited|exclusive", g.compute_mode or "", re.I) for g in ctx.nvidia_gpus):
        if any(g.compute_mode for g in ctx.nvidia_gpus):
            return  # every mode is known and Default: the message has another cause
        yield finding(
            "gpu_compute_mode_restricted",
            "warning",
            _("CUDA says every GPU is busy or unavailable"),
            evidence=busy + [ctx.not_known("gpus[].compute_mode")],
            fix=_("Check the compute mode and who holds the GPU: nvidia-smi --query-gpu=index,compute_mode --format=csv and "
                  "nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv; reset with sudo nvidia-smi -i <index> -c DEFAULT."),
            why=_("This error usually means a GPU in Exclusive_Process or Prohibited compute mode, or one taken by another process."),
        )
