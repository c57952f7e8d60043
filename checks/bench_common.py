"""Shared helpers for the bench_* check scripts: protocol, synthetic data, the block-timing loop.

Runs inside the target interpreter: standard library and numpy only (TensorFlow and torchvision bring
numpy; a bare torch does not, so `nktenv setup` installs it beside torch).
Protocol: progress and results go to stderr as lines `@nktenv {json}`; the final document is one
JSON object on stdout. Anything else on stderr is the framework's own logging.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
import traceback
from typing import Any, Callable

EVENT_PREFIX = "@nktenv "


def dist_version(name: str):
    """The installed distribution's version, or None; never imports it."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def emit(event: str, **payload: Any) -> None:
    """One protocol line on stderr, flushed so the orchestrator sees it at once."""
    payload["event"] = event
    sys.stderr.write(EVENT_PREFIX + json.dumps(payload, default=_jsonable) + "\n")
    sys.stderr.flush()


def _jsonable(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def read_config(argv: list[str]) -> dict[str, Any]:
    """The orchestrator passes one JSON object as `--config JSON`; defaults fill the rest."""
    config: dict[str, Any] = {}
    if "--config" in argv:
        config = json.loads(argv[argv.index("--config") + 1])
    defaults: dict[str, Any] = {
        "models": ["mlp", "cnn"],
        "pipelines": ["manual", "resident", "compiled"],
        "devices": "all",
        "quick": False,
        "dataset": "synthetic",
        "data_dir": None,
        "epochs": None,
        "blocks": 10,
        "batch_size": 100,
        "sweep": False,
        "sweep_sizes": [32, 64, 128, 256, 512, 1024],
        "limits": True,
        "correctness": True,
        "seed": 0,
        "threads": None,
    }
    defaults.update(config)
    quick = defaults["quick"]
    defaults.setdefault("block_s", 0.3 if quick else 0.5)
    # GPU blocks vary little (CV ~3 %), so --quick keeps them short to stay within its GPU budget.
    defaults.setdefault("gpu_block_s", 0.15 if quick else 0.5)
    defaults.setdefault("warmup_s", 0.5 if quick else 1.0)
    defaults.setdefault("warmup_min_steps", 3 if quick else 20)
    defaults.setdefault("warmup_cap_s", 3.0 if quick else 30.0)
    defaults.setdefault("cnn_pool", 5_000 if quick else 10_000)
    return defaults


def usable_cpus() -> int:
    """Cores this process may run on (affinity-aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def host_sample() -> dict[str, Any]:
    """Load average and CPU jiffies (total, steal) where the OS exposes them: other users and VM steal
    were the dominant noise in the methodology's measurements, so every run records them."""
    sample: dict[str, Any] = {"loadavg": None, "jiffies": None, "steal": None}
    try:
        sample["loadavg"] = list(os.getloadavg())
    except (AttributeError, OSError):
        pass
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        sample["jiffies"] = sum(fields[:8])
        sample["steal"] = fields[7] if len(fields) > 7 else 0
    except (OSError, ValueError, IndexError):
        pass
    return sample


def host_context(start: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
    steal = None
    if start["jiffies"] is not None and end["jiffies"] is not None and end["jiffies"] > start["jiffies"]:
        steal = (end["steal"] - start["steal"]) / (end["jiffies"] - start["jiffies"])
    return {"cpus": usable_cpus(), "loadavg_start": start["loadavg"], "loadavg_end": end["loadavg"], "steal_fraction": steal}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def error_text(exc: BaseException) -> str:
    """The verbatim error: type and message (the last traceback line, as Python prints it)."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


# ---------------------------------------------------------------- synthetic data with a learnable signal


def synthetic_cifar(n: int, seed: int) -> tuple[Any, Any]:
    """CIFAR-10-shaped data: uint8 images (N, 32, 32, 3) and int64 labels from a fixed random teacher.

    Each image is a coarse 4x4 colour pattern upsampled to 32x32 plus pixel noise; the label is the
    argmax of a fixed random linear map of that pattern, so a CNN can learn it and the loss must fall.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    teacher = np.random.default_rng(12345).standard_normal((48, 10))
    coarse = rng.random((n, 4, 4, 3))
    labels = np.argmax((coarse.reshape(n, 48) - 0.5) @ teacher, axis=1).astype(np.int64)
    images = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)
    images = images * 200.0 + rng.random((n, 32, 32, 3)) * 55.0
    return images.astype(np.uint8), labels


def synthetic_housing(n: int, seed: int) -> tuple[Any, Any]:
    """California-Housing-shaped data: float32 (N, 8) features, float32 (N, 1) target from a fixed teacher MLP."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.random.default_rng(54321)
    w1, w2 = t.standard_normal((8, 32)) / math.sqrt(8), t.standard_normal((32, 1)) / math.sqrt(32)
    x = rng.standard_normal((n, 8))
    y = np.tanh(x @ w1) @ w2 * 1.5 + 2.0 + rng.standard_normal((n, 1)) * 0.05
    return x.astype(np.float32), y.astype(np.float32)


def normalize_images(images_u8: Any) -> Any:
    """uint8 HWC -> float32 in [-1, 1]: scale to [0, 1], then per-channel mean 0.5, std 0.5."""
    import numpy as np

    return (images_u8.astype(np.float32) / 255.0 - 0.5) / 0.5


def load_data(model: str, config: dict[str, Any]) -> dict[str, Any]:
    """numpy arrays, the same for every framework: {"x", "y"} for the benchmark pool (CNN x is uint8
    NHWC), plus the split for training."""
    seed = config["seed"]
    if config["dataset"] == "real":
        import data_real

        if model == "cnn":
            d = data_real.load_cifar10(config["data_dir"], download=bool(config.get("download")))
            x, y = d["train"]
            train, val = data_real.split_indices(len(x), (0.8, 0.2), seed)
            return {"x": x[train], "y": y[train], "val": (x[val], y[val]), "test": d["test"], "source": d["source"]}
        d = data_real.load_california_housing(config["data_dir"], download=bool(config.get("download")))
        train, val, test = data_real.split_indices(len(d["x"]), (0.8, 0.1, 0.1), seed)
        x, y = d["x"], d["y"]
        return {"x": x[train], "y": y[train], "val": (x[val], y[val]), "test": (x[test], y[test]), "source": d["source"]}
    if model == "cnn":
        x, y = synthetic_cifar(config["cnn_pool"], seed)
        vx, vy = synthetic_cifar(1000, seed + 1)
        return {"x": x, "y": y, "val": (vx, vy), "test": (vx, vy), "source": "synthetic"}
    x, y = synthetic_housing(20_640, seed)
    n = int(len(x) * 0.8)
    return {"x": x[:n], "y": y[:n], "val": (x[n:], y[n:]), "test": (x[n:], y[n:]), "source": "synthetic"}


# ---------------------------------------------------------------- the block-timing protocol


class Arm:
    """One (model, pipeline, device) under test: `step()` runs one training step, `sync()` waits for the device."""

    def __init__(
        self,
        key: dict[str, Any],
        step: Callable[[], Any],
        sync: Callable[[], None],
        batch_size: int,
        loss_value: Callable[[Any], float],
    ) -> None:
        self.key = key
        self.step = step
        self.sync = sync
        self.batch_size = batch_size
        self.loss_value = loss_value
        self.steps_per_block = 1
        self.blocks: list[float] = []
        self.block_wall_s: list[float] = []
        # Seconds the host spent producing batches (manual pipeline), summed by the step; read per block.
        self.loader_s = 0.0
        self.block_loader_s: list[float] = []
        self.warmup_s = 0.0
        self.loss_first: float | None = None
        self.loss_last: float | None = None
        self.error: str | None = None
        # Loss on a fixed probe batch (no grad): a steadier "the loss fell" check than one step's loss.
        self.probe: Callable[[], float] | None = None

    def run_steps(self, n: int) -> float:
        """n steps, then a sync before the clock is read; returns seconds."""
        self.sync()
        t0 = time.perf_counter()
        last = None
        for _ in range(n):
            last = self.step()
        self.sync()
        dt = time.perf_counter() - t0
        if last is not None:
            self._last = last
        return dt

    def fastest_step_s(self, blocks: int, steps: int) -> float:
        """Per-step time of the fastest of `blocks` blocks: a floor is a minimum, and a busy machine
        only ever adds time, so the mean of one long block would overstate it."""
        return min(self.run_steps(steps) for _ in range(blocks)) / steps

    def last_loss(self) -> float | None:
        last = getattr(self, "_last", None)
        return None if last is None else self.loss_value(last)


def warm_up(arm: Arm, config: dict[str, Any]) -> None:
    """Warm-up until stable: >= min steps and >= warmup_s, then blocks until two agree within 5 %."""
    if arm.loss_first is None and arm.probe is not None:
        arm.loss_first = arm.probe()
    t_start = time.perf_counter()
    dt = arm.run_steps(1)
    if arm.loss_first is None:
        arm.loss_first = arm.last_loss()
    steps, elapsed = 1, dt
    while steps < config["warmup_min_steps"] or elapsed < config["warmup_s"]:
        elapsed += arm.run_steps(1)
        steps += 1
        if time.perf_counter() - t_start > config["warmup_cap_s"]:
            break
    per_step = max(elapsed / steps, 1e-7)
    block_s = config["block_s"] if arm.key.get("device") == "cpu" else config["gpu_block_s"]
    arm.steps_per_block = max(1, math.ceil(block_s / per_step))
    previous = None
    while time.perf_counter() - t_start < config["warmup_cap_s"]:
        rate = arm.steps_per_block / arm.run_steps(arm.steps_per_block)
        if previous is not None and abs(rate - previous) <= 0.05 * previous:
            break
        previous = rate
        # Re-size the block on the now-warm rate so timed blocks last about block_s.
        arm.steps_per_block = max(1, math.ceil(block_s * rate))
    arm.warmup_s = time.perf_counter() - t_start


def run_interleaved(arms: list[Arm], config: dict[str, Any], framework: str) -> None:
    """Timed blocks, interleaved across arms in ABBA order so drift hits every arm alike."""
    for arm in arms:
        try:
            emit("block", phase="warmup", framework=framework, **arm.key)
            warm_up(arm, config)
        except Exception as exc:  # OOM, CUDA errors: this arm fails, the others go on
            arm.error = error_text(exc)
    live = [a for a in arms if a.error is None]
    for i in range(config["blocks"]):
        order = live if i % 2 == 0 else list(reversed(live))
        for arm in order:
            if arm.error is not None:
                continue
            try:
                emit("block", phase="start", framework=framework, index=i, **arm.key)
                arm.loader_s = 0.0
                dt = arm.run_steps(arm.steps_per_block)
                arm.block_loader_s.append(arm.loader_s)
                emit("block", phase="end", framework=framework, index=i, **arm.key)
            except Exception as exc:
                arm.error = error_text(exc)
                emit("block", phase="end", framework=framework, index=i, **arm.key)
                continue
            arm.blocks.append(arm.steps_per_block * arm.batch_size / dt)
            arm.block_wall_s.append(dt)
    for arm in arms:
        if arm.error is None:
            try:
                arm.loss_last = arm.probe() if arm.probe is not None else arm.last_loss()
            except Exception as exc:
                arm.error = error_text(exc)


def arm_row(arm: Arm, framework: str, device_name: str | None, threads: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "framework": framework,
        **arm.key,
        "device_kind": "cpu" if arm.key["device"] == "cpu" else "gpu",
        "device_name": device_name,
        "batch_size": arm.batch_size,
        "status": "failed" if arm.error else "ok",
        "error": arm.error,
        "blocks": arm.blocks,
        "block_s": arm.block_wall_s,
        # Share of the timed blocks the host spent fetching, transforming and copying batches (manual only).
        "loader_fraction": (sum(arm.block_loader_s) / sum(arm.block_wall_s)
                            if arm.key["pipeline"] == "manual" and arm.block_wall_s and sum(arm.block_wall_s) > 0 else None),
        "steps_per_block": arm.steps_per_block,
        "warmup_s": round(arm.warmup_s, 4),
        "threads": threads,
        "loss_first": arm.loss_first,
        "loss_last": arm.loss_last,
    }
    if extra:
        row.update(extra)
    return row


def failed_row(framework: str, key: dict[str, Any], error: str, batch_size: int, status: str = "failed") -> dict[str, Any]:
    return {
        "framework": framework,
        **key,
        "device_kind": "cpu" if key["device"] == "cpu" else "gpu",
        "device_name": None,
        "batch_size": batch_size,
        "status": status,
        "error": error,
        "blocks": [],
    }


def time_sweep_point(step: Callable[[], Any], sync: Callable[[], None], batch_size: int, block_s: float) -> float:
    """Throughput (samples/s) at one batch size: 2 warm-up steps, then the median of 3 short blocks."""
    step()
    step()
    sync()
    t0 = time.perf_counter()
    step()
    sync()
    per_step = max(time.perf_counter() - t0, 1e-7)
    n = max(1, math.ceil(block_s / per_step))
    rates = []
    for _ in range(3):
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        sync()
        rates.append(n * batch_size / (time.perf_counter() - t0))
    rates.sort()
    return rates[1]


def sweep(fw: Any, framework: str, model: str, device: str, data: dict[str, Any]) -> dict[str, Any]:
    """Throughput at each configured batch size on the resident pipeline; a failing size is a point with its error."""
    points = []
    for bs in fw.config["sweep_sizes"]:
        try:
            arm = fw.make_arm(model, "resident", device, data, bs)
            rate = time_sweep_point(arm.step, arm.sync, bs, fw.config["block_s"] / 2)
            points.append({"batch_size": bs, "samples_per_s": rate, "error": None})
        except Exception as exc:
            points.append({"batch_size": bs, "samples_per_s": None, "error": error_text(exc)})
    return {"framework": framework, "model": model, "pipeline": "resident", "device": device, "points": points}


def step_overhead(fw: Any, device: str, data: dict[str, Any]) -> float:
    """Seconds per training step of the MLP at batch 1: nearly all dispatch and launch cost."""
    mlp_data = data.get("mlp") or dict(zip(("x", "y"), synthetic_housing(1000, 0)))
    arm = fw.make_arm("mlp", "resident", device, mlp_data, 1)
    for _ in range(10):
        arm.step()
    return arm.fastest_step_s(5, 10 if fw.config["quick"] else 40)


def finish(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, default=_jsonable) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- correctness and the whole run


def compare_losses(framework: str, model: str, results: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    """Losses over the first steps from the same seed on each device, against the first device.

    Tolerance 2 % relative: cuDNN/cuBLAS may use TF32 for convolutions (10-bit mantissa), which moves
    early losses by well under 1 %; a wrong-device or broken run is off by far more.
    """
    tolerance = 0.02
    ref = results[0]["losses"] if results else []
    worst = 0.0
    finite = all(v == v and abs(v) != float("inf") for r in results for v in r["losses"])
    for r in results[1:]:
        for a, b in zip(ref, r["losses"]):
            worst = max(worst, abs(a - b) / max(abs(a), 1e-12))
    agree: bool | None = None if len(results) < 2 else (finite and worst <= tolerance)
    return {
        "framework": framework,
        "model": model,
        "steps": steps,
        "runs": results,
        "max_rel_diff": worst if len(results) >= 2 else None,
        "tolerance": tolerance,
        "finite": finite,
        "agree": agree,
    }


def skip_reason(pipeline: str, device: str, config: dict[str, Any]) -> str | None:
    if pipeline == "compiled" and device == "cpu" and config["quick"]:
        return "--quick runs the compiled pipeline on GPUs only (compiling for the CPU takes longer than the whole quick run)"
    return None


def run_all(fw: Any, framework: str, config: dict[str, Any]) -> int:
    """The whole run for one framework object (bench_torch.Torch, bench_tf.TF): it has `config`, `threads`,
    `devices()`, `device_name(d)`, `versions()`, `make_arm(...)`, `limits(d, data)`, `correctness(...)`,
    `train(...)` and optionally `device_uuid(d)`; data, sweeps and the protocol are the same for both."""
    host_start = host_sample()
    devices = fw.devices()
    names = {d: fw.device_name(d) for d in devices}
    emit("hello", framework=framework, versions=fw.versions(), threads=fw.threads, cpus=usable_cpus(),
         devices=[{"device": d, "name": names[d], "uuid": getattr(fw, "device_uuid", lambda _d: None)(d)} for d in devices])
    models, pipelines = config["models"], config["pipelines"]
    plan = [{"model": m, "pipeline": p, "device": d} for m in models for p in pipelines for d in devices]
    emit("plan", framework=framework, rows=plan)
    extra = len(devices) if config["limits"] else 0
    total = len(models) * len(pipelines) + extra + (len(models) if config["correctness"] else 0)
    total += len(models) * len(devices) * (int(bool(config["sweep"])) + int(bool(config["epochs"])))
    done = 0

    def progress(stage: str, **fields: Any) -> None:
        # A stage code plus fields: the orchestrator words it (and translates it).
        emit("progress", framework=framework, stage=stage, done=done, total=total, **fields)

    data: dict[str, Any] = {}
    data_errors: dict[str, str] = {}
    for m in models:
        progress("data", model=m)
        try:
            data[m] = load_data(m, config)
        except Exception as exc:
            data_errors[m] = error_text(exc)

    limits = []
    if config["limits"]:
        for d in devices:
            progress("limits", device=d)
            try:
                limit = fw.limits(d, data)
            except Exception as exc:
                limit = {"framework": framework, "device": d, "device_name": names[d], "error": error_text(exc)}
            limits.append(limit)
            emit("limits", limit=limit)
            done += 1

    rows = []
    for m in models:
        for p in pipelines:
            progress("row", model=m, pipeline=p)
            arms = []
            for d in devices:
                key = {"model": m, "pipeline": p, "device": d}
                reason = skip_reason(p, d, config)
                if m in data_errors:
                    row = failed_row(framework, key, data_errors[m], config["batch_size"])
                elif reason:
                    row = failed_row(framework, key, reason, config["batch_size"], status="skipped")
                    row["skip_code"] = "quick-cpu-compiled"  # the orchestrator words (and translates) it
                else:
                    try:
                        arms.append(fw.make_arm(m, p, d, data[m], config["batch_size"]))
                        continue
                    except Exception as exc:
                        row = failed_row(framework, key, error_text(exc), config["batch_size"])
                row["device_name"] = names[d]
                rows.append(row)
                emit("row", row=row)
            run_interleaved(arms, config, framework)
            for arm in arms:
                row = arm_row(arm, framework, names[arm.key["device"]], fw.threads)
                rows.append(row)
                emit("row", row=row)
            done += 1

    checks = []
    if config["correctness"]:
        for m in models:
            if m in data_errors:
                continue
            progress("correctness", model=m)
            devs = config.get("correctness_devices") or devices
            try:
                result = fw.correctness(m, devs, data[m])
            except Exception as exc:
                result = {"framework": framework, "model": m, "agree": False, "error": error_text(exc)}
            checks.append(result)
            emit("correctness", result=result)
            done += 1

    sweeps = []
    if config["sweep"]:
        for m in models:
            for d in devices:
                if m in data_errors:
                    continue
                progress("sweep", model=m, device=d)
                result = sweep(fw, framework, m, d, data[m])
                sweeps.append(result)
                emit("sweep", sweep=result)
                done += 1

    trainings = []
    if config["epochs"]:
        for m in models:
            for d in devices:
                if m in data_errors:
                    continue
                progress("training", model=m, device=d, epochs=config["epochs"])
                try:
                    result = fw.train(m, d, data[m], int(config["epochs"]))
                except Exception as exc:
                    result = {"framework": framework, "model": m, "device": d, "error": error_text(exc)}
                trainings.append(result)
                emit("training", result=result)
                done += 1

    progress("done")
    host = host_context(host_start, host_sample())
    emit("host", framework=framework, host=host)
    finish({"host": host, "framework": framework, "ok": True, "versions": fw.versions(), "threads": fw.threads, "limits": limits,
            "rows": rows, "correctness": checks, "sweeps": sweeps, "trainings": trainings})
    return 0


def main(argv: list[str], framework: str, make: Callable[[dict[str, Any]], Any]) -> int:
    """A bench script's entry point: build the framework object from the config, then the whole run."""
    config = read_config(argv)
    try:
        fw = make(config)
    except Exception as exc:  # the framework is missing or broken: say so verbatim
        error = error_text(exc)
        # "not installed" (the top-level module itself is absent) differs from "installed but broken"
        missing = isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == framework
        code = "framework-missing" if missing else "framework-broken"
        emit("fatal", framework=framework, error=error, code=code)
        finish({"framework": framework, "ok": False, "error": error, "code": code})
        return 3
    absent = absent_gpus(fw)
    if absent:
        visible = fw.gpu_count()
        error = "%s: %s sees %d GPU(s)" % (", ".join(absent), framework, visible)
        emit("fatal", framework=framework, error=error, code="device-not-visible", devices=absent, visible=visible)
        finish({"framework": framework, "ok": False, "error": error, "code": "device-not-visible"})
        return 3
    return run_all(fw, framework, config)


def absent_gpus(fw: Any) -> list[str]:
    """Requested cuda:N devices the framework cannot see: timing them would only produce failed rows."""
    count = fw.gpu_count()
    return [d for d in fw.devices() if d != "cpu" and int(d.split(":", 1)[1]) >= count]
