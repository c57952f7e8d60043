from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nktenv.setup import cudalibs

FAKE_ACTIVATE = """deactivate () {
    if [ -n "${_OLD_VIRTUAL_PATH:-}" ] ; then PATH="${_OLD_VIRTUAL_PATH:-}"; export PATH; unset _OLD_VIRTUAL_PATH; fi
    unset VIRTUAL_ENV
    if [ ! "${1:-}" = "nondestructive" ] ; then unset -f deactivate; fi
}
deactivate nondestructive
VIRTUAL_ENV="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VIRTUAL_ENV
"""


def _fake_venv(tmp_path: Path) -> tuple[Path, Path]:
    venv = tmp_path / "tf env"
    site = venv / "lib" / "python3.11" / "site-packages"
    for lib in ("cudnn", "cublas"):
        d = site / "nvidia" / lib / "lib"
        d.mkdir(parents=True)
        (d / f"lib{lib}.so.9").write_bytes(b"\x7fELF")
    (site / "nvidia" / "empty" / "lib").mkdir(parents=True)
    (site / "tensorflow").mkdir()
    (venv / "bin").mkdir()
    (venv / "bin" / "activate").write_text(FAKE_ACTIVATE)
    return venv, site


def test_strip_library_path_keeps_own_and_unrelated_entries() -> None:
    value = "/usr/local/cuda-11.8/lib64:/opt/intel/lib:/home/u/miniconda3/pkgs/cudnn-8.1/lib::/venv/lib/nvidia/cudnn/lib"
    assert cudalibs.strip_library_path(value, "/venv") == "/opt/intel/lib:/venv/lib/nvidia/cudnn/lib"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and LD_LIBRARY_PATH are the Linux route")
def test_links_are_relative_and_idempotent(tmp_path: Path) -> None:
    venv, site = _fake_venv(tmp_path)
    report = cudalibs.apply(venv, site)
    assert report["tensorflow_links"] == 2 and report["activate_patched"] is True
    link = site / "tensorflow" / "libcudnn.so.9"
    assert link.is_symlink() and not Path(link.readlink() if hasattr(link, "readlink") else "").is_absolute()
    moved = tmp_path / "moved"
    venv.rename(moved)  # relative links survive the move into place
    assert (moved / site.relative_to(venv) / "tensorflow" / "libcudnn.so.9").resolve().exists()
    again = cudalibs.apply(moved, moved / site.relative_to(venv))
    assert again["tensorflow_links"] == 0 and again["activate_patched"] is False


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_activate_puts_pip_libs_first_strips_foreign_and_deactivate_restores(tmp_path: Path) -> None:
    venv, site = _fake_venv(tmp_path)
    cudalibs.patch_activate(venv, site)
    script = (
        'export LD_LIBRARY_PATH="/usr/local/cuda-12.1/lib64:/opt/lib"\n'
        f'source "{venv}/bin/activate"\n'
        'echo "ON=$LD_LIBRARY_PATH"\n'
        "deactivate\n"
        'echo "OFF=$LD_LIBRARY_PATH"\n'
        "declare -F deactivate >/dev/null && echo LEFT || echo GONE\n"
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    on = lines["ON"].split(":")
    assert on[0].endswith("nvidia/cublas/lib") and on[1].endswith("nvidia/cudnn/lib")
    assert "/usr/local/cuda-12.1/lib64" not in on and on[-1] == "/opt/lib"
    assert lines["OFF"] == "/usr/local/cuda-12.1/lib64:/opt/lib"
    assert "GONE" in out.stdout
