"""Plans when the driver does not give the architecture, and the knobs: NKTENV_TORCH_BACKEND,
NKTENV_OVERRIDE_DRIVER without a GPU, vendor-aware NKTENV_OVERRIDE_GPUS."""

from __future__ import annotations

import json

import pytest
from machines import replay_facts
from plan_facts import machine_facts

from nktenv.facts import from_dict
from nktenv.manifest import load
from nktenv.plan import PlanRequest, make_plan


@pytest.fixture(scope="module")
def manifests():
    return load()


def test_k40_on_r470_gets_the_cpu_build_said_clearly(manifests) -> None:
    # nvidia-smi 470 reports no compute_cap; before, plan took the GPU as covered and chose cu118 (no sm_35).
    result = make_plan(replay_facts("kepler-k40-driver470", frameworks=False), manifests, PlanRequest(python="3.11"))
    assert result.torch.variant == "cpu" and not result.torch.gpu
    assert {"gpu_arch_unsupported_by_requested_version", "cpu_fallback"} <= {f.code for f in result.findings}
    assert any("sm_35 comes from its name, Tesla K40c" in r for r in result.torch.reasons)
    assert "gpu_arch_unknown" not in {f.code for f in result.findings}


def test_rtx5090_seen_only_by_lspci_gets_a_blackwell_build(manifests) -> None:
    # Before: 2.14.1 + cu126, which has no sm_120 kernels.
    result = make_plan(replay_facts("blackwell-rtx5090-proprietary", frameworks=False), manifests,
                       PlanRequest(python="3.11"))
    assert (result.torch.version, result.torch.variant) == ("2.13.0", "cu129")
    assert any("PCI id 10de:2b85" in r for r in result.torch.reasons)


def test_an_old_snapshot_without_derived_arch_is_derived_by_plan(manifests) -> None:
    doc = replay_facts("blackwell-rtx5090-proprietary", frameworks=False).to_dict()
    for gpu in doc["gpus"]:  # as nktenv wrote it before the table existed
        gpu["compute_capability"] = None
        gpu.pop("derived_arch", None)
    result = make_plan(from_dict(json.loads(json.dumps(doc))), manifests, PlanRequest(python="3.11"))
    assert result.torch.variant == "cu129"


def test_unknown_architecture_takes_the_widest_build_and_says_so(manifests) -> None:
    facts = machine_facts(("NVIDIA Future GPU",), driver="580.65.06")
    result = make_plan(facts, manifests, PlanRequest())
    newest = make_plan(machine_facts(("RTX4090",), driver="580.65.06"), manifests, PlanRequest()).torch
    assert (result.torch.version, result.torch.variant) != (newest.version, newest.variant)
    assert result.torch.variant == "cu118" and result.torch.gpu
    text = " ".join(result.torch.reasons)
    assert "is unknown" in text and "widest range (sm_37 to sm_90)" in text and "rather than the newest" in text
    assert "covers every visible GPU" not in text
    assert "gpu_arch_unknown" in {f.code for f in result.findings}


def test_amd_override_is_no_longer_an_nvidia_gpu(manifests) -> None:
    facts = replay_facts("container-no-gpu", frameworks=False, overrides={
        "NKTENV_OVERRIDE_GPUS": "AMD Radeon RX 7900 XTX:gfx1100", "NKTENV_OVERRIDE_DRIVER": "570.133.07"})
    assert [(g.vendor, g.arch, g.compute_capability) for g in facts.gpus] == [("amd", "gfx1100", None)]
    result = make_plan(facts, manifests, PlanRequest(python="3.11"))
    assert not result.torch.variant.startswith("cu")  # before: cu129


def test_driver_override_alone_plans_for_a_gpu_every_build_covers(manifests) -> None:
    facts = replay_facts("container-no-gpu", frameworks=False, overrides={"NKTENV_OVERRIDE_DRIVER": "580.65.06"})
    assert facts.gpus == ()
    result = make_plan(facts, manifests, PlanRequest(python="3.11"))
    assert result.ok and result.torch.gpu and result.torch.variant == "cu132"
    (why,) = [r for r in result.torch.reasons if "NKTENV_OVERRIDE_DRIVER=580.65.06" in r]
    assert "every CUDA build covers" in why and "sm_75 to sm_120" in why
    # A driver no CUDA build allows: the CPU build, and why.
    old = make_plan(replay_facts("container-no-gpu", frameworks=False, overrides={"NKTENV_OVERRIDE_DRIVER": "440.33"}),
                    manifests, PlanRequest(python="3.11"))
    assert old.torch.variant == "cpu" and any("no CUDA build of torch allows driver 440.33" in r for r in old.torch.reasons)


def test_no_driver_override_no_gpu_stays_cpu(manifests) -> None:
    result = make_plan(replay_facts("container-no-gpu", frameworks=False), manifests, PlanRequest(python="3.11"))
    assert result.torch.variant == "cpu"


# --- NKTENV_TORCH_BACKEND through the CLI ---------------------------------------------------------------


@pytest.fixture()
def facts_file(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(replay_facts("ubuntu2204-rtx3090-driver535", frameworks=False).to_dict()), encoding="utf-8")
    return path


def _plan(runner, app, facts_file, *args, env=None):
    result = runner.invoke(app, ["plan", "--facts", str(facts_file), "--python", "3.11", "--json", *args], env=env or {})
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_backend_env_chooses_the_build_and_the_plan_says_so(runner, app, facts_file) -> None:
    _result, doc = _plan(runner, app, facts_file, env={"NKTENV_TORCH_BACKEND": "cu118"})
    assert doc["torch"]["variant"] == "cu118"
    assert any("NKTENV_TORCH_BACKEND=cu118" in r for r in doc["torch"]["reasons"])


def test_variant_flag_wins_over_the_backend_env(runner, app, facts_file) -> None:
    _result, doc = _plan(runner, app, facts_file, "--variant", "cpu", env={"NKTENV_TORCH_BACKEND": "cu118"})
    assert doc["torch"]["variant"] == "cpu"
    assert not any("NKTENV_TORCH_BACKEND" in r for r in doc["torch"]["reasons"])


def test_backend_env_auto_is_the_default(runner, app, facts_file) -> None:
    _r1, auto = _plan(runner, app, facts_file, env={"NKTENV_TORCH_BACKEND": "auto"})
    _r2, plain = _plan(runner, app, facts_file)
    assert auto["torch"] == plain["torch"]


def test_bad_backend_env_is_one_line(runner, app, facts_file) -> None:
    result, _doc = _plan(runner, app, facts_file, env={"NKTENV_TORCH_BACKEND": "cuda12"})
    assert result.exit_code == 2 and "NKTENV_TORCH_BACKEND=cuda12" in result.stderr
    assert "Traceback" not in result.stderr


# --- companions ---------------------------------------------------------------------------------------


def test_companions_come_from_the_manifest_pairing_and_the_torch_index(manifests) -> None:
    paired = make_plan(machine_facts(("RTX3090",), driver="550.54.15"), manifests, PlanRequest(torch="2.5.1"))
    assert paired.torch.requirements == ("torch==2.5.1", "torchvision==0.20.1", "torchaudio==2.5.1")
    argv = paired.torch.pip_command()
    assert argv.count("--index-url") == 1 and "--extra-index-url" not in argv  # one index serves all three
    # torch.toml pairs no torchaudio with 2.14.1: it is left out rather than guessed.
    unpaired = make_plan(machine_facts(("RTX3090",), driver="550.54.15"), manifests, PlanRequest(torch="2.14.1"))
    assert unpaired.torch.requirements == ("torch==2.14.1", "torchvision==0.29.1")
