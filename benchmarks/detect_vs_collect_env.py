"""How long nktenv takes to describe a machine, next to PyTorch's own `collect_env`.

    python benchmarks/detect_vs_collect_env.py [--runs 5] [--python PATH]

Times, interleaved so that machine load hits every command alike (median of --runs each):

  detect   `nktenv detect --json --no-frameworks`
  doctor   `nktenv doctor --json --python PY` (probes torch/TensorFlow inside PY); where doctor is not
           available yet, `nktenv detect --json --python PY` with the framework probe stands in (said so)
  collect  `PY -m torch.utils.collect_env`

PY is --python (default: this interpreter) and must have torch. Targets: detect <= 0.2x and
doctor <= 1.0x of collect_env's wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TIMEOUT_S = 600


def _run(argv: list[str]) -> tuple[float, int, str]:
    env = dict(os.environ, PYTHONUTF8="1", PYTHONIOENCODING="utf-8", NKTENV_LANG="en")
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S, env=env, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, proc.returncode, proc.stderr.decode("utf-8", "replace")


def _doctor_argv(nktenv: list[str], python: str) -> tuple[list[str], str]:
    argv = [*nktenv, "doctor", "--json", "--python", python]
    _, code, err = _run([*nktenv, "doctor", "--help"])
    if code == 0:
        _, code, err = _run(argv)
        if code in (0, 1):  # 1 = doctor found a problem: it still ran to the end
            return argv, "nktenv doctor --json --python PY"
    return [*nktenv, "detect", "--json", "--python", python], "nktenv detect --json --python PY (doctor unavailable)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median is reported; >= 5)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with torch (default: this one)")
    args = parser.parse_args()
    runs = max(5, args.runs)
    nktenv = [sys.executable, "-m", "nktenv"]
    py = args.python

    _, code, err = _run([py, "-c", "import torch"])
    if code != 0:
        print(f"{py} cannot import torch:\n{err}", file=sys.stderr)
        return 3
    doctor_argv, doctor_label = _doctor_argv(nktenv, py)
    commands = {
        "detect": ([*nktenv, "detect", "--json", "--no-frameworks"], "nktenv detect --json --no-frameworks"),
        "doctor": (doctor_argv, doctor_label),
        "collect": ([py, "-m", "torch.utils.collect_env"], "python -m torch.utils.collect_env"),
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    codes: dict[str, set[int]] = {k: set() for k in commands}
    for argv, _ in commands.values():  # one warm-up each: page cache, .pyc files
        _run(argv)
    for i in range(runs):
        for name, (argv, _) in commands.items():
            elapsed, code, _ = _run(argv)
            times[name].append(elapsed)
            codes[name].add(code)
        print(f"run {i + 1}/{runs} done", file=sys.stderr)

    base = statistics.median(times["collect"])
    targets = {"detect": 0.2, "doctor": 1.0, "collect": None}
    print(f"interpreter: {py}")
    print(f"runs: {runs} each, interleaved; cores: {os.cpu_count()}; load average: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg()) if hasattr(os, 'getloadavg') else 'n/a'}")
    print()
    print(f"{'command':<62} {'median s':>9} {'min s':>7} {'max s':>7} {'x collect':>10} {'target':>7} {'ok':>3}")
    for name, (_, label) in commands.items():
        med = statistics.median(times[name])
        ratio = med / base if base else float("nan")
        target = targets[name]
        ok = "" if target is None else ("yes" if ratio <= target else "NO")
        print(f"{label:<62} {med:>9.2f} {min(times[name]):>7.2f} {max(times[name]):>7.2f} {ratio:>10.2f} "
              f"{'' if target is None else f'<= {target}':>7} {ok:>3}")
    bad = {n: c for n, c in codes.items() if not c <= {0, 1}}
    if bad:
        print(f"\nunexpected exit codes: {bad}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
