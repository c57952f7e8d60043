"""`nktenv wheelhouse` and `setup --wheelhouse` for real: pip download from a lab index on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab_index import LabServer, build_lab_index, mirror_args, write_facts
from nktenv.setup.backends import find_uv
from nktenv.wheelhouse import MANIFEST, parse_pins, saved_file, uv_platform, wheel_platforms

LINUX_GPU = "ubuntu2204-rtx3090-driver535"  # Python 3.10, RTX 3090 -> a CUDA build
LINUX_CPU = "container-no-gpu"  # Python 3.10, no GPU -> the CPU build
WINDOWS_GPU = "win11-rtx4090-cuda118-cudnn89"  # Python 3.10, Windows


def _planned(machine: str) -> tuple[str, str, str]:
    """(torch, torchvision, variant) the real planner picks for a recorded machine."""
    from machines import replay_facts
    from nktenv import manifest
    from nktenv.plan import make_plan

    plan = make_plan(replay_facts(machine, frameworks=False), manifest.load())
    version, vision = (r.split("==")[1] for r in plan.torch.requirements)
    return version, vision, plan.torch.variant


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lab")
    torch, vision, gpu_variant = _planned(LINUX_GPU)
    assert _planned(LINUX_CPU)[2] == "cpu" and gpu_variant != "cpu"
    variants = ("cpu", gpu_variant)
    build_lab_index(root / "index", torch, vision, variants=variants)
    facts = root / "facts"
    return {"root": root, "index": root / "index", "torch": torch, "vision": vision, "gpu": gpu_variant,
            "variants": variants,
            "facts": {m: write_facts(facts, m) for m in (LINUX_GPU, LINUX_CPU, WINDOWS_GPU)}}


def _nktenv(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return subprocess.run([sys.executable, "-m", "nktenv", *args], capture_output=True, text=True, timeout=timeout,
                          env={**base, "NKTENV_LANG": "en", **(env or {})})


def _build(lab: dict, folder: Path, base: str, *machines: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    args = ["wheelhouse", "build", str(folder), "--json", *mirror_args(base, lab["variants"]), *extra]
    for m in machines:
        args += ["--facts", str(lab["facts"][m])]
    return _nktenv(*args)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.whl")}


def test_pip_output_lines_name_the_wheel() -> None:
    # pip's own wording (pip/_internal/operations/prepare.py: "Saved %s", "File was already downloaded %s")
    assert saved_file("Saved ./torch-2.14.1+cpu-cp310-cp310-manylinux_2_28_x86_64.whl") == \
        "torch-2.14.1+cpu-cp310-cp310-manylinux_2_28_x86_64.whl"
    assert saved_file(r"File was already downloaded C:\wh\numpy-2.2.6-cp311-cp311-win_amd64.whl") == \
        "numpy-2.2.6-cp311-cp311-win_amd64.whl"
    assert saved_file("Collecting torch==2.14.1") is None


def test_platform_tags_cover_older_manylinux() -> None:
    tags = wheel_platforms("linux-x86_64", "2.35")
    assert tags[0] == "manylinux_2_35_x86_64" and "manylinux_2_28_x86_64" in tags and "manylinux_2_17_x86_64" in tags
    assert "linux_x86_64" in tags and "manylinux_2_36_x86_64" not in tags
    assert wheel_platforms("windows-x86_64") == ("win_amd64",)


@pytest.mark.slow
def test_two_machines_two_variants_get_both_sets_and_nothing_more(lab: dict, tmp_path: Path) -> None:
    folder = tmp_path / "wheels 藤澤"
    server = LabServer(lab["index"])
    with server.running() as base:
        out = _build(lab, folder, base, LINUX_GPU, LINUX_CPU)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    t, v, g = lab["torch"], lab["vision"], lab["gpu"]
    linux = "cp310-cp310-manylinux_2_28_x86_64"
    assert _files(folder) == {f"torch-{t}+{g}-{linux}.whl", f"torchvision-{v}+{g}-{linux}.whl",
                              f"torch-{t}+cpu-{linux}.whl", f"torchvision-{v}+cpu-{linux}.whl",
                              f"numpy-2.2.6-{linux}.whl", "nkt_common-1.0-py3-none-any.whl",
                              "nkt_imaging-1.0-py3-none-any.whl"}
    # each wheel crossed the network once, though both machines need numpy and nkt-common
    served = server.wheels_served()
    assert len(served) == len(set(served)) == 7
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    by_machine = {r["machine"]: set(r["files"]) for r in manifest["targets"]}
    assert len(by_machine) == 2 and all(r["complete"] for r in manifest["targets"])
    gpu_files = next(f for f in by_machine.values() if f"torch-{t}+{g}-{linux}.whl" in f)
    assert f"torch-{t}+cpu-{linux}.whl" not in gpu_files and "nkt_common-1.0-py3-none-any.whl" in gpu_files
    import hashlib

    for name, entry in manifest["files"].items():
        data = (folder / name).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    totals = doc["totals"]
    assert totals["bytes_saved"] == totals["bytes_if_each_machine_downloads"] - totals["bytes"] > 0
    assert "the lab saves" in out.stdout or "the lab saves" in out.stderr
    # progress: each download as it starts, each file as it lands, with the running count and bytes
    assert "  downloading torch-" in out.stderr and re.search(r"fetched torch-\S+ \([\d.]+ KB\); \d+ files, [\d.]+ KB so far", out.stderr)
    # check agrees; a third machine (Windows) is reported as not covered
    check = _nktenv("wheelhouse", "check", str(folder), "--facts", str(lab["facts"][LINUX_GPU]),
                    "--facts", str(lab["facts"][LINUX_CPU]), "--facts", str(lab["facts"][WINDOWS_GPU]), "--json")
    assert check.returncode == 1
    rows = json.loads(check.stdout)["targets"]
    assert [r["covered"] for r in rows] == [True, True, False] and rows[2]["target"]["platform"] == "windows-x86_64"


@pytest.mark.slow
@pytest.mark.skipif(find_uv() is None, reason="resolving for another platform's markers needs uv")
def test_each_python_and_platform(lab: dict, tmp_path: Path) -> None:
    folder = tmp_path / "wh"
    with LabServer(lab["index"]).running() as base:
        out = _build(lab, folder, base, LINUX_CPU, WINDOWS_GPU, extra=("--python", "3.10", "--python", "3.11", "--torch", lab["torch"]))
    assert out.returncode == 0, out.stderr
    torches = sorted(f for f in _files(folder) if f.startswith("torch-"))
    t, g = lab["torch"], lab["gpu"]
    assert torches == sorted([f"torch-{t}+cpu-cp310-cp310-manylinux_2_28_x86_64.whl",
                              f"torch-{t}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
                              f"torch-{t}+{g}-cp310-cp310-win_amd64.whl", f"torch-{t}+{g}-cp311-cp311-win_amd64.whl"])
    targets = json.loads(out.stdout)["targets"]
    assert len(targets) == 4
    # a dependency marked platform_system == "Windows" goes to the Windows machine only, though this
    # build runs on Linux: uv resolves for the target (pip download alone would leave it out)
    for t in targets:
        assert ("nkt_winonly-1.0-py3-none-any.whl" in t["files"]) == (t["platform"] == "windows-x86_64"), t
    assert {t["resolver"] for t in targets} == {"uv"}


@pytest.mark.slow
def test_interrupted_build_resumes_and_damaged_file_is_fetched_again(lab: dict, tmp_path: Path) -> None:
    folder = tmp_path / "wh"
    gpu_torch = f"torch-{lab['torch']}+{lab['gpu']}"
    server = LabServer(lab["index"], hold=gpu_torch.replace("+", "%2B"))
    with server.running() as base:
        # CPU machine first; the GPU machine's torch download hangs, and the build is killed there
        args = [sys.executable, "-m", "nktenv", "wheelhouse", "build", str(folder), *mirror_args(base, lab["variants"]),
                "--facts", str(lab["facts"][LINUX_CPU]), "--facts", str(lab["facts"][LINUX_GPU])]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            assert server.held.wait(120), "the build never reached the GPU machine's torch"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        done = [r for r in manifest["targets"] if r["complete"]]
        assert len(done) == 1 and all(f"+{lab['gpu']}" not in f for f in done[0]["files"])
        assert not any(gpu_torch in f for f in _files(folder))
        # a file damaged on the share since: same size, other bytes
        victim = folder / next(f for f in done[0]["files"] if f.startswith("torch-"))
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
        server.hold = None
        server.requests.clear()
        out = _build(lab, folder, base, LINUX_CPU, LINUX_GPU)
    assert out.returncode == 0, out.stderr
    served = server.wheels_served()
    # the damaged torch and the GPU machine's two builds; nothing the first run had already fetched
    assert sorted(served) == sorted([victim.name, *(f for f in _files(folder) if f"+{lab['gpu']}" in f)])
    assert "damaged, fetched again: " + victim.name in out.stderr
    doc = json.loads(out.stdout)
    assert doc["removed"] == [victim.name] and all(t["complete"] for t in doc["targets"])
    # a third run fetches nothing at all
    server.requests.clear()
    with server.running() as base:
        again = _build(lab, folder, base, LINUX_CPU, LINUX_GPU)
    assert again.returncode == 0 and server.wheels_served() == [] and json.loads(again.stdout)["fetched"] == []


def _this_machine_setup(lab: dict, folder: Path | str, venv: Path, *extra: str, local: str = "") -> subprocess.CompletedProcess:
    # No index and no proxy that works: anything but the wheelhouse would fail the install.
    dead = {"NKTENV_OVERRIDE_GPUS": "", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": local, "NO_PROXY": local}
    return _nktenv("setup", "--wheelhouse", str(folder), "--venv", str(venv), "--torch", lab["torch"], "--installer", "pip", "--yes",
                   "--without", "torchvision",  # its check runs a compiled operator the stand-in torch lacks
                   "--no-bench", "--json", *extra, env=dead, timeout=600)


@pytest.mark.slow
def test_setup_from_the_wheelhouse_offline_and_nothing_left_behind(lab: dict, tmp_path: Path) -> None:
    py = "%d.%d" % sys.version_info[:2]
    if py not in ("3.10", "3.11"):
        pytest.skip("the lab index holds cp310 and cp311 wheels")
    folder = tmp_path / "wh"
    with LabServer(lab["index"]).running() as base:
        # this machine, planned without a GPU: the CPU build
        out = _nktenv("wheelhouse", "build", str(folder), "--json", "--torch", lab["torch"],
                      *mirror_args(base, lab["variants"]), env={"NKTENV_OVERRIDE_GPUS": ""})
        assert out.returncode == 0, out.stderr
        # the same folder also serves a CUDA machine: setup must still pick this machine's CPU build
        assert _build(lab, folder, base, LINUX_GPU, extra=("--python", py, "--torch", lab["torch"])).returncode == 0
    # the index server is gone now
    venv = tmp_path / "env 藤澤"
    done = _this_machine_setup(lab, folder, venv)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert doc["distributions"]["torch"] == f"{lab['torch']}+cpu"
    # what only the companion left out needs stays out, though the wheelhouse holds it
    assert "nkt-imaging" not in doc["distributions"] and "torchvision" not in doc["distributions"]
    assert all("--no-index" in c for c in doc["commands"] if "install" in c)
    # a file of this plan goes missing: one line naming it and whose plan it is; no venv, no staging folder
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    mine = next(r for r in manifest["targets"] if r["python"] == py and any("+cpu" in f for f in r["files"]))
    gone = next(f for f in mine["files"] if f.startswith("numpy-"))
    (folder / gone).unlink()
    venv2 = tmp_path / "second"
    failed = _this_machine_setup(lab, folder, venv2)
    assert failed.returncode != 0
    lines = [ln for ln in failed.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and gone in lines[0] and f"{mine['machine']}'s plan" in lines[0], failed.stderr
    assert "Traceback" not in failed.stderr
    assert not venv2.exists() and sorted(p.name for p in tmp_path.iterdir() if "second" in p.name) == []


@pytest.mark.slow
def test_setup_from_a_plain_http_server(lab: dict, tmp_path: Path) -> None:
    py = "%d.%d" % sys.version_info[:2]
    if py not in ("3.10", "3.11"):
        pytest.skip("the lab index holds cp310 and cp311 wheels")
    folder = tmp_path / "wh"
    with LabServer(lab["index"]).running() as base:
        assert _nktenv("wheelhouse", "build", str(folder), "--torch", lab["torch"], *mirror_args(base, lab["variants"]),
                       env={"NKTENV_OVERRIDE_GPUS": ""}).returncode == 0
    # `python -m http.server` on the lab server, as the playbook does
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        port = line.split("port ")[1].split()[0]
        url = f"http://127.0.0.1:{port}/"
        time.sleep(0.2)
        venv = tmp_path / "env"
        done = _this_machine_setup(lab, url, venv, local="127.0.0.1")
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout)["distributions"]["torch"] == f"{lab['torch']}+cpu"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_uv_resolves_for_the_target_platform() -> None:
    from nktenv.wheelhouse import Target

    linux = Target("a", "3.10", "linux-x86_64", ("torch",), None, wheel_platforms=wheel_platforms("linux-x86_64", "2.35"))
    assert uv_platform(linux) == "x86_64-manylinux_2_35"
    old = Target("b", "3.10", "linux-x86_64", ("torch",), None, wheel_platforms=wheel_platforms("linux-x86_64", "2.30"))
    assert uv_platform(old) == "x86_64-manylinux_2_28"
    assert uv_platform(Target("c", "3.11", "windows-x86_64", ("torch",), None)) == "x86_64-pc-windows-msvc"
    # `uv pip compile --no-header --no-annotate` output, markers already resolved for the target
    assert parse_pins("nkt-common==1.0\ntorch==2.14.1+cpu\n# a comment\n--index-url http://x\n") == \
        ["nkt-common==1.0", "torch==2.14.1+cpu"]
