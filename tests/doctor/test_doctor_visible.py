"""CUDA_VISIBLE_DEVICES read as CUDA reads it (nktenv.doctor.visible).

The rules under test are CUDA's, as the CUDA Programming Guide states them
(https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#cuda-environment-variables: "If one of the
indices is invalid, only the devices whose index precedes the invalid index are visible"; "0,2,-1,1" shows 0 and 2)
and as PyTorch mirrors them in torch/cuda/__init__.py (duplicates give the empty set, "1gpu2" reads as 1, a UUID
prefix must name exactly one GPU, an index past the last GPU ends the list).
"""

from __future__ import annotations

import pytest

from nktenv.doctor.context import Ctx
from nktenv.doctor.visible import assignments, parse
from nktenv.facts import Gpu, from_dict
from tests.doctor.builders import by_code, healthy_linux, healthy_windows, merge, run

A = "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"  # the Programming Guide's example UUID
B = "GPU-89aa0001-0000-0000-0000-000000000001"
C = "GPU-1f2e3d4c-0000-0000-0000-000000000002"


def _gpus(n: int = 3) -> list[Gpu]:
    return [Gpu(index=i, vendor="nvidia", name=f"GPU{i}", compute_capability="8.6", uuid=u) for i, u in enumerate((A, B, C)[:n])]


def _idx(value: str, n: int = 3) -> list[int | None]:
    return [g.index for g in parse(value, _gpus(n)).visible]


@pytest.mark.parametrize("value, seen", [
    ("2,1", [2, 1]),  # the Guide: device 0 invisible, 2 enumerated before 1
    ("0,2,-1,1", [0, 2]),  # the Guide's own example
    ("0,bash,1", [0]),  # stops at the first entry that is no index
    ("bash", []),
    ("", []),
    ("-1", []),
    ("1gpu2,2ampere", [1, 2]),  # strtoul: leading digits count
    (" 1 , 0 ", [1, 0]),
    ("0,0", []),  # a GPU listed twice: none at all
    ("0,1,0", []),
    ("1,7,0", [1]),  # 7 is past the last GPU: the list ends there
])
def test_indices(value: str, seen: list[int]) -> None:
    assert _idx(value) == seen


def test_one_gpu_machine() -> None:
    assert _idx("1,0", 1) == []  # the first entry already names no GPU
    assert _idx("0,1", 1) == [0]


def test_uuid_prefixes_match_against_the_machines_uuids() -> None:
    assert _idx("GPU-8932f937") == [0]
    assert _idx("GPU-1f2e,GPU-8932") == [2, 0]
    assert _idx("GPU-89") == []  # starts two UUIDs: ambiguous, names none
    assert _idx("GPU-8932f937,GPU-deadbeef,GPU-1f2e") == [0]  # another machine's UUID ends the list
    assert _idx(f"{A},{A.upper()}") == []  # the same GPU twice
    vis = parse("GPU-deadbeef", _gpus())
    assert vis.count == 0 and vis.stop is not None and vis.stop.status == "unknown_uuid"


def test_indices_and_uuids_do_not_mix() -> None:
    assert _idx("0,GPU-8932f937") == [0]
    assert _idx("GPU-8932f937,1") == [0]


def test_without_known_gpus_entries_stay_unverified_but_the_stops_are_certain() -> None:
    vis = parse("2", [], count_known=False)
    assert vis.visible == [] and vis.unverified == 1 and vis.count == 1
    assert parse("bash", [], count_known=False).count == 0
    assert parse("0,0", [], count_known=False).count == 0
    mig = parse("MIG-GPU-8932f937-d72c-4106-c12f-20bd9faed9f6/1/0", _gpus())
    assert mig.count == 1 and mig.stop is None


def _ctx(env: str | None = None, logs: str = "", gpus: int = 1, windows: bool = False) -> Ctx:
    doc = healthy_windows() if windows else healthy_linux()
    doc["gpus"] = [{"index": g.index, "vendor": "nvidia", "name": g.name, "compute_capability": "8.6", "uuid": g.uuid}
                   for g in _gpus(gpus)]
    doc["env"]["CUDA_VISIBLE_DEVICES"] = env
    doc["logs"] = [{"source": "run.txt", "text": logs}] if logs else []
    return Ctx(from_dict(doc))


def test_assignments_are_read_from_commands_scripts_and_tracebacks() -> None:
    text = "\n".join([
        "(py35) ~/pytorch/examples/mnist$ CUDA_VISIBLE_DEVICES=2 python main.py",  # pytorch/examples#115
        "export CUDA_VISIBLE_DEVICES=3",
        'os.environ["CUDA_VISIBLE_DEVICES"] = "1"',
        "    os.environ['CUDA_VISIBLE_DEVICES']='0,1'",
        "set CUDA_VISIBLE_DEVICES=4",
        '$env:CUDA_VISIBLE_DEVICES = "5"',
        "CUDA_VISIBLE_DEVICES=$0 ./tools/demo.py",
        "os.environ['CUDA_VISIBLE_DEVICES'] = args.gpu",  # a Python variable: value unknown
        "or run on another GPU (CUDA_VISIBLE_DEVICES=<free GPU index>)",  # a placeholder in prose
        "MY_CUDA_VISIBLE_DEVICES=7",  # another variable
    ])
    got = [(a.raw, a.value) for a in assignments(_ctx(logs=text))]
    assert got == [("2", "2"), ("3", "3"), ("1", "1"), ("0,1", "0,1"), ("4", "4"), ("5", "5"), ("$0", "bash")]


def test_environment_value_comes_first_and_unset_is_not_an_assignment() -> None:
    assert [a.where for a in assignments(_ctx(env="0"))] == ["environment"]
    assert assignments(_ctx()) == []


def test_index_past_the_only_gpu_in_a_command_line_is_an_error() -> None:
    log = "(py35) ~/pytorch/examples/mnist$ CUDA_VISIBLE_DEVICES=2 python main.py\n" \
          "THCudaCheck FAIL file=torch/csrc/cuda/Module.cpp line=109 error=38 : no CUDA-capable device is detected"
    doc = merge(healthy_linux(), {"logs": [{"source": "run.txt", "text": log}]})
    f = by_code(run(doc))["cuda_visible_devices_hidden"]
    assert f.severity == "error"
    assert "CUDA sees: no GPU" in f.evidence
    assert any("'2' is past the last GPU (this machine has 1: indices 0 to 0)" in e for e in f.evidence)


def test_stop_in_the_middle_names_what_cuda_ignores() -> None:
    doc = merge(healthy_linux(), {"env": {"CUDA_VISIBLE_DEVICES": "0,bash,1"}})
    doc["gpus"] = [{"index": g.index, "vendor": "nvidia", "name": g.name, "compute_capability": "8.6", "uuid": g.uuid}
                   for g in _gpus(2)]
    f = by_code(run(doc))["cuda_visible_devices_hidden"]
    assert f.severity == "warning" and "stops at 'bash'" in f.title
    assert "CUDA ignores what follows: 1" in f.evidence and "CUDA sees: 0 (GPU0)" in f.evidence


def test_uuid_of_another_machine_hides_every_gpu() -> None:
    doc = merge(healthy_linux(), {"env": {"CUDA_VISIBLE_DEVICES": "GPU-0badc0de-0000-0000-0000-000000000000"}})
    f = by_code(run(doc))["cuda_visible_devices_hidden"]
    assert f.severity == "error" and "CUDA sees: no GPU" in f.evidence
    assert any("matches none of this machine's GPU UUIDs" in e for e in f.evidence)


def test_valid_values_stay_quiet() -> None:
    for value in ("0", "GPU-11111111", "all", "GPU-11111111-2222-3333-4444-555555555555", "MIG-GPU-11111111/1/0"):
        doc = merge(healthy_linux(), {"env": {"CUDA_VISIBLE_DEVICES": value}})
        assert "cuda_visible_devices_hidden" not in by_code(run(doc)), value
    # An assignment in a log of a run that used its GPU (an out-of-memory error on it).
    doc = merge(healthy_linux(), {"logs": [{"source": "run.txt", "text": "CUDA_VISIBLE_DEVICES=0 python train.py\n"
                                            "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 5.80 GiB total capacity)"}]})
    assert "cuda_visible_devices_hidden" not in by_code(run(doc))


def test_windows_fix_clears_it_the_powershell_way() -> None:
    doc = merge(healthy_windows(), {"env": {"CUDA_VISIBLE_DEVICES": "1,0"}})
    f = by_code(run(doc))["cuda_visible_devices_hidden"]
    assert "Remove-Item Env:CUDA_VISIBLE_DEVICES" in (f.fix or "") and f.severity == "error"
