"""Verification inside the new venv: the installed distributions match the spec, and each framework
passes the `checks/probe.py` check (import, build info, cuda_available, a real matmul + convolution
on the GPU compared with the CPU) under a timeout."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, Callable, Mapping

from nktenv.i18n import _
from nktenv.setup.process import capture, child_env
from nktenv.setup.spec import InstallSpec, canonicalize_name, requirement_name

PROBE_TIMEOUT_S = 600.0
_LIST = (
    "import json, importlib.metadata as m\n"
    "print(json.dumps(sorted({(d.metadata['Name'] or '', d.version) for d in m.distributions() if d.metadata['Name']})))"
)
# Installed beside a framework and broken when built for another build of it; checked by checks/companions.py.
COMPANIONS = ("torchvision", "torchaudio")
# The venv seeds: not part of what was asked for, left out of the lock.
SEEDS = frozenset({"pip", "setuptools", "wheel"})


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Verification:
    ok: bool
    checks: tuple[Check, ...]
    probe: Mapping[str, Any] | None = None  # the probe's JSON document, verbatim
    frameworks: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
            "frameworks": dict(self.frameworks),
        }

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def site_packages_dirs(venv: Path) -> list[Path]:
    """The venv's site-packages folder(s): Lib/site-packages on Windows, lib/pythonX.Y/site-packages elsewhere."""
    found = [venv / "Lib" / "site-packages"] + sorted(venv.glob("lib/python*/site-packages"))
    return [d for d in found if d.is_dir()]


def scan_distributions(venv: Path) -> dict[str, str] | None:
    """{canonical name: version} read from the dist-info folders on disk, without starting Python.

    None when the venv has no site-packages. Used for the record and the no-op check alike, so a
    second run compares like with like in milliseconds.
    """
    dirs = site_packages_dirs(venv)
    if not dirs:
        return None
    out: dict[str, str] = {}
    for d in dirs:
        for info in list(d.glob("*.dist-info")) + list(d.glob("*.egg-info")):
            meta = info / ("METADATA" if info.suffix == ".dist-info" else "PKG-INFO")
            name = version = None
            try:
                with open(meta, encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        if not line.strip():
                            break  # end of the headers
                        key, _sep, value = line.partition(":")
                        if key == "Name" and name is None:
                            name = value.strip()
                        elif key == "Version" and version is None:
                            version = value.strip()
            except OSError:
                continue
            if name and version:
                out[canonicalize_name(name)] = version
    return out


def installed_distributions(venv_python: Path, *, timeout: float = 60) -> dict[str, str]:
    """{canonical name: version} of everything installed, as the venv's own interpreter sees it."""
    res = capture([str(venv_python), "-I", "-c", _LIST], timeout=timeout, env=child_env(PYTHONDONTWRITEBYTECODE="1"))
    if not res.ok:
        raise RuntimeError(res.stdout.strip()[-500:] or "cannot list installed distributions")
    pairs = json.loads(res.stdout.strip().splitlines()[-1])
    return {canonicalize_name(name): version for name, version in pairs}


def requirement_problems(requirements: tuple[str, ...], installed: Mapping[str, str]) -> list[str]:
    """Requirements the installed set does not satisfy, as readable lines (pure)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    problems: list[str] = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            problems.append(_("{requirement}: not a valid requirement").format(requirement=text))
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        have = installed.get(canonicalize_name(req.name))
        if have is None:
            problems.append(_("{name} is not installed").format(name=req.name))
            continue
        try:
            ok = req.specifier.contains(Version(have), prereleases=True)
        except InvalidVersion:
            ok = False
        if not ok:
            problems.append(
                _("{name} {version} is installed but {requirement} was asked for").format(
                    name=req.name, version=have, requirement=text
                )
            )
    return problems


def probe_script() -> Any:
    """checks/probe.py as shipped (a Traversable), or None when this build has none."""
    candidate = files("nktenv.checks").joinpath("probe.py")
    return candidate if candidate.is_file() else None


def run_probe(venv_python: Path, framework: str, *, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any] | None:
    """Run `checks/probe.py <framework>` inside the venv; its `result` record (None: not installed).

    Failures to run become a record with `error`, so they are judged like any other failure.
    """
    script = probe_script()
    if script is None:
        return {"error": "checks/probe.py is not available in this nktenv build"}
    with as_file(script) as path:
        res = capture([str(venv_python), str(path), framework], timeout=timeout, env=child_env())
    if res.timed_out:
        return {"error": f"the {framework} check did not finish within {timeout:.0f} s"}
    for line in reversed(res.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                break
            result = doc.get("result") if isinstance(doc, dict) else None
            return dict(result) if isinstance(result, Mapping) else None
    return {"error": f"the {framework} check printed no JSON (exit {res.returncode}): {res.stdout.strip()[-400:]}"}


def run_companions(venv_python: Path, names: tuple[str, ...], *, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """Run `checks/companions.py` in the venv: {name: {"version", "error"}} for each companion."""
    script = files("nktenv.checks").joinpath("companions.py")
    with as_file(script) as path:
        res = capture([str(venv_python), str(path), *names], timeout=timeout, env=child_env())
    if res.timed_out:
        return {n: {"version": None, "error": f"the companion check did not finish within {timeout:.0f} s"} for n in names}
    for line in reversed(res.stdout.strip().splitlines()):
        if line.strip().startswith("{"):
            try:
                results = json.loads(line).get("results")
            except (ValueError, AttributeError):
                break
            if isinstance(results, dict):
                return results
    tail = res.stdout.strip()[-400:]
    return {n: {"version": None, "error": f"the companion check printed no JSON (exit {res.returncode}): {tail}"} for n in names}


def companions(spec: InstallSpec) -> tuple[str, ...]:
    """The companion packages the spec installs beside its frameworks (pure)."""
    names: list[str] = []
    for text in spec.requirements:
        name = requirement_name(text)
        if name in COMPANIONS and name not in names:
            names.append(name)
    return tuple(names)


def judge_companion(name: str, entry: Mapping[str, Any] | None) -> Check:
    """Pass/fail for one companion package from its check record (pure)."""
    if entry and entry.get("version") and not entry.get("error"):
        return Check(name, True, _("{name} {version} imports and runs its compiled operators").format(
            name=name, version=entry["version"]))
    error = (entry or {}).get("error") or _("no result")
    return Check(name, False, _("{name} does not work beside the installed framework: {error}").format(name=name, error=error))


def judge_framework(name: str, entry: Mapping[str, Any] | None, *, gpu: bool) -> Check:
    """Pass/fail for one framework from its probe record (pure)."""
    if not entry:
        return Check(name, False, _("{name} is not installed in the new environment").format(name=name))
    if entry.get("error") or not entry.get("version"):
        return Check(name, False, str(entry.get("error") or _("{name} does not import").format(name=name)))
    if gpu:
        if not entry.get("cuda_available"):
            return Check(name, False, _("{name} {version} imports but sees no GPU").format(name=name, version=entry["version"]))
        if entry.get("kernel_ok") is not True:
            return Check(name, False, _("{name} {version} sees the GPU but its matmul/convolution check failed: {error}").format(
                name=name, version=entry["version"], error=entry.get("kernel_error") or "?"))
        return Check(name, True, _("{name} {version}: GPU kernels match the CPU").format(name=name, version=entry["version"]))
    if entry.get("kernel_ok") is False:
        return Check(name, False, _("{name} {version}: the matmul/convolution check failed").format(name=name, version=entry["version"]))
    return Check(name, True, _("{name} {version} imports and runs").format(name=name, version=entry["version"]))


def verify(
    venv_python: Path,
    spec: InstallSpec,
    *,
    installed: Mapping[str, str] | None = None,
    probe: Callable[[Path, str], dict[str, Any] | None] | None = None,
    companion_check: Callable[[Path, tuple[str, ...]], dict[str, Any]] | None = None,
) -> Verification:
    """Check the venv against the spec; run the framework check for each framework the spec names."""
    checks: list[Check] = []
    if installed is None:
        installed = installed_distributions(venv_python)
    problems = requirement_problems(spec.requirements, installed)
    checks.append(Check("requirements", not problems, "; ".join(problems) or _("all requirements are installed")))
    entries: dict[str, Any] = {}
    for name in spec.frameworks:
        entry = (probe or run_probe)(venv_python, name)
        entries[name] = entry
        checks.append(judge_framework(name, entry, gpu=spec.gpu))
    wanted = companions(spec)
    if wanted:
        results = (companion_check or run_companions)(venv_python, wanted)
        checks.extend(judge_companion(name, results.get(name)) for name in wanted)
    return Verification(all(c.ok for c in checks), tuple(checks), dict(entries) if entries else None, entries)
