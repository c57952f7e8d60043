"""Planner cases that rest on which wheels each release published per platform: aarch64 GPU servers,
Windows wheels of Kepler/Maxwell-era cards, ROCm builds of 2.2 and 2.14, Windows on Arm, and
pre-releases never being offered unasked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from plan_facts import machine_facts

from nktenv import manifest
from nktenv.facts import from_dict
from nktenv.manifest import FILES, load
from nktenv.plan import PlanRequest, make_plan

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifests():
    return load()


def plan(manifests, cards, request=None, **machine):
    return make_plan(machine_facts(cards, **machine), manifests, request or PlanRequest())


def codes(result):
    return [f.code for f in result.findings]


# --- aarch64 GPU servers (GH200 / GB200) ----------------------------------------------------------


def test_gh200_gets_the_2_7_cu128_aarch64_wheel(manifests) -> None:
    # 2.7 published CUDA aarch64 wheels only as cu128 (sm_90;sm_100;sm_120); cu13x needs R580.
    result = plan(manifests, ("H100",), PlanRequest(torch="2.7.1"), arch="aarch64", driver="570.124.06")
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant, result.torch.gpu) == ("2.7.1", "cu128", True)
    assert result.torch.index_url == "https://download.pytorch.org/whl/cu128"
    assert "cpu_fallback" not in codes(result)


def test_gb200_on_r575_gets_2_10_cu128_on_aarch64(manifests) -> None:
    # 2.10 aarch64: cu126 carries only sm_80/sm_90, cu130 needs driver >= 580; cu128 has sm_100.
    result = plan(manifests, ("B200",), PlanRequest(torch="2.10.0"), arch="aarch64", driver="575.57.08")
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant) == ("2.10.0", "cu128")
    assert "cpu_fallback" not in codes(result)


def test_aarch64_2_8_cu128_is_not_offered_while_its_gpu_code_is_unknown(manifests) -> None:
    # 2.8.0 aarch64 CUDA: cu129 (sm_80...sm_120) is established, the cu128 aarch64 wheels' GPU code is not.
    result = plan(manifests, ("H100",), PlanRequest(torch="2.8.0"), arch="aarch64", driver="575.57.08")
    assert (result.torch.version, result.torch.variant) == ("2.8.0", "cu129")
    result = plan(
        manifests, ("H100",), PlanRequest(torch="2.8.0", variant="cu128"), arch="aarch64", driver="575.57.08"
    )
    assert not result.ok and "variant_not_published" in codes(result)


# --- Windows, Kepler / Maxwell era, cu118 ---------------------------------------------------------


@pytest.mark.parametrize("card", ["K80", "GTX980"])
def test_windows_r470_kepler_and_maxwell_get_2_7_1_cu118(manifests, card) -> None:
    # 472.50 is an R470 Windows driver: above the 11.x floor (452.39), below every 12.x one (528.33).
    result = plan(manifests, (card,), system="windows", driver="472.50")
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant) == ("2.7.1", "cu118")
    assert result.torch.index_url == "https://download.pytorch.org/whl/cu118"


def test_windows_cu118_wheel_carries_sm37_ptx(manifests) -> None:
    v = manifests.torch_release("2.7.1").variant("cu118")
    assert v.archs("windows")[1] == ("3.7",) and v.archs("linux")[1] == ()


def test_windows_sm35_kepler_has_no_torch_build(manifests) -> None:
    # sm_37 SASS does not run on 3.5 and compute_37 PTX needs >= 3.7: no Windows wheel covers a GTX 780.
    facts = from_dict(
        {
            "schema": "nktenv.facts/1",
            "os": {"system": "windows", "arch": "x86_64", "wsl": False},
            "python": {"version": "3.10.11"},
            "driver": {"version": "472.50", "source": "nvml"},
            "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce GTX 780", "compute_capability": "3.5"}],
            "env": {},
        }
    )
    result = make_plan(facts, manifests, PlanRequest())
    assert result.torch.variant == "cpu" and not result.torch.gpu
    assert "cpu_fallback" in codes(result)
    assert any("[Kepler]" in r for r in result.torch.reasons)


def test_windows_hopper_on_1_13_runs_through_the_sm37_ptx(manifests) -> None:
    # cu116/cu117 Windows wheels ship compute_37 PTX, which the driver JIT-compiles for sm_90; Linux ones do not.
    request = PlanRequest(torch="1.13.1", python="3.10")
    windows = plan(manifests, ("H100",), request, system="windows", driver="537.13")
    assert (windows.torch.variant, windows.torch.gpu) == ("cu117", True)
    linux = plan(manifests, ("H100",), request, driver="535.104.05")
    assert linux.torch.variant == "cpu"


# --- ROCm machines (explicit variant; AMD GPUs are not checked) -----------------------------------


def _amd_facts(gfx_name: str) -> Any:
    doc: dict[str, Any] = {
        "schema": "nktenv.facts/1",
        "os": {"system": "linux", "arch": "x86_64", "wsl": False, "glibc": "2.35"},
        "python": {"version": "3.10.12"},
        "driver": None,
        "gpus": [{"index": 0, "vendor": "amd", "name": gfx_name, "uuid": None, "compute_capability": None}],
        "env": {},
    }
    return from_dict(doc)


@pytest.mark.parametrize(
    "torch,variant,vision",
    [("2.2.0", "rocm5.7", "0.17.0"), ("2.2.2", "rocm5.6", "0.17.2"), ("2.2.1", "rocm5.6", "0.17.1")],
)
def test_rocm_machine_on_2_2_gets_both_rocm_lines(manifests, torch, variant, vision) -> None:
    result = make_plan(_amd_facts("AMD Radeon RX 7900 XTX"), manifests, PlanRequest(torch=torch, variant=variant))
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant) == (torch, variant)
    assert result.torch.index_url == f"https://download.pytorch.org/whl/{variant}"
    # torchaudio 2.2.x is paired with torch 2.2.x and served from the same ROCm index
    assert result.torch.requirements == (f"torch=={torch}", f"torchvision=={vision}", f"torchaudio=={torch}")


@pytest.mark.parametrize("torch,vision", [("2.14.0", "0.29.0"), ("2.14.1", "0.29.1")])
def test_rocm_7_14_machine_on_2_14(manifests, torch, vision) -> None:
    result = make_plan(_amd_facts("AMD Instinct MI300X"), manifests, PlanRequest(torch=torch, variant="rocm7.14"))
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant) == (torch, "rocm7.14")
    assert result.torch.index_url == "https://download.pytorch.org/whl/rocm7.14"
    assert result.torch.requirements == (f"torch=={torch}", f"torchvision=={vision}")
    assert any("does not check AMD or Intel GPUs" in r for r in result.torch.reasons)


def test_rocm_7_14_was_not_published_for_2_13(manifests) -> None:
    result = make_plan(_amd_facts("AMD Instinct MI300X"), manifests, PlanRequest(torch="2.13.0", variant="rocm7.14"))
    assert not result.ok and "variant_not_published" in codes(result)


# --- Windows on Arm ---------------------------------------------------------------------------------


def test_windows_on_arm_gets_the_newest_arm64_cpu_wheel(manifests) -> None:
    result = plan(manifests, (), system="windows", arch="aarch64", driver=None)
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant, result.torch.gpu) == ("2.13.0", "cpu", False)


# --- pre-releases ---------------------------------------------------------------------------------


@pytest.fixture
def with_release_candidates(tmp_path, monkeypatch):
    folder = tmp_path / "manifests"
    folder.mkdir()
    for name in FILES:
        shutil.copyfile(REPO / "manifests" / name, folder / name)
    tf = folder / "tensorflow.toml"
    text = tf.read_text(encoding="utf-8")
    rc = (
        '[[release]]\nversion = "2.22.0rc0"\npython = ">=3.10,<3.14"\ncuda = "12.5"\ncudnn = "9.3"\n'
        'gpu_platforms = ["linux", "wsl"]\nmin_cc = "6.0"\nand_cuda = "ok"\nsource = "test entry"\n\n'
    )
    tf.write_text(text.replace("[[release]]\n", rc + "[[release]]\n", 1), encoding="utf-8")
    torch = folder / "torch.toml"
    torch.write_text(
        torch.read_text(encoding="utf-8")
        + '\n[[release]]\nversion = "2.16.0rc1"\npython = ">=3.11,<3.15"\nsource = "test entry"\n\n'
        '[[variant]]\nname = "cu132"\nreleases = ["2.16.0rc1"]\nplatforms = ["linux-x86_64"]\n'
        'sass = ["7.5", "8.0", "8.6", "9.0", "10.0", "12.0"]\nptx = ["12.0"]\nsource = "test entry"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NKTENV_MANIFESTS_DIR", str(folder))
    manifest.clear_cache()
    yield manifest.load()
    manifest.clear_cache()


def test_latest_never_offers_a_release_candidate(with_release_candidates) -> None:
    m = with_release_candidates
    assert m.tensorflow[0].version == "2.22.0rc0" and m.torch[0].version == "2.16.0rc1"
    result = plan(m, ("RTX3090",), PlanRequest(torch="latest", tensorflow="latest"), driver="580.95.05")
    assert result.torch.version == "2.15.0"
    assert result.tensorflow.version == "2.21.0"


def test_a_release_candidate_is_planned_when_asked_for(with_release_candidates) -> None:
    m = with_release_candidates
    result = plan(m, ("RTX3090",), PlanRequest(torch="2.16.0rc1", tensorflow="2.22.0rc0"), driver="580.95.05")
    assert (result.torch.version, result.torch.variant) == ("2.16.0rc1", "cu132")
    assert result.tensorflow.version == "2.22.0rc0"
