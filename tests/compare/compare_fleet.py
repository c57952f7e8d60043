"""Realistic `nktenv.bench/1` result sets for a small lab, built in code so each test can vary one fact.

The lab: five RTX 4090 workstations and one RTX 3090.
- lab-pc-01: healthy reference.
- lab-pc-02: twin of 01, thermally throttling (sw_thermal 42 % of the run, 87 °C, low SM clock).
- lab-pc-03: the card sits in a PCIe Gen4 x4 slot; the host-fed (manual) pipeline suffers most.
- 研究室-pc-04 (Windows): old driver 535 and torch 2.1 with CUDA 12.1.
- lab-pc-05: only 4 CPU threads; eager (host-bound) runs suffer, compiled runs do not.
- lab-pc-06: an RTX 3090, alone with its model (never an outlier: it has no peers).
Numbers follow docs/reference benchmark estimates: eager CNN on a 4090 at batch 100 ~90 k samples/s.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

RTX4090 = "NVIDIA GeForce RTX 4090"
RTX3090 = "NVIDIA GeForce RTX 3090"

HEALTHY_TELEMETRY: dict[str, Any] = {
    "samples": 120,
    "sm_clock_mhz": {"median": 2520, "min": 2490, "max": 2535},
    "mem_clock_mhz": {"median": 10501},
    "temperature_c": {"median": 64, "max": 69},
    "power_w": {"median": 280.0, "max": 330.0},
    "power_limit_w": 450.0,
    "utilization_gpu": {"median": 78},
    "throttle": {"sw_power_cap": 0.0, "hw_slowdown": 0.0, "sw_thermal": 0.0, "hw_thermal": 0.0, "hw_power_brake": 0.0},
    "pcie": {"gen_current": 4, "width_current": 16, "gen_max": 4, "width_max": 16},
}

# (framework, model, pipeline, device kind) -> samples/s on the healthy reference machine.
BASE = {
    ("torch", "mlp", "resident", "cpu"): 110_000.0,
    ("torch", "mlp", "resident", "gpu"): 160_000.0,
    ("torch", "cnn", "manual", "cpu"): 1_300.0,
    ("torch", "cnn", "manual", "gpu"): 9_000.0,
    ("torch", "cnn", "resident", "cpu"): 1_350.0,
    ("torch", "cnn", "resident", "gpu"): 90_000.0,
    ("torch", "cnn", "compiled", "gpu"): 420_000.0,
}
EPOCH_SAMPLES = {"mlp": 16_512, "cnn": 50_000}


def _uuid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "nktenv-test/" + seed))


def make_result(
    name: str,
    *,
    gpu: str = RTX4090,
    driver: str = "550.54.15",
    torch: str = "2.5.1+cu124",
    cuda: str = "12.4",
    threads: int = 16,
    cpu_model: str = "AMD Ryzen 9 7950X 16-Core Processor",
    system: str = "linux",
    factors: dict[tuple[str, str, str, str], float] | None = None,
    telemetry: dict[str, Any] | None = None,
    created_at: str = "2026-11-20T10:00:00Z",
    run: str = "1",
    sweep_scale: float = 1.0,
) -> dict[str, Any]:
    """One run of `nktenv bench`; `factors` scale the healthy throughput per workload."""
    factors = factors or {}
    tel = copy.deepcopy(HEALTHY_TELEMETRY)
    for key, value in (telemetry or {}).items():
        tel[key] = value
    rows = []
    for (fw, model, pipeline, kind), sps in BASE.items():
        sps *= factors.get((fw, model, pipeline, kind), 1.0)
        device = "cpu" if kind == "cpu" else "cuda:0"
        rows.append({
            "framework": fw, "model": model, "pipeline": pipeline, "device": device, "device_kind": kind,
            "device_name": cpu_model if kind == "cpu" else gpu, "batch_size": 100, "status": "ok", "error": None,
            "samples_per_s": {"median": sps, "q1": sps * 0.98, "q3": sps * 1.02, "min": sps * 0.95, "max": sps * 1.03},
            "blocks": [sps * 0.99, sps * 1.01],
            "epoch_s": round(EPOCH_SAMPLES[model] / sps, 4),
            "fraction_of_limit": None if kind == "cpu" else round(sps / 2_000_000.0, 4),
            "noisy": False, "threads": threads, "loss_first": 2.30, "loss_last": 1.95,
            "telemetry": None if kind == "cpu" else tel,
        })
    speedups = []
    by = {(r["framework"], r["model"], r["pipeline"], r["device_kind"]): r for r in rows}
    for (fw, model, pipeline, kind), r in by.items():
        cpu = by.get((fw, model, pipeline, "cpu"))
        if kind == "gpu" and cpu is not None:
            ratio = r["samples_per_s"]["median"] / cpu["samples_per_s"]["median"]
            speedups.append({"framework": fw, "model": model, "pipeline": pipeline, "device": "cuda:0",
                             "ratio": round(ratio, 2), "ci_low": round(ratio * 0.95, 2), "ci_high": round(ratio * 1.05, 2)})
    resident = BASE[("torch", "cnn", "resident", "gpu")] * factors.get(("torch", "cnn", "resident", "gpu"), 1.0)
    sweep_points = [{"batch_size": bs, "samples_per_s": round(resident * sweep_scale * (bs / 100) ** 0.7 if bs <= 100
                                                              else resident * sweep_scale * (1 + 0.5 * (1 - 100 / bs)), 1)}
                    for bs in (32, 64, 100, 256, 512, 1024)]
    return {
        "schema": "nktenv.bench/1",
        "id": _uuid(f"{name}/{run}"),
        "created_at": created_at,
        "nktenv_version": "0.1.0",
        "machine": {
            "name": name,
            "fingerprint": _uuid("fp/" + name).replace("-", "") * 2,
            "facts": {"schema": "nktenv.facts/1", "os": {"system": system},
                      "cpu": {"model": cpu_model, "logical_cores": threads},
                      "gpus": [{"index": 0, "name": gpu}]},
        },
        "software": {"python": "3.10.11", "torch": torch, "torchvision": None, "tensorflow": None,
                     "cuda": cuda, "cudnn": "9.1.0", "driver": driver},
        "settings": {"quick": True, "dataset": "synthetic", "epochs": None, "cpu_threads": threads, "blocks": 10},
        "limits": [{"device": "cuda:0", "device_name": gpu, "matmul_flops": 8.2e13}],
        "rows": rows,
        "speedups": speedups,
        "sweeps": [{"framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cuda:0", "points": sweep_points}],
        "verdicts": [{"framework": "torch", "passed": True, "threshold": 3.0, "text": "GPU accelerates the CNN"}],
    }


def lab_fleet() -> dict[str, dict[str, Any]]:
    """File name -> result document for the whole lab."""
    gpu_all = {k: 1.0 for k in BASE if k[3] == "gpu"}
    throttled = {k: 0.68 for k in gpu_all}
    pcie_x4 = {("torch", "cnn", "manual", "gpu"): 0.55, ("torch", "cnn", "resident", "gpu"): 0.97,
               ("torch", "mlp", "resident", "gpu"): 0.97, ("torch", "cnn", "compiled", "gpu"): 0.98}
    old = {k: 0.78 for k in gpu_all}
    few_threads = {("torch", "mlp", "resident", "gpu"): 0.62, ("torch", "cnn", "resident", "gpu"): 0.70,
                   ("torch", "cnn", "manual", "gpu"): 0.72, ("torch", "cnn", "compiled", "gpu"): 0.99,
                   ("torch", "mlp", "resident", "cpu"): 0.35, ("torch", "cnn", "manual", "cpu"): 0.3,
                   ("torch", "cnn", "resident", "cpu"): 0.3}
    docs = {
        "lab-pc-01.json": make_result("lab-pc-01"),
        "lab-pc-02.json": make_result(
            "lab-pc-02", factors=throttled, sweep_scale=0.7,
            telemetry={"sm_clock_mhz": {"median": 1710, "min": 1500, "max": 2520},
                       "temperature_c": {"median": 84, "max": 87},
                       "throttle": {"sw_power_cap": 0.0, "hw_slowdown": 0.0, "sw_thermal": 0.42,
                                    "hw_thermal": 0.03, "hw_power_brake": 0.0}}),
        "lab-pc-03.json": make_result(
            "lab-pc-03", factors=pcie_x4,
            telemetry={"pcie": {"gen_current": 4, "width_current": 4, "gen_max": 4, "width_max": 16}}),
        "研究室-pc-04.json": make_result(
            "研究室-pc-04", driver="535.104.05", torch="2.1.0+cu121", cuda="12.1", system="windows", factors=old),
        "lab-pc-05.json": make_result("lab-pc-05", threads=4, factors=few_threads, cpu_model="AMD Ryzen 9 7950X 16-Core Processor"),
        "lab-pc-06.json": make_result("lab-pc-06", gpu=RTX3090, factors={k: 0.6 for k in gpu_all}),
    }
    return docs


def write_fleet(folder: Path, docs: dict[str, dict[str, Any]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in (docs or lab_fleet()).items():
        (folder / name).write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    return folder
