"""JSON Schema of the `nktenv.bench/1` document (docs/bench-schema.md), for contract tests and readers.

Only the documented keys are constrained; more keys may be added (never renamed or dropped).
"""

from __future__ import annotations

from typing import Any

_NUM = {"type": ["number", "null"]}
_STR = {"type": ["string", "null"]}
_STATS = {"type": ["object", "null"], "additionalProperties": {"type": ["number", "null"]}}

ROW: dict[str, Any] = {
    "type": "object",
    "required": ["framework", "model", "pipeline", "device", "device_kind", "batch_size", "status", "error",
                 "samples_per_s", "blocks", "epoch_s", "fraction_of_limit", "noisy"],
    "properties": {
        "framework": {"enum": ["torch", "tensorflow"]},
        "model": {"enum": ["mlp", "cnn"]},
        "pipeline": {"enum": ["manual", "resident", "compiled"]},
        "device": {"type": "string", "pattern": r"^(cpu|cuda:\d+)$"},
        "device_kind": {"enum": ["cpu", "gpu"]},
        "device_name": _STR,
        "batch_size": {"type": "integer", "minimum": 1},
        "status": {"enum": ["ok", "failed", "skipped", "interrupted"]},
        "error": _STR,
        "samples_per_s": {
            "type": ["object", "null"],
            "required": ["median", "q1", "q3", "min", "max"],
            "additionalProperties": {"type": "number"},
        },
        "blocks": {"type": "array", "items": {"type": "number"}},
        "epoch_s": _NUM,
        "fraction_of_limit": _NUM,
        "noisy": {"type": ["boolean", "null"]},
        "threads": {"type": ["integer", "null"]},
        "loss_first": _NUM,
        "loss_last": _NUM,
        "telemetry": {
            "type": ["object", "null"],
            "properties": {
                "samples": {"type": "integer"},
                "sm_clock_mhz": _STATS, "mem_clock_mhz": _STATS, "temperature_c": _STATS,
                "power_w": _STATS, "power_limit_w": _NUM, "utilization_gpu": _STATS,
                "throttle": _STATS,
                "pcie": {"type": ["object", "null"], "additionalProperties": {"type": ["integer", "null"]}},
            },
        },
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "nktenv.bench/1",
    "type": "object",
    "required": ["schema", "id", "created_at", "nktenv_version", "machine", "software", "settings", "limits",
                 "rows", "speedups", "sweeps", "verdicts"],
    "properties": {
        "schema": {"const": "nktenv.bench/1"},
        "id": {"type": "string"},
        "created_at": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "nktenv_version": {"type": "string"},
        "machine": {
            "type": "object",
            "required": ["name", "fingerprint", "facts"],
            "properties": {"name": _STR, "fingerprint": {"type": "string"}, "facts": {"type": ["object", "null"]}},
        },
        "software": {"type": "object", "additionalProperties": _STR},
        "settings": {"type": "object", "properties": {"quick": {"type": "boolean"}, "dataset": {"enum": ["synthetic", "real"]},
                                                      "epochs": {"type": ["integer", "null"]}, "cpu_threads": {"type": ["integer", "null"]}}},
        "limits": {"type": "array", "items": {"type": "object", "required": ["device"], "properties": {
            "device": {"type": "string"}, "device_name": _STR, "matmul_flops": _NUM, "d2d_bytes_per_s": _NUM,
            "h2d_bytes_per_s": _NUM, "launch_overhead_s": _NUM}}},
        "rows": {"type": "array", "items": ROW},
        "speedups": {"type": "array", "items": {"type": "object", "required": ["framework", "model", "pipeline", "device", "ratio", "ci_low", "ci_high"],
                                                "properties": {"ratio": {"type": "number"}, "ci_low": {"type": "number"}, "ci_high": {"type": "number"}}}},
        "sweeps": {"type": "array", "items": {"type": "object", "required": ["framework", "model", "pipeline", "device", "points"],
                                              "properties": {"points": {"type": "array", "items": {
                                                  "type": "object", "required": ["batch_size", "samples_per_s"],
                                                  "properties": {"batch_size": {"type": "integer"}, "samples_per_s": _NUM}}}}}},
        "frameworks_absent": {"type": "array", "items": {"enum": ["torch", "tensorflow"]}},
        "gpus_not_visible": {"type": "array", "items": {"type": "object", "required": ["framework", "devices"], "properties": {
            "framework": {"enum": ["torch", "tensorflow"]}, "devices": {"type": "array", "items": {"type": "string"}},
            "visible": {"type": ["integer", "null"]}, "error": _STR}}},
        "interrupted": {"type": "boolean"},
        "verdicts": {"type": "array", "items": {"type": "object", "required": ["framework", "passed", "threshold", "text"],
                                                "properties": {"passed": {"type": ["boolean", "null"]}, "threshold": {"type": "number"},
                                                               "text": {"type": "string"}}}},
    },
}
