"""Pure comparison: results in, aligned cells, version marks and explained outliers out.

Like is only compared with like: a workload is (framework, model, pipeline, device kind, batch
size). For each machine the newest run that measured a workload supplies its cell. Outliers are
judged against peers with the same device model only (same GPU, or same CPU for CPU rows), or
against one baseline machine when one is named; a cell's relative number uses that same reference,
so the SLOW flag and the number always agree. Likely causes are read from the evidence the results
carry, never guessed.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from nktenv.compare.model import Result, Row, Sweep, Telemetry

DEFAULT_MARGIN = 0.15  # run-to-run jitter of one GPU reaches ~10 %; flag only what clearly exceeds it
THROTTLE_MIN = 0.05  # a throttle reason active under 5 % of the run does not explain a gap
THERMAL_REASONS = ("sw_thermal", "hw_thermal")
POWER_REASONS = ("sw_power_cap", "hw_power_brake")
VERSION_FIELDS = ("framework", "driver", "cuda")
# Row statuses that say nothing about the machine: not a measurement, never a failure.
NOT_MEASURED = ("skipped", "interrupted")


def _not_measured(row: Row) -> bool:
    """Skipped, interrupted, or failed only because the framework was absent (how earlier benches stored that)."""
    if row.status in NOT_MEASURED:
        return True
    return row.status == "failed" and (row.error or "") == f"ModuleNotFoundError: No module named '{row.framework}'"
MAX_PEERS_LISTED = 50  # a fleet of hundreds of one GPU model would repeat every name in every outlier


@dataclass(frozen=True)
class Workload:
    framework: str
    model: str
    pipeline: str
    device_kind: str
    batch_size: int | None

    @property
    def key(self) -> str:
        bs = "?" if self.batch_size is None else str(self.batch_size)
        return f"{self.framework}/{self.model}/{self.pipeline}/{self.device_kind}/bs{bs}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "framework": self.framework, "model": self.model, "pipeline": self.pipeline,
                "device_kind": self.device_kind, "batch_size": self.batch_size}


@dataclass(frozen=True)
class Cause:
    """One piece of evidence for why a machine is slow; `code` is stable, `data` the numbers."""

    code: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "data": dict(self.data)}


@dataclass(frozen=True)
class Outlier:
    machine: str
    device: str
    workload: Workload
    device_model: str
    value: float
    peer_median: float
    shortfall: float  # 0.3 = 30 % slower than the peers' median
    peers: tuple[str, ...]
    causes: tuple[Cause, ...]
    against: str = "peers"  # "peers" (same device model, itself left out) or "baseline"

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "device": self.device, "workload": self.workload.key,
                "device_model": self.device_model, "samples_per_s": self.value, "against": self.against,
                "peer_median": self.peer_median, "shortfall": round(self.shortfall, 4),
                "peer_count": len(self.peers), "peers": list(self.peers[:MAX_PEERS_LISTED]),
                "causes": [c.to_dict() for c in self.causes]}


@dataclass(frozen=True)
class Cell:
    """One machine's (device's) measurement of one workload, with what it is compared against."""

    machine: str
    device: str
    device_model: str | None
    workload: Workload
    result_id: str
    source: str
    created_at: str
    runs: int
    status: str
    error: str | None
    samples_per_s: float | None
    q1: float | None
    q3: float | None
    epoch_s: float | None
    speedup: float | None
    fraction_of_limit: float | None  # only where the device's limit was measured
    relative: float | None  # against the table's one reference: same-device peers, or the baseline
    noisy: bool
    threads: int | None
    versions: Mapping[str, str | None]
    version_differs: tuple[str, ...]
    outlier: bool

    @property
    def limit_unreliable(self) -> bool:
        """Above 100 % of the limit is impossible: the limit was measured under another load than the run."""
        return self.fraction_of_limit is not None and self.fraction_of_limit > 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "device": self.device, "device_model": self.device_model,
                "workload": self.workload.key, "result_id": self.result_id, "source": self.source,
                "created_at": self.created_at, "runs": self.runs, "status": self.status, "error": self.error,
                "samples_per_s": self.samples_per_s, "q1": self.q1, "q3": self.q3, "epoch_s": self.epoch_s,
                "speedup_vs_cpu": self.speedup, "fraction_of_limit": self.fraction_of_limit,
                "relative": None if self.relative is None else round(self.relative, 4),
                "limit_unreliable": self.limit_unreliable,
                "noisy": self.noisy, "threads": self.threads, "versions": dict(self.versions),
                "version_differs": list(self.version_differs), "outlier": self.outlier}


@dataclass(frozen=True)
class Machine:
    name: str
    fingerprint: str | None
    runs: int
    latest: str
    os: str | None
    cpu_model: str | None
    cpu_threads: int | None
    gpus: tuple[str, ...]
    software: Mapping[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "fingerprint": self.fingerprint, "runs": self.runs, "latest": self.latest,
                "os": self.os, "cpu_model": self.cpu_model, "cpu_threads": self.cpu_threads,
                "gpus": list(self.gpus), "software": dict(self.software)}


@dataclass(frozen=True)
class SweepSeries:
    """Batch-size curves of one (framework, model, pipeline, device kind), one line per machine."""

    framework: str
    model: str
    pipeline: str
    device_kind: str
    series: tuple[tuple[str, tuple[tuple[int, float], ...]], ...]

    @property
    def key(self) -> str:
        return f"{self.framework}/{self.model}/{self.pipeline}/{self.device_kind}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "series": [{"machine": m, "points": [{"batch_size": b, "samples_per_s": s}
                                                                       for b, s in pts]} for m, pts in self.series]}


@dataclass(frozen=True)
class MachineSummary:
    """One line per slow machine: its worst gap, the likely cause, and every workload it affects."""

    machine: str
    worst: Outlier
    outliers: tuple[Outlier, ...]  # worst first

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return tuple(o.workload for o in self.outliers)

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "shortfall": round(self.worst.shortfall, 4),
                "workload": self.worst.workload.key, "cause": self.worst.causes[0].to_dict(),
                "workloads": [w.key for w in self.workloads]}


def summarize_machines(outliers: Sequence[Outlier]) -> tuple[MachineSummary, ...]:
    by: dict[str, list[Outlier]] = defaultdict(list)
    for o in outliers:
        by[o.machine].append(o)
    out = [MachineSummary(m, sorted(os_, key=lambda o: -o.shortfall)[0], tuple(sorted(os_, key=lambda o: -o.shortfall)))
           for m, os_ in by.items()]
    return tuple(sorted(out, key=lambda s: (-s.worst.shortfall, s.machine)))


@dataclass(frozen=True)
class Comparison:
    machines: tuple[Machine, ...]
    workloads: tuple[Workload, ...]
    cells: tuple[Cell, ...]
    outliers: tuple[Outlier, ...]
    mixed_versions: Mapping[str, tuple[str, ...]]  # workload key -> version fields that differ across machines
    sweeps: tuple[SweepSeries, ...]
    baseline: str | None
    margin: float

    @property
    def summaries(self) -> tuple[MachineSummary, ...]:
        return summarize_machines(self.outliers)

    def cells_of(self, workload: Workload) -> list[Cell]:
        return [c for c in self.cells if c.workload == workload]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "reference": "baseline" if self.baseline else "same-device-peers",
            "margin": self.margin,
            "machine_summaries": [m.to_dict() for m in self.summaries],
            "machines": [m.to_dict() for m in self.machines],
            "workloads": [dict(w.to_dict(), mixed_versions=list(self.mixed_versions.get(w.key, ())))
                          for w in self.workloads],
            "cells": [c.to_dict() for c in self.cells],
            "outliers": [o.to_dict() for o in self.outliers],
            "sweeps": [s.to_dict() for s in self.sweeps],
        }


class UnknownBaseline(ValueError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = tuple(known)


# --------------------------------------------------------------------------------------------- helpers


def version_tuple(text: str | None) -> tuple[int, ...]:
    """'550.54.15' -> (550, 54, 15); '2.5.1+cu124' -> (2, 5, 1). Non-numeric parts end the tuple."""
    if not text:
        return ()
    out = []
    for part in re.split(r"[.+\-]", text):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


def _most_common(values: Sequence[Any]) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    counts = Counter(present)
    # ties go to the newest version so "differs" points at the machine that lags
    return max(counts, key=lambda v: (counts[v], version_tuple(str(v)), str(v)))


def _versions(result: Result, row: Row) -> dict[str, str | None]:
    sw = result.software
    gpu = row.device_kind == "gpu"
    return {"framework": sw.get(row.framework), "driver": sw.get("driver") if gpu else None,
            "cuda": sw.get("cuda") if gpu else None}


def _speedup(result: Result, row: Row) -> float | None:
    if row.device_kind != "gpu" or row.samples_per_s is None:
        return None
    recorded = result.speedups.get((row.framework, row.model, row.pipeline, row.device))
    if recorded is not None:
        return recorded
    for cpu in result.rows:
        if (cpu.device_kind == "cpu" and cpu.framework == row.framework and cpu.model == row.model
                and cpu.pipeline == row.pipeline and cpu.batch_size == row.batch_size and cpu.samples_per_s):
            return row.samples_per_s / cpu.samples_per_s
    return None


def _labels(results: Sequence[Result]) -> dict[str, str]:
    """Result id -> machine label; two machines sharing a host name are told apart by fingerprint."""
    prints: dict[str, set[str | None]] = defaultdict(set)
    for r in results:
        prints[r.machine].add(r.fingerprint)
    out = {}
    for r in results:
        clash = len(prints[r.machine]) > 1
        out[r.id] = f"{r.machine} [{(r.fingerprint or 'unknown')[:8]}]" if clash else r.machine
    return out


# --------------------------------------------------------------------------------------------- compare


def compare(results: Sequence[Result], *, baseline: str | None = None, margin: float = DEFAULT_MARGIN) -> Comparison:
    """Align results and find outliers.

    Raises:
        UnknownBaseline: `baseline` names no machine in the results.
    """
    labels = _labels(results)
    ordered = sorted(results, key=lambda r: (r.created_at, r.id))  # newest last
    by_machine: dict[str, list[Result]] = defaultdict(list)
    for r in ordered:
        by_machine[labels[r.id]].append(r)
    if baseline is not None and baseline not in by_machine:
        raise UnknownBaseline(baseline, sorted(by_machine))

    # Newest row per (machine, device, workload); count how many runs measured it.
    picked: dict[tuple[str, str, Workload], tuple[Result, Row]] = {}
    runs: Counter[tuple[str, str, Workload]] = Counter()
    for r in ordered:
        for row in r.rows:
            key = (labels[r.id], row.device, Workload(*row.workload))
            if _not_measured(row):
                # "not measured this time" (--quick, Ctrl-C) must not hide an earlier measurement
                picked.setdefault(key, (r, row))
                continue
            if key in picked and _not_measured(picked[key][1]):
                del picked[key]
            picked[key] = (r, row)
            runs[key] += 1
    # A workload nobody measured (skipped or interrupted everywhere) is not a comparison.
    measured = {w for (_m, _d, w), (_r, row) in picked.items() if not _not_measured(row)}
    picked = {k: v for k, v in picked.items() if k[2] in measured}

    # A device column only when a machine measured one workload on several devices of its kind.
    multi = Counter((m, w) for (m, _d, w) in picked)

    workloads = sorted({w for (_m, _d, w) in picked},
                       key=lambda w: (w.framework, w.model, w.device_kind != "cpu", w.pipeline, w.batch_size or 0))
    raw_cells: dict[Workload, list[tuple[str, str, Result, Row]]] = defaultdict(list)
    for (machine, device, w), (r, row) in sorted(picked.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        label = machine if multi[(machine, w)] == 1 else f"{machine} {device}"
        raw_cells[w].append((label, device, r, row))

    cells: list[Cell] = []
    outliers: list[Outlier] = []
    mixed: dict[str, tuple[str, ...]] = {}
    for w in workloads:
        entries = raw_cells[w]
        versions = [(_versions(r, row)) for (_l, _d, r, row) in entries]
        base = next((i for i, (label, _d, r, _row) in enumerate(entries)
                     if baseline is not None and labels[r.id] == baseline), None)
        ref_versions = versions[base] if base is not None else {
            f: _most_common([v[f] for v in versions]) for f in VERSION_FIELDS}
        varying = tuple(f for f in VERSION_FIELDS if len({v[f] for v in versions if v[f] is not None}) > 1)
        if varying:
            mixed[w.key] = varying
        # One reference per table, the same one the SLOW flag uses, so the flag and the number agree.
        if baseline is not None:
            found_list, references = _baseline_outliers(w, entries, base, margin)
        else:
            found_list, references = _outliers(w, entries, margin)
        found = {o.machine: o for o in found_list}
        outliers.extend(found[k] for k in sorted(found, key=lambda m: -found[m].shortfall))
        for (label, device, r, row), ver in zip(entries, versions):
            differs = tuple(f for f in VERSION_FIELDS
                            if ver[f] is not None and ref_versions[f] is not None and ver[f] != ref_versions[f])
            cells.append(Cell(
                machine=label, device=device, device_model=_device_model(r, row), workload=w,
                result_id=r.id, source=r.source, created_at=r.created_at,
                runs=runs[(labels[r.id], device, w)], status=row.status, error=row.error,
                samples_per_s=row.samples_per_s, q1=row.q1, q3=row.q3, epoch_s=row.epoch_s,
                speedup=_speedup(r, row), fraction_of_limit=row.fraction_of_limit if row.limit_measured else None,
                relative=(row.samples_per_s / references[label]) if row.samples_per_s and references.get(label) else None,
                noisy=row.noisy, threads=row.threads if row.threads is not None else r.cpu_threads,
                versions=ver, version_differs=differs, outlier=label in found,
            ))

    machines = []
    for name, rs in sorted(by_machine.items()):
        latest = rs[-1]
        gpus = sorted({row.device_name for r in rs for row in r.rows if row.device_kind == "gpu" and row.device_name})
        machines.append(Machine(name=name, fingerprint=latest.fingerprint, runs=len(rs), latest=latest.created_at,
                                os=latest.os_system, cpu_model=latest.cpu_model, cpu_threads=latest.cpu_threads,
                                gpus=tuple(gpus), software=latest.software))
    return Comparison(machines=tuple(machines), workloads=tuple(workloads), cells=tuple(cells),
                      outliers=tuple(outliers), mixed_versions=mixed, sweeps=_sweeps(by_machine),
                      baseline=baseline, margin=margin)


def _device_model(result: Result, row: Row) -> str | None:
    return row.device_name if row.device_kind == "gpu" else (result.cpu_model or row.device_name)


def _sweeps(by_machine: Mapping[str, list[Result]]) -> tuple[SweepSeries, ...]:
    curves: dict[tuple[str, str, str, str], dict[str, tuple[tuple[int, float], ...]]] = defaultdict(dict)
    for machine, rs in by_machine.items():
        for r in rs:  # oldest first, so the newest run's curve wins
            for s in r.sweeps:
                curves[(s.framework, s.model, s.pipeline, _kind(s))][machine] = s.points
    return tuple(SweepSeries(*key, series=tuple(sorted(lines.items()))) for key, lines in sorted(curves.items()))


def _kind(sweep: Sweep) -> str:
    return "cpu" if sweep.device == "cpu" else "gpu"


# --------------------------------------------------------------------------------------------- outliers


class _Pool:
    """One kind of evidence across a group, answering "the median (max) of everyone but me" in O(log n).

    Outliers are judged against their peers, i.e. the group without the machine itself; a pool
    is built once per group so a fleet of hundreds of same-model GPUs stays fast.
    """

    def __init__(self, values: Sequence[float | None]) -> None:
        self.values = sorted(v for v in values if v is not None)

    def _without(self, own: float | None) -> tuple[list[float], int | None]:
        if own is None:
            return self.values, None
        return self.values, bisect_left(self.values, own)

    def median_without(self, own: float | None) -> float | None:
        values, skip = self._without(own)
        n = len(values) - (skip is not None)
        if n <= 0:
            return None

        def at(k: int) -> float:
            return values[k] if skip is None or k < skip else values[k + 1]

        return float(at(n // 2)) if n % 2 else (at(n // 2 - 1) + at(n // 2)) / 2

    def max_without(self, own: float | None) -> float | None:
        values, skip = self._without(own)
        if len(values) - (skip is not None) <= 0:
            return None
        return values[-2] if skip is not None and values[-1] == own else values[-1]

    def count_without(self, own: float | None) -> int:
        return len(self.values) - (own is not None)


class _Votes:
    """Counts of one version field across a group; the most common among the peers."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.counts = Counter(v for v in values if v is not None)

    def most_common_without(self, own: Any) -> Any:
        counts = self.counts.copy()
        if own is not None:
            counts[own] -= 1
        present = [v for v, n in counts.items() if n > 0]
        if not present:
            return None
        # ties go to the newest version so "differs" points at the machine that lags
        return max(present, key=lambda v: (counts[v], version_tuple(str(v)), str(v)))


_THROTTLE_KEYS = THERMAL_REASONS + POWER_REASONS + ("hw_slowdown",)


def _threads(result: Result, row: Row) -> int | None:
    return row.threads if row.threads is not None else result.cpu_threads


class _Group:
    """Everything `explain` compares, gathered once for the machines sharing one device model."""

    def __init__(self, members: Sequence[tuple[Result, Row]]) -> None:
        tels = [row.telemetry for _r, row in members]
        with_tel = [t for t in tels if t is not None]
        self.telemetry = _Pool([1.0 for _t in with_tel])
        self.throttle = {k: _Pool([t.throttle.get(k, 0.0) for t in with_tel]) for k in _THROTTLE_KEYS}
        self.power_limit = _Pool([t.power_limit_w for t in with_tel])
        self.clock = _Pool([t.sm_clock_mhz for t in with_tel])
        self.temp = _Pool([_temp(t) for t in with_tel])
        self.width = _Pool([t.pcie_width for t in with_tel])
        self.gen = _Pool([t.pcie_gen for t in with_tel])
        self.threads = _Pool([_threads(r, row) for r, row in members])
        self.cpu = _Votes([r.cpu_model for r, _row in members])
        versions = [_versions(r, row) for r, row in members]
        self.versions = {f: _Votes([v[f] for v in versions]) for f in VERSION_FIELDS}


def _temp(t: Telemetry) -> float | None:
    return t.temperature_max_c if t.temperature_max_c is not None else t.temperature_c


def _loo_medians(values: Sequence[float]) -> list[float | None]:
    pool = _Pool(values)
    return [pool.median_without(v) for v in values]


Entry = tuple[str, str, Result, Row]


def _baseline_outliers(w: Workload, entries: Sequence[Entry], base: int | None,
                       margin: float) -> tuple[list[Outlier], dict[str, float | None]]:
    """Against one machine: every cell is judged by its ratio to the baseline's cell, whatever its device."""
    if base is None or not entries[base][3].samples_per_s:
        return [], {}
    b_label, _b_dev, b_result, b_row = entries[base]
    ref = b_row.samples_per_s
    found = []
    for label, device, r, row in entries:
        if not row.samples_per_s or label == b_label:
            continue
        shortfall = 1.0 - row.samples_per_s / ref  # type: ignore[operator]
        if shortfall > margin:
            found.append(Outlier(
                machine=label, device=device, workload=w, device_model=_device_model(r, row) or device,
                value=row.samples_per_s, peer_median=ref, shortfall=shortfall, peers=(b_label,),  # type: ignore[arg-type]
                causes=tuple(explain(r, row, _Group([(b_result, b_row), (r, row)]))), against="baseline"))
    return found, {e[0]: ref for e in entries}


def _outliers(w: Workload, entries: Sequence[Entry], margin: float) -> tuple[list[Outlier], dict[str, float | None]]:
    """Against the same-device peers; also returns each cell's reference (None without a peer)."""
    references: dict[str, float | None] = {}
    groups: dict[str, list[tuple[str, str, Result, Row]]] = defaultdict(list)
    for e in entries:
        model = _device_model(e[2], e[3])
        if model and e[3].samples_per_s:
            groups[model].append(e)
    found = []
    for model, group in groups.items():
        if len(group) < 2:
            continue
        values = [e[3].samples_per_s or 0.0 for e in group]
        evidence: _Group | None = None
        # The median of the *other* machines: with twins, including itself would halve the gap.
        for i, peer_median in enumerate(_loo_medians(values)):
            label, device, r, row = group[i]
            references[label] = peer_median
            if not peer_median:
                continue
            shortfall = 1.0 - values[i] / peer_median
            if shortfall > margin:
                evidence = evidence or _Group([(e[2], e[3]) for e in group])
                found.append(Outlier(
                    machine=label, device=device, workload=w, device_model=model, value=values[i],
                    peer_median=peer_median, shortfall=shortfall,
                    peers=tuple(e[0] for j, e in enumerate(group) if j != i),
                    causes=tuple(explain(r, row, evidence)),
                ))
    return found, references


def explain(result: Result, row: Row, group: _Group) -> list[Cause]:
    """Name the likely causes of a slow cell from its evidence against its peers', strongest first.

    `group` holds the evidence of all machines with the same device model, this one included.
    """
    causes: list[Cause] = []
    tel = row.telemetry

    if tel is not None:
        for reasons, code in ((THERMAL_REASONS, "thermal-throttle"), (POWER_REASONS, "power-throttle"),
                              (("hw_slowdown",), "hw-slowdown")):
            for reason in reasons:
                share = tel.throttle.get(reason, 0.0)
                peer_share = group.throttle[reason].max_without(share) or 0.0
                if share >= THROTTLE_MIN and share > peer_share + THROTTLE_MIN:
                    causes.append(Cause(code, {"reason": reason, "share": round(share, 3),
                                               "peer_share": round(peer_share, 3)}))
        peer_limit = group.power_limit.median_without(tel.power_limit_w)
        if tel.power_limit_w is not None and peer_limit and tel.power_limit_w < 0.95 * peer_limit:
            causes.append(Cause("power-limit", {"watts": tel.power_limit_w, "peer_watts": peer_limit}))
        peer_clock = group.clock.median_without(tel.sm_clock_mhz)
        if tel.sm_clock_mhz is not None and peer_clock and tel.sm_clock_mhz < 0.9 * peer_clock:
            causes.append(Cause("low-clocks", {"mhz": tel.sm_clock_mhz, "peer_mhz": peer_clock}))
        temp = _temp(tel)
        peer_temp = group.temp.median_without(temp)
        if temp is not None and (temp >= 85 or (peer_temp is not None and temp >= peer_temp + 10)):
            causes.append(Cause("hot", {"celsius": temp, "peer_celsius": peer_temp}))
        peer_width = group.width.median_without(tel.pcie_width)
        peer_gen = group.gen.median_without(tel.pcie_gen)
        narrow = tel.pcie_width is not None and peer_width is not None and tel.pcie_width < peer_width
        slow = tel.pcie_gen is not None and peer_gen is not None and tel.pcie_gen < peer_gen
        if group.telemetry.count_without(1.0) == 0 and tel.pcie_width is not None and tel.pcie_width_max is not None:
            narrow = tel.pcie_width < tel.pcie_width_max  # no peer to compare with: judge against the card itself
        if narrow or slow:
            causes.append(Cause("pcie-link", {
                "gen": tel.pcie_gen, "width": tel.pcie_width, "gen_max": tel.pcie_gen_max,
                "width_max": tel.pcie_width_max,
                "peer_gen": None if peer_gen is None else int(peer_gen),
                "peer_width": None if peer_width is None else int(peer_width)}))

    # Eager runs at small batches are bound by the host (dispatch on the CPU), and CPU rows are the host.
    if row.device_kind == "cpu" or row.pipeline != "compiled":
        threads = _threads(result, row)
        peer_threads = group.threads.median_without(threads)
        if threads is not None and peer_threads is not None and threads < peer_threads:
            causes.append(Cause("cpu-threads", {"threads": threads, "peer_threads": int(peer_threads)}))
        if row.device_kind == "gpu":
            peer_cpu = group.cpu.most_common_without(result.cpu_model)
            if result.cpu_model and peer_cpu and result.cpu_model != peer_cpu:
                causes.append(Cause("cpu-model", {"cpu": result.cpu_model, "peer_cpu": peer_cpu}))

    mine = _versions(result, row)
    for f, code in (("driver", "driver-version"), ("framework", "framework-version"), ("cuda", "cuda-version")):
        peer_v = group.versions[f].most_common_without(mine[f])
        if mine[f] is not None and peer_v is not None and mine[f] != peer_v:
            older = version_tuple(mine[f]) < version_tuple(peer_v)
            causes.append(Cause(code, {"version": mine[f], "peer_version": peer_v, "older": older,
                                       "framework": row.framework}))
    if row.noisy:
        causes.append(Cause("noisy", {}))
    if not causes:
        causes.append(Cause("unexplained", {}))
    return causes
