"""Each machine against its own past: throughput over time per workload, and drops beyond noise.

A run is judged against the runs of the same machine, device and workload before it (at least
`MIN_REFERENCE`, up to `WINDOW`, since the last drop): the ratio of its median block throughput to theirs, with the same
seeded percentile bootstrap as a bench verdict (nktenv.bench.stats.bootstrap_ratio). It is a drop
when the whole 95 % interval lies below 1 and the run is also slower than any of those earlier
runs were against their own median (run-to-run jitter is noise, not a drop). A noisy run is shown
but never judged. A changed batch size is another workload, so it never reads as a drop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median
from typing import Any, Mapping, Sequence

from nktenv.bench.stats import bootstrap_ratio
from nktenv.compare.analyze import THROTTLE_MIN, Workload, _labels, _not_measured, _versions
from nktenv.compare.model import Result, Row

WINDOW = 5  # earlier runs a run is judged against: enough to see their jitter, recent enough to matter
MIN_REFERENCE = 2  # with one earlier run there is no run-to-run jitter to tell a drop from
CLOCK_CHANGE = 0.05  # an SM clock under load that moved less than this is the same clock
_THROTTLE = ("sw_thermal", "hw_thermal", "sw_power_cap", "hw_power_brake", "hw_slowdown")


@dataclass(frozen=True)
class Point:
    """One run's measurement of one workload on one device."""

    result_id: str
    created_at: str
    samples_per_s: float
    noisy: bool
    blocks: tuple[float, ...]
    evidence: Mapping[str, Any]  # what may explain a change: versions, clock, throttling, PCIe, threads

    def to_dict(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "created_at": self.created_at, "samples_per_s": self.samples_per_s,
                "noisy": self.noisy, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class Change:
    code: str  # driver, framework, cuda, sm-clock, throttle, pcie-link, cpu-threads
    before: Any
    after: Any
    framework: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Drop:
    machine: str
    device: str
    workload: Workload
    since: Point  # the last run at the old level
    at: Point  # the first run below it
    ratio: float
    ci_low: float
    ci_high: float
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "device": self.device, "workload": self.workload.key,
                "since": self.since.created_at, "since_result": self.since.result_id, "at": self.at.created_at,
                "result_id": self.at.result_id, "change": round(self.ratio - 1.0, 4), "ratio": round(self.ratio, 4),
                "ci_low": round(self.ci_low, 4), "ci_high": round(self.ci_high, 4),
                "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class Series:
    machine: str
    device: str
    workload: Workload
    points: tuple[Point, ...]  # oldest first
    drops: tuple[Drop, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "device": self.device, "workload": self.workload.key,
                "points": [p.to_dict() for p in self.points], "drops": [d.to_dict() for d in self.drops]}


@dataclass(frozen=True)
class History:
    series: tuple[Series, ...]

    @property
    def drops(self) -> tuple[Drop, ...]:
        return tuple(sorted((d for s in self.series for d in s.drops), key=lambda d: (d.ratio, d.machine)))

    @property
    def machines(self) -> tuple[str, ...]:
        return tuple(sorted({s.machine for s in self.series}))

    def to_dict(self) -> dict[str, Any]:
        return {"machines": list(self.machines), "series": [s.to_dict() for s in self.series],
                "drops": [d.to_dict() for d in self.drops]}


class UnknownMachine(ValueError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = tuple(known)


def _evidence(result: Result, row: Row) -> dict[str, Any]:
    v = _versions(result, row)
    tel = row.telemetry
    out: dict[str, Any] = {"framework": v["framework"], "driver": v["driver"], "cuda": v["cuda"],
                           "threads": row.threads if row.threads is not None else result.cpu_threads}
    if tel is not None:
        out["sm_clock_mhz"] = tel.sm_clock_mhz
        out["throttle"] = {k: round(s, 3) for k, s in sorted(tel.throttle.items()) if k in _THROTTLE and s >= THROTTLE_MIN}
        out["pcie"] = None if tel.pcie_gen is None and tel.pcie_width is None else f"Gen{tel.pcie_gen or '?'} x{tel.pcie_width or '?'}"
    return out


def _blocks(row: Row) -> tuple[float, ...]:
    if len(row.blocks) >= 2:
        return row.blocks
    # results without blocks: their quartiles stand in (a coarser bootstrap, never a finer one)
    five = tuple(x for x in (row.q1, row.samples_per_s, row.q3) if x)
    return five or ((row.samples_per_s,) if row.samples_per_s else ())


def changes_between(before: Point, after: Point, framework: str) -> tuple[Change, ...]:
    """What the results recorded as different between two runs, in the order people look for it."""
    a, b = before.evidence, after.evidence
    out = [Change(f, a.get(f), b.get(f), framework) for f in ("driver", "framework", "cuda")
           if a.get(f) and b.get(f) and a.get(f) != b.get(f)]
    ca, cb = a.get("sm_clock_mhz"), b.get("sm_clock_mhz")
    if ca and cb and abs(cb - ca) / ca >= CLOCK_CHANGE:
        out.append(Change("sm-clock", ca, cb))
    if "throttle" in a and "throttle" in b and set(a["throttle"]) != set(b["throttle"]):
        out.append(Change("throttle", dict(a["throttle"]), dict(b["throttle"])))
    if a.get("pcie") and b.get("pcie") and a["pcie"] != b["pcie"]:
        out.append(Change("pcie-link", a["pcie"], b["pcie"]))
    if a.get("threads") and b.get("threads") and a["threads"] != b["threads"]:
        out.append(Change("cpu-threads", a["threads"], b["threads"]))
    return tuple(out)


def _judge(machine: str, device: str, w: Workload, points: Sequence[Point]) -> tuple[Drop, ...]:
    drops: list[Drop] = []
    level_start = 0
    for i, cur in enumerate(points):
        ref = [p for p in points[level_start:i] if not p.noisy][-WINDOW:]
        if cur.noisy or len(ref) < MIN_REFERENCE:
            continue
        pooled = [b for p in ref for b in p.blocks]
        ref_median = median(p.samples_per_s for p in ref)
        jitter_floor = min(p.samples_per_s for p in ref) / ref_median  # the slowest earlier run, as a share
        if median(cur.blocks) / median(pooled) >= jitter_floor:
            continue  # within the earlier runs' own spread: no bootstrap needed to say "not a drop"
        ci = bootstrap_ratio(list(cur.blocks), pooled, seed=0)
        if ci.high < 1.0 and ci.ratio < jitter_floor:
            since = ref[-1]
            drops.append(Drop(machine, device, w, since, cur, ci.ratio, ci.low, ci.high,
                              changes_between(since, cur, w.framework)))
            level_start = i  # the new level is what later runs are held against
    return tuple(drops)


def history(results: Sequence[Result], machine: str | None = None) -> History:
    """Every machine's (or one machine's) runs, per device and workload, oldest first, with their drops.

    Raises:
        UnknownMachine: `machine` names no machine in the results.
    """
    labels = _labels(results)
    if machine is not None and machine not in set(labels.values()):
        raise UnknownMachine(machine, sorted(set(labels.values())))
    series: dict[tuple[str, str, Workload], list[Point]] = defaultdict(list)
    for r in sorted(results, key=lambda r: (r.created_at, r.id)):
        label = labels[r.id]
        if machine is not None and label != machine:
            continue
        for row in r.rows:
            if _not_measured(row) or row.status != "ok" or not row.samples_per_s:
                continue
            blocks = _blocks(row)
            if not blocks:
                continue
            series[(label, row.device, Workload(*row.workload))].append(Point(
                result_id=r.id, created_at=r.created_at, samples_per_s=row.samples_per_s, noisy=row.noisy,
                blocks=blocks, evidence=_evidence(r, row)))
    out = [Series(m, d, w, tuple(pts), _judge(m, d, w, pts))
           for (m, d, w), pts in sorted(series.items(), key=lambda kv: (kv[0][0], kv[0][2].key, kv[0][1]))]
    return History(tuple(out))


def latest_drops(documents: Sequence[Mapping[str, Any]], run_id: str) -> tuple[Drop, ...]:
    """The drops the run `run_id` shows against the earlier runs of the same machine in `documents`."""
    results = []
    for i, doc in enumerate(documents):
        try:
            results.append(Result.from_dict(doc, f"store#{i}"))
        except ValueError:
            continue  # an unreadable stored run is not this run's history
    mine = next((r for r in results if r.id == run_id), None)
    if mine is None:
        return ()
    same = [r for r in results if r.machine == mine.machine and r.fingerprint == mine.fingerprint]
    return tuple(d for d in history(same).drops if d.at.result_id == run_id)
