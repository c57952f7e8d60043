"""One CUDA toolkit is one toolkit, however `nvcc` on PATH reaches it: through a symlink chain or a
wrapper script (Debian's /usr/bin/nvcc is one). Machines replayed through the seam; the scripts and
`nvcc --version` outputs are verbatim (tests/probes/data/real, sources in SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nktenv.probes import detect
from nktenv.probes.cuda import wrapper_target
from nktenv.probes.seam import RECORDING_FORMAT, ReplaySeam

REAL = Path(__file__).parent / "data" / "real"


def real(name: str) -> str:
    return (REAL / name).read_text(encoding="utf-8")


def _nvcc(path: str, output: str) -> dict[str, Any]:
    return {"argv": [path, "--version"], "returncode": 0, "stdout": output, "stderr": "", "timed_out": False,
            "not_found": False, "error": None, "duration_s": 0.02}


def _machine(tmp_path: Path, *, which: str, files: dict[str, str], exists: list[str], realpath: dict[str, str],
             listdir: dict[str, list[str]], commands: list[dict[str, Any]]) -> ReplaySeam:
    index = {
        "format": RECORDING_FORMAT, "created_at": "2026-11-20T09:00:00Z", "description": "cuda wrapper test",
        "platform": {"system": "Linux", "release": "6.8.0-49-generic", "machine": "x86_64", "python_version": "3.10.12"},
        "environ": {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/home/lab"},
        "nvml": {"available": False, "error": "NVML Shared Library Not Found"},
        "commands": commands,
        "files": {path: {"text": text} for path, text in files.items()},
        "exists": {path: True for path in exists},
        "listdir": [{"path": d, "pattern": "cuda*", "names": names} for d, names in listdir.items()],
        "which": {"nvcc": which},
        "realpath": realpath,
    }
    (tmp_path / "machine.json").write_text(json.dumps(index), encoding="utf-8")
    return ReplaySeam(tmp_path)


def test_a_usr_bin_wrapper_and_a_symlink_chain_are_one_cuda_13_toolkit(tmp_path: Path) -> None:
    # /usr/bin/nvcc: `exec /usr/local/cuda/bin/nvcc "$@"`; /usr/local/cuda -> cuda-13.0 (update-alternatives' link)
    seam = _machine(
        tmp_path, which="/usr/bin/nvcc",
        files={"/usr/bin/nvcc": real("nvcc-wrapper-exec-usr-local-cuda.txt")},
        exists=["/usr/bin/nvcc", "/usr/local/cuda/bin/nvcc", "/usr/local/cuda-13.0/bin/nvcc",
                "/usr/local/cuda-13.0/bin/nvcc.profile", "/usr/local/cuda-13.0/bin"],
        realpath={"/usr/bin/nvcc": "/usr/bin/nvcc", "/usr/local/cuda/bin/nvcc": "/usr/local/cuda-13.0/bin/nvcc",
                  "/usr/local/cuda": "/usr/local/cuda-13.0", "/usr/local/cuda-13.0": "/usr/local/cuda-13.0"},
        listdir={"/usr/local": ["cuda", "cuda-13.0"]},
        commands=[_nvcc("/usr/local/cuda-13.0/bin/nvcc", real("nvcc-13.0.88.txt")),
                  _nvcc("/usr/bin/nvcc", real("nvcc-13.0.88.txt"))],
    )
    (tk,) = detect(seam, frameworks=False).cuda_toolkits
    assert (tk.version, tk.root, tk.nvcc, tk.source) == ("13.0.88", "/usr/local/cuda-13.0", "/usr/local/cuda-13.0/bin/nvcc", "nvcc")
    assert tk.extra["found_by"] == ["PATH", "default"] and tk.extra["on_path"] is True
    assert tk.extra["aliases"] == ["/usr/local/cuda"]
    assert tk.extra["nvcc_wrappers"] == ["/usr/bin/nvcc"]


def test_debians_wrapper_names_the_package_toolkit_not_usr(tmp_path: Path) -> None:
    seam = _machine(
        tmp_path, which="/usr/bin/nvcc",
        files={"/usr/bin/nvcc": real("nvcc-wrapper-debian.txt")},
        exists=["/usr/bin/nvcc", "/usr/lib/nvidia-cuda-toolkit/bin/nvcc", "/usr/lib/nvidia-cuda-toolkit/bin/nvcc.profile"],
        realpath={}, listdir={"/usr/local": []},
        commands=[_nvcc("/usr/lib/nvidia-cuda-toolkit/bin/nvcc", real("nvcc-11.5.119-ubuntu-apt.txt")),
                  _nvcc("/usr/bin/nvcc", real("nvcc-11.5.119-ubuntu-apt.txt"))],
    )
    (tk,) = detect(seam, frameworks=False).cuda_toolkits
    assert (tk.version, tk.root, tk.nvcc) == ("11.5.119", "/usr/lib/nvidia-cuda-toolkit", "/usr/lib/nvidia-cuda-toolkit/bin/nvcc")
    assert tk.extra["nvcc_wrappers"] == ["/usr/bin/nvcc"]


def test_a_wrapper_that_rewrites_its_version_does_not_make_a_second_toolkit(tmp_path: Path) -> None:
    # ~/.local/bin/nvcc says "12.8" to --version but runs the real CUDA 13.0 compiler.
    wrapper = "/home/lab/.local/bin/nvcc"
    seam = _machine(
        tmp_path, which=wrapper,
        files={wrapper: real("nvcc-wrapper-version-rewrite.txt")},
        exists=[wrapper, "/usr/local/cuda/bin/nvcc", "/usr/local/cuda-13.0/bin/nvcc", "/usr/local/cuda-13.0/bin/nvcc.profile"],
        realpath={"/usr/local/cuda/bin/nvcc": "/usr/local/cuda-13.0/bin/nvcc", "/usr/local/cuda": "/usr/local/cuda-13.0"},
        listdir={"/usr/local": ["cuda", "cuda-13.0"]},
        commands=[_nvcc("/usr/local/cuda-13.0/bin/nvcc", real("nvcc-13.0.88.txt"))],
    )
    (tk,) = detect(seam, frameworks=False).cuda_toolkits
    assert (tk.version, tk.root) == ("13.0.88", "/usr/local/cuda-13.0")
    assert tk.extra["on_path"] is True and tk.extra["nvcc_wrappers"] == [wrapper]


@pytest.mark.parametrize(("name", "target"), [
    ("nvcc-wrapper-debian.txt", "/usr/lib/nvidia-cuda-toolkit/bin/nvcc"),
    ("nvcc-wrapper-exec-usr-local-cuda.txt", "/usr/local/cuda/bin/nvcc"),
    ("nvcc-wrapper-set-e.txt", "/usr/local/cuda/bin/nvcc"),  # no exec: still the compiler it runs
    ("nvcc-wrapper-version-rewrite.txt", "/usr/local/cuda/bin/nvcc"),
])
def test_wrapper_targets_of_real_scripts(name: str, target: str) -> None:
    assert wrapper_target(real(name)) == target


@pytest.mark.parametrize("text", [
    None, "", "\x7fELF\x02\x01\x01",  # a binary
    '#!/usr/bin/env bash\nexec "${CUDA_TOOLKIT_HOME}/bin/nvcc" "$@"\n',  # the target is a variable
    '#!/bin/sh\n[ -x /opt/a/bin/nvcc ] && exec /opt/a/bin/nvcc "$@"\nexec /opt/b/bin/nvcc "$@"\n',  # two: a guess
])
def test_no_wrapper_target_where_it_would_be_a_guess(text: str | None) -> None:
    assert wrapper_target(text) is None
