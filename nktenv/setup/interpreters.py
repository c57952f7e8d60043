"""Find the base interpreter a venv is made from: a path, or X.Y found like `py -X.Y` / `pythonX.Y` / uv."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from nktenv.errors import ExitCode, NktenvError
from nktenv.i18n import _
from nktenv.setup.process import ProcResult, capture

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")
_ASK = "import json, sys; print(json.dumps([sys.executable, '%d.%d.%d' % sys.version_info[:3]]))"

Runner = Callable[[Sequence[str]], ProcResult]


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # X.Y.Z

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _default_runner(argv: Sequence[str]) -> ProcResult:
    return capture(argv, timeout=30)


def _ask(prefix: str | list[str], run: Runner) -> Interpreter | None:
    """Ask an interpreter (a path, or a launcher argv such as ['py', '-3.10']) where and what it is."""
    argv = [prefix] if isinstance(prefix, str) else list(prefix)
    res = run([*argv, "-c", _ASK])
    if not res.ok:
        return None
    for line in reversed(res.stdout.strip().splitlines()):
        try:
            exe, version = json.loads(line)
            return Interpreter(str(exe), str(version))
        except (ValueError, TypeError):
            continue
    return None


def current() -> Interpreter:
    """The interpreter running nktenv, seen through any venv to its base."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return Interpreter(base, "%d.%d.%d" % sys.version_info[:3])


def candidates(minor: str, *, windows: bool | None = None) -> list[list[str]]:
    """The argv prefixes tried, in order, to find Python X.Y (each is asked for sys.executable)."""
    is_windows = sys.platform == "win32" if windows is None else windows
    out: list[list[str]] = []
    if is_windows:
        launcher = shutil.which("py") or "py"
        out.append([launcher, f"-{minor}"])
    else:
        found = shutil.which(f"python{minor}")
        if found:
            out.append([found])
    out += [[str(p)] for p in pyenv_pythons(minor, windows=is_windows)]
    return out


def _patch_key(path: Path) -> tuple[int, ...]:
    digits = re.findall(r"\d+", path.name)
    return tuple(int(d) for d in digits)


def pyenv_pythons(minor: str, *, windows: bool | None = None) -> list[Path]:
    """Interpreters pyenv (or pyenv-win) installed for X.Y, newest patch first.

    pyenv's shims only run the version pyenv has selected, so `pythonX.Y` on PATH can fail while
    the interpreter itself is there.
    """
    is_windows = sys.platform == "win32" if windows is None else windows
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    if is_windows:
        versions = root / "pyenv-win" / "versions" if (root / "pyenv-win").is_dir() else root / "versions"
        exe = "python.exe"
    else:
        versions, exe = root / "versions", f"bin/python{minor}"
    if not versions.is_dir():
        return []
    dirs = [d for d in versions.iterdir() if re.fullmatch(re.escape(minor) + r"\.\d+", d.name)]
    return [d / exe for d in sorted(dirs, key=_patch_key, reverse=True) if (d / exe).exists()]


def find(spec: str | None, *, run: Runner | None = None, uv: str | None = None) -> Interpreter:
    """Resolve `--python`: None (the current interpreter), a path, or X.Y.

    Raises:
        NktenvError: interpreter-not-found (exit 3).
    """
    run = run or _default_runner
    if not spec:
        return current()
    match = _VERSION_RE.match(spec.strip())
    if not match:
        path = Path(spec).expanduser()
        if path.is_dir():  # a venv or an install folder was given: take its interpreter
            for sub in ("Scripts/python.exe", "python.exe", "bin/python3", "bin/python"):
                if (path / sub).exists():
                    path = path / sub
                    break
        found = _ask(str(path), run) if path.exists() else None
        if not found:
            raise NktenvError(
                "interpreter-not-found",
                _("The Python interpreter {path} does not exist or does not run.").format(path=spec),
                hint=_("Give the full path to python (python.exe on Windows) or a version such as 3.11."),
                exit_code=ExitCode.NO_ENVIRONMENT,
            )
        return found
    minor = f"{match.group(1)}.{match.group(2)}"
    here = current()
    if here.minor == minor:
        return here
    for prefix in candidates(minor):
        found = _ask(prefix, run)
        if found and found.minor == minor:
            return found
    if uv:
        res = run([uv, "python", "find", "--no-config", minor])
        if res.ok and res.stdout.strip():
            found = _ask(res.stdout.strip().splitlines()[-1].strip(), run)
            if found and found.minor == minor:
                return found
    raise NktenvError(
        "interpreter-not-found",
        _("Python {version} was not found on this machine.").format(version=minor),
        hint=_windows_hint(minor) if sys.platform == "win32" else _("Install Python {version} (for example with uv python install {version}) or pass --python PATH.").format(version=minor),
        exit_code=ExitCode.NO_ENVIRONMENT,
    )


def _windows_hint(minor: str) -> str:
    return _(
        "Install Python {version} from https://www.python.org/downloads/windows/ (not the Microsoft Store), "
        "then check it with: py -{version} --version"
    ).format(version=minor)
