"""The arithmetic of limits (docs/benchmarks.md, "Limits"): per-step floors from measured device ceilings.

A row's limit is the fastest this device could run that pipeline at that batch size:
- compiled (CUDA graph / XLA): the physics floor, max(FLOP / matmul rate, bytes / device-copy rate);
- resident (eager): also the host's dispatch floor, the MLP's per-step overhead scaled by op count;
- manual: resident plus copying each batch to the GPU at the measured host-to-device rate.
Costs per model are counted for PyTorch (FlopCounterMode, a TorchDispatchMode byte count and aten
call counts); TensorFlow rows use the same model arithmetic, so their fractions are approximate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class ModelCost:
    flop_per_sample: float  # forward + backward
    bytes_per_sample: float  # upper-bound memory traffic (no cache reuse), at batch 100
    aten_calls: dict[str, int]  # dispatches per training step, by device kind
    input_bytes_per_sample: float  # one sample as it crosses PCIe (float32 features + int64/float32 label)
    epoch_samples: int


MLP_STEP_CALLS = {"gpu": 66, "cpu": 103}
COSTS: dict[str, ModelCost] = {
    "mlp": ModelCost(63_800, 16_000, MLP_STEP_CALLS, 8 * 4 + 4, 16_512),
    "cnn": ModelCost(21_606_864, 1_550_000, {"gpu": 116, "cpu": 195}, 3 * 32 * 32 * 4 + 8, 50_000),
}


def step_floor_s(model: str, pipeline: str, device_kind: str, batch_size: int, limit: Mapping[str, Any]) -> float | None:
    """The shortest possible training step on this device for this row, or None when a ceiling is missing."""
    cost = COSTS.get(model)
    flops = max(limit.get("matmul_flops") or 0.0, limit.get("matmul_flops_tf32") or 0.0)
    copy = limit.get("d2d_bytes_per_s") or 0.0
    if cost is None or flops <= 0 or copy <= 0:
        return None
    floor = max(cost.flop_per_sample * batch_size / flops, cost.bytes_per_sample * batch_size / copy)
    if pipeline == "compiled":
        return floor
    overhead = limit.get("step_overhead_s")
    if overhead:
        calls = cost.aten_calls.get(device_kind, cost.aten_calls["gpu"])
        floor = max(floor, overhead * calls / MLP_STEP_CALLS.get(device_kind, MLP_STEP_CALLS["gpu"]))
    h2d = limit.get("h2d_bytes_per_s")
    if pipeline == "manual" and device_kind == "gpu" and h2d:
        floor += cost.input_bytes_per_sample * batch_size / h2d
    return floor


def limit_samples_per_s(model: str, pipeline: str, device_kind: str, batch_size: int, limit: Mapping[str, Any]) -> float | None:
    floor = step_floor_s(model, pipeline, device_kind, batch_size, limit)
    return None if not floor else batch_size / floor


def fraction_of_limit(median: float | None, model: str, pipeline: str, device_kind: str, batch_size: int,
                      limit: Mapping[str, Any] | None) -> float | None:
    if median is None or limit is None:
        return None
    ceiling = limit_samples_per_s(model, pipeline, device_kind, batch_size, limit)
    return None if not ceiling else median / ceiling


def epoch_seconds(model: str, median: float | None) -> float | None:
    """Time for one epoch-equivalent (CNN 50,000 samples; MLP 16,512) at the median throughput."""
    cost = COSTS.get(model)
    if cost is None or not median:
        return None
    return cost.epoch_samples / median
