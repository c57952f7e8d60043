"""Property tests: whatever plan comes back satisfies every constraint it claims to have checked."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_facts import CARDS, machine_facts

from nktenv.manifest import build_covers, driver_floor, driver_satisfies, load
from nktenv.plan import FAILURE_CODES, PlanRequest, make_plan, visible_gpus

M = load()
DRIVERS = [
    None,
    "418.67",
    "450.80.02",
    "452.39",
    "470.256.02",
    "525.60.13",
    "527.50",
    "528.33",
    "550.54.15",
    "560.94",
    "572.16",
    "575.57.08",
    "580",
    "580.65.06",
    "581.57",
    "595.45.04",
]
TORCH = ["latest", "none"] + [r.version for r in M.torch] + ["9.9.9"]
VARIANTS = [
    "auto",
    "auto",
    "auto",
    "cpu",
    "cu118",
    "cu126",
    "cu128",
    "cu129",
    "cu130",
    "cu132",
    "rocm6.2",
    "xpu",
    "cu999",
]
TF = ["none", "latest", "2.15.0", "2.10", "2.21.0", "2.12.0"]

machines = st.fixed_dictionaries(
    {
        "cards": st.lists(st.sampled_from(sorted(CARDS)), max_size=3),
        "system": st.sampled_from(["linux", "linux", "windows", "darwin"]),
        "arch": st.sampled_from(["x86_64", "x86_64", "aarch64"]),
        "wsl": st.booleans(),
        "driver": st.sampled_from(DRIVERS),
        "python": st.sampled_from(
            [None, "3.7.9", "3.8.10", "3.9.19", "3.10.13", "3.11.9", "3.12.4", "3.13.1", "3.14.0", "3.15.0"]
        ),
        "mask": st.sampled_from([None, "", "0", "1", "1,0", "0,9,1", "GPU-11c0ffee"]),
        "glibc": st.sampled_from([None, "2.17", "2.28", "2.35"]),
    }
)
requests = st.builds(
    PlanRequest,
    torch=st.sampled_from(TORCH),
    tensorflow=st.sampled_from(TF),
    variant=st.sampled_from(VARIANTS),
    python=st.sampled_from([None, None, "3.10", "3.12"]),
    cpu_fallback=st.booleans(),
)


def _facts(m):
    env = {} if m["mask"] is None else {"CUDA_VISIBLE_DEVICES": m["mask"]}
    return machine_facts(
        m["cards"],
        system=m["system"],
        arch=m["arch"],
        wsl=m["wsl"] and m["system"] == "linux",
        driver=m["driver"],
        python=m["python"],
        env=env,
        glibc=m["glibc"],
    )


def _platform(facts):
    system, arch = facts.os.system, facts.os.arch
    if system == "darwin":
        return "macos-arm64" if arch == "aarch64" else "macos-x86_64"
    if system == "windows" and arch == "aarch64":
        return "windows-arm64"  # the wheel tag's name for Windows on Arm
    return f"{'windows' if system == 'windows' else 'linux'}-{arch}"


gpu_machines = st.fixed_dictionaries(
    {
        "cards": st.lists(st.sampled_from(sorted(CARDS)), min_size=1, max_size=3),
        "system": st.sampled_from(["linux", "windows"]),
        "arch": st.just("x86_64"),
        "wsl": st.booleans(),
        "driver": st.sampled_from(DRIVERS[4:]),
        "python": st.sampled_from(["3.10.13", "3.11.9", "3.12.4", "3.13.1"]),
        "mask": st.sampled_from([None, None, "1", "GPU-11c0ffee", "0,1"]),
        "glibc": st.just("2.35"),
    }
)
gpu_requests = st.builds(
    PlanRequest,
    torch=st.sampled_from(["latest", "latest", "2.8.0", "2.11.0", "2.13.0", "2.14.1"]),
    tensorflow=st.sampled_from(["none", "latest"]),
    cpu_fallback=st.booleans(),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines, requests)
def test_any_plan_satisfies_its_constraints(m, req) -> None:
    check_constraints(_facts(m), req)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gpu_machines, gpu_requests)
def test_gpu_machine_plans_satisfy_their_constraints(m, req) -> None:
    check_constraints(_facts(m), req)


def check_constraints(facts, req) -> None:
    result = make_plan(facts, M, req)
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["schema"] == "nktenv.plan/1"

    errors = [f for f in result.findings if f.severity == "error"]
    assert result.ok == (not errors)
    if not result.ok:
        assert all(f.code in FAILURE_CODES for f in errors)
    if req.torch != "none" and result.ok:
        assert result.torch is not None
    if req.torch == "none":
        assert result.torch is None

    platform = _platform(facts)
    driver_os = "windows" if facts.os.system == "windows" or facts.os.wsl else "linux"
    python = req.python or (facts.python.version if facts.python else None)
    visible, _ = visible_gpus(facts)
    fw = result.torch
    if fw is not None:
        rel = M.torch_release(fw.version)
        assert rel is not None
        # Python gate.
        if python:
            assert rel.supports_python(python)
        if platform.startswith("macos"):
            assert fw.index_url is None and not fw.gpu
        else:
            variant = rel.variant(fw.variant)
            # Published for this release and platform.
            assert variant is not None and platform in variant.platforms
            assert fw.index_url == variant.index_url
            if variant.cuda:
                # Driver floor (WSL: Windows floors) and kernels for every visible GPU.
                floor = driver_floor(variant.cuda, driver_os, manifests=M)
                assert facts.driver and driver_satisfies(facts.driver.version, floor)
                sass, ptx = variant.archs(
                    "windows" if facts.os.system == "windows" else "linux", facts.os.arch
                )
                for gpu in visible:
                    if gpu.cc is not None:
                        assert build_covers(gpu.cc, sass, ptx), (gpu.cc, fw.version, fw.variant)
                assert fw.gpu
            if fw.variant == "cpu":
                # Never PyPI's CUDA default for a CPU-only plan.
                assert fw.index_url is not None
                if req.variant == "auto":
                    assert result.finding("cpu_fallback") is not None
        if fw.gpu and req.variant == "auto" and req.torch == "latest":
            # `latest` is the newest release with a qualifying GPU build: nothing newer qualifies.
            for newer in M.torch:
                if newer.version == fw.version:
                    break
                if python and not newer.supports_python(python):
                    continue
                for v in newer.variants_for(platform):
                    if not v.cuda or not v.archs_known:
                        continue
                    floor = driver_floor(v.cuda, driver_os, manifests=M)
                    sass, ptx = v.archs("windows" if facts.os.system == "windows" else "linux", facts.os.arch)
                    qualifies = driver_satisfies(facts.driver.version, floor) and all(
                        build_covers(g.cc, sass, ptx) for g in visible if g.cc is not None
                    )
                    assert not qualifies, (newer.version, v.name)

    tf = result.tensorflow
    if tf is not None:
        rel = M.tf_release(tf.version)
        assert rel is not None
        if python:
            assert rel.supports_python(python)
        if tf.gpu:
            route = "windows-native" if facts.os.system == "windows" else ("wsl" if facts.os.wsl else "linux")
            assert route in rel.gpu_platforms
            assert facts.driver and driver_satisfies(
                facts.driver.version, driver_floor(rel.cuda, driver_os, manifests=M)
            )
            assert visible
            if route == "windows-native":
                assert tf.requirements == (f"tensorflow=={tf.version}",)
            elif rel.and_cuda_for(python) == "ok":
                assert tf.requirements == (f"tensorflow[and-cuda]=={tf.version}",)
        both_pin_cuda = result.torch is not None and result.torch.gpu and tf.gpu and any(
            "[and-cuda]" in r for r in tf.requirements)
        assert result.separate_venvs == bool(both_pin_cuda)
