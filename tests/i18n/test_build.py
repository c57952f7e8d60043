"""The build compiles the catalogs: wheels (also from the sdist) ship the .mo; editable installs get it too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.packaging.venvs import host_has_installed_nktenv, make_venv

pytestmark = pytest.mark.slow

MO = "nktenv/locale/ja/LC_MESSAGES/nktenv.mo"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "NKTENV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONIOENCODING="utf-8")
    return env


def _copy(dst: Path) -> Path:
    # Build from a copy: the real checkout must not get build/ or .mo files from a test.
    keep = ("pyproject.toml", "setup.py", "README.md", "nktenv", "manifests", "checks")
    dst.mkdir()
    for name in keep:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        elif src.is_file():
            shutil.copy2(src, dst / name)
    return dst


def _build(kind: str, source: Path, out: Path) -> Path:
    cmd = [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(out), str(source)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return next(out.glob("*.whl" if kind == "wheel" else "*.tar.gz"))


def _pip_install(python: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-build-isolation", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def _japanese_help(python: Path, cwd: Path) -> str:
    code = "import nktenv.i18n as i; print(i.__file__); print(i._localedir())"
    where = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=cwd, env=_env(), timeout=60)
    out = subprocess.run(
        [str(python), "-m", "nktenv", "--lang", "ja", "--help"],
        capture_output=True, text=True, encoding="utf-8", cwd=cwd, env=_env(), timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return where.stdout + out.stdout


def test_wheel_from_sdist_ships_compiled_catalog(tmp_path: Path) -> None:
    src = _copy(tmp_path / "src")
    sdist = _build("sdist", src, tmp_path / "sdist")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        assert any(n.endswith("nktenv/locale/ja/LC_MESSAGES/nktenv.po") for n in names)
        assert any(n.endswith("/setup.py") for n in names)
        tar.extractall(tmp_path / "unpacked")  # noqa: S202 - our own archive
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    wheel = _build("wheel", unpacked, tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        assert MO in zf.namelist()
        data = zf.read(MO)
    import gettext
    import io

    translations = gettext.GNUTranslations(io.BytesIO(data))
    assert translations.gettext("Options") == "オプション"

    python = make_venv(tmp_path / "venv")
    _pip_install(python, str(wheel))
    text = _japanese_help(python, tmp_path)
    assert "site-packages" in text.splitlines()[0]
    assert "使い方: nktenv" in text


def test_editable_install_compiles_into_the_source_tree(tmp_path: Path) -> None:
    src = _copy(tmp_path / "src")
    assert not (src / MO).exists()
    if host_has_installed_nktenv():
        pytest.skip("nktenv is installed (not editable) in this interpreter and would shadow the editable install")
    python = make_venv(tmp_path / "venv")
    _pip_install(python, "-e", str(src))
    assert (src / MO).is_file()  # the build hook ran in editable mode
    text = _japanese_help(python, tmp_path)
    assert text.splitlines()[0].startswith(str(src))
    assert "使い方: nktenv" in text
