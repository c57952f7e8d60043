"""How fast is `nktenv compare` on a lab-sized shared folder? Target: 1,000 result files in under 2 s.

Run: python benchmarks/compare_scale.py [--files 1000] [--repeat 3]

Writes realistic `nktenv.bench/1` files (the test fleet's generator, ~9 KB each) into a temporary
folder, then times each phase in-process and the whole command as a fresh process (what a user
waits for, interpreter start included). Prints one table; the best of --repeat runs counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "compare"))
from compare_fleet import RTX3090, RTX4090, make_result  # noqa: E402

from nktenv.compare.analyze import compare  # noqa: E402
from nktenv.compare.io import load_results, result_filename, write_result_atomic  # noqa: E402
from nktenv.compare.render import to_csv, to_html  # noqa: E402

TARGET_S = 2.0


def populate(folder: Path, files: int, machines: int) -> int:
    size = 0
    for i in range(files):
        m = i % machines
        doc = make_result(f"lab-pc-{m:03d}", run=str(i), gpu=RTX3090 if m % 5 == 0 else RTX4090,
                          created_at=f"2026-11-{1 + i // machines % 28:02d}T10:00:00Z",
                          factors={("torch", "cnn", "resident", "gpu"): 0.6 + (i * 37 % 40) / 100})
        size += write_result_atomic(folder / result_filename(doc), doc).stat().st_size
    return size


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def child_cpu(argv: list[str], repeat: int) -> float:
    """Least user+system CPU seconds of the command as a child process (NaN where unmeasurable)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")

    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, capture_output=True, timeout=120, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    rows = []
    for machines in (50, args.files):
        with tempfile.TemporaryDirectory(prefix="nktenv-scale-") as tmp:
            folder = Path(tmp) / "results"
            out = Path(tmp) / "out"
            folder.mkdir()
            out.mkdir()
            size = populate(folder, args.files, machines)
            t_load, loaded = best(lambda: load_results([folder]), args.repeat)
            t_cmp, cmp = best(lambda: compare(loaded.results), args.repeat)  # type: ignore[attr-defined]
            t_csv, _ = best(lambda: to_csv(cmp), args.repeat)  # type: ignore[arg-type]
            t_html, page = best(lambda: to_html(cmp, loaded.notes), args.repeat)  # type: ignore[arg-type,attr-defined]
            argv = [sys.executable, "-m", "nktenv", "compare", str(folder), "--json",
                    "--html", str(out / "r.html"), "--csv", str(out / "r.csv")]
            t_cli, proc = best(lambda: subprocess.run(argv, capture_output=True, timeout=120, check=False), args.repeat)
            ok = proc.returncode == 0  # type: ignore[attr-defined]
            cpu = child_cpu(argv, args.repeat)
            rows.append((args.files, machines, size / 1e6, t_load, t_cmp, t_csv, t_html, len(page) / 1e6, t_cli, cpu, ok))

    head = ("files", "machines", "MB", "read s", "compare s", "csv s", "html s", "html MB", "command s", "cmd cpu s",
            "< 2 s")
    print(" | ".join(f"{h:>9}" for h in head))
    print("-" * (12 * len(head)))
    for f, m, mb, tl, tc, tcsv, th, hmb, tcli, cpu, ok in rows:
        verdict = "yes" if ok and tcli < TARGET_S else "NO"
        print(" | ".join(f"{v:>9}" for v in (f, m, f"{mb:.1f}", f"{tl:.3f}", f"{tc:.3f}", f"{tcsv:.3f}", f"{th:.3f}",
                                              f"{hmb:.2f}", f"{tcli:.3f}", f"{cpu:.3f}", verdict)))
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times grow with the load; "
          "'cmd cpu s' is the command's own CPU time, what an idle machine would take)")


if __name__ == "__main__":
    main()
