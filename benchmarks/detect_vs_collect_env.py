"""How long nktenv takes to describe a machine, next to PyTorch's own `collect_env`.

    python benchmarks/detect_vs_collect_env.py [--runs 5] [--python PATH] [--torch-only]

Times, interleaved so that machine load hits every command alike (median of --runs each):

  detect   `nktenv detect --json --no-frameworks`
  doctor   `nktenv doctor --json --python PY` (probes torch/TensorFlow inside PY); where doctor is not
           available yet, `nktenv detect --json --python PY` with the framework probe stands in (said so)
  collect  `PY -m torch.utils.collect_env`

PY is --python (default: this interpreter) and must have torch. Targets: detect <= 0.2x and
doctor <= 1.0x of collect_env's wall time. Where PY also has TensorFlow, doctor checks it too
(collect_env does not), and importing TensorFlow alone is then the floor: the report says so.
`--torch-only` (POSIX) measures in a throw-away venv holding only PY's torch, its requirements and
pip, linked from PY: the comparison the target is about.

Every command runs with bytecode cached (as an installed nktenv and torch have it), kept out of the
tree. The CPU column (user + sys of the command and its children, Unix only) is steadier than wall
time on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 600
_ENV: dict[str, str] = {}

# Run by PY: link torch, its requirements (no extras), numpy and pip from PY's site-packages into argv[1].
_LINK_TORCH = r"""
import importlib.metadata as md, os, re, sys
target, seen, todo = sys.argv[1], set(), ["torch", "numpy", "pip"]
while todo:
    name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
    if not name or name in seen:
        continue
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        continue
    seen.add(name)
    todo += [r for r in dist.requires or [] if "extra ==" not in r]
    for top in {f.parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
        src, dst = os.path.join(str(dist.locate_file("")), top), os.path.join(target, top)
        if os.path.exists(src) and not os.path.lexists(dst):
            os.symlink(src, dst)
"""


def _torch_only(py: str, folder: str) -> str:
    """A venv with nothing but PY's torch, what torch needs, numpy (torch uses it when present) and pip."""
    subprocess.run([py, "-m", "venv", "--without-pip", folder], check=True, timeout=120, env=_ENV)
    python = os.path.join(folder, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60, env=_ENV).stdout.strip()
    subprocess.run([py, "-c", _LINK_TORCH, site], check=True, timeout=120, env=_ENV)
    return python


def _child_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows: no CPU column
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str]) -> tuple[float, int, str, float]:
    before = _child_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S, env=_ENV, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, proc.returncode, proc.stderr.decode("utf-8", "replace"), _child_cpu() - before


def _doctor_argv(nktenv: list[str], python: str) -> tuple[list[str], str]:
    argv = [*nktenv, "doctor", "--json", "--python", python]
    _, code, err, _ = _run([*nktenv, "doctor", "--help"])
    if code == 0:
        _, code, err, _ = _run(argv)
        if code in (0, 1):  # 1 = doctor found a problem: it still ran to the end
            return argv, "nktenv doctor --json --python PY"
    return [*nktenv, "detect", "--json", "--python", python], "nktenv detect --json --python PY (doctor unavailable)"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median is reported; >= 5)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with torch (default: this one)")
    parser.add_argument("--torch-only", action="store_true",
                        help="measure in a venv linked to PY's torch alone (POSIX; leaves TensorFlow out)")
    args = parser.parse_args()
    runs = max(5, args.runs)
    nktenv = [sys.executable, "-m", "nktenv"]
    py = args.python

    with tempfile.TemporaryDirectory() as tmp:
        _ENV.update(os.environ, PYTHONUTF8="1", PYTHONIOENCODING="utf-8", NKTENV_LANG="en",
                    PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        _ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        if args.torch_only:
            py = _torch_only(py, os.path.join(tmp, "torch-only"))
        _, code, err, _ = _run([py, "-c", "import torch"])
        if code != 0:
            print(f"{py} cannot import torch:\n{err}", file=sys.stderr)
            return 3
        probe = "import importlib.util as u; print(u.find_spec('tensorflow') is not None)"
        has_tf = subprocess.run([py, "-c", probe], capture_output=True, text=True, env=_ENV,
                                timeout=60).stdout.strip() == "True"
        doctor_argv, doctor_label = _doctor_argv(nktenv, py)
        commands = {
            "detect": ([*nktenv, "detect", "--json", "--no-frameworks"], "nktenv detect --json --no-frameworks"),
            "doctor": (doctor_argv, doctor_label),
            "collect": ([py, "-m", "torch.utils.collect_env"], "python -m torch.utils.collect_env"),
        }
        if has_tf:
            commands["tf"] = ([py, "-c", "import tensorflow"], "python -c 'import tensorflow' (doctor's floor)")
        times: dict[str, list[float]] = {k: [] for k in commands}
        cpu: dict[str, list[float]] = {k: [] for k in commands}
        codes: dict[str, set[int]] = {k: set() for k in commands}
        for argv, _ in commands.values():  # one warm-up each: page cache, .pyc files
            _run(argv)
        load_before = _load()
        for i in range(runs):
            for name, (argv, _) in commands.items():
                elapsed, code, _, used = _run(argv)
                times[name].append(elapsed)
                cpu[name].append(used)
                codes[name].add(code)
            print(f"run {i + 1}/{runs} done", file=sys.stderr)

    base = statistics.median(times["collect"])
    targets = {"detect": 0.2, "doctor": 1.0}
    label = f"{args.python} via a venv with torch alone" if args.torch_only else py
    print(f"interpreter: {label}{' (has TensorFlow too)' if has_tf else ''}")
    print(f"runs: {runs} each, interleaved; cores: {os.cpu_count()}; load average before: {load_before}, "
          f"after: {_load()}")
    print()
    print(f"{'command':<62} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu s':>6} {'x collect':>10} {'target':>7} {'ok':>3}")
    for name, (_, label) in commands.items():
        med = statistics.median(times[name])
        ratio = med / base if base else float("nan")
        target = targets.get(name)
        ok = "" if target is None else ("yes" if ratio <= target else "NO")
        print(f"{label:<62} {med:>9.2f} {min(times[name]):>7.2f} {max(times[name]):>7.2f} "
              f"{statistics.median(cpu[name]):>6.2f} {ratio:>10.2f} {'' if target is None else f'<= {target}':>7} {ok:>3}")
    if has_tf:
        print("\nPY has TensorFlow: doctor imports it too (collect_env does not), so its import time bounds doctor.")
    bad = {n: c for n, c in codes.items() if not c <= {0, 1}}
    if bad:
        print(f"\nunexpected exit codes: {bad}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
