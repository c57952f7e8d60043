"""Running installer and interpreter children: list argv, a timeout, output to a log, clean Ctrl-C.

Installer output is streamed line by line into the log file and to a callback (the progress display);
the last lines are kept for the error message. Python children always get UTF-8 I/O.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Mapping, Sequence

# Variables that would silently change what pip/uv install or where; nktenv passes its choices as
# flags instead, so the commands it records are the whole truth. Certificates and caches are kept.
_KEEP = {
    "PIP_CERT", "PIP_CLIENT_CERT", "PIP_CACHE_DIR", "PIP_DEFAULT_TIMEOUT", "PIP_NO_CACHE_DIR",
    "PIP_RETRIES", "UV_CACHE_DIR", "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_HTTP_RETRIES", "UV_NO_CACHE",
    "UV_LINK_MODE",
}
_DROP = {"PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX_1", "__PYVENV_LAUNCHER__", "PYTHONSTARTUP"}


def child_env(base: Mapping[str, str] | None = None, **overrides: str | None) -> dict[str, str]:
    """Environment for a child: isolated from pip/uv configuration, UTF-8 I/O."""
    env = dict(os.environ if base is None else base)
    for key in list(env):
        if key in _DROP or ((key.startswith("PIP_") or key.startswith("UV_")) and key not in _KEEP):
            del env[key]
    # pip loads no configuration file at all when PIP_CONFIG_FILE is the null device.
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUTF8"] = "1"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass(frozen=True)
class ProcResult:
    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    timed_out: bool = False
    not_found: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.not_found


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt, then terminate, then kill: give the child a chance to clean up its own files."""
    steps: list[Callable[[], None]] = []
    if sys.platform != "win32":
        steps.append(lambda: proc.send_signal(signal.SIGINT))
    steps += [proc.terminate, proc.kill]
    for step in steps:
        if proc.poll() is not None:
            return
        try:
            step()
        except OSError:
            return
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    log: IO[str] | None = None,
    on_line: Callable[[str], None] | None = None,
    keep_lines: int = 60,
    cwd: str | os.PathLike[str] | None = None,
) -> ProcResult:
    """Run argv (never through a shell), streaming merged stdout+stderr; kill it after `timeout` s.

    Returns the last `keep_lines` lines as `stdout`. Ctrl-C stops the child and re-raises.
    """
    args = [os.fspath(a) for a in argv]
    if log is not None:
        log.write("$ " + " ".join(_quote(a) for a in args) + "\n")
        log.flush()
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else child_env(),
            cwd=cwd,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        if log is not None:
            log.write(f"[not started: {exc}]\n")
        return ProcResult(tuple(args), None, str(exc), not_found=True)
    tail: deque[str] = deque(maxlen=keep_lines)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail.append(line)
            if log is not None:
                log.write(line + "\n")
            if on_line is not None:
                try:
                    on_line(line)
                except Exception:  # a display problem must never break an install
                    pass

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc)
    except BaseException:
        _stop(proc)
        reader.join(timeout=2)
        if log is not None:
            log.write("[interrupted]\n")
            log.flush()
        raise
    reader.join(timeout=5)
    if log is not None:
        if timed_out:
            log.write(f"[killed after {timeout:.0f} s timeout]\n")
        log.write(f"[exit {proc.returncode}]\n")
        log.flush()
    return ProcResult(
        tuple(args), proc.returncode, "\n".join(tail), timed_out=timed_out, duration_s=time.monotonic() - started
    )


def capture(
    argv: Sequence[str | os.PathLike[str]], *, timeout: float, env: Mapping[str, str] | None = None
) -> ProcResult:
    """Run a short command and keep all of its output (for `-c` snippets and version queries)."""
    args = [os.fspath(a) for a in argv]
    started = time.monotonic()
    try:
        cp = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=dict(env) if env is not None else child_env(),
            check=False,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as exc:
        return ProcResult(tuple(args), None, str(exc), not_found=True)
    except subprocess.TimeoutExpired:
        return ProcResult(tuple(args), None, "", timed_out=True, duration_s=timeout)
    out = cp.stdout.decode("utf-8", errors="replace")
    err = cp.stderr.decode("utf-8", errors="replace")
    return ProcResult(tuple(args), cp.returncode, out + (("\n" + err) if err and cp.returncode else ""),
                      duration_s=time.monotonic() - started)


def _quote(arg: str) -> str:
    return f'"{arg}"' if (not arg or any(c in arg for c in ' \t"\'')) else arg


def format_command(argv: Sequence[str | Path]) -> str:
    """A command as one line a person can copy (quoted where it has spaces)."""
    return " ".join(_quote(os.fspath(a)) for a in argv)
