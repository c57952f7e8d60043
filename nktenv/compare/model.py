"""Frozen views of `nktenv.bench/1` results, as far as `compare` needs them.

Parsing is lenient by design: a result written by a newer `nktenv bench` may carry keys this
version does not know (they are ignored), and any value may be `null`. Only what is needed to
align a row (framework, model, pipeline, device kind, batch size, throughput) is required.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

SCHEMA = "nktenv.bench/1"
SCHEMA_PREFIX = "nktenv.bench/"


class BadResult(ValueError):
    """A document that looks like a result but cannot be used; `code` says why."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def _num(value: Any) -> float | None:
    # Exact class checks: a bool is an int subclass and a flag is never a measurement. Hot path.
    cls = value.__class__
    if cls is float:
        return value if math.isfinite(value) else None  # NaN / inf never compare
    if cls is int:
        return float(value)
    return None


def _int(value: Any) -> int | None:
    n = _num(value)
    return int(n) if n is not None and n == int(n) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _blocks(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(b for b in (_num(x) for x in value) if b is not None and b > 0)


@dataclass(frozen=True)
class Telemetry:
    """NVML samples taken while a GPU row ran (all optional)."""

    sm_clock_mhz: float | None = None
    sm_clock_max_mhz: float | None = None
    temperature_c: float | None = None
    temperature_max_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    utilization_gpu: float | None = None
    throttle: Mapping[str, float] = field(default_factory=dict)
    pcie_gen: int | None = None
    pcie_width: int | None = None
    pcie_gen_max: int | None = None
    pcie_width_max: int | None = None

    @classmethod
    def from_dict(cls, raw: Any) -> Telemetry | None:
        d = _dict(raw)
        if not d:
            return None
        sm = _dict(d.get("sm_clock_mhz"))
        temp = _dict(d.get("temperature_c"))
        power = _dict(d.get("power_w"))
        util = _dict(d.get("utilization_gpu"))
        pcie = _dict(d.get("pcie"))
        throttle = {str(k): v for k, v in ((k, _num(v)) for k, v in _dict(d.get("throttle")).items()) if v is not None}
        return cls(
            sm_clock_mhz=_num(sm.get("median")),
            sm_clock_max_mhz=_num(sm.get("max")),
            temperature_c=_num(temp.get("median")),
            temperature_max_c=_num(temp.get("max")),
            power_w=_num(power.get("median")),
            power_limit_w=_num(d.get("power_limit_w")),
            utilization_gpu=_num(util.get("median")),
            throttle=throttle,
            pcie_gen=_int(pcie.get("gen_current")),
            pcie_width=_int(pcie.get("width_current")),
            pcie_gen_max=_int(pcie.get("gen_max")),
            pcie_width_max=_int(pcie.get("width_max")),
        )


@dataclass(frozen=True)
class Row:
    """One measured (framework, model, pipeline, device, batch size) of one run."""

    framework: str
    model: str
    pipeline: str
    device: str
    device_kind: str
    batch_size: int | None
    device_name: str | None = None
    status: str = "ok"
    error: str | None = None
    samples_per_s: float | None = None
    q1: float | None = None
    q3: float | None = None
    epoch_s: float | None = None
    fraction_of_limit: float | None = None
    noisy: bool = False
    threads: int | None = None
    telemetry: Telemetry | None = None
    limit_measured: bool = False  # a ceiling was measured for this device (else "% of limit" means nothing)
    blocks: tuple[float, ...] = ()  # per-block throughputs, for the history's bootstrap

    @property
    def workload(self) -> tuple[str, str, str, str, int | None]:
        """The alignment key: like is only compared with like."""
        return (self.framework, self.model, self.pipeline, self.device_kind, self.batch_size)

    @classmethod
    def from_dict(cls, raw: Any) -> Row:
        d = _dict(raw)
        framework, model, pipeline = _str(d.get("framework")), _str(d.get("model")), _str(d.get("pipeline"))
        device = _str(d.get("device"))
        kind = _str(d.get("device_kind"))
        if kind is None and device is not None:
            kind = "cpu" if device == "cpu" else "gpu"
        if not (framework and model and pipeline and device and kind):
            raise BadResult("row-incomplete", "framework, model, pipeline, device and device_kind are required")
        sps = _dict(d.get("samples_per_s"))
        status = _str(d.get("status")) or "ok"
        return cls(
            framework=framework,
            model=model,
            pipeline=pipeline,
            device=device,
            device_kind=kind,
            batch_size=_int(d.get("batch_size")),
            device_name=_str(d.get("device_name")),
            status=status,
            error=_str(d.get("error")),
            samples_per_s=_num(sps.get("median")) if status == "ok" else None,
            q1=_num(sps.get("q1")),
            q3=_num(sps.get("q3")),
            epoch_s=_num(d.get("epoch_s")),
            fraction_of_limit=_num(d.get("fraction_of_limit")),
            noisy=d.get("noisy") is True,
            threads=_int(d.get("threads")),
            telemetry=Telemetry.from_dict(d.get("telemetry")),
            limit_measured=_num(d.get("limit_samples_per_s")) is not None,
            blocks=_blocks(d.get("blocks")),
        )


@dataclass(frozen=True)
class Sweep:
    """Throughput against batch size for one (framework, model, pipeline, device)."""

    framework: str
    model: str
    pipeline: str
    device: str
    points: tuple[tuple[int, float], ...]

    @classmethod
    def from_dict(cls, raw: Any) -> Sweep | None:
        d = _dict(raw)
        keys = [_str(d.get(k)) for k in ("framework", "model", "pipeline", "device")]
        points = []
        for p in d.get("points") or ():
            p = _dict(p)
            bs, sps = _int(p.get("batch_size")), _num(p.get("samples_per_s"))
            if bs is not None and bs > 0 and sps is not None:
                points.append((bs, sps))
        if not all(keys) or not points:
            return None
        return cls(keys[0], keys[1], keys[2], keys[3], tuple(sorted(points)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Result:
    """One `nktenv bench` run as read from a file or a store."""

    id: str
    source: str
    machine: str
    fingerprint: str | None
    created_at: str
    software: Mapping[str, str | None]
    cpu_model: str | None
    cpu_threads: int | None
    os_system: str | None
    rows: tuple[Row, ...]
    speedups: Mapping[tuple[str, str, str, str], float]
    sweeps: tuple[Sweep, ...]

    @classmethod
    def from_dict(cls, doc: Any, source: str, fallback_id: str = "") -> Result:
        """Parse one document.

        Raises:
            BadResult: not a result, an unknown schema version, or nothing usable in it.
        """
        if not isinstance(doc, dict):
            raise BadResult("not-a-result", "the JSON document is not an object")
        schema = doc.get("schema")
        if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
            raise BadResult("not-a-result", str(schema) if schema is not None else "no schema key")
        if schema != SCHEMA:
            raise BadResult("unknown-schema", schema)
        machine = _dict(doc.get("machine"))
        name = _str(machine.get("name"))
        if name is None:
            raise BadResult("no-machine", "machine.name is missing")
        facts = _dict(machine.get("facts"))
        cpu = _dict(facts.get("cpu"))
        software = {str(k): (str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else None)
                    for k, v in _dict(doc.get("software")).items()}
        settings = _dict(doc.get("settings"))
        rows: list[Row] = []
        for raw in doc.get("rows") or ():
            try:
                rows.append(Row.from_dict(raw))
            except BadResult:
                continue  # one malformed row does not spoil the run; an empty run is refused below
        if not rows:
            raise BadResult("no-rows", "no usable rows")
        # Results without limit_samples_per_s: a limit counts as measured only when the ceilings the
        # arithmetic needs (matmul rate and device-copy rate) were recorded for that device.
        measured = {str(lim.get("device")) for lim in (_dict(x) for x in doc.get("limits") or ())
                    if not lim.get("error") and (_num(lim.get("matmul_flops")) or _num(lim.get("matmul_flops_tf32")))
                    and _num(lim.get("d2d_bytes_per_s"))}
        rows = [r if r.limit_measured or r.device not in measured else replace(r, limit_measured=True) for r in rows]
        speedups: dict[tuple[str, str, str, str], float] = {}
        for raw in doc.get("speedups") or ():
            s = _dict(raw)
            key = tuple(_str(s.get(k)) for k in ("framework", "model", "pipeline", "device"))
            ratio = _num(s.get("ratio"))
            if all(key) and ratio is not None:
                speedups[key] = ratio  # type: ignore[index]
        sweeps = tuple(s for s in (Sweep.from_dict(x) for x in doc.get("sweeps") or ()) if s is not None)
        # Without an id the content hash stands in, so a copied file is still caught as a duplicate.
        run_id = _str(doc.get("id")) or fallback_id
        return cls(
            id=run_id,
            source=source,
            machine=name,
            fingerprint=_str(machine.get("fingerprint")),
            created_at=_str(doc.get("created_at")) or "",
            software=software,
            cpu_model=_str(cpu.get("model")),
            cpu_threads=_int(settings.get("cpu_threads")) or _int(cpu.get("logical_cores")),
            os_system=_str(_dict(facts.get("os")).get("system")),
            rows=tuple(rows),
            speedups=speedups,
            sweeps=sweeps,
        )
