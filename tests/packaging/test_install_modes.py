"""manifests/ and checks/ ship inside nktenv and are found through importlib.resources in every install mode.

Each mode installs into a fresh venv that imports this interpreter's own site-packages, never the base
interpreter's (venvs.make_venv), so the test stays offline: dependencies and the build backend come
from the test environment. The data is read from a folder outside the checkout, so the source tree
cannot leak onto sys.path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.packaging.venvs import host_has_installed_nktenv, make_venv

pytestmark = pytest.mark.slow

PROBE = r"""
import json, nktenv
from importlib.resources import files
def names(pkg):
    root = files(pkg)
    out = []
    def walk(node, prefix):
        for child in node.iterdir():
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, prefix + child.name + "/")
            elif child.name.endswith((".toml", ".py")):
                out.append(prefix + child.name)
    walk(root, "")
    return sorted(out)
print(json.dumps({"file": nktenv.__file__, "manifests": names("nktenv.manifests"), "checks": names("nktenv.checks")}))
"""


def _expected(folder: str, suffixes: tuple[str, ...]) -> list[str]:
    root = REPO / folder
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _pip(python: Path, *args: str) -> None:
    # The venv has no pip of its own; drive this interpreter's pip at the venv.
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-build-isolation", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def _installed_data(python: Path, cwd: Path) -> dict:
    out = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, cwd=cwd, env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def _assert_complete(data: dict) -> None:
    assert data["manifests"] == _expected("manifests", (".toml", ".py"))
    assert data["checks"] == _expected("checks", (".py",))
    assert "__init__.py" in data["checks"]


def _build(kind: str, out: Path, source: Path = REPO) -> Path:
    cmd = [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(out), str(source)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return next(out.glob("*.whl" if kind == "wheel" else "*.tar.gz"))


def _clean_copy(dst: Path) -> Path:
    """The checkout without build leftovers, so builds here never touch the real tree."""
    ignore = shutil.ignore_patterns(".git", ".ci-venv", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(REPO, dst, ignore=ignore)
    return dst


def test_wheel(tmp_path: Path) -> None:
    src = _clean_copy(tmp_path / "src")
    wheel = _build("wheel", tmp_path / "dist", src)
    python = make_venv(tmp_path / "venv")
    _pip(python, str(wheel))
    data = _installed_data(python, tmp_path)
    assert "site-packages" in data["file"]
    _assert_complete(data)


def test_wheel_built_from_sdist(tmp_path: Path) -> None:
    src = _clean_copy(tmp_path / "src")
    sdist = _build("sdist", tmp_path / "sdist", src)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data") if sys.version_info >= (3, 12) else tar.extractall(tmp_path / "unpacked")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    wheel = _build("wheel", tmp_path / "dist", unpacked)
    python = make_venv(tmp_path / "venv")
    _pip(python, str(wheel))
    _assert_complete(_installed_data(python, tmp_path))


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_editable(tmp_path: Path, installer: str) -> None:
    if host_has_installed_nktenv():
        pytest.skip("nktenv is installed (not editable) in this interpreter and would shadow the editable install")
    src = _clean_copy(tmp_path / "src")
    python = make_venv(tmp_path / "venv")
    if installer == "pip":
        _pip(python, "-e", str(src))
    else:
        uv = shutil.which("uv")
        if uv is None:
            try:
                from uv import find_uv_bin
            except ImportError:
                pytest.skip("uv is not installed")
            uv = find_uv_bin()
        cmd = [uv, "pip", "install", "--offline", "--no-deps", "--no-build-isolation", "--python", str(python), "-e", str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
    data = _installed_data(python, tmp_path)
    assert data["file"].startswith(str(src))
    _assert_complete(data)
    # Edits to the data show up live in an editable install.
    (src / "manifests" / "zz_live_edit.toml").write_text("# live\n", encoding="utf-8")
    assert "zz_live_edit.toml" in _installed_data(python, tmp_path)["manifests"]
