"""How fast `nktenv setup` makes an environment, against the lab manual's procedure.

The same plan is installed from the same local index (served on 127.0.0.1) three ways, into a fresh
venv each time, interleaved, median of N:

  nktenv (uv)    nktenv setup ... --installer uv   (probe, plan, install, verify with checks/, move into place)
  nktenv (pip)   nktenv setup ... --installer pip
  manual         python -m venv DIR; DIR/bin/python -m pip install --index-url URL REQS   (no verification)

plus the no-op second run of `nktenv setup` on an environment that is already correct.
Targets: nktenv (uv) >= 3x faster than manual; no-op < 2 s.

Plans:
  --plan torch      torch 2.13.0 CPU + numpy (torch from /opt/wheels, the rest fetched once from PyPI
                    into a wheelhouse); needs the plan for this machine to be the CPU one
  --plan synthetic  40 generated wheels (~3 MB each), no network at all (default when torch is unavailable)

    python benchmarks/setup_speed.py [--plan torch|synthetic] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "setup"))
from wheels import make_wheel, serve, write_simple_index  # noqa: E402

# What `nktenv setup --torch 2.13.0 --variant cpu --without torchvision` installs. PyPI's torchvision
# is built for PyPI's torch, not the +cpu wheel on disk, and setup's verification (rightly) refuses it.
TORCH_REQS = ["torch==2.13.0", "numpy"]


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", NKTENV_DATA_DIR=str(data_dir))
    return env


def torch_wheelhouse(folder: Path) -> list[str] | None:
    wheels = sorted(Path("/opt/wheels").glob(f"torch-2.13.0*cp{sys.version_info[0]}{sys.version_info[1]}*.whl"))
    if not wheels:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.glob("numpy-*.whl")):
        cmd = [sys.executable, "-m", "pip", "download", "--dest", str(folder), "--find-links", "/opt/wheels",
               "--index-url", "https://pypi.org/simple", *TORCH_REQS]
        if subprocess.run(cmd, env=clean_env(folder), timeout=900).returncode != 0:
            return None
    return TORCH_REQS


def synthetic_wheelhouse(folder: Path, count: int = 40, size: int = 3_000_000) -> list[str]:
    names = [f"labpkg{i:02d}" for i in range(count)]
    for i, name in enumerate(names):
        deps = (names[i + 1],) if i + 1 < count and i % 4 != 3 else ()
        make_wheel(folder, name, "1.0", requires=tuple(f"{d}==1.0" for d in deps), payload_bytes=size)
    return [f"{n}==1.0" for n in names[::4]]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(argv)}\n{out.stderr[-3000:]}")
    return took


def nktenv_argv(plan: str, reqs: list[str], url: str, venv: Path, installer: str, lock: Path) -> list[str]:
    base = [sys.executable, "-m", "nktenv", "setup", "--venv", str(venv), "--yes", "--no-bench", "--installer", installer,
            "--index-url", url]
    if plan == "torch":
        return base + ["--torch", "2.13.0", "--variant", "cpu", "--without", "torchvision"]
    return base + ["--from-lock", str(lock)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", choices=("torch", "synthetic"), default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="work folder to keep (wheelhouse is reused)")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="nktenv-setup-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    plan = args.plan
    reqs = torch_wheelhouse(work / "wheelhouse-torch") if plan in (None, "torch") else None
    if reqs is not None:
        plan, house = "torch", work / "wheelhouse-torch"
    elif plan == "torch":
        raise SystemExit("torch plan unavailable: no /opt/wheels torch 2.13.0 wheel or PyPI unreachable")
    else:
        plan, house = "synthetic", work / "wheelhouse-synthetic"
        reqs = synthetic_wheelhouse(house)
    index_root = work / f"index-{plan}"
    shutil.rmtree(index_root, ignore_errors=True)
    write_simple_index(house, index_root)
    env = clean_env(work / "data")
    lock = work / "lock.json"
    lock.write_text(json.dumps({"schema": "nktenv.lock/1", "requirements": reqs}), encoding="utf-8")

    times: dict[str, list[float]] = {"nktenv (uv)": [], "nktenv (pip)": [], "manual (venv + pip)": []}
    with serve(index_root) as base:
        url = base + "/simple"

        def run_once(label: str, venv: Path) -> float:
            shutil.rmtree(venv, ignore_errors=True)
            if label == "manual (venv + pip)":
                start = time.perf_counter()
                timed([sys.executable, "-m", "venv", str(venv)], env)
                timed([str(venv / "bin" / "python"), "-m", "pip", "install", "--index-url", url, *reqs], env)
                return time.perf_counter() - start
            installer = "uv" if "uv" in label else "pip"
            return timed(nktenv_argv(plan, reqs, url, venv, installer, lock), env)

        for label in times:  # warm-up: fill the installers' caches, excluded from the figures
            run_once(label, work / "warmup")
        for i in range(args.repeat):
            for label in times:
                took = run_once(label, work / f"venv-{i}")
                times[label].append(took)
                print(f"  round {i + 1}: {label:22s} {took:7.2f} s", file=sys.stderr)
        noop_venv = work / "venv-noop"
        run_once("nktenv (uv)", noop_venv)
        noop = [timed(nktenv_argv(plan, reqs, url, noop_venv, "uv", lock), env) for _ in range(args.repeat)]

    med = {k: statistics.median(v) for k, v in times.items()}
    manual = med["manual (venv + pip)"]
    print(f"\nsetup speed — plan: {plan} ({' '.join(reqs[:4])}{' …' if len(reqs) > 4 else ''}), "
          f"median of {args.repeat}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'method':24s} {'median s':>9s} {'runs s':>28s} {'vs manual':>10s}")
    for label, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{label:24s} {med[label]:9.2f} {runs:>28s} {manual / med[label]:9.2f}x")
    print(f"{'no-op re-run (uv)':24s} {statistics.median(noop):9.2f} {', '.join(f'{v:.2f}' for v in noop):>28s}")
    ok_speed = manual / med["nktenv (uv)"] >= 3
    ok_noop = statistics.median(noop) < 2
    print(f"\ntarget uv >= 3x manual: {'met' if ok_speed else 'MISSED'}; no-op < 2 s: {'met' if ok_noop else 'MISSED'}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
