"""checks/probe.py in real child interpreters: broken, hanging and real frameworks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nktenv.probes._ctx import Ctx
from nktenv.probes.frameworks import _script, interpreter_info, probe_frameworks
from nktenv.probes.seam import RealSeam, host_platform


def _ctx() -> Ctx:
    seam = RealSeam()
    return Ctx(seam=seam, plat=host_platform(), env=dict(os.environ))


def _fake_package(root: Path, name: str, body: str) -> None:
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(body, encoding="utf-8")


def test_the_check_script_ships_inside_the_package() -> None:
    path = Path(_script(_ctx()))
    assert path.name == "probe.py" and path.parent.name == "checks" and path.is_file()


def test_interpreter_info_of_this_python() -> None:
    info, error = interpreter_info(_ctx(), sys.executable)
    assert error is None
    assert info["version"] == ".".join(map(str, sys.version_info[:3]))
    assert info["prefix"] == sys.prefix
    assert isinstance(info["packages"], dict)


def test_a_framework_that_fails_to_import_reports_the_error_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_package(tmp_path, "torch", (
        "import sys\n"
        "print('W: loading CUDA libraries', file=sys.stderr)\n"
        "print('noise on stdout')\n"
        "raise ImportError('libcudnn.so.9: cannot open shared object file: No such file or directory')\n"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    fw = probe_frameworks(_ctx(), sys.executable, {"torch": "2.4.0"}, timeout=60)
    t = fw.torch
    assert t.error == "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory"
    assert "W: loading CUDA libraries" in t.log and "noise on stdout" in t.log
    assert t.extra["timed_out"] is False
    assert fw.tensorflow is None  # not installed: not started


def test_a_framework_import_that_hangs_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_package(tmp_path, "torch", "import time\ntime.sleep(120)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    start = time.perf_counter()
    fw = probe_frameworks(_ctx(), sys.executable, {"torch": "2.4.0"}, timeout=2)
    assert time.perf_counter() - start < 30
    assert fw.torch.extra["timed_out"] is True
    assert fw.torch.error == "timed out after 2 s"
    assert fw.torch.version is None


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_a_crashing_child_is_reported_with_its_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real segfault while "loading CUDA": faulthandler's trace reaches the parent through stderr.
    _fake_package(tmp_path, "torch", "import sys\nprint('loading libcuda', file=sys.stderr)\nimport ctypes\nctypes.string_at(0)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    fw = probe_frameworks(_ctx(), sys.executable, {"torch": "2.4.0"}, timeout=60)
    assert fw.torch.error.startswith("killed by signal 11 (SIGSEGV)")
    assert "loading libcuda" in fw.torch.log and "Segmentation fault" in fw.torch.log
    assert fw.torch.extra["timed_out"] is False


def test_a_missing_interpreter_is_an_error_not_an_exception(tmp_path: Path) -> None:
    info, error = interpreter_info(_ctx(), str(tmp_path / "no-python"))
    assert info is None and error


def test_probe_script_prints_only_json_on_stdout(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    _fake_package(tmp_path, "tensorflow", "print('2026-11-20 I tensorflow noisy line')\nimport sys\nsys.stderr.write('more noise\\n')\n__version__ = '9.9.9'\n")
    out = subprocess.run([sys.executable, _script(_ctx()), "tensorflow"], capture_output=True, text=True, timeout=60, env=env)
    doc = json.loads(out.stdout)
    assert doc["framework"] == "tensorflow"
    assert "AttributeError" in doc["result"]["error"]  # the fake has no tf.sysconfig / tf.config
    assert "noisy line" in out.stderr and "more noise" in out.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_real_torch_in_this_interpreter() -> None:
    import torch  # only the test imports it, to know the expected answer

    fw = probe_frameworks(_ctx(), sys.executable, None, timeout=300)
    t = fw.torch
    assert t.version == torch.__version__ and t.error is None
    assert t.is_cuda_build is (torch.version.cuda is not None)
    assert t.cuda_available is torch.cuda.is_available()
    if not t.cuda_available:
        assert t.kernel_ok is None
    else:  # pragma: no cover - GPU machines
        assert t.kernel_ok is True


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_real_tensorflow_noise_goes_to_log() -> None:
    fw = probe_frameworks(_ctx(), sys.executable, {"tensorflow": "x"}, timeout=300)
    tf = fw.tensorflow
    assert tf is not None and tf.version and tf.error is None
    assert tf.package.startswith("tensorflow")
    assert isinstance(tf.cuda_available, bool)
