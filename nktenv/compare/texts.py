"""People's sentences for notes, causes and outliers (whole sentences, named placeholders).

JSON carries the codes and numbers; these functions turn them into text at render time, in the
current language, for the terminal and the HTML report alike.
"""

from __future__ import annotations

from typing import Any

from nktenv.compare.analyze import Cause, MachineSummary, Outlier, Workload
from nktenv.compare.history import Change, Drop
from nktenv.compare.io import Note
from nktenv.i18n import _
from nktenv.wording import join_list


def pct(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def workload_label(w: Workload) -> str:
    bs = "?" if w.batch_size is None else str(w.batch_size)
    return _("{framework} {model}, {pipeline} pipeline, {device_kind}, batch {batch}").format(
        framework=w.framework, model=w.model.upper(), pipeline=w.pipeline, device_kind=w.device_kind.upper(), batch=bs)


def short_workload(w: Workload) -> str:
    """A workload in a list ("torch CNN resident GPU, batch 100")."""
    bs = "?" if w.batch_size is None else str(w.batch_size)
    return _("{framework} {model} {pipeline} {device_kind}, batch {batch}").format(
        framework=w.framework, model=w.model.upper(), pipeline=w.pipeline, device_kind=w.device_kind.upper(), batch=bs)


def reference_header(baseline: str | None) -> str:
    """The one reference a table's relative numbers and its SLOW flags use, as the column names it."""
    return _("vs {machine}").format(machine=baseline) if baseline else _("vs peers")


def reference_text(baseline: str | None, margin: float) -> str:
    """What the relative column and the SLOW flag mean, said once."""
    if baseline:
        return _("Relative: against {machine} on the same workload; SLOW: more than {margin} below it.").format(
            machine=baseline, margin=pct(margin))
    return _("Relative: against the median of the other machines with the same device (GPU, or CPU model) on the same workload; SLOW: more than {margin} below it; - where no other machine has that device.").format(
        margin=pct(margin))


def limit_text(fraction: float | None) -> str:
    """Share of the measured limit; "-" where none was measured; above 100 % is impossible, so said to be unreliable."""
    if fraction is None:
        return "-"
    if fraction > 1.0:
        return _("{percent} (unreliable)").format(percent=pct(fraction))
    return "<1%" if fraction < 0.01 else pct(fraction)


def status_text(status: str) -> str:
    """A row's status code (failed, skipped, interrupted) as people read it; unknown codes as they are."""
    labels = {"failed": _("failed"), "skipped": _("skipped"), "interrupted": _("interrupted"), "noisy": _("noisy")}
    return labels.get(status, status)


def version_fields_text(fields: Any) -> str:
    """The version fields that differ ("framework", "driver", "cuda") as a list people read."""
    labels = {"framework": _("framework"), "driver": _("driver"), "cuda": "CUDA"}
    return join_list(labels.get(f, f) for f in fields)


def note_text(note: Note) -> str:
    """One line saying which input was skipped and why."""
    templates = {
        "unrelated": _("{source}: skipped, not a result file"),
        "in-progress": _("{source}: skipped, a result still being written"),
        "empty": _("{source}: skipped, the file is empty"),
        "truncated": _("{source}: skipped, the file is truncated ({detail})"),
        "not-json": _("{source}: skipped, not valid JSON ({detail})"),
        "not-utf8": _("{source}: skipped, not UTF-8 text"),
        "not-a-result": _("{source}: skipped, not a benchmark result (schema: {detail})"),
        "unknown-schema": _("{source}: skipped, unknown result version {detail}; a newer nktenv can read it"),
        "no-machine": _("{source}: skipped, the result names no machine"),
        "no-rows": _("{source}: skipped, the result holds no usable measurements"),
        "duplicate": _("{source}: skipped, the same run as {detail}"),
        "too-large": _("{source}: skipped, too large for a result file ({detail})"),
        "unreadable": _("{source}: skipped, cannot be read ({detail})"),
        "store-unreadable": _("{source}: skipped, not a readable SQLite store ({detail})"),
        "not-a-store": _("{source}: skipped, not a SQLite store ({detail})"),
    }
    template = templates.get(note.code, _("{source}: skipped ({detail})"))
    return template.format(source=note.source, detail=note.detail or note.code)


def _v(value: Any) -> str:
    return "?" if value is None else str(value)


def cause_text(cause: Cause) -> str:
    """One sentence naming a likely cause with its evidence."""
    d = dict(cause.data)
    if cause.code == "thermal-throttle":
        return _("thermal throttling: {reason} was active {share} of the run (peers: {peer_share})").format(
            reason=d["reason"], share=pct(d["share"]), peer_share=pct(d["peer_share"]))
    if cause.code == "power-throttle":
        return _("power throttling: {reason} was active {share} of the run (peers: {peer_share})").format(
            reason=d["reason"], share=pct(d["share"]), peer_share=pct(d["peer_share"]))
    if cause.code == "hw-slowdown":
        return _("hardware slowdown was active {share} of the run (peers: {peer_share}); check power cables and cooling").format(
            share=pct(d["share"]), peer_share=pct(d["peer_share"]))
    if cause.code == "power-limit":
        return _("power limit {watts:.0f} W, below the peers' {peer_watts:.0f} W").format(**d)
    if cause.code == "low-clocks":
        return _("SM clock {mhz:.0f} MHz under load, below the peers' {peer_mhz:.0f} MHz").format(**d)
    if cause.code == "hot":
        return _("GPU reached {celsius:.0f} °C (peers: {peer_celsius})").format(
            celsius=d["celsius"], peer_celsius=_v(None if d["peer_celsius"] is None else f"{d['peer_celsius']:.0f} °C"))
    if cause.code == "pcie-link":
        return _("PCIe link under load is Gen{gen} x{width} (card supports Gen{gen_max} x{width_max}; peers run Gen{peer_gen} x{peer_width})").format(
            gen=_v(d["gen"]), width=_v(d["width"]), gen_max=_v(d["gen_max"]), width_max=_v(d["width_max"]),
            peer_gen=_v(d["peer_gen"]), peer_width=_v(d["peer_width"]))
    if cause.code == "cpu-threads":
        return _("fewer CPU threads for a host-bound run: {threads} (peers: {peer_threads})").format(**d)
    if cause.code == "cpu-model":
        return _("a different host CPU for a host-bound run: {cpu} (peers: {peer_cpu})").format(**d)
    if cause.code == "driver-version":
        template = _("older NVIDIA driver {version} (peers: {peer_version})") if d["older"] else _(
            "different NVIDIA driver {version} (peers: {peer_version})")
        return template.format(version=d["version"], peer_version=d["peer_version"])
    if cause.code == "framework-version":
        template = _("older {framework} {version} (peers: {peer_version})") if d["older"] else _(
            "different {framework} {version} (peers: {peer_version})")
        return template.format(framework=d["framework"], version=d["version"], peer_version=d["peer_version"])
    if cause.code == "cuda-version":
        return _("different CUDA {version} (peers: {peer_version})").format(version=d["version"], peer_version=d["peer_version"])
    if cause.code == "noisy":
        return _("the measurement itself was noisy; run the benchmark again")
    return _("no cause found in the recorded evidence (telemetry, versions, threads all match the peers)")


def outlier_text(o: Outlier) -> str:
    """One sentence: who is slow, by how much, against whom, and the likely cause."""
    if o.against == "baseline":
        return _("{machine} is {shortfall} slower than {baseline} on {workload}; likely cause: {cause}").format(
            machine=o.machine, shortfall=pct(o.shortfall), baseline=o.peers[0], workload=workload_label(o.workload),
            cause=cause_text(o.causes[0]))
    return _("{machine} is {shortfall} slower than the median of {count} other machine(s) with {device_model} on {workload}; likely cause: {cause}").format(
        machine=o.machine, shortfall=pct(o.shortfall), count=len(o.peers), device_model=o.device_model,
        workload=workload_label(o.workload), cause=cause_text(o.causes[0]))


def summary_text(s: MachineSummary) -> str:
    """One line per slow machine: its worst gap, the likely cause, and every workload it affects."""
    o = s.worst
    workloads = join_list(short_workload(w) for w in s.workloads)
    if o.against == "baseline":
        return _("{machine}: up to {shortfall} slower than {baseline} ({workload}); likely cause: {cause}; affects {count} workload(s): {workloads}").format(
            machine=s.machine, shortfall=pct(o.shortfall), baseline=o.peers[0], workload=short_workload(o.workload),
            cause=cause_text(o.causes[0]), count=len(s.workloads), workloads=workloads)
    return _("{machine}: up to {shortfall} slower than its peers with {device_model} ({workload}); likely cause: {cause}; affects {count} workload(s): {workloads}").format(
        machine=s.machine, shortfall=pct(o.shortfall), device_model=o.device_model, workload=short_workload(o.workload),
        cause=cause_text(o.causes[0]), count=len(s.workloads), workloads=workloads)


def detail_text(o: Outlier, *, same_cause: bool = False) -> str:
    """One affected workload under its machine's summary line; its cause only where it is another one."""
    if same_cause:
        if o.against == "baseline":
            return _("{workload}: {shortfall} slower ({value} against {reference} samples/s of {baseline})").format(
                workload=short_workload(o.workload), shortfall=pct(o.shortfall), value=_n(o.value),
                reference=_n(o.peer_median), baseline=o.peers[0])
        return _("{workload}: {shortfall} slower ({value} against the median {reference} samples/s of {count} peer(s))").format(
            workload=short_workload(o.workload), shortfall=pct(o.shortfall), value=_n(o.value), reference=_n(o.peer_median),
            count=len(o.peers))
    if o.against == "baseline":
        return _("{workload}: {shortfall} slower ({value} against {reference} samples/s of {baseline}); likely cause: {cause}").format(
            workload=short_workload(o.workload), shortfall=pct(o.shortfall), value=_n(o.value), reference=_n(o.peer_median),
            baseline=o.peers[0], cause=cause_text(o.causes[0]))
    return _("{workload}: {shortfall} slower ({value} against the median {reference} samples/s of {count} peer(s)); likely cause: {cause}").format(
        workload=short_workload(o.workload), shortfall=pct(o.shortfall), value=_n(o.value), reference=_n(o.peer_median),
        count=len(o.peers), cause=cause_text(o.causes[0]))


def _n(value: float) -> str:
    from nktenv.compare.render import fmt

    return fmt(value)


def signed_pct(ratio: float) -> str:
    """0.82 -> "-18%", 1.05 -> "+5%"."""
    return f"{(ratio - 1.0) * 100:+.0f}%"


def _throttle(reasons: Any) -> str:
    return join_list(f"{k} {pct(v)}" for k, v in dict(reasons).items()) or _("none")


def change_text(c: Change) -> str:
    """One recorded difference between two runs ("driver 550.54 -> 560.35")."""
    if c.code == "driver":
        return _("driver {before} -> {after}").format(before=c.before, after=c.after)
    if c.code == "framework":
        return f"{c.framework} {c.before} -> {c.after}"
    if c.code == "cuda":
        return f"CUDA {c.before} -> {c.after}"
    if c.code == "sm-clock":
        return _("SM clock under load {before:.0f} -> {after:.0f} MHz").format(before=c.before, after=c.after)
    if c.code == "throttle":
        return _("throttle reasons {before} -> {after}").format(before=_throttle(c.before), after=_throttle(c.after))
    if c.code == "pcie-link":
        return _("PCIe link {before} -> {after}").format(before=c.before, after=c.after)
    if c.code == "cpu-threads":
        return _("CPU threads {before} -> {after}").format(before=c.before, after=c.after)
    return f"{c.code} {c.before} -> {c.after}"


def drop_text(d: Drop) -> str:
    """The sentence a lab needs: who, which workload, how much, since when, and what changed since."""
    if d.changes:
        return _("{machine} {workload}: {change} since {date}; changed since: {changes}").format(
            machine=d.machine, workload=short_workload(d.workload), change=signed_pct(d.ratio), date=d.since.created_at[:10],
            changes=join_list(change_text(c) for c in d.changes))
    return _("{machine} {workload}: {change} since {date}; nothing the results record changed (versions, clocks, throttling, PCIe link, threads)").format(
        machine=d.machine, workload=short_workload(d.workload), change=signed_pct(d.ratio), date=d.since.created_at[:10])


def bench_history_line(drops: Any) -> str:
    """One line after a bench run that is out of line with this machine's own history."""
    worst = drops[0]
    if len(drops) == 1:
        return _("Slower than this machine's own history: {sentence}").format(sentence=drop_text(worst))
    return _("Slower than this machine's own history on {count} workloads; the largest drop: {sentence}").format(
        count=len(drops), sentence=drop_text(worst))
