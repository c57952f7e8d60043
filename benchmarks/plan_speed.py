"""How fast is `nktenv plan --facts F --json`? Target: < 0.3 s wall for the whole command.
The CPU-time column (Unix only) is steadier than wall time on a busy machine.

Runs the real command as a fresh process (what a user waits for) and the pure planner in process,
then prints a table. Usage: python benchmarks/plan_speed.py [--runs N]
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

TARGET_S = 0.3

FACTS = {
    "schema": "nktenv.facts/1",
    "os": {"system": "linux", "arch": "x86_64", "glibc": "2.35"},
    "python": {"version": "3.10.13"},
    "driver": {"version": "550.54.15"},
    "gpus": [
        {"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6"},
        {"index": 1, "vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080 Ti", "compute_capability": "6.1"},
    ],
    "env": {},
}


def _command(facts: Path) -> list[str]:
    exe = shutil.which("nktenv")
    base = [exe] if exe else [sys.executable, "-m", "nktenv"]
    return [*base, "plan", "--facts", str(facts), "--tensorflow", "latest", "--json"]


def _child_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows: no CPU column
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(
    argv: list[str],
    runs: int,
    check_json: bool = True,
    cpu: list[float] | None = None,
    pycache: str | None = None,
) -> list[float]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1"}
    if pycache:
        # Measure an installed nktenv: bytecode cached (pip writes it at install time), kept out of the tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    times = []
    for _ in range(runs):
        before = _child_cpu()
        start = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, timeout=60, env=env)
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(_child_cpu() - before)
        if out.returncode != 0:
            raise SystemExit(f"command failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        if check_json:
            json.loads(out.stdout)
    return times


def _in_process(runs: int) -> tuple[float, float]:
    from nktenv import manifest
    from nktenv.facts import from_dict
    from nktenv.plan import PlanRequest, make_plan

    start = time.perf_counter()
    manifest.clear_cache()
    m = manifest.load()
    load_s = time.perf_counter() - start
    facts = from_dict(FACTS)
    request = PlanRequest(tensorflow="latest")
    start = time.perf_counter()
    for _ in range(runs):
        make_plan(facts, m, request)
    return load_s, (time.perf_counter() - start) / runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        facts = Path(tmp) / "facts.json"
        facts.write_text(json.dumps(FACTS), encoding="utf-8")
        argv = _command(facts)
        pycache = str(Path(tmp) / "pycache")
        _wall(argv, 2, pycache=pycache)  # warm the OS file cache and write the bytecode
        cpu: list[float] = []
        wall = _wall(argv, args.runs, cpu=cpu, pycache=pycache)
        base_cpu: list[float] = []
        shell_cpu: list[float] = []
        baseline = _wall(
            [sys.executable, "-c", "pass"], args.runs, check_json=False, cpu=base_cpu, pycache=pycache
        )
        shell = _wall(
            [*argv[: argv.index("plan")], "--version"],
            args.runs,
            check_json=False,
            cpu=shell_cpu,
            pycache=pycache,
        )
        typer_cpu: list[float] = []
        typer_only = _wall(
            [sys.executable, "-c", "import typer"], args.runs, check_json=False, cpu=typer_cpu, pycache=pycache
        )
    load_s, plan_s = _in_process(200)
    median = statistics.median(wall)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    rows = [
        ("nktenv plan --facts F --json (median)", ms(wall), "PASS" if median < TARGET_S else "FAIL"),
        ("  same, best of runs", f"{min(wall) * 1000:.0f} ms", ""),
        ("  same, CPU time user + sys (median)", ms(cpu), ""),
        ("nktenv --version, the CLI floor (median)", ms(shell), ""),
        ("  same, CPU time (median)", ms(shell_cpu), ""),
        ("python -c 'import typer' (median)", ms(typer_only), ""),
        ("  same, CPU time (median)", ms(typer_cpu), ""),
        ("bare interpreter start (median)", ms(baseline), ""),
        ("  same, CPU time (median)", ms(base_cpu), ""),
        ("load + validate manifests (in process)", f"{load_s * 1000:.1f} ms", ""),
        ("make_plan (in process, mean)", f"{plan_s * 1000:.2f} ms", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'time':>9}  target {TARGET_S * 1000:.0f} ms")
    for name, value, verdict in rows:
        print(f"{name:<{width}}  {value:>9}  {verdict}")
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (wall times grow with load)")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
