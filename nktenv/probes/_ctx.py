"""What every probe shares: the seam, the target platform's path rules, the environment."""

from __future__ import annotations

import ntpath
import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from nktenv.probes.seam import Seam

T = TypeVar("T")
CMD_TIMEOUT_S = 10.0


@dataclass
class Ctx:
    """One probe run. `system` is the probed machine's (a replay of Windows on Linux is Windows)."""

    seam: Seam
    plat: dict[str, Any]
    env: Mapping[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return normalise_system(self.plat.get("system"))

    @property
    def windows(self) -> bool:
        return self.system == "windows"

    @property
    def path(self) -> Any:
        """os.path of the probed machine, never of this one."""
        return ntpath if self.windows else posixpath

    def getenv(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        if self.windows:  # Windows variable names are case-insensitive
            upper = name.upper()
            for key, value in self.env.items():
                if key.upper() == upper:
                    return value
        return None

    def path_dirs(self, var: str = "PATH") -> list[str]:
        value = self.getenv(var) or ""
        sep = ";" if self.windows else ":"
        return [d.strip().strip('"') for d in value.split(sep) if d.strip()]

    def guard(self, name: str, fn: Callable[[], T], default: T) -> T:
        """Run one probe; a bug or surprise becomes `probe_errors[name]`, never an exception."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - a probe never raises
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            return default


def normalise_system(value: Any) -> str:
    v = str(value or "").lower()
    if v.startswith("win") or v.startswith("cygwin") or v.startswith("msys"):
        return "windows"
    if v == "darwin" or v.startswith("mac"):
        return "darwin"
    return "linux"


def same_path(a: str, b: str, windows: bool) -> bool:
    norm = (lambda p: ntpath.normcase(ntpath.normpath(p))) if windows else posixpath.normpath
    return norm(a) == norm(b)
