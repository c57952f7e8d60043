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
    # the table fits; footnotes are sentences, whole on one line when piped
    assert "…" not in out and max(len(line) for line in out.splitlines() if not line.startswith("[")) <= 80
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


def _two_frameworks_with_failures() -> dict:
    rows = [_row(f, m, p, d, v) for f in ("torch", "tensorflow") for m in ("mlp", "cnn")
            for p, d, v in (("manual", "cpu", 1234.0), ("resident", "cuda:0", 91234.0), ("compiled", "cuda:0", None))]
    for r in rows:
        if r["samples_per_s"] is None:
            r["status"], r["skip_code"] = "failed", None
            # verbatim from github.com/yangjianxin1/GPT2-chitchat/issues/19 (tests/doctor/reports/gpu_memory_held_by_other_process)
            r["error"] = "RuntimeError: CUDA error: out of memory"
    speedups = [{"framework": f, "model": m, "pipeline": "resident", "device": "cuda:0", "ratio": 66.7, "ci_low": 60.1,
                 "ci_high": 70.3} for f in ("torch", "tensorflow") for m in ("mlp", "cnn")]
    return {"rows": rows, "speedups": speedups, "verdicts": []}


def test_footnote_markers_stay_on_an_80_column_console() -> None:
    out = _text(_two_frameworks_with_failures(), width=80)
    lines = out.splitlines()
    assert max(len(line) for line in lines if not line.startswith("[")) <= 80
    assert sum("failed [1]" in line for line in lines) == 4  # every failed row keeps its marker
    assert "[1] RuntimeError: CUDA error: out of memory" in out
    assert "66.7x (60.1-70.3)" in out  # the speedups moved under the table, not cut
    assert "residen\n" not in out and "sample\n" not in out


def test_a_share_above_the_limit_is_never_ok_and_noisy_rows_say_so() -> None:
    doc = _two_frameworks_with_failures()
    doc["rows"][1]["fraction_of_limit"] = 2.17  # seen on a busy 2-core machine
    doc["rows"][4]["noisy"] = True
    out = _text(doc, width=130)
    line = next(line for line in out.splitlines() if "217%" in line)
    assert "unreliable" in line and " ok" not in line
    assert "above 100% of the limit" in out
    noisy = [line for line in out.splitlines() if line.startswith(" torch       cnn    resident")]
    assert noisy and noisy[0].rstrip().endswith("noisy")


def test_piped_bench_table_has_no_trailing_spaces() -> None:
    out = _text(_two_frameworks_with_failures(), width=80)
    assert all(line == line.rstrip() for line in out.splitlines())


def test_progress_bars_show_the_step_count_and_the_time_left() -> None:
    from nktenv.bench.render import BenchProgress

    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=True, color_system=None)
    with BenchProgress(console) as bars:
        bars.on_event({"event": "progress", "framework": "torch", "stage": "row", "model": "cnn", "pipeline": "resident",
                       "done": 3, "total": 12})
        bars.progress.refresh()
    shown = buf.getvalue()
    assert "torch: timing cnn (resident)" in shown and "3/12" in shown and "left" in shown
