"""Atomic apply: build the venv in a temporary sibling folder, verify it there, then move it into place.

On any failure or Ctrl-C the sibling is removed and `--venv` is exactly as it was before (absent,
or the old environment untouched). A venv that already matches the spec is left alone.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from nktenv import __version__
from nktenv.errors import ExitCode, NktenvError
from nktenv.fsutil import write_json_atomic
from nktenv.i18n import _
from nktenv.setup import registry
from nktenv.setup.backends import Backend
from nktenv.setup.interpreters import Interpreter
from nktenv.setup.process import ProcResult, child_env
from nktenv.setup.process import run as run_process
from nktenv.setup.spec import InstallSpec, fingerprint
from nktenv.setup.verify import SEEDS, Verification, scan_distributions, verify

RECORD_DIR = ".nktenv"
RECORD_FILE = "record.json"
LOCK_FILE = "lock.json"
RECORD_SCHEMA = "nktenv.setup-record/1"
LOCK_SCHEMA = "nktenv.lock/1"
_TMP_TAG = ".nktenv-tmp-"
_OLD_TAG = ".nktenv-old-"


class Reporter(Protocol):
    """What the progress display receives; the domain never prints."""

    def step(self, name: str, text: str) -> None: ...

    def line(self, text: str) -> None: ...


class _Quiet:
    def step(self, name: str, text: str) -> None:
        pass

    def line(self, text: str) -> None:
        pass


class VerificationFailed(NktenvError):
    """The environment was built but did not pass verification; it was not moved into place."""

    def __init__(self, verification: Verification, log_path: Path) -> None:
        lines = "; ".join(c.detail for c in verification.failures)
        super().__init__(
            "verification-failed",
            _("The new environment failed verification and was not kept: {details}").format(details=lines),
            hint=_("The full log is {path}").format(path=log_path),
            exit_code=ExitCode.FINDINGS,
        )
        self.verification = verification
        self.log_path = log_path


@dataclass(frozen=True)
class SetupRequest:
    venv: Path
    interpreter: Interpreter
    spec: InstallSpec
    backend: Backend
    force: bool = False
    facts: Mapping[str, Any] | None = None
    plan: Mapping[str, Any] | None = None
    origin: str = "plan"  # plan | lock
    install_timeout_s: float = 3 * 3600.0  # a slow mirror with torch+CUDA wheels takes long; never forever
    venv_timeout_s: float = 300.0


@dataclass
class SetupResult:
    status: str  # created | replaced | unchanged
    venv: str
    python: str
    installer: str
    fingerprint: str
    commands: list[list[str]] = field(default_factory=list)
    distributions: dict[str, str] = field(default_factory=dict)
    verification: Verification | None = None
    log_path: str | None = None
    record_path: str | None = None
    cuda_libs: dict[str, Any] | None = None
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "venv": self.venv,
            "python": self.python,
            "installer": self.installer,
            "fingerprint": self.fingerprint,
            "commands": self.commands,
            "distributions": self.distributions,
            "verification": self.verification.to_dict() if self.verification else None,
            "log": self.log_path,
            "record": self.record_path,
            "cuda_libs": self.cuda_libs,
            "steps": {k: round(v, 3) for k, v in self.steps.items()},
            "duration_s": round(self.duration_s, 3),
        }


# --- the target folder ------------------------------------------------------------------------


def venv_state(venv: Path) -> str:
    """absent | empty | ours (has an nktenv record) | foreign (anything else non-empty)."""
    if not venv.exists():
        return "absent"
    if not venv.is_dir():
        return "foreign"
    if (venv / RECORD_DIR / RECORD_FILE).is_file():
        return "ours"
    return "empty" if not any(venv.iterdir()) else "foreign"


def load_record(venv: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((venv / RECORD_DIR / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == RECORD_SCHEMA else None


def up_to_date(venv: Path, fp: str) -> tuple[bool, str]:
    """Is the env at `venv` built from these inputs, verified, and still holding what it recorded?"""
    record = load_record(venv)
    if record is None:
        return False, "no record"
    if record.get("fingerprint") != fp:
        return False, "different plan"
    if not (record.get("verification") or {}).get("ok"):
        return False, "not verified"
    if not _interpreter_present(venv):
        return False, "interpreter does not run"
    now = scan_distributions(venv)
    if now is None or now != record.get("distributions"):
        return False, "installed distributions changed"
    return True, "up to date"


def _interpreter_present(venv: Path) -> bool:
    """The venv's python and the base interpreter it points to (pyvenv.cfg `home`) both exist."""
    if not registry.venv_python(venv).exists():
        return False
    try:
        cfg = (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in cfg.splitlines():
        key, _sep, value = line.partition("=")
        if key.strip() == "home":
            return Path(value.strip()).is_dir()
    return False


def check_target(venv: Path) -> str:
    """Refuse a non-empty folder nktenv did not make.

    Raises:
        NktenvError: venv-not-ours (exit 2).
    """
    state = venv_state(venv)
    if state == "foreign":
        raise NktenvError(
            "venv-not-ours",
            _("{path} exists and was not made by nktenv; refusing to replace it.").format(path=venv),
            hint=_("Choose another --venv folder, or move that folder away yourself."),
            exit_code=ExitCode.USAGE,
        )
    return state


def _pid_alive(pid: int) -> bool:
    try:
        import psutil

        return bool(psutil.pid_exists(pid))
    except Exception:
        return True  # when unsure, keep it


def clean_stale(venv: Path) -> list[Path]:
    """Remove sibling folders left by an nktenv that was killed outright (its pid is gone)."""
    removed: list[Path] = []
    parent = venv.parent
    if not parent.is_dir():
        return removed
    for tag in (_TMP_TAG, _OLD_TAG):
        for p in parent.glob(f".{venv.name}{tag}*"):
            m = re.search(re.escape(tag) + r"(\d+)-", p.name)
            if m and not _pid_alive(int(m.group(1))):
                _rmtree(p)
                removed.append(p)
    return removed


def _rmtree(path: Path) -> None:
    def onerror(func: Callable[..., Any], p: str, _exc: Any) -> None:
        try:
            os.chmod(p, stat.S_IWRITE)  # read-only files on Windows
            func(p)
        except OSError:
            pass

    for attempt in range(5):  # Windows keeps files locked briefly after a killed child exits
        if not path.exists() and not path.is_symlink():
            return
        try:
            if path.is_symlink() or path.is_file():
                path.unlink()
            else:
                if sys.version_info >= (3, 12):
                    shutil.rmtree(path, onexc=onerror)
                else:
                    shutil.rmtree(path, onerror=onerror)
        except OSError:
            pass
        if not path.exists():
            return
        time.sleep(0.2 * (attempt + 1))


# --- relocation -------------------------------------------------------------------------------


def relocate(staging: Path, target: Path) -> int:
    """Rewrite the staging path to the final path in scripts, launchers and pyvenv.cfg.

    `python -m venv` and pip write absolute paths into activate scripts and console-script
    shebangs (also inside Windows .exe launchers, where the shebang sits before the zip; changing
    its length is safe because the launcher finds the archive from its end). Returns files changed.
    """
    pairs = [(str(staging).encode("utf-8"), str(target).encode("utf-8"))]
    if sys.platform == "win32":
        try:
            pairs.append((str(staging).encode("mbcs"), str(target).encode("mbcs")))
        except (LookupError, UnicodeEncodeError):
            pass
    files = [staging / "pyvenv.cfg"]
    for sub in ("bin", "Scripts"):
        d = staging / sub
        if d.is_dir():
            files += [p for p in d.iterdir() if p.is_file() and not p.is_symlink()]
    changed = 0
    for f in files:
        try:
            if f.stat().st_size > 20_000_000:
                continue
            data = f.read_bytes()
        except OSError:
            continue
        new = data
        for old, repl in pairs:
            new = new.replace(old, repl)
        if new != data:
            mode = f.stat().st_mode
            f.write_bytes(new)
            os.chmod(f, mode)
            changed += 1
    return changed


# --- failures ---------------------------------------------------------------------------------

_DISK_FULL = re.compile(r"No space left on device|\[Errno 28\]|ENOSPC|not enough space on the disk|os error 112", re.I)
_NETWORK = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|Connection refused|ConnectionError|Max retries exceeded|getaddrinfo failed|"
    r"dns error|tcp connect error|error sending request|Could not connect|connection timed out|"
    r"Failed to fetch:|ProxyError|SSLError|certificate verify failed|Read timed out|NameResolutionError|"
    r"Could not fetch URL|No such host is known|are you offline",
    re.I,
)
_UNRESOLVABLE = re.compile(
    r"No matching distribution found|Could not find a version that satisfies|No solution found|"
    r"not found in the package registry|was not found in the provided package locations|"
    r"(is|are) unsatisfiable|Because there is no version of",
    re.I,
)


def _missing_parents(target: Path) -> list[Path]:
    """The folders above `target` that do not exist yet, deepest first."""
    out: list[Path] = []
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        out.append(parent)
        parent = parent.parent
    return out


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first; stop at the first one something else now uses
        try:
            folder.rmdir()
        except OSError:
            return


def classify_failure(step: str, result: ProcResult, log_path: Path, indexes: tuple[str, ...] = ()) -> NktenvError:
    """Turn a failed installer run into one clear error (pure over the output tail).

    `indexes` are the index URLs the installer was given: the host to name when its output names none.
    """
    tail = result.stdout
    hint = _("The full log is {path}").format(path=log_path)
    last = next((ln.strip() for ln in reversed(tail.splitlines()) if ln.strip() and not ln.startswith("[")), "")
    if result.not_found:
        return NktenvError(
            "installer-not-found",
            _("Could not start {command}: {reason}").format(command=result.argv[0] if result.argv else step, reason=tail.strip()),
            hint=hint, exit_code=ExitCode.INSTALL_FAILED,
        )
    if result.timed_out:
        return NktenvError(
            "install-timeout", _("The {step} step did not finish in time and was stopped.").format(step=step),
            hint=hint, exit_code=ExitCode.INSTALL_FAILED,
        )
    if _DISK_FULL.search(tail):
        return NktenvError(
            "disk-full", _("The disk filled up during the {step} step; nothing was left behind.").format(step=step),
            hint=_("Free some space (torch with CUDA needs about 10 GB) and run the command again. The full log is {path}").format(path=log_path),
            exit_code=ExitCode.INSTALL_FAILED,
        )
    if _UNRESOLVABLE.search(tail) and not _NETWORK.search(tail):
        return NktenvError(
            "not-installable",
            _("The installer found no matching package: {line}").format(line=last),
            hint=_("Check the version and variant with nktenv plan, or the --index-url/--find-links you gave. The full log is {path}").format(path=log_path),
            exit_code=ExitCode.INSTALL_FAILED,
        )
    if _NETWORK.search(tail):
        from nktenv.setup.offline import unreachable_hosts
        from nktenv.wording import join_alternatives

        hosts = unreachable_hosts(tail, indexes)
        error = NktenvError(
            "no-network",
            _("Could not reach {host}; nothing was installed.").format(host=join_alternatives(hosts)) if hosts else
            _("The package index could not be reached; nothing was installed."),
            hint=_("Check the network or proxy, or use a local wheel folder with --find-links. The full log is {path}").format(path=log_path),
            exit_code=ExitCode.NETWORK,
        )
        error.hosts = hosts  # type: ignore[attr-defined]  # for the caller's offline advice
        return error
    return NktenvError(
        "install-failed",
        _("The {step} step failed (exit code {code}): {line}").format(step=step, code=result.returncode, line=last),
        hint=hint, exit_code=ExitCode.INSTALL_FAILED,
    )


# --- the record -------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def lock_document(spec: InstallSpec, interpreter: Interpreter, distributions: Mapping[str, str]) -> dict[str, Any]:
    """A replayable lock: every installed distribution pinned, plus where they came from."""
    pinned = [f"{name}=={version}" for name, version in sorted(distributions.items()) if name not in SEEDS]
    return {
        "schema": LOCK_SCHEMA,
        "python": interpreter.version,
        "python_executable": interpreter.path,
        "index_url": spec.index_url,
        "extra_index_urls": list(spec.extra_index_urls),
        "find_links": list(spec.find_links),
        "no_index": spec.no_index,
        "frameworks": list(spec.frameworks),
        "gpu": spec.gpu,
        "and_cuda": spec.and_cuda,
        "versions": dict(spec.versions),
        "requirements": pinned,
    }


def spec_from_lock(data: Mapping[str, Any]) -> tuple[InstallSpec, str | None]:
    """Read a lock (or a whole record) back into a spec and the Python version it was made with.

    Raises:
        NktenvError: bad-lock (exit 5).
    """
    if data.get("schema") == RECORD_SCHEMA and isinstance(data.get("lock"), Mapping):
        data = data["lock"]
    if data.get("schema") != LOCK_SCHEMA or not isinstance(data.get("requirements"), list):
        raise NktenvError(
            "bad-lock",
            _("This is not an nktenv lock file (expected {schema}).").format(schema=LOCK_SCHEMA),
            exit_code=ExitCode.BAD_DATA,
        )
    spec = InstallSpec.from_dict(dict(data))
    return spec, data.get("python")


def load_lock_file(path: Path) -> tuple[InstallSpec, str | None]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise NktenvError("lock-not-found", _("Lock file not found: {path}").format(path=path), exit_code=ExitCode.BAD_DATA) from None
    except (OSError, ValueError) as exc:
        raise NktenvError("bad-lock", _("Cannot read lock file {path}: {reason}").format(path=path, reason=exc),
                          exit_code=ExitCode.BAD_DATA) from None
    if not isinstance(data, dict):
        raise NktenvError("bad-lock", _("Cannot read lock file {path}: {reason}").format(path=path, reason="not an object"),
                          exit_code=ExitCode.BAD_DATA)
    return spec_from_lock(data)


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, doc)


# --- apply ------------------------------------------------------------------------------------


def planned_commands(req: SetupRequest) -> list[list[str]]:
    """The installer commands setup runs, written for the final folder (for --dry-run and the record)."""
    b = req.backend
    py = registry.venv_python(req.venv)
    return [b.create_venv(req.interpreter.path, req.venv), b.install(py, req.spec)]


def new_log_path(venv: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^\w.-]+", "_", venv.name) or "venv"
    return registry.data_dir() / "logs" / f"setup-{stamp}-{safe}-{os.getpid()}.log"


def _site_packages(venv: Path) -> Path | None:
    hits = sorted(venv.glob("lib/python*/site-packages"))
    return hits[0] if hits else None


def apply(
    req: SetupRequest,
    *,
    reporter: Reporter | None = None,
    log_path: Path | None = None,
    verifier: Callable[[Path, InstallSpec], Verification] | None = None,
) -> SetupResult:
    """Make `req.venv` match `req.spec`, atomically. See the module docstring.

    Raises:
        NktenvError: bad target, install failure (exit 4), verification failure (exit 1).
        KeyboardInterrupt: after cleaning up.
    """
    started = time.monotonic()
    rep = reporter or _Quiet()
    target = Path(os.path.abspath(req.venv))
    state = check_target(target)
    fp = fingerprint(req.spec, req.interpreter.version)
    py_final = registry.venv_python(target)
    if state == "ours" and not req.force:
        rep.step("check", _("Checking the existing environment"))
        ok, _reason = up_to_date(target, fp)
        if ok:
            record = load_record(target) or {}
            _remember(req, target, str((record.get("installer") or {}).get("name") or req.backend.name))
            return SetupResult(
                status="unchanged", venv=str(target), python=str(py_final),
                installer=str((record.get("installer") or {}).get("name") or req.backend.name), fingerprint=fp,
                commands=list(record.get("commands") or []), distributions=dict(record.get("distributions") or {}),
                verification=None, log_path=None, record_path=str(target / RECORD_DIR / RECORD_FILE),
                duration_s=time.monotonic() - started,
            )

    made = _missing_parents(target)  # removed again if the setup fails: nothing half-done is left
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    staging = target.parent / f".{target.name}{_TMP_TAG}{os.getpid()}-{secrets.token_hex(3)}"
    log_path = log_path or new_log_path(target)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    py_stage = registry.venv_python(staging)
    env = child_env()
    commands: list[list[str]] = []
    timings: dict[str, float] = {}
    old: Path | None = None
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            log.write(f"nktenv {__version__} setup {target} ({_now()})\n")
            steps = (
                ("venv", _("Creating the virtual environment with Python {version}").format(version=req.interpreter.version),
                 req.backend.create_venv(req.interpreter.path, staging), req.venv_timeout_s),
                ("install", _("Installing {count} requirement(s) with {installer}").format(
                    count=len(req.spec.requirements), installer=req.backend.name),
                 req.backend.install(py_stage, req.spec), req.install_timeout_s),
            )
            for name, text, argv, timeout in steps:
                if name == "install" and not req.spec.requirements:
                    continue
                rep.step(name, text)
                t0 = time.monotonic()
                result = run_process(argv, timeout=timeout, env=env, log=log, on_line=rep.line)
                timings[name] = time.monotonic() - t0
                commands.append([a.replace(str(staging), str(target)) for a in argv])
                if not result.ok:
                    indexes = () if req.spec.no_index else tuple(u for u in (req.spec.index_url, *req.spec.extra_index_urls) if u)
                    raise classify_failure(name, result, log_path, indexes)
            cuda_libs = None
            if req.spec.and_cuda and sys.platform.startswith("linux"):
                site = _site_packages(staging)
                if site is not None:
                    cuda_libs = __import__("nktenv.setup.cudalibs", fromlist=["apply"]).apply(staging, site)
            rep.step("verify", _("Verifying the new environment"))
            t0 = time.monotonic()
            distributions = scan_distributions(staging) or {}
            verification = (verifier or verify)(py_stage, req.spec)
            timings["verify"] = time.monotonic() - t0
            log.write(json.dumps({"verification": verification.to_dict()}, ensure_ascii=False) + "\n")
            if not verification.ok:
                raise VerificationFailed(verification, log_path)
            rep.step("finish", _("Moving the environment into place"))
            interpreter_doc = {"path": req.interpreter.path, "version": req.interpreter.version}
            record = {
                "schema": RECORD_SCHEMA,
                "created_at": _now(),
                "nktenv_version": __version__,
                "venv": str(target),
                "origin": req.origin,
                "interpreter": interpreter_doc,
                "installer": {"name": req.backend.name, "version": req.backend.version()},
                "fingerprint": fp,
                "spec": req.spec.to_dict(),
                "commands": commands,
                "built_in": "a temporary sibling folder, moved into place after verification",
                "distributions": distributions,
                "lock": lock_document(req.spec, req.interpreter, distributions),
                "verification": verification.to_dict(),
                "probe": verification.probe,
                "cuda_libs": cuda_libs,
                "facts": dict(req.facts) if req.facts else None,
                "plan": dict(req.plan) if req.plan else None,
                "log": str(log_path),
                "steps": {k: round(v, 3) for k, v in timings.items()},
            }
            _write_json(staging / RECORD_DIR / RECORD_FILE, record)
            _write_json(staging / RECORD_DIR / LOCK_FILE, record["lock"])
            relocate(staging, target)
            status = "created"
            if target.exists():
                old = target.parent / f".{target.name}{_OLD_TAG}{os.getpid()}-{secrets.token_hex(3)}"
                os.replace(target, old)
                status = "replaced"
            try:
                os.replace(staging, target)
            except BaseException:
                if old is not None:
                    os.replace(old, target)  # put the old environment back exactly as it was
                    old = None
                raise
            log.write(f"[{status} {target}]\n")
    except OSError as exc:
        _rmtree(staging)
        _remove_empty(made)
        if exc.errno == errno.ENOSPC:
            raise NktenvError(
                "disk-full", _("The disk filled up; nothing was left behind."),
                hint=_("Free some space and run the command again."), exit_code=ExitCode.INSTALL_FAILED,
            ) from None
        raise NktenvError(
            "setup-failed", _("Setting up {path} failed: {reason}").format(path=target, reason=exc),
            hint=_("The full log is {path}").format(path=log_path), exit_code=ExitCode.INSTALL_FAILED,
        ) from None
    except BaseException:
        _rmtree(staging)
        _remove_empty(made)
        raise
    if old is not None:
        _rmtree(old)
    _remember(req, target, req.backend.name)
    return SetupResult(
        status=status, venv=str(target), python=str(py_final), installer=req.backend.name, fingerprint=fp,
        commands=commands, distributions=distributions, verification=verification, log_path=str(log_path),
        record_path=str(target / RECORD_DIR / RECORD_FILE), cuda_libs=cuda_libs, steps=timings,
        duration_s=time.monotonic() - started,
    )


def _remember(req: SetupRequest, target: Path, installer: str) -> None:
    """Make this environment the most recent one (what doctor and bench default to)."""
    registry.remember(
        registry.Environment(
            path=str(target), python=str(registry.venv_python(target)), python_version=req.interpreter.version,
            torch=req.spec.versions.get("torch"), tensorflow=req.spec.versions.get("tensorflow"),
            variant=_variant(req.plan), installer=installer, verified=True,
        )
    )


def _variant(plan: Mapping[str, Any] | None) -> str | None:
    for name in ("torch", "tensorflow"):
        fw = (plan or {}).get(name)
        if isinstance(fw, Mapping) and fw.get("variant"):
            return str(fw["variant"])
    return None

