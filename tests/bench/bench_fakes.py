"""Test doubles for the bench tests: a fake NVML module and a fake check interpreter."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any


class NVMLError(Exception):
    pass


class FakeNVML:
    """Answers like pynvml from a script of readings; `unsupported` names calls that raise."""

    def __init__(self, readings: list[dict[str, Any]], unsupported: tuple[str, ...] = ()) -> None:
        self.readings = readings
        self.unsupported = set(unsupported)
        self.calls = 0

    def _now(self) -> dict[str, Any]:
        return self.readings[min(self.calls, len(self.readings) - 1)]

    def _get(self, name: str) -> Any:
        if name in self.unsupported:
            raise NVMLError(f"{name}: Not Supported")
        return self._now()[name]

    uuids: tuple[str, ...] = ("GPU-aaaa-0000", "GPU-bbbb-1111")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.uuids)

    def nvmlDeviceGetUUID(self, handle: str) -> str:
        return self.uuids[int(handle.rsplit("-", 1)[1])]

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"handle-{index}"

    def nvmlDeviceGetClockInfo(self, handle: str, kind: int) -> int:
        return self._get("sm" if kind == 1 else "mem")

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return self._get("temp")

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return self._get("power_mw")

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: str) -> int:
        return self._get("limit_mw")

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        return SimpleNamespace(gpu=self._get("util"), memory=10)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: str) -> int:
        value = self._get("reasons")
        self.calls += 1  # the last field read for one sample: advance the script
        return value

    def nvmlDeviceGetCurrPcieLinkGeneration(self, handle: str) -> int:
        return self._get("gen")

    def nvmlDeviceGetCurrPcieLinkWidth(self, handle: str) -> int:
        return self._get("width")

    def nvmlDeviceGetMaxPcieLinkGeneration(self, handle: str) -> int:
        return self._get("gen_max")

    def nvmlDeviceGetMaxPcieLinkWidth(self, handle: str) -> int:
        return self._get("width_max")


def reading(**kw: Any) -> dict[str, Any]:
    base = {"sm": 1980, "mem": 2619, "temp": 60, "power_mw": 300_000, "limit_mw": 700_000, "util": 90,
            "reasons": 0, "gen": 4, "width": 16, "gen_max": 4, "width_max": 16}
    base.update(kw)
    return base


def fake_interpreter(tmp_path: Path, events: list[dict[str, Any]] | dict[str, list[dict[str, Any]]], *, sleep: float = 0.0, exit_code: int = 0,
                     stderr_lines: tuple[str, ...] = (), name: str = "fake python", marker: Path | None = None) -> Path:
    """An executable that stands in for a target interpreter: it ignores the check script and replays
    `events` as `@nktenv` lines (noise lines in between, like a framework's logging), then sleeps and exits.
    `events` may map a check script's name (bench_torch.py, bench_tf.py) to the events that script gives."""
    by_script = events if isinstance(events, dict) else {"": events}
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "python"
    body = textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys, time
        for line in {list(stderr_lines)!r}:
            sys.stderr.write(line + "\\n")
        by_script = json.loads({json.dumps(json.dumps(by_script))})
        name = sys.argv[1].replace("\\\\", "/").rsplit("/", 1)[-1] if len(sys.argv) > 1 else ""
        for event in by_script.get(name, by_script.get("", [])):
            sys.stderr.write("I tensorflow/core/some_log.cc:42] noise between events\\n")
            sys.stderr.write("@nktenv " + json.dumps(event) + "\\n")
            sys.stderr.flush()
            if event.get("event") == "block":
                time.sleep(0.15)
        if {str(marker) if marker else ""!r}:
            open({str(marker) if marker else ""!r}, "w").close()
        time.sleep({sleep})
        print(json.dumps({{"ok": True}}))
        sys.exit({exit_code})
        """)
    script.write_text(body, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def row(framework: str, model: str, pipeline: str, device: str, blocks: list[float], **kw: Any) -> dict[str, Any]:
    base = {"framework": framework, "model": model, "pipeline": pipeline, "device": device,
            "device_kind": "cpu" if device == "cpu" else "gpu", "device_name": "dev", "batch_size": 100,
            "status": "ok", "error": None, "blocks": blocks, "threads": 2, "loss_first": 2.3, "loss_last": 2.0}
    base.update(kw)
    return base


def hello(framework: str, devices: list[str]) -> dict[str, Any]:
    return {"event": "hello", "framework": framework, "threads": 2, "cpus": 2,
            "versions": {"python": "3.11.7", framework: "9.9.9"},
            "devices": [{"device": d, "name": "NVIDIA Fake" if d != "cpu" else "CPU"} for d in devices]}


def on_windows() -> bool:
    return os.name == "nt"
