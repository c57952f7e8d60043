"""checks/probe.py lists the CUDA-related distributions without parsing every other one's metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

DISTS = {  # folder -> Name in its metadata
    "torch-2.4.0.dist-info": "torch",
    "Keras-3.0.0.dist-info": "Keras",
    "tf_nightly-2.19.0.dev1.dist-info": "tf-nightly",
    "nvidia_cudnn_cu12-9.1.0.70.dist-info": "nvidia-cudnn-cu12",
    "intel_tensorflow-2.10.0.dist-info": "intel-tensorflow",
    "jaxlib-0.4.30.dist-info": "jaxlib",
    "tensorrt.egg-info": "tensorrt",
    "torchmetrics-1.0.0.dist-info": "torchmetrics",
    "requests_fake-1.0.0.dist-info": "requests-fake",
}

# The scan before the folder-name filter: every distribution's metadata parsed.
FULL_SCAN = """
from importlib import metadata
out = {}
for dist in metadata.distributions():
    name = (dist.metadata["Name"] or "").lower().replace("_", "-")
    if name and probe.RELATED.match(name):
        out[name] = dist.version
full = dict(sorted(out.items()))
"""


def _site(root: Path) -> Path:
    for folder, name in DISTS.items():
        meta = root / folder
        meta.mkdir(parents=True)
        version = folder.split("-", 1)[1].removesuffix(".dist-info") if folder.endswith(".dist-info") else "10.0.0"
        filename = "PKG-INFO" if folder.endswith(".egg-info") else "METADATA"
        (meta / filename).write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    return root


def test_the_filtered_scan_finds_what_the_full_scan_finds(tmp_path: Path) -> None:
    site = _site(tmp_path / "site")
    code = (
        f"import sys, json; sys.path.insert(0, {str(REPO / 'checks')!r}); import probe\n"
        + FULL_SCAN
        + "print(json.dumps({'fast': probe._dists(), 'again': probe._dists(), 'full': full}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    # -S: no site-packages, so only the folders above are installed
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["fast"] == doc["full"] == doc["again"]
    for name, version in (("torch", "2.4.0"), ("keras", "3.0.0"), ("tf-nightly", "2.19.0.dev1"),
                          ("nvidia-cudnn-cu12", "9.1.0.70"), ("intel-tensorflow", "2.10.0"), ("jaxlib", "0.4.30"),
                          ("tensorrt", "10.0.0")):
        assert doc["fast"][name] == version
    assert "torchmetrics" not in doc["fast"] and "requests-fake" not in doc["fast"]


def test_only_folders_named_like_a_related_distribution_are_read() -> None:
    sys.path.insert(0, str(REPO / "checks"))
    try:
        import probe
    finally:
        sys.path.remove(str(REPO / "checks"))

    class Dist:
        def __init__(self, folder: str | None) -> None:
            if folder is not None:
                self._path = Path("/site") / folder

    assert not probe._maybe_related(Dist("requests-2.32.0.dist-info"))
    assert not probe._maybe_related(Dist("numpy.egg-info"))
    assert probe._maybe_related(Dist("Torch-2.4.0.dist-info"))
    assert probe._maybe_related(Dist("nvidia_cublas_cu12-12.4.dist-info"))
    assert probe._maybe_related(Dist("EGG-INFO"))  # inside an .egg: the folder says nothing, read it
    assert probe._maybe_related(Dist(None))  # not a path distribution: read it
