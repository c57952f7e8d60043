"""`nktenv bench`: orchestration, statistics, NVML telemetry, the results store.

Public API (also what `nktenv setup` calls at its end):
    run(request, on_event=None) -> BenchResult
    run_quick(python, frameworks=("torch", "tensorflow")) -> BenchResult
Framework work happens in `checks/bench_*.py` inside the target interpreter; nktenv never imports
torch or TensorFlow.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from nktenv.bench.runner import BenchRequest, default_python


@dataclass(frozen=True)
class BenchResult:
    document: dict[str, Any]  # the nktenv.bench/1 document
    passed: bool | None  # False: a GPU verdict failed; None: nothing to judge (no GPU)
    interrupted: bool

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        return list(self.document.get("verdicts", []))


def machine_info(python: str | None = None, *, with_facts: bool = True) -> dict[str, Any]:
    """Name plus the redacted facts snapshot of the machine.

    The target interpreter is not probed again (`python` is accepted for callers' symmetry): the
    bench itself reports its versions, and a second framework import would only cost time.
    """
    name = os.environ.get("NKTENV_MACHINE_NAME") or socket.gethostname()
    facts = None
    if with_facts:
        try:
            from nktenv.probes import detect, open_seam, redact

            facts = redact(detect(open_seam(), frameworks=False)).to_dict()
        except Exception:  # facts are context, not a reason to lose a benchmark
            facts = None
    return {"name": name, "facts": facts}


def driver_version(facts: Mapping[str, Any] | None) -> str | None:
    return ((facts or {}).get("driver") or {}).get("version")


def run(
    request: BenchRequest,
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    nvml_loader: Callable[[], Any] | None = None,
    machine: Mapping[str, Any] | None = None,
) -> BenchResult:
    """Run the benchmark and assemble the result document (not stored; see nktenv.bench.store.save)."""
    from nktenv.bench.result import build_document, overall_passed
    from nktenv.bench.runner import run_all
    from nktenv.bench.telemetry import load_nvml

    runs = run_all(request, on_event=on_event, nvml_loader=nvml_loader or load_nvml)
    info = dict(machine) if machine is not None else machine_info(request.python)
    settings = {
        "quick": request.quick, "dataset": request.dataset, "epochs": request.epochs,
        "blocks": int(request.config.get("blocks", 10)), "frameworks": list(request.frameworks),
        "models": list(request.models), "pipelines": list(request.pipelines), "python": request.python,
    }
    document = build_document(runs, settings, machine=info, threshold=request.threshold,
                              driver=driver_version(info.get("facts")))
    return BenchResult(document=document, passed=overall_passed(document), interrupted=document["interrupted"])


def run_quick(python: str, frameworks: Sequence[str] = ("torch", "tensorflow"), **kwargs: Any) -> BenchResult:
    """`nktenv bench --quick` in the environment of `python`: what setup runs to prove the GPU works."""
    return run(BenchRequest(python=python, frameworks=tuple(frameworks), quick=True), **kwargs)


__all__ = ["BenchRequest", "BenchResult", "run", "run_quick", "default_python", "machine_info"]
