"""Real, tiny CPU benchmarks of both frameworks in this interpreter (slow: each well under a minute)."""

from __future__ import annotations

import importlib.util
import sys

import jsonschema
import pytest

from nktenv.bench import BenchRequest, run
from nktenv.bench.schema import SCHEMA

pytestmark = pytest.mark.slow
TINY = {"blocks": 3, "block_s": 0.05, "warmup_s": 0.05, "warmup_min_steps": 3, "warmup_cap_s": 1.0,
        "cnn_pool": 600, "sweep": False, "correctness_devices": ["cpu", "cpu"]}
MACHINE = {"name": "ci", "facts": None}


def _needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed here")


def _check(doc: dict, framework: str) -> None:
    jsonschema.validate(doc, SCHEMA)
    rows = {(r["model"], r["pipeline"]): r for r in doc["rows"]}
    assert set(rows) == {(m, p) for m in ("mlp", "cnn") for p in ("manual", "resident", "compiled")}
    for model in ("mlp", "cnn"):
        for pipeline in ("manual", "resident"):
            r = rows[(model, pipeline)]
            assert r["status"] == "ok", r["error"]
            assert r["device"] == "cpu" and r["threads"] >= 1
            assert len(r["blocks"]) == 3 and r["samples_per_s"]["median"] > 0
            assert r["loss_last"] < r["loss_first"], (model, pipeline, r["loss_first"], r["loss_last"])
        assert rows[(model, "compiled")]["status"] == "skipped"
    (limit,) = doc["limits"]
    assert limit["matmul_flops"] > 1e8 and limit["d2d_bytes_per_s"] > 1e8 and limit["step_overhead_s"] > 0
    assert rows[("cnn", "resident")]["fraction_of_limit"] is not None
    checks = {c["model"]: c for c in doc["correctness"]}
    # Two runs from the same seed on the same device agree; that is what a GPU run is held to.
    assert checks["mlp"]["agree"] is True and checks["cnn"]["agree"] is True
    assert doc["software"][framework]
    (verdict,) = doc["verdicts"]
    assert verdict["passed"] is None and verdict["text"].startswith("No GPU")


@_needs("torch")
def test_torch_tiny_cpu_benchmark() -> None:
    request = BenchRequest(python=sys.executable, frameworks=("torch",), devices=("cpu",), quick=True, config=TINY)
    _check(run(request, machine=MACHINE, nvml_loader=lambda: None).document, "torch")


@_needs("tensorflow")
def test_tensorflow_tiny_cpu_benchmark() -> None:
    request = BenchRequest(python=sys.executable, frameworks=("tensorflow",), devices=("cpu",), quick=True, config=TINY)
    _check(run(request, machine=MACHINE, nvml_loader=lambda: None).document, "tensorflow")


@_needs("torch")
def test_torch_sweep_and_training_epochs() -> None:
    config = {**TINY, "sweep": True, "sweep_sizes": [32, 256], "limits": False, "correctness": False}
    request = BenchRequest(python=sys.executable, frameworks=("torch",), models=("mlp",), pipelines=("resident",),
                           devices=("cpu",), quick=True, epochs=1, threads=1, config=config)
    doc = run(request, machine=MACHINE, nvml_loader=lambda: None).document
    assert doc["rows"][0]["threads"] == 1 and doc["settings"]["cpu_threads"] == 1
    (sweep,) = doc["sweeps"]
    assert [p["batch_size"] for p in sweep["points"]] == [32, 256]
    assert all(p["samples_per_s"] > 0 for p in sweep["points"])
    (training,) = doc["trainings"]
    assert training["epochs"] == 1 and training["train_s"] > 0 and training["test"]["loss"] > 0


@_needs("tensorflow")
def test_tensorflow_xla_compiled_pipeline_on_cpu() -> None:
    config = {**TINY, "limits": False, "correctness": False}
    request = BenchRequest(python=sys.executable, frameworks=("tensorflow",), models=("mlp",), pipelines=("compiled",),
                           devices=("cpu",), quick=False, config=config)
    doc = run(request, machine=MACHINE, nvml_loader=lambda: None).document
    (r,) = doc["rows"]
    assert r["status"] == "ok", r["error"]
    assert r["samples_per_s"]["median"] > 0 and r["loss_last"] < r["loss_first"]
    assert doc["sweeps"] == []  # TINY turns the sweep off
