"""Recorded histories of single machines, with known regressions and known non-regressions.

Each run is a `nktenv.bench/1` document from compare_fleet.make_result with ten timed blocks per
row (about 1 % apart within a run, as on a quiet workstation) and a run-to-run jitter of up to
3 % (the jitter of one GPU between runs reaches ~10 %, see docs/compare.md; these machines are quieter).
"""

from __future__ import annotations

import random
from typing import Any

from compare_fleet import make_result

DATES = ("2026-10-06", "2026-10-20", "2026-11-03", "2026-11-17", "2026-12-01")


def with_blocks(doc: dict[str, Any], seed: int, spread: float = 0.01, noisy: bool = False) -> dict[str, Any]:
    """Ten blocks per row around its median; `noisy` widens them as a busy machine does."""
    rng = random.Random(seed)
    for row in doc["rows"]:
        sps = row["samples_per_s"]["median"]
        width = 0.25 if noisy else spread
        blocks = sorted(sps * (1 + rng.uniform(-width, width)) for _ in range(10))
        row["blocks"] = blocks
        row["samples_per_s"] = {"median": (blocks[4] + blocks[5]) / 2, "q1": blocks[2], "q3": blocks[7],
                                "min": blocks[0], "max": blocks[-1]}
        row["noisy"] = noisy
    return doc


def run(name: str, i: int, level: float = 1.0, *, noisy: bool = False, **kw: Any) -> dict[str, Any]:
    jitter = (1.0, 0.975, 1.02, 0.985, 1.01)[i % 5]  # recorded run-to-run wobble, within 3 %
    factors = {k: level * jitter for k in (("torch", m, p, d) for m, p, d in (
        ("mlp", "resident", "cpu"), ("mlp", "resident", "gpu"), ("cnn", "manual", "cpu"), ("cnn", "manual", "gpu"),
        ("cnn", "resident", "cpu"), ("cnn", "resident", "gpu"), ("cnn", "compiled", "gpu")))}
    doc = make_result(name, created_at=f"{DATES[i]}T09:00:00Z", run=str(i), factors=factors, **kw)
    return with_blocks(doc, seed=sum(map(ord, name)) * 10 + i, noisy=noisy)


def driver_regression() -> list[dict[str, Any]]:
    """lab-pc-02: three steady runs, then driver 560.35.03 and torch 2.6.0 and the GPU rows 18 % slower."""
    runs = [run("lab-pc-02", i) for i in range(3)]
    slow = run("lab-pc-02", 3, driver="560.35.03", torch="2.6.0+cu124")
    for row in slow["rows"]:
        if row["device_kind"] == "gpu":
            for k in ("median", "q1", "q3", "min", "max"):
                row["samples_per_s"][k] *= 0.82
            row["blocks"] = [b * 0.82 for b in row["blocks"]]
    return runs + [slow]


def thermal_regression() -> list[dict[str, Any]]:
    """lab-pc-05: steady, then the fan fails: sw_thermal 40 % of the run, SM clock 2520 -> 1710 MHz, 25 % slower."""
    runs = [run("lab-pc-05", i) for i in range(2)]
    hot = run("lab-pc-05", 2, level=0.75, telemetry={
        "sm_clock_mhz": {"median": 1710, "min": 1500, "max": 2520},
        "throttle": {"sw_power_cap": 0.0, "hw_slowdown": 0.0, "sw_thermal": 0.4, "hw_thermal": 0.0, "hw_power_brake": 0.0}})
    return runs + [hot]


def only_noise() -> list[dict[str, Any]]:
    """lab-pc-01: five runs within 3 % of each other, one of them on a busy machine (noisy, 12 % low)."""
    runs = [run("lab-pc-01", i) for i in range(5)]
    runs[3] = run("lab-pc-01", 3, level=0.88, noisy=True)
    return runs


def changed_batch_size() -> list[dict[str, Any]]:
    """lab-pc-03: batch 100 twice, then batch 32, which is slower per sample on any GPU: another workload."""
    runs = [run("lab-pc-03", i) for i in range(2)]
    small = run("lab-pc-03", 2, level=0.55)
    for row in small["rows"]:
        row["batch_size"] = 32
    return runs + [small]
