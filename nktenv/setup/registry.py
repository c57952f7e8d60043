"""The environments nktenv made, remembered in the user's data directory.

`doctor` and `bench` default to the last one when neither `--python` nor `--venv` is given;
`nktenv setup --list` shows them all. The file is small JSON, replaced atomically on every write,
so a crash never leaves it half-written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nktenv.fsutil import write_json_atomic

SCHEMA_ID = "nktenv.environments/1"
FILE_NAME = "environments.json"


def data_dir() -> Path:
    """nktenv's per-user data folder: NKTENV_DATA_DIR, else the platform's usual place."""
    override = os.environ.get("NKTENV_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "nktenv"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "nktenv"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "nktenv"


def venv_python(venv: Path | str, *, windows: bool | None = None) -> Path:
    """The interpreter inside a venv folder (Scripts\\python.exe on Windows, bin/python elsewhere)."""
    is_windows = (sys.platform == "win32") if windows is None else windows
    root = Path(venv)
    return root / "Scripts" / "python.exe" if is_windows else root / "bin" / "python"


@dataclass(frozen=True)
class Environment:
    """One environment made by `nktenv setup`."""

    path: str
    python: str
    python_version: str | None = None
    torch: str | None = None
    tensorflow: str | None = None
    variant: str | None = None
    installer: str | None = None
    verified: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def exists(self) -> bool:
        return Path(self.python).exists()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update({k: v for k, v in extra.items() if k not in d})
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        known = {k for k in cls.__dataclass_fields__ if k != "extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        )


def _registry_file() -> Path:
    return data_dir() / FILE_NAME


def _read() -> list[Environment]:
    try:
        data = json.loads(_registry_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # A missing or damaged registry is an empty one: it is a convenience, never a blocker.
        return []
    items = data.get("environments") if isinstance(data, dict) else None
    out: list[Environment] = []
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("python"), str):
            out.append(Environment.from_dict(item))
    return out


def _write(envs: list[Environment]) -> None:
    target = _registry_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = {"schema": SCHEMA_ID, "environments": [e.to_dict() for e in envs]}
    write_json_atomic(target, doc)


class _Lock:
    """A small cross-platform lock file so two setups finishing together do not lose an entry."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self.held = False

    def __enter__(self) -> _Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                self.held = True
                return self
            except FileExistsError:
                try:
                    stale = time.time() - self.path.stat().st_mtime > 60
                except OSError:
                    stale = False
                if stale:  # a writer died holding it
                    self.path.unlink(missing_ok=True)
                    continue
                if time.monotonic() > deadline:
                    return self  # proceed unlocked rather than hang: the write itself is still atomic
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _same_path(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def remember(env: Environment) -> Environment:
    """Add or update an environment (matched by path); it becomes the most recent one."""
    with _Lock(data_dir() / (FILE_NAME + ".lock")):
        envs = _read()
        previous = next((e for e in envs if _same_path(e.path, env.path)), None)
        now = _now()
        created = previous.created_at if previous and previous.created_at else (env.created_at or now)
        entry = Environment.from_dict({**env.to_dict(), "created_at": created, "updated_at": now})
        envs = [e for e in envs if not _same_path(e.path, env.path)] + [entry]
        _write(envs)
        return entry


def forget(path: str | Path) -> bool:
    """Drop an environment from the registry; True when it was there."""
    with _Lock(data_dir() / (FILE_NAME + ".lock")):
        envs = _read()
        kept = [e for e in envs if not _same_path(e.path, str(path))]
        if len(kept) == len(envs):
            return False
        _write(kept)
        return True


def environments() -> list[Environment]:
    """Every remembered environment, oldest first (the last one is the most recent)."""
    return _read()


def last_environment() -> Environment | None:
    """The most recently made or updated environment that still exists on disk."""
    for env in reversed(_read()):
        if env.exists:
            return env
    return None


def last_python() -> str | None:
    """Interpreter of the most recent environment that still exists, or None."""
    env = last_environment()
    return env.python if env else None
