"""The bench table reads on an 80-column console: nothing cut, empty columns left out."""

from __future__ import annotations

import io

from rich.console import Console

from nktenv.bench.render import render


def _row(framework: str, model: str, pipeline: str, device: str, median: float | None, status: str = "ok") -> dict:
    sps = {"median": median, "q1": median * 0.9, "q3": median * 1.1} if median else None
    return {"framework": framework, "model": model, "pipeline": pipeline, "device": device, "status": status,
            "error": None if status == "ok" else "--quick runs compiled on GPUs only",
            "skip_code": None if status == "ok" else "quick-cpu-compiled",
            "samples_per_s": sps, "noisy": False, "epoch_s": 50_000 / median if median else None,
            "fraction_of_limit": 0.1 if median else None}


def _text(doc: dict, width: int = 80) -> str:
    buf = io.StringIO()
    render(doc, Console(file=buf, width=width, color_system=None))
    return buf.getvalue()


def test_one_framework_cpu_only_fits_80_columns_uncut() -> None:
    doc = {"rows": [_row("torch", "cnn", "resident", "cpu", 318.4), _row("torch", "cnn", "compiled", "cpu", None, "skipped"),
                    _row("torch", "mlp", "manual", "cpu", 123456.0)], "speedups": [], "verdicts": []}
    out = _text(doc)
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert "torch: Training throughput" in out and "framework" not in out
    assert "GPU/CPU" not in out  # no GPU rows, no speedup column
    assert "20%" in out  # the IQR as a share of the median: (1.1 - 0.9) / 1
    assert "skipped [1]" in out and "123 k" in out


def test_speedups_and_frameworks_get_their_columns() -> None:
    doc = {"rows": [_row("torch", "cnn", "resident", "cpu", 300.0), _row("torch", "cnn", "resident", "cuda:0", 30000.0),
                    _row("tensorflow", "cnn", "resident", "cpu", 250.0)],
           "speedups": [{"framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cuda:0",
                         "ratio": 100.0, "ci_low": 90.0, "ci_high": 110.0}], "verdicts": []}
    out = _text(doc, width=120)
    assert "framework" in out and "GPU/CPU (95% CI)" in out and "100.0x (90.0-110.0)" in out
