"""`nktenv setup --wheelhouse` against `nktenv setup` from the index, side by side, with the bytes each moved.

The registry is a PEP 503 index on 127.0.0.1 holding the torch 2.13.0 CPU wheel on disk (/opt/wheels)
and what the plan adds from PyPI (numpy, torchvision, pillow), fetched once. Three setups of the same
plan (`--torch 2.13.0 --variant cpu --without torchvision`, pip, no pip cache), each into a fresh venv:

  index             nktenv setup --index-url http://127.0.0.1:P/simple   (what every machine does alone)
  wheelhouse dir    nktenv setup --wheelhouse DIR                         (a folder or share; no index)
  wheelhouse http   nktenv setup --wheelhouse http://127.0.0.1:Q/         (python -m http.server style)

plus `nktenv wheelhouse build` itself (once, then again: the resumed build fetches nothing).
Bytes are counted by the servers as they send them.

    python benchmarks/wheelhouse_setup.py [--repeat 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "wheelhouse"))
# PEP 658 metadata beside each wheel, as PyPI serves it: uv's resolver reads METADATA, not the wheel
from lab_index import write_index  # noqa: E402

PLAN = ["--torch", "2.13.0"]  # no GPU (NKTENV_OVERRIDE_GPUS=""): the plan is the CPU build


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", NKTENV_DATA_DIR=str(data_dir),
               NKTENV_OVERRIDE_GPUS="", **extra)
    return env


@contextmanager
def counting_server(root: Path) -> Iterator[tuple[str, dict[str, int]]]:
    sent = {"bytes": 0, "files": 0}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
            while chunk := source.read(1 << 20):
                outputfile.write(chunk)
                sent["bytes"] += len(chunk)
            if self.path.endswith(".whl"):
                sent["files"] += 1

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent
    finally:
        server.shutdown()
        server.server_close()


def registry(work: Path) -> Path:
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    torch = sorted(Path("/opt/wheels").glob(f"torch-2.13.0*{tag}*.whl"))
    if not torch:
        raise SystemExit("no torch 2.13.0 wheel for this Python in /opt/wheels")
    wheels = work / "registry-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not (wheels / torch[0].name).exists():
        shutil.copy2(torch[0], wheels / torch[0].name)
    if not any(wheels.glob("torchvision-*.whl")):
        # torch's own dependencies (filelock, sympy, ...) as PyPI has them, the torch wheel from disk
        for argv in (["--find-links", "/opt/wheels", "torch==2.13.0", "numpy", "pillow"],
                     ["--no-deps", "torchvision==0.28.0"]):
            cmd = [sys.executable, "-m", "pip", "download", "--dest", str(wheels), "--only-binary=:all:",
                   "--index-url", "https://pypi.org/simple", *argv]
            if subprocess.run(cmd, env=clean_env(work), timeout=900).returncode != 0:
                raise SystemExit("PyPI is needed once, to fetch numpy, pillow and torchvision")
    root = work / "registry"
    shutil.rmtree(root, ignore_errors=True)
    write_index(wheels, root)
    return root


def run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(argv)}\n{out.stderr[-3000:]}")
    dists = json.loads(out.stdout).get("distributions", {}) if "--json" in argv else {}
    return took, dists


def _installed(wheel: str, dists: dict[str, str]) -> bool:
    name, version = wheel.split("-")[:2]
    norm = name.lower().replace("_", "-")
    return any(k.lower().replace("_", "-").replace(".", "-") == norm and v == version for k, v in dists.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="nktenv-wheelhouse-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = clean_env(work / "data")
    nktenv = [sys.executable, "-m", "nktenv"]
    house = work / "wheelhouse"
    shutil.rmtree(house, ignore_errors=True)
    rows: dict[str, list[tuple[float, int]]] = {"index": [], "wheelhouse dir": [], "wheelhouse http": []}
    with counting_server(registry(work)) as (base, reg):
        mirror = ["--mirror", f"https://download.pytorch.org/whl/cpu={base}/simple"]
        before = reg["bytes"]
        build_s, _ = run(nktenv + ["wheelhouse", "build", str(house), *PLAN, *mirror], env)
        build_bytes = reg["bytes"] - before
        before = reg["bytes"]
        rebuild_s, _ = run(nktenv + ["wheelhouse", "build", str(house), *PLAN, *mirror], env)
        rebuild_bytes = reg["bytes"] - before
        with counting_server(house) as (house_url, served):
            setup = nktenv + ["setup", *PLAN, "--without", "torchvision", "--installer", "pip", "--yes", "--no-bench"]
            for i in range(args.repeat):
                for label in rows:
                    venv = work / f"venv-{label.replace(' ', '-')}-{i}"
                    shutil.rmtree(venv, ignore_errors=True)
                    source = {"index": ["--index-url", base + "/simple"], "wheelhouse dir": ["--wheelhouse", str(house)],
                              "wheelhouse http": ["--wheelhouse", house_url + "/"]}[label]
                    counter = served if label == "wheelhouse http" else reg
                    start_bytes, start_reg = counter["bytes"], reg["bytes"]
                    took, dists = run(setup + ["--venv", str(venv), "--json", *source], env)
                    moved = counter["bytes"] - start_bytes
                    assert label == "index" or reg["bytes"] == start_reg, "a wheelhouse setup touched the index"
                    if label == "wheelhouse dir":
                        # read from the folder (a share): what crossed is the wheels of what was installed
                        moved = sum(p.stat().st_size for p in house.glob("*.whl") if _installed(p.name, dists))
                    rows[label].append((took, moved))
                    print(f"  round {i + 1}: {label:16s} {took:6.1f} s  {moved / 1e6:8.1f} MB", file=sys.stderr)
                    shutil.rmtree(venv, ignore_errors=True)
    print(f"\nwheelhouse setup, torch 2.13.0 CPU + numpy, pip without cache, median of {args.repeat}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"  wheelhouse build (first)   {build_s:6.1f} s  {build_bytes / 1e6:8.1f} MB from the index")
    print(f"  wheelhouse build (again)   {rebuild_s:6.1f} s  {rebuild_bytes / 1e6:8.1f} MB from the index")
    for label, vals in rows.items():
        print(f"  setup from {label:16s}{statistics.median(t for t, _ in vals):6.1f} s  "
              f"{statistics.median(b for _, b in vals) / 1e6:8.1f} MB"
              + ("  (from the index)" if label == "index" else "  (index: 0 B)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
