"""Comparisons on recorded lab result sets: alignment, version marks, outliers and their causes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from compare_fleet import RTX4090, make_result

from nktenv.compare.analyze import UnknownBaseline, Workload, compare, version_tuple
from nktenv.compare.model import Result

CNN_RES_GPU = Workload("torch", "cnn", "resident", "gpu", 100)
CNN_MAN_GPU = Workload("torch", "cnn", "manual", "gpu", 100)
CNN_COMP_GPU = Workload("torch", "cnn", "compiled", "gpu", 100)
MLP_RES_GPU = Workload("torch", "mlp", "resident", "gpu", 100)
CNN_RES_CPU = Workload("torch", "cnn", "resident", "cpu", 100)


def results(docs: dict[str, dict[str, Any]]) -> list[Result]:
    return [Result.from_dict(doc, name) for name, doc in docs.items()]


def outlier(cmp: Any, machine: str, workload: Workload) -> Any:
    return next((o for o in cmp.outliers if o.machine == machine and o.workload == workload), None)


def causes(cmp: Any, machine: str, workload: Workload) -> list[str]:
    o = outlier(cmp, machine, workload)
    assert o is not None, f"{machine} not flagged on {workload.key}"
    return [c.code for c in o.causes]


def test_twin_that_throttles_is_flagged_with_thermal_evidence(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    o = outlier(cmp, "lab-pc-02", CNN_RES_GPU)
    assert o is not None and o.device_model == RTX4090
    # 61.2k against the median of the other four 4090s (90, 87.3, 70.2, 63 -> 78.75k)
    assert o.peer_median == pytest.approx(78_750.0)
    assert o.shortfall == pytest.approx(1 - 61_200 / 78_750, abs=1e-6)
    codes = [c.code for c in o.causes]
    assert codes[0] == "thermal-throttle"
    assert o.causes[0].data["reason"] == "sw_thermal" and o.causes[0].data["share"] == pytest.approx(0.42)
    assert "low-clocks" in codes and "hot" in codes
    assert "driver-version" not in codes and "cpu-threads" not in codes
    # the healthy twin is never flagged
    assert not any(o.machine == "lab-pc-01" for o in cmp.outliers)


def test_twins_alone_use_the_other_twin_as_the_median() -> None:
    docs = {
        "a.json": make_result("twin-a"),
        "b.json": make_result("twin-b", factors={("torch", "cnn", "resident", "gpu"): 0.8},
                              telemetry={"throttle": {"sw_power_cap": 0.6}}),
    }
    cmp = compare(results(docs))
    o = outlier(cmp, "twin-b", CNN_RES_GPU)
    assert o is not None and o.peers == ("twin-a",) and o.shortfall == pytest.approx(0.2)
    assert o.causes[0].code == "power-throttle" and o.causes[0].data["reason"] == "sw_power_cap"
    # 20 % is under a 25 % margin
    assert outlier(compare(results(docs), margin=0.25), "twin-b", CNN_RES_GPU) is None


def test_pcie_x4_link_explains_the_host_fed_pipeline_only(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    o = outlier(cmp, "lab-pc-03", CNN_MAN_GPU)
    assert o is not None
    assert o.causes[0].code == "pcie-link"
    assert o.causes[0].data["width"] == 4 and o.causes[0].data["width_max"] == 16 and o.causes[0].data["peer_width"] == 16
    # with the data resident on the GPU the narrow link hardly matters: not flagged
    assert outlier(cmp, "lab-pc-03", CNN_RES_GPU) is None


def test_old_driver_and_framework_are_named_and_marked(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    o = outlier(cmp, "研究室-pc-04", CNN_COMP_GPU)
    assert o is not None
    by_code = {c.code: c.data for c in o.causes}
    assert by_code["driver-version"] == {"version": "535.104.05", "peer_version": "550.54.15", "older": True,
                                         "framework": "torch"}
    assert by_code["framework-version"]["older"] is True
    assert by_code["cuda-version"]["version"] == "12.1"
    # the version mark is on the cell even where the machine is not an outlier
    cell = next(c for c in cmp.cells_of(CNN_RES_GPU) if c.machine == "研究室-pc-04")
    assert set(cell.version_differs) == {"framework", "driver", "cuda"}
    assert cmp.mixed_versions[CNN_RES_GPU.key] == ("framework", "driver", "cuda")
    healthy = next(c for c in cmp.cells_of(CNN_RES_GPU) if c.machine == "lab-pc-01")
    assert healthy.version_differs == ()


def test_fewer_cpu_threads_explains_eager_runs_not_compiled(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    assert causes(cmp, "lab-pc-05", MLP_RES_GPU)[0] == "cpu-threads"
    o = outlier(cmp, "lab-pc-05", MLP_RES_GPU)
    assert o.causes[0].data == {"threads": 4, "peer_threads": 16}
    assert causes(cmp, "lab-pc-05", CNN_RES_CPU)[0] == "cpu-threads"
    assert outlier(cmp, "lab-pc-05", CNN_COMP_GPU) is None


def test_cpu_threads_are_not_blamed_for_a_compiled_run() -> None:
    docs = {n: make_result(n) for n in ("p1", "p2", "p3")}
    docs["slow"] = make_result("slow", threads=4, factors={("torch", "cnn", "compiled", "gpu"): 0.5})
    assert causes(compare(results(docs)), "slow", CNN_COMP_GPU) == ["unexplained"]


def test_a_gpu_model_alone_is_never_an_outlier(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    assert not any(o.machine == "lab-pc-06" and o.workload.device_kind == "gpu" for o in cmp.outliers)
    cell = next(c for c in cmp.cells_of(CNN_RES_GPU) if c.machine == "lab-pc-06")
    assert cell.device_model == "NVIDIA GeForce RTX 3090" and not cell.outlier


def test_like_is_only_compared_with_like() -> None:
    small = make_result("small-batch")
    for row in small["rows"]:
        row["batch_size"] = 32
    docs = {"a": make_result("a"), "b": make_result("b"), "small": small}
    cmp = compare(results(docs))
    keys = {w.key for w in cmp.workloads}
    assert "torch/cnn/resident/gpu/bs100" in keys and "torch/cnn/resident/gpu/bs32" in keys
    assert {c.machine for c in cmp.cells_of(CNN_RES_GPU)} == {"a", "b"}
    # a pipeline never mixes with another: every workload's cells share all five keys
    for w in cmp.workloads:
        assert len({c.workload for c in cmp.cells_of(w)}) == 1


def test_relative_to_same_device_peers_and_to_a_baseline(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    cells = {c.machine: c for c in cmp.cells_of(CNN_RES_GPU)}
    # lab-pc-02 against the other four RTX 4090s (87.3k, 63.0k, 70.2k, 90.0k), not against the 3090 too
    assert cells["lab-pc-02"].relative == pytest.approx(61_200 / ((70_200 + 87_300) / 2))
    # the lone RTX 3090 has no peer: no number that a flag could contradict
    assert cells["lab-pc-06"].relative is None and not cells["lab-pc-06"].outlier
    based = compare(results(fleet_docs), baseline="lab-pc-06")
    cells = {c.machine: c for c in based.cells_of(CNN_RES_GPU)}
    assert cells["lab-pc-06"].relative == pytest.approx(1.0)
    assert cells["lab-pc-01"].relative == pytest.approx(90_000 / 54_000)
    assert based.to_dict()["reference"] == "baseline"


def test_unknown_baseline_lists_the_machines(fleet_docs) -> None:
    with pytest.raises(UnknownBaseline) as info:
        compare(results(fleet_docs), baseline="lab-pc-99")
    assert "lab-pc-01" in info.value.known and len(info.value.known) == 6


def test_newest_run_of_a_machine_wins_and_runs_are_counted() -> None:
    old = make_result("m", run="1", created_at="2026-11-01T00:00:00Z", factors={("torch", "cnn", "resident", "gpu"): 0.5})
    new = make_result("m", run="2", created_at="2026-11-02T00:00:00Z")
    cmp = compare(results({"new": new, "old": old}))
    cell = next(c for c in cmp.cells_of(CNN_RES_GPU))
    assert cell.samples_per_s == pytest.approx(90_000) and cell.runs == 2 and cell.result_id == new["id"]
    assert cmp.machines[0].runs == 2


def test_a_skipped_row_never_hides_a_measurement() -> None:
    full = make_result("m", run="1", created_at="2026-11-01T00:00:00Z")
    quick = make_result("m", run="2", created_at="2026-11-02T00:00:00Z")
    for row in quick["rows"]:
        if row["pipeline"] == "compiled":
            row["status"], row["samples_per_s"] = "skipped", None
    only_skipped = make_result("n", run="3")
    only_skipped["rows"].append(dict(only_skipped["rows"][0], pipeline="compiled", status="skipped", samples_per_s=None))
    cmp = compare(results({"full": full, "quick": quick, "n": only_skipped}))
    cell = next(c for c in cmp.cells_of(CNN_COMP_GPU) if c.machine == "m")
    assert cell.status == "ok" and cell.result_id == full["id"] and cell.runs == 1
    # torch/mlp/compiled/cpu was only ever skipped: no such workload
    assert not any(w.pipeline == "compiled" and w.device_kind == "cpu" for w in cmp.workloads)


def test_interrupted_rows_never_hide_a_measurement_and_are_never_judged() -> None:
    full = make_result("m", run="1", created_at="2026-11-01T00:00:00Z")
    stopped = make_result("m", run="2", created_at="2026-11-02T00:00:00Z")
    for row in stopped["rows"]:
        if row["pipeline"] == "compiled":
            row.update(status="interrupted", error="interrupted (Ctrl-C) before this row finished", samples_per_s=None, blocks=[])
    peers = {n: make_result(n) for n in ("p1", "p2")}
    only_stopped = make_result("n", run="3")
    for row in only_stopped["rows"]:
        if row["pipeline"] == "compiled":
            row.update(status="interrupted", samples_per_s=None, blocks=[])
    cmp = compare(results({"full": full, "stopped": stopped, "n": only_stopped, **peers}))
    cell = next(c for c in cmp.cells_of(CNN_COMP_GPU) if c.machine == "m")
    assert cell.status == "ok" and cell.result_id == full["id"]
    cell = next(c for c in cmp.cells_of(CNN_COMP_GPU) if c.machine == "n")
    assert cell.status == "interrupted" and cell.samples_per_s is None
    assert outlier(cmp, "n", CNN_COMP_GPU) is None
    # interrupted everywhere: not a workload at all
    alone = compare(results({"n": only_stopped}))
    assert not any(w.pipeline == "compiled" for w in alone.workloads)


def test_rows_an_absent_framework_left_behind_are_not_a_workload() -> None:
    # What earlier benches stored on a torch-only venv: six failed TensorFlow rows with the import error.
    doc = make_result("torch-only")
    error = "ModuleNotFoundError: No module named 'tensorflow'"
    for model in ("mlp", "cnn"):
        for pipeline in ("manual", "resident", "compiled"):
            doc["rows"].append(dict(doc["rows"][0], framework="tensorflow", model=model, pipeline=pipeline, device="cpu",
                                    device_kind="cpu", status="failed", error=error, samples_per_s=None, blocks=[]))
    cmp = compare(results({"torch-only": doc, "peer": make_result("peer")}))
    assert {w.framework for w in cmp.workloads} == {"torch"}
    # a broken install (the framework is there, a library of it is not) is still shown
    broken = copy.deepcopy(doc)
    for row in broken["rows"]:
        if row["framework"] == "tensorflow":
            row["error"] = "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory"
    assert "tensorflow" in {w.framework for w in compare(results({"b": broken})).workloads}


def test_two_machines_sharing_a_host_name_are_told_apart() -> None:
    a = make_result("pc")
    b = make_result("pc", run="2")
    b["machine"]["fingerprint"] = "f" * 64
    cmp = compare(results({"a": a, "b": b}))
    names = {m.name for m in cmp.machines}
    assert len(names) == 2 and all(n.startswith("pc [") for n in names)


def test_speedup_is_recorded_or_derived_from_the_cpu_row() -> None:
    doc = make_result("m")
    cmp = compare(results({"m": doc}))
    cell = next(c for c in cmp.cells_of(CNN_RES_GPU))
    assert cell.speedup == pytest.approx(round(90_000 / 1_350, 2))
    derived = copy.deepcopy(doc)
    derived["speedups"] = []
    cell = next(c for c in compare(results({"m": derived})).cells_of(CNN_RES_GPU))
    assert cell.speedup == pytest.approx(90_000 / 1_350)
    # compiled has no CPU row to divide by
    assert next(c for c in compare(results({"m": derived})).cells_of(CNN_COMP_GPU)).speedup is None


def test_failed_rows_are_shown_but_never_judged() -> None:
    docs = {n: make_result(n) for n in ("p1", "p2")}
    broken = make_result("broken")
    for row in broken["rows"]:
        if row["pipeline"] == "compiled":
            row["status"], row["error"] = "failed", "RuntimeError: Triton not found"
    docs["broken"] = broken
    cmp = compare(results(docs))
    cell = next(c for c in cmp.cells_of(CNN_COMP_GPU) if c.machine == "broken")
    assert cell.status == "failed" and cell.samples_per_s is None and cell.error.startswith("RuntimeError")
    assert outlier(cmp, "broken", CNN_COMP_GPU) is None


def test_unknown_keys_added_later_are_ignored() -> None:
    doc = make_result("m")
    doc["future_section"] = {"x": 1}
    for row in doc["rows"]:
        row["energy_j"] = 12.5
        if row["telemetry"]:
            row["telemetry"]["fan_percent"] = {"median": 40}
    assert len(compare(results({"m": doc})).cells) == len(doc["rows"])


def test_json_document_is_complete(fleet_docs) -> None:
    d = compare(results(fleet_docs)).to_dict()
    assert d["reference"] == "same-device-peers" and d["margin"] == 0.15
    assert {m["name"] for m in d["machines"]} >= {"lab-pc-01", "研究室-pc-04"}
    assert any(w["mixed_versions"] for w in d["workloads"])
    assert d["sweeps"] and d["sweeps"][0]["series"][0]["points"][0]["batch_size"] == 32
    o = next(o for o in d["outliers"] if o["machine"] == "lab-pc-02")
    assert o["causes"][0]["code"] == "thermal-throttle"


@pytest.mark.parametrize(("text", "expected"), [("550.54.15", (550, 54, 15)), ("2.5.1+cu124", (2, 5, 1)),
                                                ("12.4", (12, 4)), (None, ()), ("rc1", ())])
def test_version_tuple(text, expected) -> None:
    assert version_tuple(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30), st.data())
def test_pool_statistics_of_everyone_but_me(values, data) -> None:
    from statistics import median as med

    from nktenv.compare.analyze import _Pool

    i = data.draw(st.integers(min_value=0, max_value=len(values) - 1))
    others = values[:i] + values[i + 1:]
    pool = _Pool(values)
    assert pool.median_without(values[i]) == (pytest.approx(med(others)) if others else None)
    assert pool.max_without(values[i]) == (max(others) if others else None)
    assert pool.median_without(None) == pytest.approx(med(values))


def test_recorded_fleet_matches_the_bench_contract(fleet_docs) -> None:
    # The test fleet must stay what `nktenv bench` writes, or these comparisons prove nothing.
    jsonschema = pytest.importorskip("jsonschema")
    from nktenv.bench.schema import SCHEMA

    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    for name, doc in fleet_docs.items():
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, (name, errors[:3])


@pytest.mark.parametrize("baseline", [None, "lab-pc-01", "lab-pc-06"])
def test_the_slow_flag_and_the_relative_number_agree(fleet_docs, baseline) -> None:
    cmp = compare(results(fleet_docs), baseline=baseline)
    for c in cmp.cells:
        if c.relative is not None:
            assert c.outlier == (c.relative < 1 - cmp.margin), (c.machine, c.workload.key, c.relative)
        else:
            assert not c.outlier


def test_one_summary_per_slow_machine_worst_gap_first(fleet_docs) -> None:
    cmp = compare(results(fleet_docs))
    summaries = cmp.summaries
    assert len({s.machine for s in summaries}) == len(summaries)
    assert {s.machine for s in summaries} == {o.machine for o in cmp.outliers}
    gaps = [s.worst.shortfall for s in summaries]
    assert gaps == sorted(gaps, reverse=True)
    pc02 = next(s for s in summaries if s.machine == "lab-pc-02")
    assert pc02.worst.causes[0].code == "thermal-throttle"
    assert len(pc02.workloads) == 3  # compiled, resident CNN and MLP: said once, not three times
    assert compare(results(fleet_docs)).to_dict()["machine_summaries"][0]["machine"] == summaries[0].machine


def test_percent_of_limit_only_where_a_limit_was_measured(fleet_docs) -> None:
    # the lab's results carry a matmul rate but no device-copy rate: no limit, so no share of one
    cmp = compare(results(fleet_docs))
    assert all(c.fraction_of_limit is None for c in cmp.cells)
    docs = copy.deepcopy(fleet_docs)
    for doc in docs.values():
        for row in doc["rows"]:
            if row["device_kind"] == "gpu":
                row["limit_samples_per_s"] = row["samples_per_s"]["median"] / 0.5
    docs["lab-pc-01.json"]["rows"][1]["limit_samples_per_s"] = 160_000.0 / 2.17
    docs["lab-pc-01.json"]["rows"][1]["fraction_of_limit"] = 2.17
    cells = compare(results(docs)).cells
    assert all(c.fraction_of_limit is not None for c in cells if c.workload.device_kind == "gpu")
    bad = [c for c in cells if c.limit_unreliable]
    assert [(c.machine, c.workload.model) for c in bad] == [("lab-pc-01", "mlp")]
