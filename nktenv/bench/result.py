"""Turn what the check scripts reported into the `nktenv.bench/1` document: statistics, limits,
speedups with confidence intervals, telemetry notes and a verdict per framework. Pure functions.
"""

from __future__ import annotations

import hashlib
import json
import platform
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from nktenv.bench import limits as lim
from nktenv.bench.stats import bootstrap_ratio, summarize
from nktenv.bench.telemetry import explain

SCHEMA = "nktenv.bench/1"
VERDICT_MODEL, VERDICT_PIPELINE = "cnn", "resident"


def default_threshold(cpu_threads: int | None) -> float:
    """CNN GPU/CPU threshold: 10x over a 2-core CPU, scaled down for bigger CPUs, never below 3x (docs/benchmarks.md)."""
    threads = max(1, cpu_threads or 2)
    return max(3.0, round(10.0 * 2 / threads, 1))


def enrich_row(row: Mapping[str, Any], limit: Mapping[str, Any] | None, telemetry: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(row)
    blocks = [b for b in row.get("blocks") or [] if b and b > 0]
    if row.get("status") == "ok" and blocks:
        s = summarize(blocks)
        out["samples_per_s"] = s.to_dict()
        out["noisy"] = s.noisy
        med = s.median
    else:
        out["samples_per_s"] = None
        out["noisy"] = None
        med = None
    kind = row.get("device_kind") or ("cpu" if row.get("device") == "cpu" else "gpu")
    bs = int(row.get("batch_size") or 100)
    out["epoch_s"] = lim.epoch_seconds(row["model"], med)
    ceiling = lim.limit_samples_per_s(row["model"], row["pipeline"], kind, bs, limit) if limit else None
    out["limit_samples_per_s"] = ceiling
    out["fraction_of_limit"] = med / ceiling if (med and ceiling) else None
    # Above 100 % is impossible: the limit was measured under another load than the run.
    out["limit_unreliable"] = bool(out["fraction_of_limit"] and out["fraction_of_limit"] > 1.0)
    out["telemetry"] = dict(telemetry) if telemetry else None
    out["notes"] = explain(telemetry) if telemetry else []
    return out


def _limit_for(limits: Sequence[Mapping[str, Any]], framework: str, device: str) -> Mapping[str, Any] | None:
    for limit in limits:
        if limit.get("framework", framework) == framework and limit.get("device") == device and not limit.get("error"):
            return limit
    return None


def speedups(rows: Sequence[Mapping[str, Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """GPU/CPU ratio of median block throughput, with a 95 % bootstrap CI, per framework x model x pipeline x GPU."""
    out = []
    ok = [r for r in rows if r.get("status") == "ok" and r.get("blocks")]
    for gpu in ok:
        if gpu["device"] == "cpu":
            continue
        cpu = next((r for r in ok if r["device"] == "cpu" and (r["framework"], r["model"], r["pipeline"])
                    == (gpu["framework"], gpu["model"], gpu["pipeline"])), None)
        if cpu is None:
            continue
        ci = bootstrap_ratio(gpu["blocks"], cpu["blocks"], seed=seed)
        out.append({"framework": gpu["framework"], "model": gpu["model"], "pipeline": gpu["pipeline"],
                    "device": gpu["device"], "ratio": ci.ratio, "ci_low": ci.low, "ci_high": ci.high})
    return out


def _fmt_x(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def verdict(framework: str, run_info: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
            ratios: Sequence[Mapping[str, Any]], correctness: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, Any]:
    """Does the GPU accelerate the resident CNN by more than `threshold` (CI lower bound)? None = cannot judge."""
    from nktenv.i18n import _

    base: dict[str, Any] = {"framework": framework, "passed": None, "threshold": threshold, "ratio": None,
                            "ci_low": None, "ci_high": None, "noisy": None, "notes": []}
    if run_info.get("missing"):
        return {**base, "text": _("{framework} is not installed in this environment: {error}").format(
            framework=framework, error=run_info.get("fatal"))}
    mine = [r for r in rows if r["framework"] == framework and r["model"] == VERDICT_MODEL and r["pipeline"] == VERDICT_PIPELINE]
    cpu = next((r for r in mine if r["device"] == "cpu"), None)
    gpus = [r for r in mine if r["device"] != "cpu"]
    notes = []
    mlp_gpu = [r for r in rows if r["framework"] == framework and r["model"] == "mlp" and r["pipeline"] == "resident"
               and r["device"] != "cpu" and r.get("samples_per_s")]
    for r in mlp_gpu:
        step_ms = 1000.0 * r["batch_size"] / r["samples_per_s"]["median"]
        notes.append(_("MLP (overhead probe): {ms:.2f} ms per step on {device}; above 1 ms means a slow or busy host").format(
            ms=step_ms, device=r["device"]))
    for r in rows:
        if (r["framework"], r["model"], r["pipeline"]) == (framework, "cnn", "manual") and r["device"] != "cpu" \
                and (r.get("loader_fraction") or 0) > 0.5:
            notes.append(_("The per-image data loader takes {pct}% of each CNN step on {device}: it, not the GPU, sets the speed of the lab's pipeline").format(
                pct=round(100 * r["loader_fraction"]), device=r["device"]))
    if not gpus and not run_info.get("gpu_devices"):
        if cpu and cpu.get("samples_per_s"):
            text = _("No GPU: nothing to accelerate. The CPU numbers stand (CNN {rate:.0f} samples/s on {threads} threads).").format(
                rate=cpu["samples_per_s"]["median"], threads=cpu.get("threads"))
        else:
            text = _("No GPU: nothing to accelerate.")
        return {**base, "text": text, "notes": notes}
    gpu = next((r for r in gpus if r.get("status") == "ok"), gpus[0] if gpus else None)
    if any(r.get("status") == "interrupted" for r in [gpu, cpu] if r):
        # Ctrl-C is the user's choice, not the machine's failure
        return {**base, "text": _("Interrupted (Ctrl-C) before the CNN was timed on every device: no verdict"), "notes": notes}
    if gpu is None or gpu.get("status") != "ok":
        error = (gpu or {}).get("error") or _("no GPU row was measured")
        return {**base, "passed": False, "text": _("The GPU run failed: {error}").format(error=error), "notes": notes}
    if cpu is None or cpu.get("status") != "ok":
        error = (cpu or {}).get("error") or _("no CPU row was measured")
        return {**base, "text": _("Cannot compare with the CPU: {error}").format(error=error), "notes": notes}
    ratio = next((s for s in ratios if (s["framework"], s["model"], s["pipeline"], s["device"])
                  == (framework, VERDICT_MODEL, VERDICT_PIPELINE, gpu["device"])), None)
    if ratio is None:
        return {**base, "text": _("Cannot compare with the CPU: no speedup could be computed"), "notes": notes}
    passed = ratio["ci_low"] >= threshold
    text = _("GPU accelerates the CNN {ratio}x (95% CI {low}-{high}x)").format(
        ratio=_fmt_x(ratio["ratio"]), low=_fmt_x(ratio["ci_low"]), high=_fmt_x(ratio["ci_high"]))
    if not passed:
        text = _("GPU accelerates the CNN only {ratio}x (95% CI {low}-{high}x), below the {threshold}x threshold").format(
            ratio=_fmt_x(ratio["ratio"]), low=_fmt_x(ratio["ci_low"]), high=_fmt_x(ratio["ci_high"]), threshold=threshold)
    check = next((c for c in correctness if c.get("framework") == framework and c.get("model") == VERDICT_MODEL), None)
    if check is not None and check.get("agree") is False and check.get("error"):
        passed = False
        notes.append(_("The CPU/GPU loss check could not run: {error}").format(error=check["error"]))
    elif check is not None and check.get("agree") is False:
        passed = False
        notes.append(_("CPU and GPU losses disagree over the first {steps} steps (max relative difference {diff}, tolerance {tol})").format(
            steps=check.get("steps"), diff=check.get("max_rel_diff"), tol=check.get("tolerance")))
    noisy = bool(gpu.get("noisy") or cpu.get("noisy"))
    if noisy:
        # A verdict never rests on noisy rows: the numbers are shown, the judgement is withheld
        # (a CPU/GPU loss disagreement is not a timing and still fails).
        wrong = check is not None and check.get("agree") is False
        passed = False if wrong else None
        text = text if wrong else _("GPU accelerates the CNN {ratio}x (95% CI {low}-{high}x), but the timings were noisy: no verdict").format(
            ratio=_fmt_x(ratio["ratio"]), low=_fmt_x(ratio["ci_low"]), high=_fmt_x(ratio["ci_high"]))
        notes.append(_("The timings were noisy (IQR above 10% of the median, slow outlier blocks, or a busy machine); rerun on a quiet machine for a verdict."))
    notes.extend(gpu.get("notes") or [])
    return {**base, "passed": passed, "ratio": ratio["ratio"], "ci_low": ratio["ci_low"], "ci_high": ratio["ci_high"],
            "noisy": noisy, "text": text, "notes": notes}


def busy_note(host: Mapping[str, Any] | None) -> str | None:
    """Say so when other work competed for the CPUs (load above the core count, or VM steal above 5 %)."""
    from nktenv.i18n import _

    if not host:
        return None
    loads = [v[0] for v in (host.get("loadavg_start"), host.get("loadavg_end")) if v]
    load = max(loads) if loads else None
    steal = host.get("steal_fraction")
    cpus = host.get("cpus") or 1
    if (load is not None and load > cpus) or (steal is not None and steal > 0.05):
        return _("The machine was busy during the run (load average {load}, {cpus} CPUs, VM steal {steal}): CPU timings are less reliable.").format(
            load="-" if load is None else f"{load:.1f}", cpus=cpus, steal="-" if steal is None else f"{100 * steal:.0f}%")
    return None


def fingerprint(facts: Mapping[str, Any] | None, devices: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of stable hardware facts: CPU model, GPU names and UUIDs, memory size."""
    facts = facts or {}
    stable = {
        "cpu": (facts.get("cpu") or {}).get("model") or platform.processor() or platform.machine(),
        "memory": (facts.get("memory") or {}).get("total_bytes"),
        "gpus": sorted(f"{g.get('name')}|{g.get('uuid')}" for g in facts.get("gpus") or []) or
        sorted(str(d.get("name")) for d in devices if d.get("device") != "cpu"),
    }
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode("utf-8")).hexdigest()


def build_document(runs: Sequence[Any], settings: Mapping[str, Any], *, machine: Mapping[str, Any],
                   threshold: float | None = None, driver: str | None = None, version: str | None = None,
                   run_id: str | None = None, created_at: str | None = None) -> dict[str, Any]:
    """`runs` are runner.FrameworkRun objects (or anything with the same attributes)."""
    from nktenv import __version__

    software: dict[str, Any] = {"python": None, "torch": None, "torchvision": None, "tensorflow": None,
                                "keras": None, "cuda": None, "cudnn": None, "driver": driver}
    all_limits: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    correctness: list[dict[str, Any]] = []
    sweeps: list[dict[str, Any]] = []
    trainings: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    threads = None
    # An absent framework or GPU gives no rows and no verdict, only a line naming it.
    absent = [run.framework for run in runs if getattr(run, "absent", False)]
    no_gpu = [{"framework": run.framework, "devices": list(run.missing_devices), "visible": getattr(run, "visible_gpus", None),
               "error": run.fatal}
              for run in runs if getattr(run, "no_gpu", False)]
    runs = [run for run in runs if not getattr(run, "absent", False) and not getattr(run, "no_gpu", False)]
    for run in runs:
        hello = run.hello or {}
        for key, value in (hello.get("versions") or {}).items():
            if value is not None and software.get(key) is None:
                software[key] = value
        threads = threads or hello.get("threads")
        devices.extend(d for d in hello.get("devices", []) if d not in devices)
        all_limits.extend(run.limits)
        for row in run.rows:
            limit = _limit_for(run.limits, run.framework, row["device"])
            key = (run.framework, row["model"], row["pipeline"], row["device"])
            rows.append(enrich_row(row, limit, run.telemetry.get(key)))
        correctness.extend(run.correctness)
        sweeps.extend(run.sweeps)
        trainings.extend(run.trainings)
    hosts = [{"framework": run.framework, **run.host} for run in runs if getattr(run, "host", None)]
    limit_threshold = threshold if threshold is not None else default_threshold(threads)
    busy = {h["framework"]: busy_note(h) for h in hosts}
    for row in rows:
        # Blocks timed while other work competed for the CPUs are not a clean measurement.
        if busy.get(row["framework"]) and row.get("status") == "ok":
            row["noisy"], row["busy"] = True, True
    ratios = speedups(rows)
    verdicts = [
        verdict(run.framework, {"missing": run.missing_framework, "fatal": run.fatal, "gpu_devices": run.gpu_devices()},
                rows, ratios, correctness, limit_threshold)
        for run in runs
    ]
    for v in verdicts:
        note = busy.get(v["framework"])
        if note:
            v["notes"].append(note)
    return {
        "schema": SCHEMA,
        "id": run_id or str(uuid.uuid4()),
        "created_at": created_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nktenv_version": version or __version__,
        "machine": {**machine, "fingerprint": machine.get("fingerprint") or fingerprint(machine.get("facts"), devices)},
        "software": software,
        "settings": {**settings, "cpu_threads": threads, "threshold": limit_threshold},
        "devices": devices,
        "host": hosts,
        "limits": all_limits,
        "rows": rows,
        "speedups": ratios,
        "correctness": correctness,
        "sweeps": sweeps,
        "trainings": trainings,
        "verdicts": verdicts,
        "frameworks_absent": absent,
        "gpus_not_visible": no_gpu,
        "interrupted": any(getattr(r, "interrupted", False) for r in runs),
    }


def overall_passed(document: Mapping[str, Any]) -> bool | None:
    """False if any framework failed its verdict; True if at least one passed; None when nothing could be judged."""
    values = [v.get("passed") for v in document.get("verdicts", [])]
    if any(v is False for v in values):
        return False
    if any(v is True for v in values):
        return True
    return None
