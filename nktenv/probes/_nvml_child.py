"""Ask NVML everything nktenv needs and print it as one JSON document.

Run as a separate process by `RealSeam.nvml()` (with a timeout and without CUDA_VISIBLE_DEVICES):
loading libnvidia-ml can hang on a wedged driver or crash the process, and neither may take nktenv
down. Standard library + `pynvml` (from nvidia-ml-py) only. Never raises: errors are data.
"""

from __future__ import annotations

import json
import sys


def _err(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _field_err(exc: BaseException) -> str:
    """'NVMLError_NotSupported: Not Supported' — the error's name and NVML's text."""
    return f"{type(exc).__name__}: {exc}"


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _first(nvml, names, *args):
    """Call the newest available variant; fall back when the library lacks it."""
    last = None
    for name in names:
        fn = getattr(nvml, name, None)
        if fn is None:
            continue
        try:
            return fn(*args)
        except nvml.NVMLError as exc:
            if "Function Not Found" not in str(exc) and "Not Supported" not in str(exc):
                raise
            last = exc
    if last is not None:
        raise last
    raise AttributeError(names[-1])


def _device(nvml, index: int) -> dict:
    dev = {"index": index, "errors": {}}
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except Exception as exc:  # noqa: BLE001 - a lost GPU is a row with an error
        dev["errors"]["handle"] = _field_err(exc)
        return dev

    def field(key, fn):
        try:
            dev[key] = fn()
        except Exception as exc:  # noqa: BLE001 - per-field isolation
            dev[key] = None
            dev["errors"][key] = _field_err(exc)

    field("name", lambda: _text(nvml.nvmlDeviceGetName(handle)))
    field("uuid", lambda: _text(nvml.nvmlDeviceGetUUID(handle)))
    field("compute_capability", lambda: list(nvml.nvmlDeviceGetCudaComputeCapability(handle)))

    def memory():
        v2 = getattr(nvml, "nvmlMemory_v2", None)
        if v2 is not None:
            try:
                return int(nvml.nvmlDeviceGetMemoryInfo(handle, version=v2).total)
            except (TypeError, nvml.NVMLError):
                pass
        return int(nvml.nvmlDeviceGetMemoryInfo(handle).total)

    field("memory_total", memory)
    field("pci_bus_id", lambda: _text(_first(nvml, ["nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo"], handle).busId))
    pcie = {}
    for key, fn in (
        ("gen_current", "nvmlDeviceGetCurrPcieLinkGeneration"),
        ("gen_max", "nvmlDeviceGetMaxPcieLinkGeneration"),
        ("width_current", "nvmlDeviceGetCurrPcieLinkWidth"),
        ("width_max", "nvmlDeviceGetMaxPcieLinkWidth"),
    ):
        try:
            pcie[key] = int(getattr(nvml, fn)(handle))
        except Exception as exc:  # noqa: BLE001
            pcie[key] = None
            dev["errors"]["pcie." + key] = _field_err(exc)
    dev["pcie"] = pcie

    def optional(key, fn):
        # Unsupported here (the driver model off Windows, MIG before Ampere) is an answer, not an error.
        try:
            dev[key] = fn()
        except Exception as exc:  # noqa: BLE001
            dev[key] = None
            quiet = isinstance(exc, AttributeError) or "Not Supported" in str(exc) or "Function Not Found" in str(exc)
            if not quiet:
                dev["errors"][key] = _field_err(exc)

    models = ["nvmlDeviceGetDriverModel_v2", "nvmlDeviceGetDriverModel"]
    optional("driver_model", lambda: int(_first(nvml, models, handle)[0]))  # (current, pending)
    optional("compute_mode", lambda: int(nvml.nvmlDeviceGetComputeMode(handle)))
    optional("mig_mode", lambda: int(nvml.nvmlDeviceGetMigMode(handle)[0]))
    dev["mig_devices"] = _mig_devices(nvml, handle) if dev.get("mig_mode") == 1 else []
    return dev


def _mig_devices(nvml, handle) -> list:
    out = []
    try:
        count = int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))
    except Exception:  # noqa: BLE001
        return out
    for i in range(count):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, i)
        except Exception:  # noqa: BLE001 - an empty slot
            continue
        entry = {"index": i}
        for key, fn in (("uuid", lambda: _text(nvml.nvmlDeviceGetUUID(mig))),
                        ("name", lambda: _text(nvml.nvmlDeviceGetName(mig))),
                        ("memory_total", lambda: int(nvml.nvmlDeviceGetMemoryInfo(mig).total))):
            try:
                entry[key] = fn()
            except Exception:  # noqa: BLE001
                entry[key] = None
        out.append(entry)
    return out


def main() -> dict:
    out = {"available": False, "error": None, "error_name": None, "errors": {}}
    try:
        import pynvml as nvml
    except Exception as exc:  # noqa: BLE001
        out["error"] = "Python module pynvml (nvidia-ml-py) is not installed: " + _err(exc)
        out["error_name"] = type(exc).__name__
        return out
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001
        out["error"] = _err(exc)
        out["error_name"] = type(exc).__name__
        return out
    out["available"] = True
    try:
        for key, names, conv in (
            ("driver_version", ["nvmlSystemGetDriverVersion"], _text),
            ("cuda_driver_version", ["nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"], int),
            ("nvml_version", ["nvmlSystemGetNVMLVersion"], _text),
        ):
            try:
                out[key] = conv(_first(nvml, names))
            except Exception as exc:  # noqa: BLE001
                out[key] = None
                out["errors"][key] = _field_err(exc)
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as exc:  # noqa: BLE001
            count = 0
            out["errors"]["device_count"] = _field_err(exc)
        out["device_count"] = count
        out["devices"] = [_device(nvml, i) for i in range(count)]
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()) + "\n")
