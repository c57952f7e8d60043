"""GPU telemetry sampled through NVML from the nktenv process while GPU rows run (~10 Hz).

The NVML module is injected (`nvml=`), so tests drive the sampler with a fake object; the real one
is `pynvml` from nvidia-ml-py, imported only when a GPU run starts. Every query is isolated: a call
the driver does not support leaves that field empty, and sampling goes on.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable, Mapping

from nktenv.bench.stats import median

INTERVAL_S = 0.1
# clocks_event_reasons bits (nvml.h, stable across driver versions).
THROTTLE_BITS = {
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sw_thermal": 0x20,
    "hw_thermal": 0x40,
    "hw_power_brake": 0x80,
}
NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0


def load_nvml() -> Any | None:
    """The real NVML binding, initialised, or None (no driver, no library, no package)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml
    except Exception:
        return None


def _query(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:
        return None


def read_sample(nvml: Any, handle: Any) -> dict[str, Any]:
    """One reading of every field; unsupported fields are None."""
    reasons_fn = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(
        nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None
    )
    util = _query(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
    power = _query(lambda: nvml.nvmlDeviceGetPowerUsage(handle))
    limit = _query(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    return {
        "t": time.monotonic(),
        "sm_clock_mhz": _query(lambda: nvml.nvmlDeviceGetClockInfo(handle, NVML_CLOCK_SM)),
        "mem_clock_mhz": _query(lambda: nvml.nvmlDeviceGetClockInfo(handle, NVML_CLOCK_MEM)),
        "temperature_c": _query(lambda: nvml.nvmlDeviceGetTemperature(handle, NVML_TEMPERATURE_GPU)),
        "power_w": power / 1000.0 if isinstance(power, (int, float)) else None,
        "power_limit_w": limit / 1000.0 if isinstance(limit, (int, float)) else None,
        "utilization_gpu": getattr(util, "gpu", None),
        "reasons": _query(lambda: reasons_fn(handle)) if reasons_fn else None,
        "pcie_gen": _query(lambda: nvml.nvmlDeviceGetCurrPcieLinkGeneration(handle)),
        "pcie_width": _query(lambda: nvml.nvmlDeviceGetCurrPcieLinkWidth(handle)),
        "pcie_gen_max": _query(lambda: nvml.nvmlDeviceGetMaxPcieLinkGeneration(handle)),
        "pcie_width_max": _query(lambda: nvml.nvmlDeviceGetMaxPcieLinkWidth(handle)),
    }


def _norm_uuid(value: Any) -> str:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text.lower().removeprefix("gpu-")


def nvml_indices(nvml: Any, devices: list[Mapping[str, Any]]) -> dict[str, int]:
    """Map "cuda:N" to NVML's index by GPU UUID (CUDA and NVML may number boards differently);
    devices without a known UUID keep N."""
    count = _query(nvml.nvmlDeviceGetCount) or 0
    by_uuid: dict[str, int] = {}
    for i in range(count):
        uuid = _query(lambda: nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)))
        if uuid:
            by_uuid[_norm_uuid(uuid)] = i
    out: dict[str, int] = {}
    for d in devices:
        device = str(d.get("device"))
        if not device.startswith("cuda"):
            continue
        fallback = int(device.split(":", 1)[1]) if ":" in device else 0
        uuid = d.get("uuid")
        out[device] = by_uuid.get(_norm_uuid(uuid), fallback) if uuid else fallback
    return out


class Sampler:
    """Samples the GPU of the active row every `interval` seconds on a background thread.

    The orchestrator calls `set_active(key, nvml_index)` when a GPU block starts and
    `set_active(None)` when it ends; samples are filed under the active key.
    """

    def __init__(self, nvml: Any, interval: float = INTERVAL_S) -> None:
        self.nvml = nvml
        self.interval = interval
        self.samples: dict[Hashable, list[dict[str, Any]]] = {}
        self._active: tuple[Hashable, int] | None = None
        self._handles: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_active(self, key: Hashable | None, index: int = 0) -> None:
        with self._lock:
            self._active = None if key is None else (key, index)

    def sample_once(self) -> None:
        with self._lock:
            active = self._active
        if active is None:
            return
        key, index = active
        handle = self._handles.get(index)
        if handle is None:
            handle = _query(lambda: self.nvml.nvmlDeviceGetHandleByIndex(index))
            if handle is None:
                return
            self._handles[index] = handle
        sample = read_sample(self.nvml, handle)
        with self._lock:
            self.samples.setdefault(key, []).append(sample)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_once()

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._loop, name="nktenv-nvml", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def summary(self, key: Hashable) -> dict[str, Any] | None:
        return summarize(self.samples.get(key, []))


def _stat(values: list[float], *keys: str) -> dict[str, float] | None:
    if not values:
        return None
    funcs = {"median": median, "min": min, "max": max}
    return {k: funcs[k](values) for k in keys}


def summarize(samples: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The schema's `telemetry` object for one row (None without samples)."""
    if not samples:
        return None

    def col(name: str) -> list[float]:
        return [s[name] for s in samples if isinstance(s.get(name), (int, float))]

    reasons = [s["reasons"] for s in samples if isinstance(s.get("reasons"), int)]
    throttle = {name: (sum(1 for r in reasons if r & bit) / len(reasons) if reasons else None) for name, bit in THROTTLE_BITS.items()}
    limits = col("power_limit_w")

    def worst(name: str) -> int | None:
        values = col(name)
        return int(min(values)) if values else None

    def best(name: str) -> int | None:
        values = col(name)
        return int(max(values)) if values else None

    return {
        "samples": len(samples),
        "sm_clock_mhz": _stat(col("sm_clock_mhz"), "median", "min", "max"),
        "mem_clock_mhz": _stat(col("mem_clock_mhz"), "median"),
        "temperature_c": _stat(col("temperature_c"), "median", "max"),
        "power_w": _stat(col("power_w"), "median", "max"),
        "power_limit_w": median(limits) if limits else None,
        "utilization_gpu": _stat(col("utilization_gpu"), "median"),
        "throttle": throttle,
        # The lowest link state seen under load is what a downgraded riser or slot shows.
        "pcie": {"gen_current": worst("pcie_gen"), "width_current": worst("pcie_width"),
                 "gen_max": best("pcie_gen_max"), "width_max": best("pcie_width_max")},
    }


def _throttle_text(name: str) -> str | None:
    """Literal message ids, so the translation catalogue can find them."""
    from nktenv.i18n import _

    texts = {
        "sw_thermal": _("thermal slowdown {pct}% of the run"),
        "hw_thermal": _("hardware thermal slowdown {pct}% of the run"),
        "sw_power_cap": _("power cap {pct}% of the run"),
        "hw_slowdown": _("hardware slowdown (power supply or temperature) {pct}% of the run"),
        "hw_power_brake": _("external power brake {pct}% of the run"),
    }
    return texts.get(name)


def explain(t: Mapping[str, Any] | None, twin: Mapping[str, Any] | None = None) -> list[str]:
    """Name the likely causes of slowness in one row's telemetry (English; the CLI translates).

    `twin` is the telemetry of the same row on a comparable machine, when one is known.
    """
    from nktenv.i18n import _

    if not t:
        return []
    notes: list[str] = []
    for name, fraction in (t.get("throttle") or {}).items():
        text = _throttle_text(name)
        if fraction is not None and fraction >= 0.05 and text:
            notes.append(text.format(pct=round(fraction * 100)))
    pcie = t.get("pcie") or {}
    gen, width = pcie.get("gen_current"), pcie.get("width_current")
    gen_max, width_max = pcie.get("gen_max"), pcie.get("width_max")
    twin_pcie = (twin or {}).get("pcie") or {}
    if gen and width and twin_pcie.get("gen_current") and twin_pcie.get("width_current") and (
        (gen, width) < (twin_pcie["gen_current"], twin_pcie["width_current"])
    ):
        notes.append(_("PCIe Gen{gen} x{width} while its twin runs Gen{tgen} x{twidth}").format(
            gen=gen, width=width, tgen=twin_pcie["gen_current"], twidth=twin_pcie["width_current"]))
    elif gen and width and gen_max and width_max and (gen < gen_max or width < width_max):
        notes.append(_("PCIe Gen{gen} x{width} under load (the card supports Gen{gmax} x{wmax})").format(
            gen=gen, width=width, gmax=gen_max, wmax=width_max))
    sm = t.get("sm_clock_mhz") or {}
    if sm.get("min") and sm.get("max") and sm["max"] > 1.1 * sm["min"]:
        notes.append(_("SM clock varied from {low} to {high} MHz during the run").format(low=sm["min"], high=sm["max"]))
    temp = t.get("temperature_c") or {}
    if temp.get("max") is not None and temp["max"] >= 85:
        notes.append(_("GPU reached {temp} °C").format(temp=temp["max"]))
    power, plimit = t.get("power_w") or {}, t.get("power_limit_w")
    if power.get("median") and plimit and power["median"] >= 0.95 * plimit:
        notes.append(_("power draw at its limit ({power:.0f} of {limit:.0f} W)").format(power=power["median"], limit=plimit))
    util = (t.get("utilization_gpu") or {}).get("median")
    if util is not None and util < 50:
        notes.append(_("GPU busy only {util}% of the time: the host (Python, data loading, launches) limits this row").format(util=round(util)))
    return notes
