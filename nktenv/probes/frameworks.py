"""Frameworks inside the target interpreter, via `checks/probe.py` run as a child with a timeout.

nktenv never imports torch or TensorFlow itself: a broken CUDA stack may hang or crash the process
that loads it.
"""

from __future__ import annotations

import json
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib.resources import as_file, files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nktenv.facts is imported where a result is built: the children start first
    from nktenv.facts import Framework, Frameworks
    from nktenv.probes._ctx import Ctx
    from nktenv.probes.seam import CmdResult

INFO_TIMEOUT_S = 30.0
FRAMEWORK_TIMEOUT_S = 180.0
FRAMEWORKS = ("torch", "tensorflow")
LOG_LIMIT = 20000
_FIELDS = ("version", "package", "cuda", "cudnn", "is_cuda_build", "cuda_available", "device_count", "arch_list",
           "kernel_ok", "error", "log", "packages")


def _script(ctx: Ctx) -> str:
    """Path of checks/probe.py as shipped inside nktenv (wheel, sdist or editable install)."""
    return _script_path()


@lru_cache(maxsize=1)
def _script_path() -> str:
    resource = files("nktenv.checks").joinpath("probe.py")
    with as_file(resource) as path:  # a real file for every install mode nktenv supports
        return str(path)


def _decode(res: CmdResult) -> tuple[dict[str, Any] | None, str | None]:
    """The child's JSON document, or the reason there is none (verbatim)."""
    if res.timed_out:
        return None, res.error or "timed out"
    if res.not_found:
        return None, res.error or "interpreter not found"
    for line in reversed(res.stdout.strip().splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("schema") == "nktenv.probe/1":
            return doc, None
    lines = [ln for ln in (res.stderr.strip() or res.stdout.strip() or res.error or "").splitlines() if ln.strip()]
    code = res.returncode
    if code is not None and code < 0:
        try:
            how = f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return None, f"{how}: {lines[-1]}" if lines else how


def interpreter_info(ctx: Ctx, python: str) -> tuple[dict[str, Any] | None, str | None]:
    """Command line equivalent: `python checks/probe.py info`."""
    res = ctx.seam.run([python, _script(ctx), "info"], timeout=INFO_TIMEOUT_S, python=True)
    doc, error = _decode(res)
    return (doc or {}).get("info"), error


def _framework(ctx: Ctx, python: str, name: str, timeout: float) -> Framework | None:
    res = ctx.seam.run([python, _script(ctx), name], timeout=timeout, python=True)
    from nktenv.facts import Framework

    if res.not_found:
        # No interpreter to ask (python.error says why) or, in a replay, a check that was not run.
        return None
    doc, error = _decode(res)
    log = (res.stderr or "")[-LOG_LIMIT:] if (res.stderr or "").strip() else None
    if doc is None:
        # The child hung or died (e.g. a segfault while loading CUDA): the framework is there but broken.
        return Framework(package=name, error=error, log=log,
                         extra={"timed_out": res.timed_out, "duration_s": round(res.duration_s, 3)})
    data = doc.get("result")
    if data is None:
        return None
    known = {k: data.get(k) for k in _FIELDS if k in data}
    known["log"] = known.get("log") or log
    known["arch_list"] = tuple(known.get("arch_list") or ())
    extra = {k: v for k, v in data.items() if k not in _FIELDS}
    for key in ("cuda", "cudnn"):
        norm = normalise_build_version(known.get(key))
        if norm != known.get(key):
            extra[f"{key}_raw"] = known.get(key)
            known[key] = norm
    extra.update({"timed_out": False, "duration_s": round(res.duration_s, 3)})
    return Framework(**known, extra=extra)


def probe_frameworks(ctx: Ctx, python: str, packages: dict[str, str] | None,
                     timeout: float = FRAMEWORK_TIMEOUT_S) -> Frameworks:
    """Each framework in its own child, in parallel. With `packages` known, one that is not installed
    is not started; with None both are asked (the child answers null for a missing one)."""
    wanted = [n for n in FRAMEWORKS if packages is None or _has(n, packages)]
    results: dict[str, Framework | None] = {n: None for n in FRAMEWORKS}
    if wanted:
        with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
            futures = {n: pool.submit(_framework, ctx, python, n, timeout) for n in wanted}
            from nktenv.facts import Framework  # once the children run

            for n, fut in futures.items():
                try:
                    results[n] = fut.result()
                except Exception as exc:  # noqa: BLE001 - a probe never raises
                    results[n] = Framework(error=f"{type(exc).__name__}: {exc}")
    from nktenv.facts import Frameworks

    return Frameworks(torch=results["torch"], tensorflow=results["tensorflow"],
                      extra={"interpreter": {"python": python, "timeout_s": timeout}})


def normalise_build_version(value: Any) -> Any:
    """TensorFlow on Windows reports its build as '64_112' (CUDA 11.2) and '64_8' (cuDNN 8)."""
    if not isinstance(value, str):
        return value
    m = re.fullmatch(r"64_(\d+)", value.strip())
    if not m:
        return value
    digits = m.group(1)
    if len(digits) >= 3:
        return f"{digits[:-1]}.{digits[-1]}"
    return digits


def _has(name: str, packages: dict[str, str]) -> bool:
    if name == "torch":
        return "torch" in packages
    return any(p.startswith("tensorflow") or p in ("tf-nightly", "intel-tensorflow") for p in packages)
