"""Probes for the Visual C++ runtime files (Windows) and a conda environment's CUDA packages (conda-meta)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nktenv.facts import PythonFacts, WindowsFacts
from nktenv.probes import conda, runtimes
from nktenv.probes._ctx import Ctx
from nktenv.probes.seam import RecordingSeam, ReplaySeam, _match

# A non-ASCII user name, as on a Japanese lab PC.
VENV = r"C:\Users\藤澤\lab\.venv"
BASE = r"C:\Users\藤澤\AppData\Local\Programs\Python\Python312"


class DirSeam:
    """Only what these probes ask: folder listings and file texts."""

    def __init__(self, dirs: dict[str, list[str]], files: dict[str, str] | None = None) -> None:
        self.dirs = dirs
        self.files = files or {}

    def listdir(self, path: str, pattern: str = "*") -> list[str] | None:
        names = self.dirs.get(path)
        return None if names is None else sorted(n for n in names if _match(n, pattern))

    def read_text(self, path: str) -> str | None:
        return self.files.get(path)

    def exists(self, path: str) -> bool:
        return path in self.dirs or path in self.files


def _win_ctx(seam: Any) -> Ctx:
    return Ctx(seam=seam, plat={"system": "Windows"}, env={"SystemRoot": r"C:\WINDOWS"})


def _venv() -> PythonFacts:
    return PythonFacts(version="3.12.4", executable=VENV + r"\Scripts\python.exe", kind="venv",
                       extra={"prefix": VENV, "base_prefix": BASE})


def test_vc_runtime_files_are_looked_for_in_system32_the_interpreter_and_torch_lib() -> None:
    seam = DirSeam({
        r"C:\WINDOWS\System32": ["kernel32.dll", "MSVCP140.dll", "vcruntime140.dll", "VCRUNTIME140_1.dll"],
        BASE: ["python.exe", "vcruntime140.dll", "vcruntime140_1.dll"],
        VENV + r"\Lib\site-packages\torch\lib": ["c10.dll", "fbgemm.dll", "torch_cpu.dll"],
    })
    win = runtimes.add_vc_runtime_files(_win_ctx(seam), WindowsFacts(), _venv())
    files = win.extra["vc_runtime_files"]
    assert files["msvcp140.dll"] == [r"C:\WINDOWS\System32"]
    assert files["vcruntime140.dll"] == [r"C:\WINDOWS\System32", BASE]
    assert files["libomp140.x86_64.dll"] == []  # looked, absent: torch 2.4.0's fbgemm.dll cannot load
    assert VENV + r"\Lib\site-packages\torch\lib" in win.extra["vc_runtime_folders"]
    assert win.to_dict()["vc_runtime_files"] == files  # a windows key in the snapshot


def test_vc_runtime_probe_is_replayable(tmp_path: Path) -> None:
    seam = DirSeam({r"C:\WINDOWS\System32": ["msvcp140.dll", "vcruntime140.dll"]})
    rec = RecordingSeam(seam, tmp_path)
    live = runtimes.add_vc_runtime_files(_win_ctx(rec), WindowsFacts(), _venv())
    rec.save()
    replayed = runtimes.add_vc_runtime_files(_win_ctx(ReplaySeam(tmp_path)), WindowsFacts(), _venv())
    assert replayed.extra == live.extra


def test_vc_runtime_probe_is_windows_only() -> None:
    ctx = Ctx(seam=DirSeam({}), plat={"system": "Linux"}, env={})
    assert runtimes.add_vc_runtime_files(ctx, None, _venv()) is None


# Real conda-meta file names: cudatoolkit 11.8.0 from defaults (https://anaconda.org/anaconda/cudatoolkit/files),
# cudnn 8.9.2.26 from defaults (https://anaconda.org/anaconda/cudnn/files), NVIDIA's split packages from the nvidia
# channel (https://anaconda.org/nvidia/cuda-cudart/files, https://anaconda.org/nvidia/libcublas/files).
PREFIX = "/home/lab/miniconda3/envs/seg"
META = [
    "cudatoolkit-11.8.0-h6a678d5_0.json", "cudnn-8.9.2.26-cuda11_0.json", "cuda-cudart-12.1.105-0.json",
    "libcublas-12.1.0.26-0.json", "numpy-1.26.4-py310h5f9d8c6_0.json", "python-3.10.14-h955ad1f_1.json",
    "libcurl-8.7.1-h251f7ec_0.json", "cuda-version-12.1-h1d6eff3_3.json",
]


def test_conda_meta_names_version_and_build() -> None:
    assert conda.parse_meta_name("cudatoolkit-11.8.0-h6a678d5_0.json") == ("cudatoolkit", "11.8.0", "h6a678d5_0")
    assert conda.parse_meta_name("cuda-nvcc-tools-12.4.131-hb6f64bf_0.json") == ("cuda-nvcc-tools", "12.4.131", "hb6f64bf_0")
    assert conda.parse_meta_name("history") is None


def test_conda_cuda_packages_from_conda_meta() -> None:
    seam = DirSeam({PREFIX + "/conda-meta": META},
                   {PREFIX + "/conda-meta/cudnn-8.9.2.26-cuda11_0.json": json.dumps({"name": "cudnn", "channel": "pkgs/main"})})
    py = PythonFacts(version="3.10.14", kind="conda", extra={"prefix": PREFIX, "conda_prefix": PREFIX})
    got = conda.add_conda_packages(Ctx(seam=seam, plat={"system": "Linux"}, env={}), py).extra["conda_cuda_packages"]
    assert [(p["name"], p["version"], p["build"]) for p in got] == [
        ("cuda-cudart", "12.1.105", "0"), ("cuda-version", "12.1", "h1d6eff3_3"), ("cudatoolkit", "11.8.0", "h6a678d5_0"),
        ("cudnn", "8.9.2.26", "cuda11_0"), ("libcublas", "12.1.0.26", "0")]
    assert next(p for p in got if p["name"] == "cudnn")["channel"] == "pkgs/main"
    assert "libcurl" not in {p["name"] for p in got}  # not a CUDA library


def test_a_venv_has_no_conda_packages_key() -> None:
    py = PythonFacts(version="3.10.14", kind="venv", extra={"prefix": "/home/lab/venv"})
    out = conda.add_conda_packages(Ctx(seam=DirSeam({}), plat={"system": "Linux"}, env={}), py)
    assert "conda_cuda_packages" not in out.extra


def test_toolkit_bin_dlls_are_listed_whether_or_not_the_bin_is_on_path() -> None:
    v118 = r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v11.8"
    v121 = r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v12.1"
    seam = DirSeam({v118 + r"\bin": ["cudart64_110.dll", "cublas64_11.dll", "nvcc.exe"],
                    v121 + r"\bin": ["cudart64_12.dll"]})
    ctx = Ctx(seam=seam, plat={"system": "Windows"}, env={"CUDA_PATH": v121, "CUDA_PATH_V11_8": v118, "PATH": r"C:\WINDOWS"})
    win = runtimes.add_toolkit_bin_dlls(ctx, WindowsFacts(), [])
    assert win.extra["toolkit_bin_dlls"] == {"cublas64_11.dll": [v118 + r"\bin"], "cudart64_110.dll": [v118 + r"\bin"],
                                             "cudart64_12.dll": [v121 + r"\bin"]}
