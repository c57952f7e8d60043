from __future__ import annotations

import time

from bench_fakes import FakeNVML, reading

from nktenv.bench.telemetry import Sampler, explain, nvml_indices, summarize

THERMAL = 0x20
POWER_CAP = 0x4


def _sample(sampler: Sampler, n: int) -> None:
    for _ in range(n):
        sampler.sample_once()


def test_samples_are_filed_under_the_active_row_only() -> None:
    nvml = FakeNVML([reading()])
    sampler = Sampler(nvml)
    sampler.sample_once()  # nothing active: no sample
    sampler.set_active(("torch", "cnn", "resident", "cuda:0"), 0)
    _sample(sampler, 3)
    sampler.set_active(None)
    sampler.sample_once()
    assert len(sampler.samples[("torch", "cnn", "resident", "cuda:0")]) == 3
    assert sum(len(v) for v in sampler.samples.values()) == 3


def test_summary_names_thermal_slowdown_and_a_trained_down_link() -> None:
    # 38 of 100 samples throttled for temperature; the link ran Gen1 x4 on a Gen4 x16 card.
    readings = [reading(reasons=THERMAL if i < 38 else 0, sm=1500 if i < 38 else 1980, temp=84,
                        gen=1, width=4, util=95) for i in range(100)]
    sampler = Sampler(FakeNVML(readings))
    sampler.set_active("row", 0)
    _sample(sampler, 100)
    t = sampler.summary("row")
    assert t is not None
    assert t["samples"] == 100
    assert t["throttle"]["sw_thermal"] == 0.38
    assert t["throttle"]["sw_power_cap"] == 0.0
    assert t["sm_clock_mhz"] == {"median": 1980, "min": 1500, "max": 1980}
    assert t["pcie"] == {"gen_current": 1, "width_current": 4, "gen_max": 4, "width_max": 16}
    assert t["power_w"]["median"] == 300.0 and t["power_limit_w"] == 700.0
    notes = explain(t)
    assert "thermal slowdown 38% of the run" in notes
    assert "PCIe Gen1 x4 under load (the card supports Gen4 x16)" in notes
    assert any("SM clock varied from 1500 to 1980 MHz" in n for n in notes)


def test_explain_compares_with_a_twin_and_flags_a_starved_gpu() -> None:
    slow = summarize([{**reading(gen=1, width=4, util=30, reasons=POWER_CAP, power_mw=695_000), "reasons": POWER_CAP,
                       "pcie_gen": 1, "pcie_width": 4, "pcie_gen_max": 4, "pcie_width_max": 16,
                       "utilization_gpu": 30, "power_w": 695.0, "power_limit_w": 700.0}])
    twin = {"pcie": {"gen_current": 4, "width_current": 16}}
    notes = explain(slow, twin)
    assert "PCIe Gen1 x4 while its twin runs Gen4 x16" in notes
    assert "power cap 100% of the run" in notes
    assert any(n.startswith("GPU busy only 30%") for n in notes)
    assert any(n.startswith("power draw at its limit") for n in notes)


def test_a_healthy_run_has_no_notes() -> None:
    sampler = Sampler(FakeNVML([reading()]))
    sampler.set_active("row", 0)
    _sample(sampler, 5)
    assert explain(sampler.summary("row")) == []


def test_unsupported_queries_leave_fields_empty_and_sampling_goes_on() -> None:
    nvml = FakeNVML([reading()], unsupported=("temp", "power_mw", "gen_max", "width_max"))
    sampler = Sampler(nvml)
    sampler.set_active("row", 0)
    _sample(sampler, 4)
    t = sampler.summary("row")
    assert t["samples"] == 4
    assert t["temperature_c"] is None and t["power_w"] is None
    assert t["pcie"]["gen_current"] == 4 and t["pcie"]["gen_max"] is None
    assert t["sm_clock_mhz"]["median"] == 1980


def test_background_thread_samples_at_the_interval() -> None:
    sampler = Sampler(FakeNVML([reading()]), interval=0.01)
    sampler.set_active("row", 0)
    sampler.start()
    time.sleep(0.3)
    sampler.stop()
    count = len(sampler.samples["row"])
    assert 5 <= count <= 31
    time.sleep(0.05)
    assert len(sampler.samples["row"]) == count  # stopped means stopped


def test_no_samples_no_summary() -> None:
    assert summarize([]) is None
    assert explain(None) == []


def test_cuda_devices_map_to_nvml_boards_by_uuid() -> None:
    # CUDA_VISIBLE_DEVICES=1: CUDA's cuda:0 is NVML's board 1.
    devices = [{"device": "cpu"}, {"device": "cuda:0", "uuid": "bbbb-1111"}, {"device": "cuda:1", "uuid": None}]
    assert nvml_indices(FakeNVML([reading()]), devices) == {"cuda:0": 1, "cuda:1": 1}
    assert nvml_indices(FakeNVML([reading()]), [{"device": "cuda:0", "uuid": "GPU-AAAA-0000"}]) == {"cuda:0": 0}
