"""Each machine against its own past: known regressions are found with what changed, noise and a new batch size are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compare_history import changed_batch_size, driver_regression, only_noise, thermal_regression

from nktenv.compare.history import UnknownMachine, history, latest_drops
from nktenv.compare.model import Result
from nktenv.compare.texts import drop_text


def results(docs):
    return [Result.from_dict(d, f"run{i}.json") for i, d in enumerate(docs)]


def test_a_driver_and_torch_update_that_slowed_the_gpu_is_found_with_what_changed() -> None:
    h = history(results(driver_regression()))
    drops = h.drops
    assert {(d.workload.model, d.workload.pipeline, d.workload.device_kind) for d in drops} == {
        ("mlp", "resident", "gpu"), ("cnn", "manual", "gpu"), ("cnn", "resident", "gpu"), ("cnn", "compiled", "gpu")}
    cnn = next(d for d in drops if d.workload.key == "torch/cnn/resident/gpu/bs100")
    assert cnn.ratio == pytest.approx(0.82 * 0.985, abs=0.02) and cnn.ci_high < 1.0
    assert cnn.since.created_at.startswith("2026-11-03")
    assert drop_text(cnn) == ("lab-pc-02 torch CNN resident GPU, batch 100: -19% since 2026-11-03; "
                              "changed since: driver 550.54.15 -> 560.35.03, torch 2.5.1+cu124 -> 2.6.0+cu124")
    # the CPU rows did not change and are not flagged
    assert not [d for d in drops if d.workload.device_kind == "cpu"]


def test_a_thermal_drop_names_the_clock_and_the_throttle_reason() -> None:
    (first, *_rest) = [d for d in history(results(thermal_regression())).drops if d.workload.key == "torch/cnn/resident/gpu/bs100"]
    codes = [c.code for c in first.changes]
    assert codes == ["sm-clock", "throttle"]
    assert "SM clock under load 2520 -> 1710 MHz" in drop_text(first)
    assert "throttle reasons none -> sw_thermal 40%" in drop_text(first)


def test_run_to_run_jitter_and_a_noisy_run_are_not_drops() -> None:
    h = history(results(only_noise()))
    assert h.drops == ()
    series = next(s for s in h.series if s.workload.key == "torch/cnn/resident/gpu/bs100")
    assert len(series.points) == 5 and series.points[3].noisy


def test_a_changed_batch_size_is_another_workload_not_a_drop() -> None:
    h = history(results(changed_batch_size()))
    assert h.drops == ()
    keys = {s.workload.key for s in h.series if s.workload.model == "cnn" and s.workload.pipeline == "resident"}
    assert keys == {"torch/cnn/resident/cpu/bs100", "torch/cnn/resident/gpu/bs100",
                    "torch/cnn/resident/cpu/bs32", "torch/cnn/resident/gpu/bs32"}


def test_one_machine_is_picked_and_an_unknown_one_is_refused() -> None:
    docs = driver_regression() + only_noise()
    assert history(results(docs), "lab-pc-01").machines == ("lab-pc-01",)
    with pytest.raises(UnknownMachine) as exc:
        history(results(docs), "lab-pc-99")
    assert exc.value.known == ("lab-pc-01", "lab-pc-02")


def test_the_new_run_is_judged_against_the_stored_ones() -> None:
    docs = driver_regression()
    assert len(latest_drops(docs, docs[-1]["id"])) == 4
    assert latest_drops(docs[:-1], docs[-2]["id"]) == ()
    assert latest_drops(only_noise(), only_noise()[-1]["id"]) == ()


def test_compare_history_command(runner, app, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    for i, doc in enumerate(driver_regression() + only_noise() + changed_batch_size()):
        (folder / f"run-{i}.json").write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(app, ["compare", str(folder), "--history", "lab-pc-02"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "lab-pc-02 torch CNN resident GPU, batch 100: -19% since 2026-11-03; changed since: driver 550.54.15 -> 560.35.03" in out
    assert "lab-pc-01" not in out
    everyone = runner.invoke(app, ["compare", str(folder), "--history", "--json"], catch_exceptions=False)
    doc = json.loads(everyone.stdout)
    assert doc["schema"] == "nktenv.compare-history/1"
    assert {d["machine"] for d in doc["drops"]} == {"lab-pc-02"}
    assert set(doc["machines"]) == {"lab-pc-01", "lab-pc-02", "lab-pc-03"}
    unknown = runner.invoke(app, ["compare", str(folder), "--history", "lab-pc-99"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: ") and "Traceback" not in unknown.stderr


def test_a_bench_run_says_in_one_line_when_it_is_out_of_line(tmp_path: Path) -> None:
    from nktenv.bench import store
    from nktenv.bench.render import history_line

    db = tmp_path / "bench.sqlite3"
    docs = driver_regression()
    for doc in docs[:-1]:
        store.save(doc, db)
        assert history_line(doc, db) is None  # steady runs say nothing
    store.save(docs[-1], db)
    line = history_line(docs[-1], db)
    assert line is not None and "\n" not in line
    assert line.startswith("Slower than this machine's own history on 4 workloads; the largest drop: lab-pc-02 torch")
    assert "driver 550.54.15 -> 560.35.03" in line


def test_runs_within_the_earlier_spread_cost_no_bootstrap(monkeypatch) -> None:
    # a lab's folder holds thousands of runs: only a run below every earlier one is worth 2,000 resamples
    import nktenv.compare.history as hist

    calls = []
    real = hist.bootstrap_ratio
    monkeypatch.setattr(hist, "bootstrap_ratio", lambda *a, **k: calls.append(1) or real(*a, **k))
    h = history(results(only_noise()))
    judged = sum(max(0, len([p for p in s.points if not p.noisy]) - 2) for s in h.series)
    assert h.drops == () and len(calls) < judged
    calls.clear()
    assert len(history(results(driver_regression())).drops) == 4 and len(calls) >= 4
