"""End to end: recorded machines replayed through the probes, then diagnosed (`nktenv doctor --replay DIR --json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MACHINES = Path(__file__).resolve().parents[1] / "machines"

# machine -> (error codes, warning codes). Info findings are not pinned.
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "a100-mig-nvml": (set(), set()),
    "b200-driver610-smi-fallback": (set(), set()),
    "blackwell-rtx5090-proprietary": ({"blackwell_needs_open_kernel_module"}, set()),
    "conda-own-cudnn": ({"cudnn_shadowed_by_conda_lib", "cudnn_mismatch"}, {"tf_ptx_jit_unsupported_arch"}),
    "container-no-gpu": ({"container_without_gpu"}, set()),
    "cudnn9-sublibrary-missing": ({"cudnn9_sublibrary_missing"}, set()),
    "dual-gpu-mixed": (set(), {"cuda_visible_devices_hidden"}),
    "gtx1080ti-torch-cu128": ({"arch_too_old"}, set()),
    "jetson-orin-jp5-l4t35": (set(), set()),
    "kepler-k40-driver470": (set(), set()),
    "laptop-no-driver": ({"driver_not_installed"}, set()),
    "macos-arm64": (set(), set()),
    # AMD and Intel GPUs: no ROCm/XPU rules yet, and none of the NVIDIA ones may fire.
    "mi25x7-rocminfo": (set(), set()),
    "mi350x-amd-smi": (set(), set()),
    "rx7900xtx-amdgpu-no-rocm": (set(), set()),
    "win-intel-uhd-igpu": (set(), {"windows_long_paths_disabled"}),
    "win2022-rx580": (set(), {"windows_long_paths_disabled"}),
    "nouveau-loaded": ({"nouveau_loaded"}, set()),
    "nvidia-smi-hangs": ({"probe_timeout", "gpu_init_failed_bios"}, set()),
    "nvml-version-mismatch": ({"nvml_version_mismatch"}, set()),
    "secure-boot-rejected": ({"secure_boot_module_rejected"}, set()),
    "ubuntu2204-rtx3090-driver535": (set(), set()),
    "win10-store-python-tf215": (set(), {"tf_windows_native_gpu_unsupported", "vc_redist_missing", "windows_store_python",
                                         "windows_long_paths_disabled"}),
    "win11-driver617-smi-fallback": (set(), {"windows_long_paths_disabled"}),
    "win11-ja-cp932": (set(), {"windows_long_paths_disabled"}),
    "win11-rtx4090-cuda118-cudnn89": ({"zlibwapi_missing"}, {"windows_long_paths_disabled"}),
    "wsl1-ubuntu2004": ({"wsl_libcuda_not_found"}, set()),
    "wsl2-ubuntu-rtx4070": (set(), set()),
}


def _recorded() -> list[str]:
    return sorted(p.name for p in MACHINES.iterdir() if p.is_dir() and (p / "machine.json").exists())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_replayed_machine_gets_the_expected_diagnosis(runner, app, name: str) -> None:
    folder = MACHINES / name
    if not folder.exists():
        pytest.skip(f"recording {name} not present")
    result = runner.invoke(app, ["doctor", "--replay", str(folder), "--json"], catch_exceptions=False)
    doc = json.loads(result.stdout)
    errors = {f["code"] for f in doc["findings"] if f["severity"] == "error"}
    warnings = {f["code"] for f in doc["findings"] if f["severity"] == "warning"}
    assert (errors, warnings) == EXPECTED[name]
    assert doc["ok"] is (not errors)
    assert result.exit_code == (1 if errors else 0)
    assert doc["facts"]["schema"] == "nktenv.facts/1"


def test_every_recorded_machine_is_pinned() -> None:
    """A new recording must come with its expected diagnosis here."""
    assert set(_recorded()) <= set(EXPECTED), sorted(set(_recorded()) - set(EXPECTED))


def test_healthy_recording_summary_names_the_working_stack(runner, app) -> None:
    folder = MACHINES / "wsl2-ubuntu-rtx4070"
    if not folder.exists():
        pytest.skip("recording not present")
    result = runner.invoke(app, ["doctor", "--replay", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "All good." in result.stdout
    assert "PyTorch 2.4.0+cu124" in result.stdout
    assert "not an installed CUDA toolkit" in result.stdout


def test_recorded_tensorflow_builds_match_the_manifest() -> None:
    """A recording's TensorFlow must report the CUDA and cuDNN major its release was built with."""
    from nktenv.manifest import load, version_tuple
    from tests.machines import replay_facts

    m = load()
    checked = 0
    for name in _recorded():
        tf = replay_facts(name).frameworks.tensorflow
        if tf is None or not tf.is_cuda_build or not tf.version:
            continue
        rel = m.tf_release(tf.version)
        assert rel is not None, (name, tf.version)
        if tf.cudnn and rel.cudnn and tf.cudnn.isdigit():
            assert int(tf.cudnn) == version_tuple(rel.cudnn)[0], (name, tf.version, tf.cudnn, rel.cudnn)
            checked += 1
        if tf.cuda and rel.cuda and "." in tf.cuda:  # build_info says "12.5.1", the manifest "12.5"
            assert version_tuple(tf.cuda)[:2] == version_tuple(rel.cuda)[:2], (name, tf.version, tf.cuda, rel.cuda)
    assert checked >= 1


def test_cudnn9_sublibrary_recording_names_the_missing_file(runner, app) -> None:
    folder = MACHINES / "cudnn9-sublibrary-missing"
    result = runner.invoke(app, ["doctor", "--replay", str(folder), "--json"], catch_exceptions=False)
    doc = json.loads(result.stdout)
    (f,) = [f for f in doc["findings"] if f["code"] == "cudnn9_sublibrary_missing"]
    assert "/usr/lib/x86_64-linux-gnu lacks libcudnn_engines_precompiled.so.9" in f["evidence"]
    assert "nvidia-cudnn-cu12==9.3.0.75" in f["fix"]
    assert doc["facts"]["frameworks"]["tensorflow"]["version"] == "2.18.0"


@pytest.mark.parametrize("machine,named", [("rx7900xtx-amdgpu-no-rocm", "gfx1100"), ("mi350x-amd-smi", "MI350X")])
def test_amd_machine_verdict_does_not_promise_the_cpu(machine: str, named: str) -> None:
    from machines import replay_facts

    from nktenv.doctor import diagnose, summary
    from nktenv.manifest import load

    facts = replay_facts(machine)
    text = summary(facts, diagnose(facts, load()))
    assert "will run on the CPU" not in text and named in text and "nktenv plan" in text
