"""Run the check scripts inside the target interpreter and collect their events.

One subprocess per framework, with a timeout. Each finished row arrives as an `@nktenv` event line
on the child's stderr, so a crash, a timeout or Ctrl-C keeps every row finished so far; rows the
child never reported become failed rows carrying the verbatim reason, or `interrupted` rows when
Ctrl-C stopped it. A framework the interpreter does not have, or a GPU it cannot see, gives no rows
at all: the run records why (`absent`, `no_gpu`) and the caller says so in one line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from importlib.resources import as_file, files
from typing import Any, Callable, Mapping, Sequence

from nktenv.bench.telemetry import Sampler, nvml_indices

EVENT_PREFIX = "@nktenv "
SCRIPTS = {"torch": "bench_torch.py", "tensorflow": "bench_tf.py"}
FRAMEWORKS = ("torch", "tensorflow")
MODELS = ("mlp", "cnn")
PIPELINES = ("manual", "resident", "compiled")

EventHandler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class BenchRequest:
    """What to run. `config` passes extra knobs straight to the check scripts (block_s, blocks, ...)."""

    python: str
    frameworks: tuple[str, ...] = FRAMEWORKS
    models: tuple[str, ...] = MODELS
    pipelines: tuple[str, ...] = PIPELINES
    devices: tuple[str, ...] | str = "all"
    quick: bool = False
    dataset: str = "synthetic"
    data_dir: str | None = None
    download: bool = False
    epochs: int | None = None
    threshold: float | None = None
    timeout_s: float | None = None
    threads: int | None = None  # CPU threads for the CPU arms; None = every core this process may use
    config: Mapping[str, Any] = field(default_factory=dict)

    def check_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "models": list(self.models),
            "pipelines": list(self.pipelines),
            "devices": self.devices if isinstance(self.devices, str) else list(self.devices),
            "quick": self.quick,
            "dataset": self.dataset,
            "data_dir": self.data_dir,
            "download": self.download,
            "epochs": self.epochs,
            "sweep": not self.quick,
        }
        if self.threads:
            config["threads"] = self.threads
        config.update(self.config)
        return config

    def timeout(self) -> float:
        if self.timeout_s:
            return self.timeout_s
        base = 300.0 if self.quick else 1800.0
        return base + (3600.0 * self.epochs if self.epochs else 0.0)


@dataclass
class FrameworkRun:
    """Everything one check subprocess reported."""

    framework: str
    hello: dict[str, Any] | None = None
    plan: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    limits: list[dict[str, Any]] = field(default_factory=list)
    correctness: list[dict[str, Any]] = field(default_factory=list)
    sweeps: list[dict[str, Any]] = field(default_factory=list)
    trainings: list[dict[str, Any]] = field(default_factory=list)
    host: dict[str, Any] | None = None
    fatal: str | None = None
    fatal_code: str | None = None  # framework-missing, framework-broken, device-not-visible
    missing_devices: list[str] = field(default_factory=list)
    visible_gpus: int | None = None  # with device-not-visible: how many GPUs the framework does see
    returncode: int | None = None
    timed_out: bool = False
    interrupted: bool = False
    stderr_tail: list[str] = field(default_factory=list)
    telemetry: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def missing_framework(self) -> bool:
        return bool(self.fatal) and self.fatal.startswith(("ModuleNotFoundError", "ImportError"))

    @property
    def absent(self) -> bool:
        """The interpreter does not have this framework at all (not: has it, but it fails to import)."""
        if self.fatal_code:
            return self.fatal_code == "framework-missing"
        # a check script without codes: the verbatim error of the framework's own import
        return bool(self.fatal) and re.fullmatch(r"ModuleNotFoundError: No module named '%s'" % re.escape(self.framework),
                                                 self.fatal) is not None

    @property
    def no_gpu(self) -> bool:
        """A requested cuda:N device is not visible to the framework; nothing was timed."""
        return self.fatal_code == "device-not-visible"

    def gpu_devices(self) -> list[str]:
        return [d["device"] for d in (self.hello or {}).get("devices", []) if d["device"] != "cpu"]


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"})
    return env


def _fallback_plan(framework: str, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    devices = config["devices"]
    devices = ["cpu"] if devices == "all" else list(devices)
    return [{"model": m, "pipeline": p, "device": d} for m in config["models"] for p in config["pipelines"] for d in devices]


def _row_key(framework: str, row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (framework, row["model"], row["pipeline"], row["device"])


def run_framework(
    request: BenchRequest,
    framework: str,
    *,
    on_event: EventHandler | None = None,
    nvml_loader: Callable[[], Any] | None = None,
) -> FrameworkRun:
    """Run one framework's check script to the end, a timeout, a crash or Ctrl-C; never raises for those."""
    config = request.check_config()
    result = FrameworkRun(framework)
    tail: deque[str] = deque(maxlen=40)
    sampler: Sampler | None = None
    indices: dict[str, int] = {}
    lock = threading.Lock()

    def handle(event: dict[str, Any]) -> None:
        nonlocal sampler
        kind = event.get("event")
        if kind == "hello":
            result.hello = event
            gpus = [d for d in event.get("devices", []) if d["device"] != "cpu"]
            if gpus and nvml_loader is not None and sampler is None:
                nvml = nvml_loader()
                if nvml is not None:
                    indices.update(nvml_indices(nvml, gpus))
                    sampler = Sampler(nvml).start()
        elif kind == "plan":
            result.plan = event.get("rows", [])
        elif kind == "row":
            result.rows.append(event["row"])
        elif kind == "limits":
            result.limits.append(event["limit"])
        elif kind == "correctness":
            result.correctness.append(event["result"])
        elif kind == "sweep":
            result.sweeps.append(event["sweep"])
        elif kind == "training":
            result.trainings.append(event["result"])
        elif kind == "host":
            result.host = event.get("host")
        elif kind == "fatal":
            result.fatal = event.get("error")
            result.fatal_code = event.get("code")
            result.missing_devices = [str(d) for d in event.get("devices") or []]
            result.visible_gpus = event.get("visible")
        elif kind == "block" and sampler is not None:
            device = str(event.get("device", "cpu"))
            if event.get("phase") == "start" and device.startswith("cuda"):
                index = indices.get(device, int(device.split(":", 1)[1]) if ":" in device else 0)
                sampler.set_active(_row_key(framework, event), index)
            else:
                sampler.set_active(None)
        if on_event is not None:
            on_event(event)

    def read_stderr(stream: Any) -> None:
        for line in stream:
            line = line.rstrip("\r\n")
            if line.startswith(EVENT_PREFIX):
                try:
                    event = json.loads(line[len(EVENT_PREFIX):])
                except ValueError:
                    tail.append(line)
                    continue
                with lock:
                    handle(event)
            elif line.strip():
                tail.append(line)

    if framework not in SCRIPTS:
        result.fatal = f"unknown framework {framework!r} (known: {', '.join(SCRIPTS)})"
        _fill_missing(result, config)
        return result
    resource = files("nktenv.checks") / SCRIPTS[framework]
    if on_event is not None:  # the framework import alone can take seconds: show that something runs
        on_event({"event": "progress", "framework": framework, "stage": "start", "done": 0, "total": None})
    with as_file(resource) as script:
        argv = [request.python, str(script), "--config", json.dumps(config)]
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=child_env(), encoding="utf-8", errors="replace",
            )
        except OSError as exc:
            result.fatal = f"{type(exc).__name__}: {exc}"
            result.plan = _fallback_plan(framework, config)
            _fill_missing(result, config)
            return result
        out_chunks: list[str] = []
        reader = threading.Thread(target=read_stderr, args=(proc.stderr,), daemon=True)
        out_reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        out_reader.start()
        try:
            result.returncode = proc.wait(timeout=request.timeout())
        except subprocess.TimeoutExpired:
            result.timed_out = True
            _stop(proc)
        except KeyboardInterrupt:
            result.interrupted = True
            _stop(proc)
        finally:
            reader.join(timeout=5)
            out_reader.join(timeout=5)
            if sampler is not None:
                sampler.stop()
    result.stderr_tail = list(tail)
    if sampler is not None:
        for key in list(sampler.samples):
            summary = sampler.summary(key)
            if summary:
                result.telemetry[key] = summary  # type: ignore[index]
    _fill_missing(result, config, request.timeout())
    return result


def _stop(proc: subprocess.Popen[str]) -> None:
    """Terminate, then kill; the child holds no state we need beyond the rows already reported."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _fill_missing(result: FrameworkRun, config: Mapping[str, Any], timeout: float | None = None) -> None:
    """Rows planned but never reported become failed rows with the reason, verbatim where there is one;
    rows Ctrl-C cut short are `interrupted`. An absent framework or GPU leaves no rows to fill."""
    if result.absent or result.no_gpu:
        return
    plan = result.plan or _fallback_plan(result.framework, config)
    have = {_row_key(result.framework, r) for r in result.rows}
    from nktenv.i18n import _

    status = "failed"
    if result.fatal:
        reason = result.fatal
    elif result.interrupted:
        status = "interrupted"
        reason = _("interrupted (Ctrl-C) before this row finished")
    elif result.timed_out:
        reason = _("timed out after {seconds:.0f} s").format(seconds=timeout or 0)
    elif result.returncode not in (0, None):
        last = [line for line in result.stderr_tail if line.strip()][-5:]
        reason = _("the benchmark process exited with code {code}: {stderr}").format(
            code=result.returncode, stderr=" | ".join(last))
    else:
        reason = _("the benchmark process did not report this row")
    for key in plan:
        if _row_key(result.framework, key) in have:
            continue
        result.rows.append({
            "framework": result.framework, "model": key["model"], "pipeline": key["pipeline"], "device": key["device"],
            "device_kind": "cpu" if key["device"] == "cpu" else "gpu", "device_name": None,
            "batch_size": config.get("batch_size", 100), "status": status, "error": reason, "blocks": [],
        })


def run_all(request: BenchRequest, *, on_event: EventHandler | None = None,
            nvml_loader: Callable[[], Any] | None = None) -> list[FrameworkRun]:
    """Each framework in turn; Ctrl-C stops after the current one, keeping its finished rows."""
    runs: list[FrameworkRun] = []
    for framework in request.frameworks:
        run = run_framework(request, framework, on_event=on_event, nvml_loader=nvml_loader)
        runs.append(run)
        if run.interrupted:
            break
    return runs


def frameworks_from_option(value: str) -> tuple[str, ...]:
    return FRAMEWORKS if value == "all" else (value,)


def models_from_option(value: str) -> tuple[str, ...]:
    return MODELS if value == "all" else (value,)


def devices_from_option(value: str) -> tuple[str, ...] | str:
    return "all" if value == "all" else (value,)


def default_python() -> str:
    """The last environment `nktenv setup` made, else this interpreter."""
    import sys

    try:
        from nktenv.setup.registry import last_python

        found = last_python()
    except Exception:  # the registry is optional here: no record means "use this interpreter"
        found = None
    if found and os.path.isfile(found):
        return found
    return sys.executable


__all__: Sequence[str] = ["BenchRequest", "FrameworkRun", "run_framework", "run_all", "default_python"]
