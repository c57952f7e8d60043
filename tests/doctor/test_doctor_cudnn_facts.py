"""The cuDNN rules take their version facts (zlibwapi threshold, sub-library names) from cuda.toml [[cudnn]]."""

from __future__ import annotations

import dataclasses
from typing import Any

from nktenv.doctor import diagnose
from nktenv.facts import from_dict
from nktenv.manifest import load
from tests.doctor.builders import by_code, healthy_linux, healthy_windows, merge

CUDA_BIN = "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8\\bin"


def _windows_cudnn(version: str) -> dict[str, Any]:
    # zlibwapi.dll is known to be absent from PATH and nothing failed yet: only the version decides.
    return merge(healthy_windows(), {
        "windows": {"dlls_on_path": {"cudnn64_8.dll": [CUDA_BIN], "zlibwapi.dll": []}},
        "cudnn": [{"version": version, "location": CUDA_BIN, "source": "library"}],
    })


def _codes(doc: dict[str, Any], manifests=None) -> dict:
    return by_code(diagnose(from_dict(doc), manifests or load()))


def test_zlibwapi_threshold_comes_from_the_manifest() -> None:
    assert "zlibwapi_missing" in _codes(_windows_cudnn("8.3.0"))
    assert "zlibwapi_missing" not in _codes(_windows_cudnn("8.2.1"))  # before 8.3.0 cuDNN had no zlib dependency
    assert "zlibwapi_missing" not in _codes(_windows_cudnn("9.1.0"))  # cuDNN 9 no longer needs it

    m = load()
    eight = m.cudnn_major(8)
    moved = dataclasses.replace(m, cudnn=tuple(dataclasses.replace(c, zlibwapi_from="8.5") if c is eight else c
                                               for c in m.cudnn))
    assert "zlibwapi_missing" not in _codes(_windows_cudnn("8.4.1"), moved)
    assert "zlibwapi_missing" in _codes(_windows_cudnn("8.4.1"))


def _linux_cudnn9(libraries: list[str]) -> dict[str, Any]:
    return merge(healthy_linux(), {
        "cudnn": [{"version": "9.3.0", "location": "/usr/lib/x86_64-linux-gnu", "source": "library",
                   "libraries": libraries}],
    })


def test_sublibrary_names_come_from_the_manifest() -> None:
    m = load()
    names = list(m.cudnn_major(9).sublibraries(False))
    complete = ["libcudnn.so.9", *names]
    assert "cudnn9_sublibrary_missing" not in _codes(_linux_cudnn9(complete))

    f = _codes(_linux_cudnn9([n for n in complete if n != "libcudnn_heuristic.so.9"]))["cudnn9_sublibrary_missing"]
    assert f.evidence == ("/usr/lib/x86_64-linux-gnu lacks libcudnn_heuristic.so.9",)
    assert "not only libcudnn.so.9" in (f.fix or "")

    # A manifest that also lists a new sub-library makes a copy without it incomplete.
    nine = m.cudnn_major(9)
    grown = dataclasses.replace(m, cudnn=tuple(
        dataclasses.replace(c, sublibraries_linux=(*c.sublibraries_linux, "libcudnn_new.so.9")) if c is nine else c
        for c in m.cudnn))
    f = _codes(_linux_cudnn9(complete), grown)["cudnn9_sublibrary_missing"]
    assert f.evidence == ("/usr/lib/x86_64-linux-gnu lacks libcudnn_new.so.9",)


def test_without_cudnn_facts_the_library_rules_stay_quiet() -> None:
    bare = dataclasses.replace(load(), cudnn=())
    assert "zlibwapi_missing" not in _codes(_windows_cudnn("8.9.7"), bare)
    assert "cudnn9_sublibrary_missing" not in _codes(_linux_cudnn9(["libcudnn.so.9"]), bare)
