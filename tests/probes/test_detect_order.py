"""detect() runs its children concurrently: the framework check starts first, and the order in which
the children finish never changes the facts."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from machines import machine_dir, machine_names

from nktenv.probes import detect
from nktenv.probes.seam import CmdResult, ReplaySeam


class _Shuffled:
    """A replay whose commands and NVML answer after random short delays, so children finish in any order."""

    def __init__(self, inner: ReplaySeam, seed: int) -> None:
        self._inner = inner
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def _pause(self) -> None:
        with self._lock:
            delay = self._random.uniform(0, 0.02)
        time.sleep(delay)

    def run(self, argv: Any, **kwargs: Any) -> CmdResult:
        self._pause()
        return self._inner.run(argv, **kwargs)

    def nvml(self) -> dict[str, Any]:
        self._pause()
        return self._inner.nvml()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _comparable(facts: Any) -> dict[str, Any]:
    doc = facts.to_dict()
    for fw in (doc.get("frameworks") or {}).values():
        if isinstance(fw, dict):
            fw.pop("duration_s", None)
    return doc


@pytest.mark.parametrize("name", machine_names())
def test_finishing_order_never_changes_the_facts(name: str) -> None:
    reference = _comparable(detect(ReplaySeam(machine_dir(name))))
    for seed in (1, 2):
        shuffled = detect(_Shuffled(ReplaySeam(machine_dir(name)), seed))  # type: ignore[arg-type]
        assert _comparable(shuffled) == reference


class _Log:
    """A minimal machine that writes down what was asked, in order."""

    def __init__(self, wait_s: float = 0.0) -> None:
        self.wait_s = wait_s
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self.framework_started = threading.Event()
        self.framework_before_platform: bool | None = None

    def _note(self, what: str) -> None:
        with self._lock:
            self.calls.append(what)

    def run(self, argv: Any, **kwargs: Any) -> CmdResult:
        argv = [str(a) for a in argv]
        self._note("run " + " ".join(a.rsplit("/", 1)[-1] for a in argv))
        if argv[-1] in ("torch", "tensorflow"):
            self.framework_started.set()
        return CmdResult(tuple(argv), not_found=True, error="not here")

    def platform(self) -> dict[str, Any]:
        # Waits (a little) for a framework check: one that was started before the platform was
        # asked arrives; one that would start only after this answer never does.
        self.framework_before_platform = self.framework_started.wait(timeout=self.wait_s)
        self._note("platform")
        return {"system": "Linux", "executable": "/usr/bin/python3", "node": "box"}

    def nvml(self) -> dict[str, Any]:
        self._note("nvml")
        return {"available": False, "error": "NVML Shared Library Not Found"}

    @property
    def environ(self) -> dict[str, str]:
        return {}

    def read_text(self, path: str) -> None:
        return None

    def read_bytes(self, path: str) -> None:
        return None

    def read_error(self, path: str) -> None:
        return None

    def exists(self, path: str) -> bool:
        return False

    def realpath(self, path: str) -> str:
        return path

    def listdir(self, path: str, pattern: str = "*") -> None:
        return None

    def which(self, name: str) -> None:
        return None


def test_with_the_interpreter_known_the_framework_check_starts_before_anything_is_asked() -> None:
    seam = _Log(wait_s=10)
    facts = detect(seam, python="/venv/bin/python")  # type: ignore[arg-type]
    assert seam.framework_before_platform is True
    assert {"run python probe.py torch", "run python probe.py tensorflow", "run python probe.py info"} <= set(seam.calls)
    assert facts.frameworks is not None and facts.frameworks.extra["interpreter"]["python"] == "/venv/bin/python"


def test_without_an_interpreter_the_platform_names_it() -> None:
    seam = _Log()
    facts = detect(seam)  # type: ignore[arg-type]
    assert seam.framework_before_platform is False
    assert seam.calls.index("platform") < seam.calls.index("run python3 probe.py torch")
    assert "run python3 probe.py info" in seam.calls
    assert facts.frameworks.extra["interpreter"]["python"] == "/usr/bin/python3"


def test_without_frameworks_only_the_interpreter_is_asked() -> None:
    seam = _Log()
    facts = detect(seam, python="/venv/bin/python", frameworks=False)  # type: ignore[arg-type]
    runs = [c for c in seam.calls if "probe.py" in c]
    assert runs == ["run python probe.py info"]
    assert facts.frameworks is None
