"""The one seam through which probes read the machine: real, recording and replaying.

Probes never call subprocess, open(), os.environ, platform or pynvml themselves; they ask a Seam.
`RecordingSeam` saves every answer in a folder (layout in docs/recordings.md) and `ReplaySeam`
answers from such a folder, so a broken machine can be reproduced anywhere — a Windows recording
replays on Linux because paths are kept as plain strings and never resolved locally.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import locale
import os
import platform as _platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

RECORDING_FORMAT = "nktenv.recording/1"
NVML_TIMEOUT_S = 10.0
_NVML_CHILD = Path(__file__).with_name("_nvml_child.py")


@dataclass(frozen=True)
class CmdResult:
    """What one external command did. Never an exception: failures are fields."""

    argv: tuple[str, ...]
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    not_found: bool = False
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.not_found and self.error is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["argv"] = list(self.argv)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CmdResult:
        enc = data.get("encoding") or "utf-8"
        stdout = data.get("stdout") or ""
        stderr = data.get("stderr") or ""
        # Raw bytes may be kept base64-encoded (e.g. cp932 output) and decoded like the live seam does.
        if data.get("stdout_b64"):
            stdout = decode_output(base64.b64decode(data["stdout_b64"]), enc)
        if data.get("stderr_b64"):
            stderr = decode_output(base64.b64decode(data["stderr_b64"]), enc)
        return cls(
            argv=tuple(str(a) for a in data.get("argv", ())),
            returncode=data.get("returncode"),
            stdout=stdout,
            stderr=stderr,
            timed_out=bool(data.get("timed_out", False)),
            not_found=bool(data.get("not_found", False)),
            error=data.get("error"),
            duration_s=float(data.get("duration_s") or 0.0),
        )


class Seam(Protocol):
    """Everything a probe may read. No method raises."""

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str | None] | None = None,
            python: bool = False) -> CmdResult: ...

    def read_text(self, path: str) -> str | None: ...

    def read_error(self, path: str) -> str | None: ...

    def read_bytes(self, path: str) -> bytes | None: ...

    def exists(self, path: str) -> bool: ...

    def realpath(self, path: str) -> str: ...

    def listdir(self, path: str, pattern: str = "*") -> list[str] | None: ...

    @property
    def environ(self) -> Mapping[str, str]: ...

    def platform(self) -> dict[str, Any]: ...

    def which(self, name: str) -> str | None: ...

    def nvml(self) -> dict[str, Any]: ...


# --- decoding ----------------------------------------------------------------------------------


def native_encoding() -> str:
    """The encoding native console tools write with (cp932 on a Japanese Windows)."""
    if os.name == "nt":
        try:
            import ctypes

            return f"cp{ctypes.windll.kernel32.GetOEMCP()}"  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - any failure means "use the locale"
            pass
    return locale.getpreferredencoding(False) or "utf-8"


def decode_output(data: bytes | None, encoding: str) -> str:
    """Decode tool output without ever raising; undecodable bytes stay visible as \\xNN."""
    if not data:
        return ""
    try:
        return data.decode(encoding, errors="backslashreplace")
    except LookupError:  # unknown codec name recorded on another machine
        return data.decode("utf-8", errors="backslashreplace")


def child_env(env: Mapping[str, str | None] | None, *, python: bool) -> dict[str, str]:
    """The environment for a child: ours, with `env` applied (None removes a variable)."""
    out = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    if python:
        out["PYTHONIOENCODING"] = "utf-8"
        out["PYTHONUTF8"] = "1"
    return out


# --- the real machine ---------------------------------------------------------------------------


class RealSeam:
    """Reads this machine."""

    def __init__(self) -> None:
        self._read_errors: dict[str, str] = {}
        self._encoding = native_encoding()

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str | None] | None = None,
            python: bool = False) -> CmdResult:
        """Run a command (list argv, no shell) with a timeout. `python=True`: the child speaks UTF-8."""
        args = [str(a) for a in argv]
        start = time.perf_counter()
        exe = args[0]
        if os.name == "nt" and not os.path.isabs(exe):
            exe = shutil.which(exe) or exe  # CreateProcess does not search PATHEXT
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            proc = subprocess.Popen(
                [exe, *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_env(env, python=python),
                creationflags=flags,
            )
        except FileNotFoundError as exc:
            return CmdResult(tuple(args), not_found=True, error=str(exc), duration_s=time.perf_counter() - start)
        except OSError as exc:
            return CmdResult(tuple(args), error=str(exc), duration_s=time.perf_counter() - start)
        encoding = "utf-8" if python else self._encoding
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            try:
                out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # a child stuck in the kernel (D state): give up on it
                out, err = b"", b""
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            raise
        return CmdResult(
            tuple(args),
            returncode=None if timed_out else proc.returncode,
            stdout=decode_output(out, encoding),
            stderr=decode_output(err, encoding),
            timed_out=timed_out,
            error=f"timed out after {timeout:g} s" if timed_out else None,
            duration_s=time.perf_counter() - start,
        )

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as fh:
                return fh.read(1 << 20)
        except OSError as exc:
            self._read_errors[path] = f"{type(exc).__name__}: {exc.strerror or exc}"
            return None

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", errors="backslashreplace")

    def read_error(self, path: str) -> str | None:
        return self._read_errors.get(path)

    def exists(self, path: str) -> bool:
        try:
            return os.path.exists(path)
        except (OSError, ValueError):
            return False

    def realpath(self, path: str) -> str:
        try:
            return os.path.realpath(path)
        except (OSError, ValueError):
            return path

    def listdir(self, path: str, pattern: str = "*") -> list[str] | None:
        try:
            names = os.listdir(path)
        except (OSError, ValueError):
            return None
        return sorted(n for n in names if _match(n, pattern))

    @property
    def environ(self) -> Mapping[str, str]:
        return dict(os.environ)

    def platform(self) -> dict[str, Any]:
        return host_platform()

    def which(self, name: str) -> str | None:
        return shutil.which(name)

    def nvml(self) -> dict[str, Any]:
        """NVML's answers, asked in a child process so a wedged driver cannot hang or crash nktenv."""
        res = self.run(
            [sys.executable, str(_NVML_CHILD)], timeout=NVML_TIMEOUT_S, env={"CUDA_VISIBLE_DEVICES": None}, python=True
        )
        if res.timed_out:
            return {"available": False, "error": f"NVML did not answer within {NVML_TIMEOUT_S:g} s (timed out)",
                    "timed_out": True}
        try:
            data = json.loads(res.stdout)
            if isinstance(data, dict):
                return data
        except ValueError:
            pass
        detail = (res.stderr.strip() or res.error or f"exit code {res.returncode}").splitlines()
        return {"available": False, "error": f"NVML child failed: {detail[-1] if detail else res.returncode}"}


def host_platform() -> dict[str, Any]:
    """What `platform`, `sys` and psutil say about this process's machine and interpreter."""
    info: dict[str, Any] = {
        "system": _platform.system(),
        "release": _platform.release(),
        "version": _platform.version(),
        "machine": _platform.machine(),
        "node": _platform.node(),
        "processor": _platform.processor(),
        "python_version": _platform.python_version(),
        "python_implementation": _platform.python_implementation(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "os_name": os.name,
        "sep": os.sep,
        "pathsep": os.pathsep,
        "encoding": native_encoding(),
        "libc": list(_platform.libc_ver()) if _platform.system() == "Linux" else None,
        "mac_ver": _platform.mac_ver()[0] or None,
        "win32_ver": list(_platform.win32_ver()) if os.name == "nt" else None,
    }
    try:
        import psutil

        info["cpu_physical"] = psutil.cpu_count(logical=False)
        info["cpu_logical"] = psutil.cpu_count(logical=True)
        info["memory_total"] = int(psutil.virtual_memory().total)
    except Exception as exc:  # noqa: BLE001 - psutil missing or refused: unknown, with the reason
        info["cpu_logical"] = os.cpu_count()
        info["psutil_error"] = f"{type(exc).__name__}: {exc}"
    return info


# --- recording ----------------------------------------------------------------------------------


class RecordingSeam:
    """Wraps another seam and saves every answer under `directory` (see docs/recordings.md)."""

    def __init__(self, inner: Seam, directory: Path) -> None:
        self.inner = inner
        self.dir = Path(directory)
        self._lock = threading.Lock()
        self._index: dict[str, Any] = {
            "format": RECORDING_FORMAT,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "platform": None,
            "environ": None,
            "nvml": None,
            "commands": [],
            "files": {},
            "exists": {},
            "listdir": [],
            "which": {},
            "realpath": {},
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "commands").mkdir(exist_ok=True)
        (self.dir / "files").mkdir(exist_ok=True)
        self._n_files = 0
        self.save()

    def save(self) -> None:
        """Write machine.json (atomically, so an interrupted probe leaves a readable index)."""
        with self._lock:
            text = json.dumps(self._index, indent=2, ensure_ascii=False)
            tmp = self.dir / "machine.json.tmp"
            tmp.write_text(text + "\n", encoding="utf-8")
            os.replace(tmp, self.dir / "machine.json")

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str | None] | None = None,
            python: bool = False) -> CmdResult:
        res = self.inner.run(argv, timeout=timeout, env=env, python=python)
        with self._lock:
            n = len(self._index["commands"]) + 1
            name = f"commands/{n:03d}.json"
            doc = res.to_dict()
            doc["timeout_s"] = timeout
            (self.dir / name).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            self._index["commands"].append({"argv": list(res.argv), "file": name})
        self.save()
        return res

    def _store_file(self, path: str, data: bytes | None, *, binary: bool) -> None:
        with self._lock:
            if data is None:
                entry: dict[str, Any] = {"missing": True, "error": self.inner.read_error(path)}
            else:
                self._n_files += 1
                base = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "file"
                safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[:60]
                name = f"files/{self._n_files:03d}-{safe}" + (".b64" if binary else ".txt")
                payload = base64.b64encode(data) if binary else data
                (self.dir / name).write_bytes(payload)
                entry = {"file": name, "binary": binary}
            self._index["files"][path] = entry
        self.save()

    def read_bytes(self, path: str) -> bytes | None:
        data = self.inner.read_bytes(path)
        self._store_file(path, data, binary=True)
        return data

    def read_text(self, path: str) -> str | None:
        text = self.inner.read_text(path)
        self._store_file(path, None if text is None else text.encode("utf-8"), binary=False)
        return text

    def read_error(self, path: str) -> str | None:
        return self.inner.read_error(path)

    def exists(self, path: str) -> bool:
        ok = self.inner.exists(path)
        with self._lock:
            self._index["exists"][path] = ok
        return ok

    def realpath(self, path: str) -> str:
        real = self.inner.realpath(path)
        with self._lock:
            self._index["realpath"][path] = real
        return real

    def listdir(self, path: str, pattern: str = "*") -> list[str] | None:
        names = self.inner.listdir(path, pattern)
        with self._lock:
            self._index["listdir"].append({"path": path, "pattern": pattern, "names": names})
        return names

    @property
    def environ(self) -> Mapping[str, str]:
        env = self.inner.environ
        with self._lock:
            self._index["environ"] = dict(env)
        return env

    def platform(self) -> dict[str, Any]:
        info = self.inner.platform()
        with self._lock:
            self._index["platform"] = info
        self.save()
        return info

    def which(self, name: str) -> str | None:
        found = self.inner.which(name)
        with self._lock:
            self._index["which"][name] = found
        return found

    def nvml(self) -> dict[str, Any]:
        data = self.inner.nvml()
        with self._lock:
            self._index["nvml"] = data
        self.save()
        return data


# --- replay -------------------------------------------------------------------------------------


def argv_key(argv: Sequence[str]) -> tuple[str, ...]:
    """Argv for matching a replayed command: a script from nktenv's `checks/` folder matches by name,
    because the folder lies elsewhere on the machine that replays."""
    out = []
    for arg in argv:
        parts = str(arg).replace("\\", "/").split("/")
        if len(parts) >= 2 and parts[-2] == "checks" and parts[-1].endswith(".py"):
            out.append("<checks>/" + parts[-1])
        else:
            out.append(str(arg))
    return tuple(out)


def _match(name: str, pattern: str) -> bool:
    """Case-insensitive match against one pattern or several separated by '|'."""
    return any(fnmatch.fnmatch(name.lower(), p.lower()) for p in pattern.split("|"))


class ReplayError(Exception):
    """The folder is not a readable recording. `kind`: missing | unreadable | format."""

    def __init__(self, kind: str, path: Path, detail: str = "") -> None:
        super().__init__(f"{path}: {kind} {detail}".strip())
        self.kind = kind
        self.path = path
        self.detail = detail


class ReplaySeam:
    """Answers from a recording folder instead of the machine. Anything not recorded is absent."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        index_path = self.dir / "machine.json"
        try:
            self._index = json.loads(index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReplayError("missing", index_path) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ReplayError("unreadable", index_path, str(exc)) from None
        if not isinstance(self._index, dict) or self._index.get("format") != RECORDING_FORMAT:
            raise ReplayError("format", index_path)
        self._commands: dict[tuple[str, ...], list[CmdResult]] = {}  # keyed by normalised argv
        self._used: dict[tuple[str, ...], int] = {}
        for entry in self._index.get("commands") or []:
            doc = self._load_json(entry["file"]) if "file" in entry else entry
            res = CmdResult.from_dict({**doc, "argv": doc.get("argv", entry.get("argv"))})
            self._commands.setdefault(argv_key(res.argv), []).append(res)
        self._files: dict[str, Any] = dict(self._index.get("files") or {})
        self._dirs = {(d["path"], d.get("pattern", "*")): d.get("names") for d in self._index.get("listdir") or []}
        self._lock = threading.Lock()

    def _load_json(self, rel: str) -> dict[str, Any]:
        try:
            return json.loads((self.dir / rel).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReplayError("unreadable", self.dir / rel, str(exc)) from None

    @property
    def created_at(self) -> str | None:
        return self._index.get("created_at")

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str | None] | None = None,
            python: bool = False) -> CmdResult:
        key = argv_key(argv)
        with self._lock:
            answers = self._commands.get(key)
            if not answers:
                # A command the machine never ran behaves like one that is not installed.
                return CmdResult(tuple(str(a) for a in argv), not_found=True, error="not recorded")
            i = self._used.get(key, 0)
            self._used[key] = i + 1
            return answers[min(i, len(answers) - 1)]

    def read_bytes(self, path: str) -> bytes | None:
        entry = self._files.get(path)
        if not entry or entry.get("missing"):
            return None
        if "text" in entry:
            return str(entry["text"]).encode("utf-8")
        if "b64" in entry:
            return base64.b64decode(entry["b64"])
        try:
            raw = (self.dir / entry["file"]).read_bytes()
        except OSError:
            return None
        return base64.b64decode(raw) if entry.get("binary") else raw

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", errors="backslashreplace")

    def read_error(self, path: str) -> str | None:
        entry = self._files.get(path)
        if entry is None:
            return "FileNotFoundError: No such file or directory"
        return entry.get("error") if entry.get("missing") else None

    def exists(self, path: str) -> bool:
        known = self._index.get("exists") or {}
        if path in known:
            return bool(known[path])
        entry = self._files.get(path)
        return bool(entry) and not entry.get("missing")

    def realpath(self, path: str) -> str:
        return (self._index.get("realpath") or {}).get(path, path)

    def listdir(self, path: str, pattern: str = "*") -> list[str] | None:
        if (path, pattern) in self._dirs:
            names = self._dirs[(path, pattern)]
            return None if names is None else list(names)
        if (path, "*") in self._dirs:
            names = self._dirs[(path, "*")]
            return None if names is None else [n for n in names if _match(n, pattern)]
        return None

    @property
    def environ(self) -> Mapping[str, str]:
        return dict(self._index.get("environ") or {})

    def platform(self) -> dict[str, Any]:
        return dict(self._index.get("platform") or {})

    def which(self, name: str) -> str | None:
        return (self._index.get("which") or {}).get(name)

    def nvml(self) -> dict[str, Any]:
        data = self._index.get("nvml")
        if data is None:
            return {"available": False, "error": "NVML was not recorded"}
        return dict(data)
