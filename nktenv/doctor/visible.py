"""Which GPUs CUDA will see under CUDA_VISIBLE_DEVICES, computed the way CUDA reads the variable.

CUDA reads the comma-separated list left to right. An entry is an index (read like strtoul: "1gpu"
is 1) or a `GPU-`/`MIG-` UUID, which may be shortened to any prefix that names one GPU. The first
entry that names no device (not a number, -1, an index past the last GPU, an unknown or ambiguous
UUID) ends the list: it and everything after it are ignored. A GPU listed twice leaves no GPU at
all. Sources: the CUDA Programming Guide's "CUDA Environment Variables"
(https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#cuda-environment-variables) and
PyTorch's own copy of these rules (torch/cuda/__init__.py: `_parse_visible_devices`,
`_transform_uuid_to_ordinals`, `_device_count_nvml`).

The variable is read from the snapshot and from assignments in the evidence (a command line
`CUDA_VISIBLE_DEVICES=2 python train.py`, `export ...`, `set ...`, `$env:...`, or
`os.environ["CUDA_VISIBLE_DEVICES"] = "1"` in a script or traceback): a snapshot taken from the
user's shell often has it unset while the failing run set it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from nktenv.doctor.context import Ctx, finding
from nktenv.doctor.host import _seen_by_frameworks
from nktenv.facts import Gpu
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list

VAR = "CUDA_VISIBLE_DEVICES"

# Assignments as they appear in pasted commands, scripts and tracebacks.
_ASSIGN = re.compile(
    r"""(?:(?<![\w.$])|\$env:)CUDA_VISIBLE_DEVICES\s*=\s*(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s;&|'"`)]*))""",
    re.IGNORECASE)
_PY_ASSIGN = re.compile(
    r"""os\.environ\s*\[\s*['"]CUDA_VISIBLE_DEVICES['"]\s*\]\s*=\s*(?:[fr]?"([^"\r\n]*)"|[fr]?'([^'\r\n]*)'|(\w+))|"""
    r"""os\.(?:environ\.setdefault|putenv)\(\s*['"]CUDA_VISIBLE_DEVICES['"]\s*,\s*(?:"([^"\r\n]*)"|'([^'\r\n]*)')""")
_SHELL_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Entry:
    text: str
    status: str  # gpu, mig, unverified, invalid, negative, out_of_range, unknown_uuid, ambiguous, duplicate, mixed, ignored
    gpu: Gpu | None = None


@dataclass
class Visibility:
    """CUDA's reading of one value: the GPUs it will see, in CUDA's order, and why the others are not."""

    value: str
    entries: list[Entry] = field(default_factory=list)
    visible: list[Gpu] = field(default_factory=list)
    unverified: int = 0  # entries CUDA may accept that the facts cannot check (MIG, UUIDs without known UUIDs)
    stop: Entry | None = None  # the entry that ended the list
    none_at_all: bool = False  # a duplicate: CUDA sees no GPU

    @property
    def count(self) -> int:
        return 0 if self.none_at_all else len(self.visible) + self.unverified

    @property
    def ignored(self) -> list[str]:
        return [e.text for e in self.entries if e.status == "ignored"]


def _strtoul(text: str) -> int | None:
    """CUDA reads an index like strtoul: leading digits count, the rest of the entry is ignored; no digits: not an index."""
    m = re.match(r"[+-]?\d+", text)
    return int(m.group(0)) if m else None


def parse(value: str, gpus: Iterable[Gpu], *, count_known: bool = True) -> Visibility:
    """The GPUs CUDA sees when CUDA_VISIBLE_DEVICES=value on a machine with `gpus` (PCI order, as nvidia-smi lists them)."""
    gpus = list(gpus)
    vis = Visibility(value)
    tokens = value.split(",")
    kind = "uuid" if value.strip().upper().startswith(("GPU-", "MIG-")) else "index"
    uuids_known = bool(gpus) and all(g.uuid for g in gpus)
    chosen: list[Gpu | str] = []
    stopped = False
    for raw in tokens:
        token = raw.strip()
        if stopped:
            vis.entries.append(Entry(token, "ignored"))
            continue
        entry: Entry
        upper = token.upper()
        if upper.startswith(("GPU-", "MIG-")) != (kind == "uuid"):
            entry = Entry(token, "mixed")  # PyTorch's reading: a list of UUIDs stops at an index, and the reverse
        elif upper.startswith("MIG-"):
            entry = Entry(token, "mig")
        elif upper.startswith("GPU-"):
            hits = [g for g in gpus if g.uuid and g.uuid.lower().startswith(token.lower())]
            if len(hits) == 1:
                entry = Entry(token, "gpu", hits[0])
            elif len(hits) > 1:
                entry = Entry(token, "ambiguous")
            elif uuids_known:
                entry = Entry(token, "unknown_uuid")
            else:
                entry = Entry(token, "unverified")
        else:
            n = _strtoul(token)
            if n is None:
                entry = Entry(token, "invalid")
            elif n < 0:
                entry = Entry(token, "negative")
            elif gpus and count_known:
                if n >= len(gpus):
                    entry = Entry(token, "out_of_range")
                else:
                    by_index = {(g.index if g.index is not None else i): g for i, g in enumerate(gpus)}
                    entry = Entry(token, "gpu", by_index.get(n, gpus[n]))
            else:
                entry = Entry(token, "unverified")
        key: Gpu | str | None = entry.gpu if entry.gpu is not None else (
            token.lower() if entry.status in ("mig", "unverified") else None)
        if key is not None and any(k is key or k == key for k in chosen):
            entry = Entry(token, "duplicate", entry.gpu)
            vis.none_at_all = True
        vis.entries.append(entry)
        if entry.status == "gpu":
            chosen.append(entry.gpu)  # type: ignore[arg-type]
            vis.visible.append(entry.gpu)  # type: ignore[arg-type]
        elif entry.status in ("mig", "unverified"):
            chosen.append(token.lower())
            vis.unverified += 1
        else:
            vis.stop = entry
            stopped = True
    if vis.none_at_all:
        vis.visible = []
        vis.unverified = 0
    return vis


# --- where the value comes from -----------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    value: str
    where: str  # the evidence line, or "environment"
    raw: str  # as written (before expanding $VAR)
    unexpanded: tuple[str, ...] = ()  # shell variables in it that the evidence does not define


def assignments(ctx: Ctx) -> list[Assignment]:
    """The snapshot's value first, then each distinct assignment found in the evidence."""
    out: list[Assignment] = []
    env = ctx.env(VAR)
    if env is not None:
        out.append(Assignment(env, "environment", env))
    for line in ctx.lines:
        for m in list(_ASSIGN.finditer(line.text)) + list(_PY_ASSIGN.finditer(line.text)):
            raw = next((g for g in m.groups() if g is not None), "")
            if raw.startswith(("<", "[")) or raw.endswith(">"):
                continue  # a placeholder in prose: CUDA_VISIBLE_DEVICES=<free GPU index>
            if m.re is _PY_ASSIGN and m.group(3) is not None:
                continue  # a Python variable: its value is not in the text
            value, unexpanded = _expand(raw)
            if any(a.raw == raw for a in out):
                continue
            out.append(Assignment(value, line.text, raw, unexpanded))
    return out


def _expand(raw: str) -> tuple[str, tuple[str, ...]]:
    """$0 is the shell's or script's name (never a GPU); other variables are unknown here."""
    unknown: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name == "0":
            return "bash"
        unknown.append(name)
        return m.group(0)

    return _SHELL_VAR.sub(sub, raw), tuple(unknown)


# --- the rule -----------------------------------------------------------------------------------

NO_DEVICE = (r"CUDA_ERROR_NO_DEVICE|no CUDA-capable device is detected|No CUDA GPUs are available|"
             r"cudaErrorNoDevice|Found no NVIDIA driver on your system|CUDA driver initialization failed")


def _label(gpu: Gpu) -> str:
    return f"{gpu.index if gpu.index is not None else '?'} ({gpu.name or 'GPU'})"


def _why_stop(entry: Entry, count: int) -> str:
    if entry.status == "out_of_range":
        return _("'{entry}' is past the last GPU (this machine has {count}: indices 0 to {last})").format(
            entry=entry.text, count=count, last=max(count - 1, 0))
    if entry.status == "negative":
        return _("'{entry}' is negative: CUDA stops reading there").format(entry=entry.text)
    if entry.status == "unknown_uuid":
        return _("'{entry}' matches none of this machine's GPU UUIDs (a UUID from another machine?)").format(entry=entry.text)
    if entry.status == "ambiguous":
        return _("'{entry}' is the start of more than one GPU UUID").format(entry=entry.text)
    if entry.status == "duplicate":
        return _("'{entry}' names a GPU already listed: with a GPU listed twice CUDA sees no GPU at all").format(entry=entry.text)
    if entry.status == "mixed":
        return _("'{entry}' mixes indices and UUIDs in one list: CUDA stops reading there").format(entry=entry.text)
    if not entry.text:
        return _("an empty entry names no GPU")
    return _("'{entry}' is neither a GPU index nor a GPU-/MIG- UUID").format(entry=entry.text)


def cuda_visible_devices(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.has_nvidia and not ctx.gpus_unknown:
        return  # the probes looked: no NVIDIA GPU here to hide
    gpus = list(ctx.nvidia_gpus)
    count = len(gpus)
    count_known = count > 0
    no_device = ctx.grep(NO_DEVICE)
    seen_values: set[str] = set()
    for a in assignments(ctx):
        if a.value in seen_values:
            continue
        seen_values.add(a.value)
        f = _judge(ctx, a, gpus, count_known, no_device)
        if f is not None:
            yield f


def _judge(ctx: Ctx, a: Assignment, gpus: list[Gpu], count_known: bool, no_device: list[str]) -> Finding | None:
    value = a.value
    if a.where != "environment" and not no_device and not any(
            fw is not None and fw.cuda_available is False for fw in (ctx.torch, ctx.tf)):
        return None  # an assignment in a text (a CPU-only run on purpose, a tutorial) matters only when CUDA then saw no GPU
    v = value.strip()
    count = len(gpus)
    unset = f"Remove-Item Env:{VAR}" if ctx.native_windows else f"unset {VAR}"
    ev = [f"{VAR}={a.raw}" if a.where == "environment" else a.where]
    if a.raw != value:
        ev.append(_("$0 expands to the name of the shell or script (e.g. bash), not a GPU index"))
    if a.unexpanded:
        names = join_list(f"${n}" for n in a.unexpanded)
        if not no_device:
            return None  # set by the user's script: its value is not in the evidence
        ev.append(_("{names} expands to an empty value when the variable is not set in that shell, which hides every GPU").format(
            names=names))
        ev.append(_("GPUs present: {count}").format(count=count) if count_known else ctx.not_known("gpus"))
        ev += no_device
        return finding(
            "cuda_visible_devices_hidden", "warning",
            _("{var} is set from {names}, and CUDA then found no GPU").format(var=VAR, names=names),
            evidence=ev,
            fix=_("Set the variable it uses first (e.g. export {name}=0) or write the GPU index directly ({var}=0), "
                  "then rerun.").format(name=a.unexpanded[0], var=VAR),
            why=_("An unset shell variable expands to nothing, and an empty {var} hides every GPU from CUDA.").format(var=VAR),
            variable=VAR, value=value,
        )
    if v.lower() == "all":
        return None
    if v == "" or v.lower() in ("none", "void", "nodevfiles"):
        vis = Visibility(value, stop=Entry(v, "invalid"))
    else:
        vis = parse(value, gpus, count_known=count_known)
    if count_known:
        ev.append(_("GPUs present: {count}").format(count=count))
    elif "gpus" in ctx.unknown:
        ev.append(ctx.not_known("gpus"))
    if vis.stop is not None and v:
        ev.append(_why_stop(vis.stop, count))
    if vis.ignored:
        ev.append(_("CUDA ignores what follows: {entries}").format(entries=", ".join(vis.ignored)))
    if vis.visible:
        ev.append(_("CUDA sees: {gpus}").format(gpus=join_list(_label(g) for g in vis.visible)))
    if vis.unverified:
        ev.append(_("CUDA sees {entries} if this machine has it (the snapshot cannot check)").format(
            entries=join_list(e.text for e in vis.entries if e.status in ("mig", "unverified"))))
    if not vis.count:
        ev.append(_("CUDA sees: no GPU"))
    seen = _seen_by_frameworks(ctx)
    if seen:
        ev.append(_("the framework sees: {devices}").format(devices=join_list(seen)))
    ev += no_device
    # Sure when a GPU is known or CUDA itself says it saw none; otherwise the GPU may not exist.
    sure = ctx.has_nvidia or bool(no_device)
    if vis.count == 0:
        stop = vis.stop.status if vis.stop is not None else "invalid"
        title = (_("{var} hides the GPUs from CUDA").format(var=VAR) if stop in ("invalid", "negative")
                 else _("{var}={value}: CUDA will see no GPU").format(var=VAR, value=value))
        if stop == "out_of_range":
            fix = _("Clear it ({unset}) or list valid indices 0 to {last}.").format(unset=unset, last=max(count - 1, 0))
        elif stop == "duplicate":
            fix = _("List each GPU once (e.g. {var}=0,1), or clear it ({unset}).").format(var=VAR, unset=unset)
        else:
            fix = _("Clear it for this shell ({unset}) and remove it from your shell profile or job script.").format(unset=unset)
        if a.where != "environment":
            fix = _("Change or remove the assignment shown in the evidence. {fix}").format(fix=fix)
        return finding("cuda_visible_devices_hidden", "error" if sure else "warning", title, evidence=ev, fix=fix,
                       why=_why(), variable=VAR, value=value, visible=[])
    indices = [e.text for e in vis.entries if e.status == "unverified" and not e.text.upper().startswith("GPU-")]
    if not count_known and no_device and indices:
        # CUDA found nothing although the list names GPUs: they are past the last GPU this machine has.
        last = max(_strtoul(t) or 0 for t in indices)
        return finding(
            "cuda_visible_devices_hidden", "warning",
            _("{var}={value} picks GPU {index}, and CUDA found no GPU: this machine likely has fewer GPUs").format(
                var=VAR, value=value, index=last),
            evidence=ev,
            fix=_("Use indices from 0 up to one less than the number of GPUs nvidia-smi lists (a one-GPU machine: {var}=0), "
                  "or clear it ({unset}).").format(var=VAR, unset=unset),
            why=_why(), variable=VAR, value=value,
        )
    hidden = [g for g in gpus if all(g is not s for s in vis.visible)] if count_known and not vis.unverified else []
    if not hidden and not vis.ignored:
        return None
    pick = next((g.uuid for g in hidden if g.uuid), None)
    if vis.ignored and vis.stop is not None:
        title = _("{var}={value}: CUDA stops at '{entry}' and ignores the rest").format(var=VAR, value=value, entry=vis.stop.text)
    else:
        title = _("{var} hides some GPUs: {names}").format(var=VAR, names=join_list(_label(g) for g in hidden))
    fix = _("To use every GPU, clear it ({unset}) and remove it from your shell profile or job script. To choose GPUs "
            "reliably, name them by UUID (e.g. {var}={uuid}) or set CUDA_DEVICE_ORDER=PCI_BUS_ID so that indices match "
            "nvidia-smi.").format(unset=unset, var=VAR, uuid=pick or "GPU-<uuid>")
    return finding("cuda_visible_devices_hidden", "warning", title, evidence=ev, fix=fix, why=_why(),
                   variable=VAR, value=value, visible=[g.index for g in vis.visible])


def _why() -> str:
    return _("CUDA reads the list up to the first entry that names no GPU and ignores the rest (a GPU listed twice leaves "
             "none); it numbers the GPUs it keeps in list order, fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID. An empty "
             "value or -1 means no GPU at all.")


