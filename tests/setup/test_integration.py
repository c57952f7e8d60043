"""Real venvs, real installers, a real PEP 503 index on 127.0.0.1, and failures injected for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nktenv.errors import NktenvError
from nktenv.setup import apply as A
from nktenv.setup import registry
from nktenv.setup.backends import PipBackend, UvBackend, find_uv
from nktenv.setup.interpreters import current
from nktenv.setup.spec import InstallSpec

from wheels import lab_wheelhouse, serve, serve_slow, write_simple_index

pytestmark = pytest.mark.slow

BACKENDS = ["pip"] + (["uv"] if find_uv() else [])


def _backend(name: str):
    return PipBackend() if name == "pip" else UvBackend(find_uv())


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index")
    write_simple_index(lab_wheelhouse(root / "wheels"), root)
    return root


@pytest.fixture(scope="module")
def index_url(index_root: Path):
    with serve(index_root) as base:
        yield base + "/simple"


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def _request(target: Path, spec: InstallSpec, backend: str, **kw) -> A.SetupRequest:
    return A.SetupRequest(venv=target, interpreter=current(), spec=spec, backend=_backend(backend), **kw)


def _run_in(venv: Path, code: str) -> str:
    out = subprocess.run([str(registry.venv_python(venv)), "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("backend", BACKENDS)
def test_build_verify_record_noop_force(tmp_path: Path, index_url: str, backend: str) -> None:
    target = tmp_path / "藤澤 lab env"
    spec = InstallSpec(("nkt-app==2.0", "torch==0.0.1"), index_url=index_url, frameworks=("torch",),
                       versions={"torch": "0.0.1"})
    first = A.apply(_request(target, spec, backend))
    assert first.status == "created"
    assert first.distributions["nkt-app"] == "2.0" and first.distributions["nkt-dep"] == "1.0"
    assert [c.name for c in first.verification.checks] == ["requirements", "torch"]
    assert first.verification.frameworks["torch"]["version"] == "0.0.1"  # reported by the real checks/probe.py
    assert _run_in(target, "import nkt_app, sys; print(nkt_app.__version__, sys.prefix)") == f"2.0 {target}"
    record = json.loads((target / ".nktenv" / "record.json").read_text(encoding="utf-8"))
    assert record["verification"]["ok"] and record["installer"]["name"] == backend
    assert all(str(target) in " ".join(c) for c in record["commands"])  # written for the final folder
    lock = json.loads((target / ".nktenv" / "lock.json").read_text(encoding="utf-8"))
    assert "nkt-dep==1.0" in lock["requirements"] and "pip==" not in " ".join(lock["requirements"])
    assert Path(first.log_path).read_text(encoding="utf-8").count("$ ") == 2
    assert set(first.steps) == {"venv", "install", "verify"}
    assert registry.last_python() == str(registry.venv_python(target))
    assert _siblings(target) == []
    if backend == "pip":  # console scripts still run after the move into place
        out = subprocess.run([str(target / "bin" / "pip"), "--version"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and str(target) in out.stdout

    other = tmp_path / "other"
    A.apply(_request(other, InstallSpec(("nkt-dep==1.0",), index_url=index_url), backend))
    assert registry.last_python() == str(registry.venv_python(other))
    second = A.apply(_request(target, spec, backend))
    assert second.status == "unchanged" and second.verification is None
    assert registry.last_python() == str(registry.venv_python(target))  # a no-op re-run makes it the latest again
    assert second.distributions == first.distributions

    forced = A.apply(_request(target, spec, backend, force=True))
    assert forced.status == "replaced" and _siblings(target) == []


def test_changed_plan_rebuilds_and_lock_replays_with_the_other_installer(tmp_path: Path, index_url: str) -> None:
    target = tmp_path / "env"
    A.apply(_request(target, InstallSpec(("nkt-app==2.0",), index_url=index_url), BACKENDS[-1]))
    upgraded = A.apply(_request(target, InstallSpec(("nkt-app==3.0",), index_url=index_url), BACKENDS[-1]))
    assert upgraded.status == "replaced" and upgraded.distributions["nkt-app"] == "3.0"
    replay_spec, python = A.load_lock_file(target / ".nktenv" / "lock.json")
    assert python == current().version
    replay = A.apply(_request(tmp_path / "replayed", replay_spec, "pip", origin="lock"))
    strip = lambda d: {k: v for k, v in d.items() if k not in ("pip", "setuptools", "wheel")}  # noqa: E731
    assert strip(replay.distributions) == strip(upgraded.distributions)


def test_failed_verification_leaves_the_old_environment_untouched(tmp_path: Path, index_url: str) -> None:
    target = tmp_path / "env"
    good = InstallSpec(("torch==0.0.1",), index_url=index_url, frameworks=("torch",))
    A.apply(_request(target, good, BACKENDS[-1]))
    before = (target / ".nktenv" / "record.json").read_bytes()
    broken = InstallSpec(("torch==0.0.2",), index_url=index_url, frameworks=("torch",))
    with pytest.raises(A.VerificationFailed) as exc:
        A.apply(_request(target, broken, BACKENDS[-1]))
    assert "libcudnn.so.9" in exc.value.message
    assert exc.value.verification.frameworks["torch"]["error"].startswith("OSError")
    assert (target / ".nktenv" / "record.json").read_bytes() == before
    assert _run_in(target, "import torch; print(torch.__version__)") == "0.0.1"
    assert _siblings(target) == []


def test_failed_setup_removes_the_folders_it_made_for_the_venv(tmp_path: Path, index_url: str) -> None:
    target = tmp_path / "new" / "nested" / "env"
    broken = InstallSpec(("torch==0.0.2",), index_url=index_url, frameworks=("torch",))
    with pytest.raises(A.VerificationFailed):
        A.apply(_request(target, broken, BACKENDS[-1]))
    assert list(tmp_path.iterdir()) == []  # not even an empty "new/nested"


@pytest.mark.parametrize("backend", BACKENDS[-1:])  # pip is killed midway by the Ctrl-C test below
def test_installer_killed_midway_leaves_nothing(tmp_path: Path, index_root: Path, backend: str) -> None:
    target = tmp_path / "env"
    with serve_slow(index_root) as base:
        spec = InstallSpec(("nkt-app==2.0", "nkt-slow==1.0"), index_url=base + "/simple")
        with pytest.raises(NktenvError) as exc:
            A.apply(_request(target, spec, backend, install_timeout_s=4))
    assert exc.value.code == "install-timeout"
    assert not target.exists() and _siblings(target) == []
    assert "[killed after" in Path(exc.value.hint.split()[-1]).read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_unreachable_index_is_a_clear_no_network_error(tmp_path: Path, backend: str, monkeypatch) -> None:
    # Retries do not change what is installed, so nktenv passes them through; here they only cost time.
    monkeypatch.setenv("PIP_RETRIES", "1")  # pip reports the connection error only when it retries
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    target = tmp_path / "env"
    spec = InstallSpec(("nkt-app==2.0",), index_url=f"http://127.0.0.1:{_free_port()}/simple")
    with pytest.raises(NktenvError) as exc:
        A.apply(_request(target, spec, backend, install_timeout_s=120))
    assert exc.value.code == "no-network", exc.value.message
    assert not target.exists() and _siblings(target) == []


def test_unknown_version_is_not_installable(tmp_path: Path, index_url: str) -> None:
    with pytest.raises(NktenvError) as exc:
        A.apply(_request(tmp_path / "env", InstallSpec(("nkt-app==9.9",), index_url=index_url), BACKENDS[-1]))
    assert exc.value.code == "not-installable"
    assert not (tmp_path / "env").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is the POSIX route")
def test_ctrl_c_during_install_keeps_the_old_environment(tmp_path: Path, index_root: Path, index_url: str) -> None:
    target = tmp_path / "env"
    A.apply(_request(target, InstallSpec(("nkt-app==2.0",), index_url=index_url), BACKENDS[-1]))
    before = (target / ".nktenv" / "record.json").read_bytes()
    with serve_slow(index_root) as base:
        lock = tmp_path / "lock.json"
        lock.write_text(json.dumps({"schema": A.LOCK_SCHEMA, "requirements": ["nkt-app==3.0", "nkt-slow==1.0"],
                                    "index_url": base + "/simple", "python": current().version}))
        proc = subprocess.Popen(
            [sys.executable, "-m", "nktenv", "setup", "--from-lock", str(lock), "--venv", str(target), "--yes",
             "--installer", "pip", "--no-bench"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ), text=True,
        )
        logs = registry.data_dir() / "logs"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until pip is fetching the held-back wheel
            texts = [p.read_text(encoding="utf-8", errors="replace") for p in logs.glob("*.log")] if logs.is_dir() else []
            if any("nkt-slow" in t or "nkt_slow" in t for t in texts):
                break
            time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail("pip never reached the held-back download")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert (target / ".nktenv" / "record.json").read_bytes() == before
    assert _run_in(target, "import nkt_app; print(nkt_app.__version__)") == "2.0"
    assert _siblings(target) == []


def test_disk_full_while_finishing_leaves_nothing(tmp_path: Path, index_url: str) -> None:
    import errno

    def full(py: Path, spec: InstallSpec):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "env"
    with pytest.raises(NktenvError) as exc:
        A.apply(_request(target, InstallSpec(("nkt-app==2.0",), index_url=index_url), BACKENDS[-1]), verifier=full)
    assert exc.value.code == "disk-full"
    assert not target.exists() and _siblings(target) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the [and-cuda] library hook is Linux-only")
def test_and_cuda_hook_in_a_real_venv(tmp_path: Path) -> None:
    from wheels import make_wheel

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tensorflow", "2.99.0")
    make_wheel(wheels, "nvidia-cudnn-cu12", "9.3.0", module="nvidia_cudnn_stub",
               extra_files={"nvidia/cudnn/lib/libcudnn.so.9": b"\x7fELF stub"})
    spec = InstallSpec(("tensorflow==2.99.0", "nvidia-cudnn-cu12==9.3.0"), no_index=True, find_links=(str(wheels),),
                       and_cuda=True)
    target = tmp_path / "tf env"
    result = A.apply(_request(target, spec, BACKENDS[-1]))
    assert result.cuda_libs["tensorflow_links"] == 1 and result.cuda_libs["activate_patched"]
    (site,) = target.glob("lib/python*/site-packages")
    link = site / "tensorflow" / "libcudnn.so.9"
    assert link.is_symlink() and link.resolve() == (site / "nvidia" / "cudnn" / "lib" / "libcudnn.so.9").resolve()
    assert link.resolve().is_relative_to(target)  # points into the final folder, not the staging one
    out = subprocess.run(["bash", "-c", f'LD_LIBRARY_PATH=/usr/local/cuda/lib64; source "{target}/bin/activate"; '
                                        'echo "$LD_LIBRARY_PATH"'], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == str(site / "nvidia" / "cudnn" / "lib")
