"""Table-driven planner tests over realistic machines, Kepler to Blackwell, on Linux, Windows, WSL and macOS."""

from __future__ import annotations

import json

import pytest
from plan_facts import machine_facts

from nktenv.manifest import load
from nktenv.plan import FAILURE_CODES, PlanRequest, make_plan, visible_gpus


@pytest.fixture(scope="module")
def manifests():
    return load()


def plan(manifests, cards=("RTX3090",), request=None, **machine):
    return make_plan(machine_facts(cards, **machine), manifests, request or PlanRequest())


def codes(result):
    return [f.code for f in result.findings]


# (id, cards, machine kwargs, request, expected torch version, expected variant)
TORCH_CASES = [
    ("kepler-r470", ("K80",), {"driver": "470.256.02"}, PlanRequest(), "2.7.1", "cu118"),
    ("maxwell-linux", ("GTX980",), {"driver": "580.95.05"}, PlanRequest(), "2.14.1", "cu126"),
    ("pascal-linux", ("GTX1080TI",), {"driver": "535.183.01"}, PlanRequest(), "2.14.1", "cu126"),
    (
        "pascal-linux-2.8",
        ("GTX1080TI",),
        {"driver": "560.35.03"},
        PlanRequest(torch="2.8.0"),
        "2.8.0",
        "cu126",
    ),
    # Whether Windows 2.8.0 cu128 wheels carry sm_61 is not established (pytorch#164470), so cu126 it is.
    (
        "pascal-windows-2.8",
        ("GTX1080TI",),
        {"system": "windows", "driver": "560.94"},
        PlanRequest(torch="2.8.0"),
        "2.8.0",
        "cu126",
    ),
    ("volta-linux", ("V100",), {"driver": "580.95.05"}, PlanRequest(), "2.14.1", "cu126"),
    ("volta-2.10-cu129", ("V100",), {"driver": "570.124.06"}, PlanRequest(torch="2.10.0"), "2.10.0", "cu129"),
    ("turing-new-driver", ("RTX2080",), {"driver": "580.95.05"}, PlanRequest(), "2.15.0", "cu132"),
    ("ampere-550", ("RTX3090",), {"driver": "550.54.15"}, PlanRequest(), "2.14.1", "cu126"),
    ("a100-580", ("A100",), {"driver": "580.65.06"}, PlanRequest(), "2.15.0", "cu132"),
    ("ada-580", ("RTX4090",), {"driver": "580.95.05"}, PlanRequest(), "2.15.0", "cu132"),
    ("hopper-570", ("H100",), {"driver": "570.124.06"}, PlanRequest(), "2.14.1", "cu126"),
    ("b200-580", ("B200",), {"driver": "580.95.05"}, PlanRequest(), "2.15.0", "cu132"),
    # Linux publishes cu129 for 2.13.0, which covers sm_120 on an R570 driver.
    ("blackwell-linux-570", ("RTX5090",), {"driver": "570.133.07"}, PlanRequest(), "2.13.0", "cu129"),
    (
        "blackwell-windows-572",
        ("RTX5090",),
        {"system": "windows", "driver": "572.16"},
        PlanRequest(),
        "2.11.0",
        "cu128",
    ),
    (
        "blackwell-windows-581",
        ("RTX5090",),
        {"system": "windows", "driver": "581.57"},
        PlanRequest(),
        "2.15.0",
        "cu132",
    ),
    ("gb10-aarch64", ("GB10",), {"arch": "aarch64", "driver": "580.95.05"}, PlanRequest(), "2.15.0", "cu132"),
    (
        "python310-capped",
        ("RTX3090",),
        {"driver": "580.95.05", "python": "3.10.13"},
        PlanRequest(),
        "2.14.1",
        "cu132",
    ),
    ("python38", ("RTX3090",), {"driver": "550.54.15", "python": "3.8.18"}, PlanRequest(), "2.4.1", "cu124"),
    ("python37", ("RTX3090",), {"driver": "550.54.15", "python": "3.7.17"}, PlanRequest(), "1.13.1", "cu117"),
    ("explicit-version", ("RTX3090",), {"driver": "550.54.15"}, PlanRequest(torch="2.5.1"), "2.5.1", "cu124"),
    (
        "explicit-variant",
        ("RTX3090",),
        {"driver": "550.54.15"},
        PlanRequest(variant="cu118"),
        "2.7.1",
        "cu118",
    ),
    ("explicit-cpu", ("RTX3090",), {"driver": "550.54.15"}, PlanRequest(variant="cpu"), "2.15.0", "cpu"),
    ("mixed-covered", ("RTX3090", "GTX1080TI"), {"driver": "580.95.05"}, PlanRequest(), "2.14.1", "cu126"),
    (
        "masked-by-index",
        ("K80", "RTX3090"),
        {"driver": "580.95.05", "env": {"CUDA_VISIBLE_DEVICES": "1"}},
        PlanRequest(),
        "2.15.0",
        "cu132",
    ),
    (
        "masked-by-uuid",
        ("K80", "RTX3090"),
        {"driver": "580.95.05", "env": {"CUDA_VISIBLE_DEVICES": "GPU-11c0ffee"}},
        PlanRequest(),
        "2.15.0",
        "cu132",
    ),
]


@pytest.mark.parametrize(
    "cards,machine,request_,version,variant", [c[1:] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES]
)
def test_torch_choice(manifests, cards, machine, request_, version, variant) -> None:
    result = plan(manifests, cards, request_, **machine)
    assert result.ok, result.findings
    assert (result.torch.version, result.torch.variant) == (version, variant)
    assert result.torch.requirements[0] == f"torch=={version}"
    if variant.startswith("cu"):
        assert result.torch.gpu
        assert result.torch.index_url == f"https://download.pytorch.org/whl/{variant}"
        assert "cpu_fallback" not in codes(result)


def test_wsl_uses_windows_driver_floors(manifests) -> None:
    # 527.50 clears the Linux 12.x floor (525.60.13) but not the Windows one (528.33) WSL2 lives under.
    linux = plan(manifests, ("RTX3090",), driver="527.50")
    wsl = plan(manifests, ("RTX3090",), driver="527.50", wsl=True)
    assert linux.torch.variant == "cu126"
    assert (wsl.torch.version, wsl.torch.variant) == ("2.7.1", "cu118")
    assert any("WSL2" in r for r in wsl.torch.reasons)
    # WSL gets the Linux wheel index, not a Windows one.
    assert wsl.torch.index_url.endswith("/cu118")


def test_latest_says_what_unlocks_newer(manifests) -> None:
    result = plan(manifests, ("RTX5090",), system="windows", driver="572.16")
    unlock = next(f for f in result.findings if f.code == "driver_upgrade_unlocks")
    assert unlock.severity == "info"
    assert "580" in unlock.title and "2.15.0" in unlock.title and "cu132" in unlock.title
    assert result.ok


def test_legacy_gpu_latest_explains_arch(manifests) -> None:
    result = plan(manifests, ("K80",), driver="470.256.02")
    assert any("no kernels for Tesla K80 (sm_37) [Kepler]" in r for r in result.torch.reasons)


def test_macos_arm64_uses_default_index(manifests) -> None:
    result = plan(manifests, (), system="darwin", arch="aarch64", driver=None)
    assert result.ok
    assert result.torch.index_url is None and not result.torch.gpu
    assert result.torch.version == "2.15.0"
    assert "cpu_fallback" not in codes(result)
    assert result.torch.pip_command() == ["python", "-m", "pip", "install", "torch==2.15.0", "torchvision"]


def test_macos_x86_64_stops_at_2_2_2(manifests) -> None:
    latest = plan(manifests, (), system="darwin", arch="x86_64", driver=None, python="3.11.9")
    assert latest.torch.version == "2.2.2"
    newer = plan(manifests, (), PlanRequest(torch="2.5.1"), system="darwin", arch="x86_64", driver=None)
    assert not newer.ok and codes(newer) == ["no_wheel_for_platform"]


def test_macos_rejects_cuda_variant(manifests) -> None:
    result = plan(manifests, (), PlanRequest(variant="cu126"), system="darwin", arch="aarch64", driver=None)
    assert not result.ok and codes(result) == ["variant_not_published"]


@pytest.mark.parametrize("system", ["linux", "windows"])
def test_cpu_fallback_uses_cpu_index(manifests, system) -> None:
    result = plan(manifests, ("RTX3090",), system=system, driver="418.67")
    assert result.ok
    assert result.torch.variant == "cpu" and not result.torch.gpu
    assert result.torch.index_url == "https://download.pytorch.org/whl/cpu"
    fallback = next(f for f in result.findings if f.code == "cpu_fallback")
    assert fallback.severity == "warning"
    why = next(f for f in result.findings if f.code == "driver_too_old")
    assert why.severity == "warning" and "418.67" in why.title
    if system == "linux":
        assert any("multi-GB" in r for r in result.torch.reasons)


def test_no_gpu_linux_gets_cpu_index(manifests) -> None:
    result = plan(manifests, (), driver=None)
    assert result.torch.index_url == "https://download.pytorch.org/whl/cpu"
    assert codes(result) == ["cpu_fallback"]


# (id, cards, machine kwargs, request, expected failure code)
FAILURES = [
    ("python-too-new", ("RTX3090",), {"python": "3.15.0"}, PlanRequest(), "python_version_unsupported"),
    (
        "python-too-old",
        ("RTX3090",),
        {"python": "3.8.10"},
        PlanRequest(torch="2.9.0"),
        "python_version_unsupported",
    ),
    (
        "variant-never-published",
        ("RTX3090",),
        {},
        PlanRequest(torch="2.8.0", variant="cu121"),
        "variant_not_published",
    ),
    (
        "variant-removed",
        ("RTX3090",),
        {},
        PlanRequest(torch="2.12.0", variant="cu128"),
        "variant_not_published",
    ),
    ("variant-unknown", ("RTX3090",), {}, PlanRequest(variant="cu134"), "variant_not_published"),
    (
        "cu129-not-on-windows",
        ("RTX3090",),
        {"system": "windows", "driver": "560.94"},
        PlanRequest(torch="2.13.0", variant="cu129"),
        "variant_not_published",
    ),
    ("unknown-release", ("RTX3090",), {}, PlanRequest(torch="9.9.9"), "no_wheel_for_platform"),
    (
        "kepler-new-torch",
        ("K80",),
        {"driver": "470.256.02"},
        PlanRequest(torch="2.8.0", cpu_fallback=False),
        "gpu_arch_unsupported_by_requested_version",
    ),
    (
        "pascal-2.15",
        ("GTX1080TI",),
        {"driver": "580.95.05"},
        PlanRequest(torch="2.15.0", cpu_fallback=False),
        "gpu_arch_unsupported_by_requested_version",
    ),
    (
        "explicit-variant-arch",
        ("GTX1080TI",),
        {"driver": "580.95.05"},
        PlanRequest(variant="cu130"),
        "gpu_arch_unsupported_by_requested_version",
    ),
    (
        "mixed-kepler-blackwell",
        ("K80", "RTX5090"),
        {"driver": "580.95.05"},
        PlanRequest(cpu_fallback=False),
        "mixed_arch_unsatisfiable",
    ),
    ("driver-418", ("RTX2080",), {"driver": "418.67"}, PlanRequest(cpu_fallback=False), "driver_too_old"),
    ("no-driver", ("RTX2080",), {"driver": None}, PlanRequest(cpu_fallback=False), "driver_too_old"),
    (
        "explicit-variant-driver",
        ("RTX3090",),
        {"driver": "550.54.15"},
        PlanRequest(variant="cu130"),
        "driver_too_old",
    ),
    (
        "windows-floor",
        ("RTX3090",),
        {"system": "windows", "driver": "528.02"},
        PlanRequest(torch="2.14.1", cpu_fallback=False),
        "driver_too_old",
    ),
    ("no-gpu-no-fallback", (), {}, PlanRequest(cpu_fallback=False), "no_compatible_variant"),
    (
        "all-masked",
        ("RTX3090",),
        {"env": {"CUDA_VISIBLE_DEVICES": ""}},
        PlanRequest(cpu_fallback=False),
        "no_compatible_variant",
    ),
    # Windows on Arm CPU wheels are known for 2.7-2.13 only.
    (
        "windows-arm-2.14",
        ("RTX3090",),
        {"system": "windows", "arch": "aarch64"},
        PlanRequest(torch="2.14.1"),
        "no_wheel_for_platform",
    ),
]


@pytest.mark.parametrize(
    "cards,machine,request_,code", [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES]
)
def test_failures(manifests, cards, machine, request_, code) -> None:
    result = plan(manifests, cards, request_, **machine)
    assert not result.ok
    assert result.torch is None
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.code for f in errors] == [code]
    assert code in FAILURE_CODES
    assert errors[0].title
    doc = result.to_dict()
    assert doc["ok"] is False and doc["torch"] is None
    assert doc["findings"][-1]["code"] == code


def test_mixed_falls_back_and_says_why(manifests) -> None:
    result = plan(manifests, ("K80", "RTX5090"), driver="580.95.05")
    assert result.ok and result.torch.variant == "cpu"
    assert codes(result) == ["mixed_arch_unsatisfiable", "cpu_fallback"]
    assert result.findings[0].severity == "warning"


def test_requested_arch_fix_names_a_release(manifests) -> None:
    result = plan(manifests, ("K80",), PlanRequest(torch="2.8.0", cpu_fallback=False), driver="470.256.02")
    assert "2.7.1" in result.findings[0].fix


@pytest.mark.parametrize(
    "value,visible",
    [
        (None, ["0", "1", "2"]),
        ("", []),
        ("2,0", ["2", "0"]),
        ("0,7,1", ["0"]),  # CUDA stops at the first entry that names no device
        ("-1,0", []),
        ("GPU-11c0ffee", ["1"]),
        ("GPU-", []),  # ambiguous UUID prefix names no single device
        ("1,1", ["1"]),
    ],
)
def test_cuda_visible_devices(value, visible) -> None:
    facts = machine_facts(("RTX3090", "RTX3090", "GTX1080TI"), env={"CUDA_VISIBLE_DEVICES": value})
    shown, hidden = visible_gpus(facts)
    assert [str(g.index) for g in shown] == visible
    assert len(shown) + len(hidden) == 3


def test_masked_index_with_mixed_gpus_warns_about_order(manifests) -> None:
    result = plan(manifests, ("K80", "RTX3090"), driver="580.95.05", env={"CUDA_VISIBLE_DEVICES": "1"})
    assert "cuda_device_order" in codes(result)
    ordered = plan(
        manifests,
        ("K80", "RTX3090"),
        driver="580.95.05",
        env={"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
    )
    assert "cuda_device_order" not in codes(ordered)


def test_unknown_compute_capability_warns(manifests) -> None:
    result = plan(manifests, ("Mystery GPU",), driver="580.95.05")
    assert "gpu_arch_unknown" in codes(result)
    assert result.torch.gpu


def test_unknown_python_is_not_gated_but_warned(manifests) -> None:
    result = plan(manifests, ("RTX3090",), python=None, driver="580.95.05")
    assert result.python is None
    assert "python_unknown" in codes(result)
    assert result.torch.version == "2.15.0"


def test_request_python_overrides_probed(manifests) -> None:
    result = plan(manifests, ("RTX3090",), PlanRequest(python="3.10"), python="3.12.1", driver="580.95.05")
    assert result.python == "3.10" and result.torch.version == "2.14.1"


# --- TensorFlow -------------------------------------------------------------------------------

TF_CASES = [
    ("linux-latest", ("RTX3090",), {}, "latest", "2.21.0", ["tensorflow[and-cuda]==2.21.0"], True),
    ("maxwell-keeps-2.16", ("GTX980",), {}, "latest", "2.16.1", ["tensorflow[and-cuda]==2.16.1"], True),
    (
        "wsl",
        ("RTX3090",),
        {"wsl": True, "driver": "560.94"},
        "latest",
        "2.21.0",
        ["tensorflow[and-cuda]==2.21.0"],
        True,
    ),
    (
        "post1-for-and-cuda",
        ("RTX3090",),
        {"python": "3.11.9"},
        "2.15.0",
        "2.15.0.post1",
        ["tensorflow[and-cuda]==2.15.0.post1"],
        True,
    ),
    (
        "line-request",
        ("RTX3090",),
        {"python": "3.10.13"},
        "2.14",
        "2.14.0",
        ["tensorflow[and-cuda]==2.14.0"],
        True,
    ),
    # 2.14's [and-cuda] pins tensorrt 8.5.3.1, which has no Python 3.11 wheel.
    (
        "and-cuda-not-for-py311",
        ("RTX3090",),
        {"python": "3.11.9"},
        "2.14",
        "2.14.0",
        ["tensorflow==2.14.0"],
        False,
    ),
    ("pre-and-cuda", ("RTX3090",), {"python": "3.10.13"}, "2.12.0", "2.12.0", ["tensorflow==2.12.0"], True),
    (
        "windows-py310",
        ("RTX3090",),
        {"system": "windows", "driver": "560.94", "python": "3.10.11"},
        "latest",
        "2.10.0",
        ["tensorflow==2.10.0"],
        True,
    ),
    (
        "windows-py312-cpu",
        ("RTX3090",),
        {"system": "windows", "driver": "560.94"},
        "latest",
        "2.21.0",
        ["tensorflow==2.21.0"],
        False,
    ),
    (
        "macos",
        (),
        {"system": "darwin", "arch": "aarch64", "driver": None},
        "latest",
        "2.21.0",
        ["tensorflow==2.21.0"],
        False,
    ),
    (
        "macos-old",
        (),
        {"system": "darwin", "arch": "aarch64", "driver": None, "python": "3.10.13"},
        "2.12.0",
        "2.12.0",
        ["tensorflow-macos==2.12.0"],
        False,
    ),
    (
        "old-glibc",
        ("RTX3090",),
        {"glibc": "2.17"},
        "latest",
        "2.20.0",
        ["tensorflow[and-cuda]==2.20.0"],
        True,
    ),
    (
        "driver-too-old-cpu",
        ("RTX3090",),
        {"driver": "418.67"},
        "latest",
        "2.21.0",
        ["tensorflow==2.21.0"],
        False,
    ),
]


@pytest.mark.parametrize(
    "cards,machine,tf,version,reqs,gpu", [c[1:] for c in TF_CASES], ids=[c[0] for c in TF_CASES]
)
def test_tensorflow_choice(manifests, cards, machine, tf, version, reqs, gpu) -> None:
    result = plan(manifests, cards, PlanRequest(torch="none", tensorflow=tf), **machine)
    assert result.ok, result.findings
    assert result.torch is None
    assert result.tensorflow.version == version
    assert list(result.tensorflow.requirements) == reqs
    assert result.tensorflow.gpu is gpu
    assert result.tensorflow.index_url is None
    if not gpu and machine.get("system") != "darwin":
        assert "cpu_fallback" in codes(result)


def test_windows_native_tf_warns_and_points_to_wsl(manifests) -> None:
    result = plan(
        manifests,
        ("RTX3090",),
        PlanRequest(torch="none", tensorflow="latest"),
        system="windows",
        driver="560.94",
    )
    warning = next(f for f in result.findings if f.code == "tf_windows_native_gpu_unsupported")
    assert warning.severity == "warning" and "WSL2" in warning.fix


def test_windows_native_tf_no_fallback_fails(manifests) -> None:
    result = plan(
        manifests,
        ("RTX3090",),
        PlanRequest(torch="none", tensorflow="latest", cpu_fallback=False),
        system="windows",
        driver="560.94",
    )
    assert not result.ok and result.tensorflow is None
    assert [f.code for f in result.findings if f.severity == "error"] == ["no_compatible_variant"]


def test_tensorflow_python_gate(manifests) -> None:
    result = plan(manifests, ("RTX3090",), PlanRequest(torch="none", tensorflow="2.10"), python="3.12.4")
    assert not result.ok and codes(result) == ["python_version_unsupported"]


def test_tensorflow_min_cc(manifests) -> None:
    result = plan(manifests, ("GTX980",), PlanRequest(torch="none", tensorflow="2.17", cpu_fallback=False))
    assert [f.code for f in result.findings] == ["gpu_arch_unsupported_by_requested_version"]


def test_separate_venvs_when_both_use_cuda(manifests) -> None:
    result = plan(manifests, ("RTX3090",), PlanRequest(tensorflow="latest"), driver="580.95.05")
    assert result.separate_venvs
    assert result.torch.gpu and result.tensorflow.gpu
    assert any("separate venvs" in r for r in result.torch.reasons)
    cpu_tf = plan(
        manifests,
        ("RTX3090",),
        PlanRequest(tensorflow="latest"),
        driver="580.95.05",
        system="windows",
        python="3.12.1",
    )
    assert not cpu_tf.separate_venvs


def test_tensorflow_on_system_cuda_shares_the_venv(manifests) -> None:
    # TF 2.12 has no [and-cuda] extra: it loads the system's CUDA 11.8, torch cu118 brings its own
    result = plan(manifests, ("RTX3090",), PlanRequest(torch="2.0.1", tensorflow="2.12.0"), driver="535.183.01",
                  python="3.10.12")
    assert result.torch.gpu and result.tensorflow.gpu
    assert not any("[and-cuda]" in r for r in result.tensorflow.requirements)
    assert not result.separate_venvs


def test_plan_json_contract(manifests) -> None:
    result = plan(manifests, ("RTX3090",), PlanRequest(tensorflow="latest"), driver="550.54.15")
    doc = json.loads(json.dumps(result.to_dict()))
    assert list(doc) == ["schema", "ok", "python", "torch", "tensorflow", "findings"]
    assert doc["schema"] == "nktenv.plan/1" and doc["python"] == "3.12"
    for key in ("version", "variant", "index_url", "requirements", "reasons", "gpu"):
        assert key in doc["torch"] and key in doc["tensorflow"]
    assert all(set(f) == {"code", "severity", "title", "fix"} for f in doc["findings"])


def test_pip_command_is_exact_argv(manifests) -> None:
    result = plan(manifests, ("RTX3090",), PlanRequest(torch="2.5.1"), driver="550.54.15")
    assert result.torch.pip_command("C:\\Users\\藤澤\\env\\Scripts\\python.exe") == [
        "C:\\Users\\藤澤\\env\\Scripts\\python.exe",
        "-m",
        "pip",
        "install",
        "torch==2.5.1",
        "torchvision==0.20.1",
        "torchaudio==2.5.1",
        "--index-url",
        "https://download.pytorch.org/whl/cu124",
    ]


def test_reasons_are_translated_texts(manifests, monkeypatch) -> None:
    import nktenv.plan.torch as plan_mod

    monkeypatch.setattr(plan_mod, "_", lambda s: "<<" + s + ">>")
    result = plan(manifests, ("RTX3090",), driver="550.54.15")
    assert all(r.startswith("<<") for r in result.torch.reasons)


def test_local_tag_in_request_selects_the_variant(manifests) -> None:
    result = plan(
        manifests, ("RTX3090",), PlanRequest(torch="2.1.0+cu118"), driver="550.54.15", python="3.10.13"
    )
    assert (result.torch.version, result.torch.variant) == ("2.1.0", "cu118")


def test_fallback_names_the_smallest_driver_upgrade(manifests) -> None:
    result = plan(manifests, ("RTX2080",), driver="418.67")
    unlock = next(f for f in result.findings if f.code == "driver_upgrade_unlocks")
    # cu118 (450.80.02) is the lowest floor that reaches a GPU build; 2.7.1 is its newest release.
    assert unlock.title == "Driver >= 450.80.02 unlocks torch 2.7.1 + cu118."


def test_mixed_under_latest_is_not_pinned_to_one_release(manifests) -> None:
    latest = plan(manifests, ("K80", "RTX5090"), PlanRequest(cpu_fallback=False), driver="580.95.05")
    assert latest.findings[0].title.startswith("No single torch build covers")
    pinned = plan(
        manifests,
        ("RTX3090", "GTX1080TI"),
        PlanRequest(torch="2.15.0", cpu_fallback=False),
        driver="580.95.05",
    )
    assert [f.code for f in pinned.findings] == ["gpu_arch_unsupported_by_requested_version"]


def test_mixed_within_one_release(manifests) -> None:
    # 2.8.0 on Linux: cu126 covers the GTX 1080 Ti, cu128/cu129 the RTX 5090, no build both.
    result = plan(
        manifests,
        ("GTX1080TI", "RTX5090"),
        PlanRequest(torch="2.8.0", cpu_fallback=False),
        driver="580.95.05",
    )
    assert [(f.code, f.title) for f in result.findings] == [
        (
            "mixed_arch_unsatisfiable",
            "No single torch 2.8.0 build covers all visible GPUs: NVIDIA GeForce GTX 1080 Ti (sm_61), "
            "NVIDIA GeForce RTX 5090 (sm_120).",
        )
    ]


def test_unpublished_variant_wording(manifests) -> None:
    latest = plan(manifests, ("RTX3090",), PlanRequest(variant="cu134"))
    assert (
        latest.findings[-1].title
        == "Variant cu134 was never published for any torch release on linux-x86_64."
    )
    pinned = plan(manifests, ("RTX3090",), PlanRequest(torch="2.8.0", variant="cu121"))
    assert pinned.findings[-1].title == "Variant cu121 was never published for torch 2.8.0 on linux-x86_64."
    assert "cu126" in pinned.findings[-1].fix


# An RTX 3090 (sm_86) with Python 3.12 across the driver floors: the build changes exactly at each floor.
FLOORS = [
    ("linux", False, "450.80.01", None),
    ("linux", False, "450.80.02", ("2.7.1", "cu118")),
    ("linux", False, "525.60.12", ("2.7.1", "cu118")),
    ("linux", False, "525.60.13", ("2.14.1", "cu126")),
    ("linux", False, "580.65.05", ("2.14.1", "cu126")),
    ("linux", False, "580.65.06", ("2.15.0", "cu132")),
    ("windows", False, "452.38", None),
    ("windows", False, "452.39", ("2.7.1", "cu118")),
    ("windows", False, "528.32", ("2.7.1", "cu118")),
    ("windows", False, "528.33", ("2.14.1", "cu126")),
    ("windows", False, "579.99", ("2.14.1", "cu126")),
    ("windows", False, "580.88", ("2.15.0", "cu132")),
    ("linux", True, "452.38", None),
    ("linux", True, "528.32", ("2.7.1", "cu118")),
    ("linux", True, "528.33", ("2.14.1", "cu126")),
    ("linux", True, "580.88", ("2.15.0", "cu132")),
]


@pytest.mark.parametrize(
    "system,wsl,driver,expected", FLOORS, ids=[f"{'wsl' if w else s}-{d}" for s, w, d, _ in FLOORS]
)
def test_driver_floors_move_the_choice(manifests, system, wsl, driver, expected) -> None:
    result = plan(manifests, ("RTX3090",), system=system, wsl=wsl, driver=driver)
    if expected is None:
        assert result.torch.variant == "cpu" and "cpu_fallback" in codes(result)
    else:
        assert (result.torch.version, result.torch.variant) == expected
