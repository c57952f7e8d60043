"""Unit tests of the setup steps with fakes: failure classification, verification, relocation, lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nktenv.errors import ExitCode, NktenvError
from nktenv.setup import apply as A
from nktenv.setup import interpreters
from nktenv.setup.driver import instructions, needs_driver_change
from nktenv.setup.interpreters import Interpreter
from nktenv.setup.process import ProcResult, child_env
from nktenv.setup.progress import interesting
from nktenv.setup.spec import InstallSpec
from nktenv.setup.verify import judge_framework, requirement_problems, verify

LOG = Path("/tmp/setup.log")


def _failed(tail: str, **kw) -> ProcResult:
    return ProcResult(("pip",), kw.pop("rc", 1), tail, **kw)


@pytest.mark.parametrize(
    ("tail", "code"),
    [
        ("ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device", "disk-full"),
        ("error: Failed to install: torch\n  Caused by: No space left on device (os error 28)", "disk-full"),
        ("WARNING: Retrying ... NewConnectionError: Failed to establish a new connection: [Errno 111] Connection refused\n"
         "ERROR: Could not find a version that satisfies the requirement torch==2.13.0 (from versions: none)", "no-network"),
        ("error: Failed to fetch: `http://127.0.0.1:9/simple/torch/`\n  Caused by: tcp connect error", "no-network"),
        ("ERROR: Could not find a version that satisfies the requirement torch==9.9 (from versions: 2.13.0)\n"
         "ERROR: No matching distribution found for torch==9.9", "not-installable"),
        ("  × No solution found when resolving dependencies:\n  ╰─▶ Because there is no version of torch==9.9", "not-installable"),
        ("something odd happened", "install-failed"),
    ],
)
def test_classify_installer_failures(tail: str, code: str) -> None:
    err = A.classify_failure("install", _failed(tail), LOG)
    assert err.code == code
    # A network failure has its own exit code: nothing is wrong with the request itself.
    assert err.exit_code == (ExitCode.NETWORK if code == "no-network" else ExitCode.INSTALL_FAILED)
    assert str(LOG) in (err.hint or "")


def test_classify_timeout_and_missing_installer() -> None:
    assert A.classify_failure("install", _failed("", rc=None, timed_out=True), LOG).code == "install-timeout"
    assert A.classify_failure("venv", _failed("No such file", rc=None, not_found=True), LOG).code == "installer-not-found"


def test_requirement_problems() -> None:
    installed = {"torch": "2.13.0+cpu", "numpy": "2.1.0"}
    assert requirement_problems(("torch==2.13.0", "numpy>=2"), installed) == []
    problems = requirement_problems(("torch==2.12.0", "tensorflow", "x; python_version<'3'", "!!"), installed)
    assert len(problems) == 3
    assert "2.13.0+cpu" in problems[0] and "tensorflow" in problems[1] and "!!" in problems[2]


def test_judge_framework() -> None:
    assert not judge_framework("torch", None, gpu=False).ok
    assert not judge_framework("torch", {"error": "ImportError: libcudnn.so.9"}, gpu=False).ok
    assert judge_framework("torch", {"version": "2.13.0+cpu", "cuda_available": False}, gpu=False).ok
    no_gpu = judge_framework("torch", {"version": "2.13.0", "cuda_available": False}, gpu=True)
    assert not no_gpu.ok and "no GPU" in no_gpu.detail
    bad_kernel = judge_framework("torch", {"version": "2.13.0", "cuda_available": True, "kernel_ok": False,
                                           "kernel_error": "no kernel image is available"}, gpu=True)
    assert not bad_kernel.ok and "no kernel image" in bad_kernel.detail
    assert judge_framework("torch", {"version": "2.13.0", "cuda_available": True, "kernel_ok": True}, gpu=True).ok


def test_verify_with_fake_probe() -> None:
    spec = InstallSpec(("torch==2.13.0",), frameworks=("torch",), gpu=True)
    calls = []

    def probe(py: Path, name: str) -> dict:
        calls.append(name)
        return {"version": "2.13.0", "cuda_available": True, "kernel_ok": True}

    good = verify(Path("py"), spec, installed={"torch": "2.13.0"}, probe=probe)
    assert good.ok and calls == ["torch"] and [c.name for c in good.checks] == ["requirements", "torch"]
    bad = verify(Path("py"), spec, installed={}, probe=lambda p, n: {"version": "2.13.0", "cuda_available": False})
    assert not bad.ok and {c.name for c in bad.failures} == {"requirements", "torch"}


def test_progress_shows_download_and_install_lines() -> None:
    assert interesting("Collecting torch==2.13.0") == "Collecting torch==2.13.0"
    assert interesting(" + nkt-dep==1.0") == "installed nkt-dep==1.0"
    assert interesting("Downloading torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl (190.2 MB)").endswith("…")
    assert interesting("  Stored in directory: /root/.cache") is None


def test_driver_instructions_per_os() -> None:
    class F:
        code, severity, data = "driver_too_old", "error", {"min_driver": "570.26"}

    assert needs_driver_change([F()]) == "570.26"
    assert needs_driver_change([]) is None
    win = " ".join(instructions("windows", min_driver="570.26"))
    assert "570.26" in win and "nvidia.com" in win and "wsl --install" in win
    wsl = " ".join(instructions("linux", wsl=True))
    assert "do not install a Linux NVIDIA driver" in wsl
    assert "ubuntu-drivers" in " ".join(instructions("linux", distro="Ubuntu 22.04"))
    assert not any("sudo" in line and "nktenv" in line for line in instructions("linux"))


def test_child_env_is_isolated_from_pip_and_uv_config() -> None:
    env = child_env({"PIP_FIND_LINKS": "/opt/wheels", "PIP_CERT": "/c.pem", "UV_INDEX_URL": "http://x",
                     "PYTHONPATH": "/p", "PATH": "/bin"})
    assert "PIP_FIND_LINKS" not in env and "UV_INDEX_URL" not in env and "PYTHONPATH" not in env
    assert env["PIP_CERT"] == "/c.pem" and env["PIP_CONFIG_FILE"] == os.devnull
    assert env["PYTHONIOENCODING"] == "utf-8" and env["PYTHONUTF8"] == "1" and env["PATH"] == "/bin"


# --- the target folder and the record ---------------------------------------------------------


def test_venv_state_and_refusal(tmp_path: Path) -> None:
    assert A.venv_state(tmp_path / "none") == "absent"
    (tmp_path / "empty").mkdir()
    assert A.venv_state(tmp_path / "empty") == "empty"
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "data.csv").write_text("1")
    with pytest.raises(NktenvError) as exc:
        A.check_target(foreign)
    assert exc.value.code == "venv-not-ours" and (foreign / "data.csv").exists()
    ours = tmp_path / "ours"
    (ours / ".nktenv").mkdir(parents=True)
    (ours / ".nktenv" / "record.json").write_text("{}")
    assert A.check_target(ours) == "ours"


def test_clean_stale_removes_only_dead_owners(tmp_path: Path) -> None:
    target = tmp_path / "env"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".env.nktenv-tmp-{dead.pid}-abc123"
    live = tmp_path / f".env.nktenv-tmp-{os.getpid()}-def456"
    for d in (stale, live):
        (d / "bin").mkdir(parents=True)
    assert A.clean_stale(target) == [stale]
    assert not stale.exists() and live.exists()


def test_relocate_rewrites_scripts_and_launchers(tmp_path: Path) -> None:
    staging = tmp_path / ".env.nktenv-tmp-1-aa"
    target = tmp_path / "藤澤 env"
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "activate").write_text(f'VIRTUAL_ENV="{staging}"\n', encoding="utf-8")
    script = staging / "bin" / "pip"
    script.write_text(f"#!{staging}/bin/python\nimport pip\n", encoding="utf-8")
    script.chmod(0o755)
    launcher = b"MZ\x00launcher" + f"#!{staging}\\Scripts\\python.exe\r\n".encode() + b"PK\x05\x06zip"
    (staging / "bin" / "tool.exe").write_bytes(launcher)
    (staging / "bin" / "python").symlink_to(sys.executable)
    (staging / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = python -m venv {staging}\n")
    assert A.relocate(staging, target) == 4
    assert str(staging) not in (staging / "bin" / "activate").read_text(encoding="utf-8")
    assert script.read_text(encoding="utf-8").startswith(f"#!{target}/bin/python")
    assert os.access(script, os.X_OK)
    data = (staging / "bin" / "tool.exe").read_bytes()
    assert data.startswith(b"MZ\x00launcher#!" + str(target).encode()) and data.endswith(b"PK\x05\x06zip")
    assert (staging / "bin" / "python").is_symlink()


def test_lock_round_trip_and_bad_lock(tmp_path: Path) -> None:
    spec = InstallSpec(("torch==2.13.0",), index_url="https://download.pytorch.org/whl/cpu", frameworks=("torch",),
                       versions={"torch": "2.13.0"})
    lock = A.lock_document(spec, Interpreter("/usr/bin/python3.11", "3.11.7"),
                           {"torch": "2.13.0+cpu", "filelock": "3.16.1", "pip": "24.0"})
    assert lock["requirements"] == ["filelock==3.16.1", "torch==2.13.0+cpu"]
    f = tmp_path / "lock.json"
    f.write_text(json.dumps(lock))
    replay, python = A.load_lock_file(f)
    assert python == "3.11.7" and replay.frameworks == ("torch",) and replay.index_url == spec.index_url
    assert replay.requirements == ("filelock==3.16.1", "torch==2.13.0+cpu")
    # a whole record works as a lock too
    f.write_text(json.dumps({"schema": A.RECORD_SCHEMA, "lock": lock}))
    assert A.load_lock_file(f)[0] == replay
    for bad in ("not json", json.dumps({"schema": "other"}), json.dumps([1])):
        f.write_text(bad)
        with pytest.raises(NktenvError) as exc:
            A.load_lock_file(f)
        assert exc.value.exit_code == ExitCode.BAD_DATA
    with pytest.raises(NktenvError):
        A.load_lock_file(tmp_path / "missing.json")


def test_up_to_date_rejects_changed_or_unverified_envs(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert A.up_to_date(env, "fp") == (False, "no record")
    (env / ".nktenv").mkdir(parents=True)
    rec = {"schema": A.RECORD_SCHEMA, "fingerprint": "fp", "verification": {"ok": False}, "distributions": {}}
    (env / ".nktenv" / "record.json").write_text(json.dumps(rec))
    assert A.up_to_date(env, "other") == (False, "different plan")
    assert A.up_to_date(env, "fp") == (False, "not verified")
    rec["verification"]["ok"] = True
    (env / ".nktenv" / "record.json").write_text(json.dumps(rec))
    assert A.up_to_date(env, "fp") == (False, "interpreter does not run")


# --- interpreters -----------------------------------------------------------------------------


def test_find_current_and_missing_interpreters(tmp_path: Path) -> None:
    here = interpreters.find(None)
    assert here.version.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert interpreters.find(f"{sys.version_info[0]}.{sys.version_info[1]}").minor == here.minor
    with pytest.raises(NktenvError) as exc:
        interpreters.find(str(tmp_path / "藤澤" / "python.exe"))
    assert exc.value.code == "interpreter-not-found" and exc.value.exit_code == ExitCode.NO_ENVIRONMENT
    with pytest.raises(NktenvError) as exc:
        interpreters.find("2.1", uv=None)
    assert "2.1" in exc.value.message


def test_find_version_through_launcher_with_fake_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def fake_run(argv):
        seen.append(list(argv))
        return ProcResult(tuple(argv), 0, json.dumps([r"C:\Users\藤澤\AppData\Local\Programs\Python\Python310\python.exe", "3.10.11"]))

    monkeypatch.setattr(interpreters.shutil, "which", lambda name: r"C:\Windows\py.exe" if name == "py" else None)
    monkeypatch.setattr(interpreters.sys, "platform", "win32")
    found = interpreters.find("3.10" if sys.version_info[:2] != (3, 10) else "3.12", run=fake_run)
    assert found.path.endswith("python.exe") and seen[0][0] == r"C:\Windows\py.exe" and seen[0][1].startswith("-3.")


def test_find_path_to_real_interpreter_and_venv_folder() -> None:
    found = interpreters.find(sys.executable)
    assert Path(found.path).exists()
    assert interpreters.find(sys.prefix).version == found.version


def test_scan_distributions_reads_dist_info_without_python(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    assert A.scan_distributions(venv) is None  # no site-packages at all
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "Torch-2.13.0+cpu.dist-info").mkdir(parents=True)
    (site / "Torch-2.13.0+cpu.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0+cpu\n\nName: not-a-header\n")
    (site / "typing_extensions-4.16.0.dist-info").mkdir()
    (site / "typing_extensions-4.16.0.dist-info" / "METADATA").write_text("Name: typing_extensions\nVersion: 4.16.0\n")
    (site / "broken.dist-info").mkdir()
    assert A.scan_distributions(venv) == {"torch": "2.13.0+cpu", "typing-extensions": "4.16.0"}


def test_pyenv_interpreters_are_found_behind_failing_shims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("3.10.4", "3.10.13", "3.10.13-debug", "3.9.18"):
        exe = tmp_path / "versions" / version / "bin" / "python3.10"
        exe.parent.mkdir(parents=True)
        exe.write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    found = interpreters.pyenv_pythons("3.10", windows=False)
    assert [p.parts[-3] for p in found] == ["3.10.13", "3.10.4"]
    monkeypatch.setattr(interpreters.shutil, "which", lambda name: None)
    answers = {str(found[0]): ProcResult((), 0, json.dumps([str(found[0]), "3.10.13"]))}
    target = "3.10" if sys.version_info[:2] != (3, 10) else None
    if target:
        got = interpreters.find(target, run=lambda argv: answers.get(argv[0], ProcResult((), 127, "")))
        assert got == Interpreter(str(found[0]), "3.10.13")


def test_companions_are_checked_beside_the_framework() -> None:
    spec = InstallSpec(("torch==2.13.0", "torchvision==0.28.0", "numpy"), frameworks=("torch",))
    installed = {"torch": "2.13.0", "torchvision": "0.28.0", "numpy": "2.0"}
    probe = lambda p, n: {"version": "2.13.0", "cuda_available": False, "kernel_ok": True}  # noqa: E731
    asked = []

    def broken(py: Path, names: tuple[str, ...]) -> dict:
        asked.append(names)
        return {"torchvision": {"version": None, "error": "RuntimeError: operator torchvision::nms does not exist"}}

    bad = verify(Path("py"), spec, installed=installed, probe=probe, companion_check=broken)
    assert asked == [("torchvision",)] and not bad.ok
    assert [c.name for c in bad.failures] == ["torchvision"] and "torchvision::nms" in bad.failures[0].detail
    good = verify(Path("py"), spec, installed=installed, probe=probe,
                  companion_check=lambda p, n: {"torchvision": {"version": "0.28.0", "error": None}})
    assert good.ok and [c.name for c in good.checks] == ["requirements", "torch", "torchvision"]


def test_companion_check_script_reports_a_broken_package(tmp_path: Path) -> None:
    # a fake torchvision whose compiled operator is missing, as beside a torch build it was not made for
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("def tensor(x):\n    return x\n", encoding="utf-8")
    tv = tmp_path / "torchvision"
    (tv / "ops").mkdir(parents=True)
    (tv / "__init__.py").write_text("__version__ = '0.28.0'\n", encoding="utf-8")
    (tv / "ops" / "__init__.py").write_text(
        "def nms(*a):\n    raise RuntimeError('operator torchvision::nms does not exist')\n", encoding="utf-8")
    from importlib.resources import files

    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    script = files("nktenv.checks").joinpath("companions.py")
    out = subprocess.run([sys.executable, str(script), "torchvision", "nosuch"], capture_output=True, text=True,
                         timeout=60, env=env)
    doc = json.loads(out.stdout)
    assert doc["results"]["torchvision"] == {"version": None,
                                             "error": "RuntimeError: operator torchvision::nms does not exist"}
    assert doc["results"]["nosuch"]["version"] is None


def test_without_drops_a_companion_only() -> None:
    spec = InstallSpec(("torch==2.13.0", "torchvision==0.28.0", "torchaudio==2.13.0"), frameworks=("torch",))
    assert spec.without(["TorchAudio"]).requirements == ("torch==2.13.0", "torchvision==0.28.0")
    assert spec.without([]) is spec
    with pytest.raises(NktenvError) as framework:
        spec.without(["torch"])
    assert framework.value.exit_code == ExitCode.USAGE and "--torch none" in framework.value.message
    with pytest.raises(NktenvError) as unknown:
        spec.without(["jax"])
    assert "jax" in unknown.value.message and "torchvision==0.28.0" in unknown.value.message
