"""One folder of wheels for a whole lab: the union of every machine's plan, fetched once.

Planning stays pure (facts + manifests -> plan -> InstallSpec); fetching is pip's own
`pip download --platform/--python-version`, one run per (machine, Python) target, into one folder.
The manifest (`nktenv-wheelhouse.json`) says which target needs which file, with sizes and sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import unquote, urljoin, urlparse

from nktenv.errors import ExitCode, NktenvError
from nktenv.i18n import _

MANIFEST = "nktenv-wheelhouse.json"
SCHEMA = "nktenv.wheelhouse/1"
PYPI = "https://pypi.org/simple"
DOWNLOAD_TIMEOUT_S = 3 * 3600.0  # one target's wheels over a slow campus link; never forever
_CHUNK = 1 << 20


# --- which wheels: targets from facts --------------------------------------------------------


def wheel_platforms(platform: str, glibc: str | None = None) -> tuple[str, ...]:
    """pip `--platform` tags for a planner platform. pip widens macosx_X and manylinux2014 to older tags
    itself, but not manylinux_2_X, so every glibc from the machine's down to 2.17 is listed."""
    system, _sep, arch = platform.partition("-")
    if system == "windows":
        return ("win_amd64",) if arch == "x86_64" else (f"win_{arch}",)
    if system == "macos":
        return (f"macosx_14_0_{arch}",)
    minor = 28  # torch's and TensorFlow's Linux wheels need glibc 2.28 or newer; unknown glibc assumes that
    if glibc and re.fullmatch(r"2\.\d+", glibc):
        minor = int(glibc.split(".")[1])
    tags = [f"manylinux_2_{m}_{arch}" for m in range(max(minor, 17), 16, -1)]
    # manylinux2014 expands (in pip) to the legacy aliases; download.pytorch.org named older wheels linux_<arch>
    return (*tags, f"manylinux2014_{arch}", f"linux_{arch}")


@dataclass(frozen=True)
class Target:
    """One environment some machine will install: its plan's requirements, for one Python and platform."""

    machine: str
    python: str  # X.Y
    platform: str  # linux-x86_64, windows-x86_64 ...
    requirements: tuple[str, ...]
    index_url: str | None
    extra_index_urls: tuple[str, ...] = ()
    wheel_platforms: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    variant: str | None = None

    @property
    def key(self) -> str:
        """Same key = same plan on the same Python and platform: the same files."""
        return plan_key(self.requirements, self.index_url, self.extra_index_urls, self.python, self.platform)

    @property
    def label(self) -> str:
        return _("{machine}, Python {python}, {platform}").format(machine=self.machine, python=self.python, platform=self.platform)

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "python": self.python, "platform": self.platform,
                "requirements": list(self.requirements), "index_url": self.index_url,
                "extra_index_urls": list(self.extra_index_urls), "wheel_platforms": list(self.wheel_platforms),
                "versions": dict(self.versions), "variant": self.variant, "key": self.key}


def plan_key(requirements: Iterable[str], index_url: str | None, extra: Iterable[str], python: str, platform: str) -> str:
    doc = {"requirements": sorted(requirements), "index_url": index_url or PYPI, "extra": list(extra),
           "python": python, "platform": platform}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def load_facts_docs(paths: Sequence[Path]) -> list[tuple[str, Any]]:
    """(name, Facts) for every --facts FILE or every *.json in a FOLDER (doctor --json envelopes too)."""
    from nktenv.facts import from_dict, load_file

    out: list[tuple[str, Any]] = []
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise NktenvError("no-facts", _("{path} holds no facts snapshots (*.json).").format(path=p),
                                  exit_code=ExitCode.BAD_DATA)
            files.extend(found)
        else:
            files.append(p)
    names: set[str] = set()
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("facts"), dict):  # a `doctor --json` result
            facts = from_dict(data["facts"], origin=str(f))
        else:
            facts = load_file(str(f))  # its own clear error for a missing or broken file
        name = hostname(facts) or f.stem
        if name in names:
            name = f"{name} ({f.stem})"
        names.add(name)
        out.append((name, facts))
    return out


def hostname(facts: Any) -> str | None:
    host = getattr(facts, "host", None)
    value = host.get("hostname") if isinstance(host, dict) else getattr(host, "hostname", None)
    return value if isinstance(value, str) and value.strip() else None


def targets_for(machines: Sequence[tuple[str, Any]], manifests: Any, *, torch: str, tensorflow: str,
                pythons: Sequence[str] = ()) -> tuple[list[Target], list[str]]:
    """Plan every machine for every Python; returns (targets, problems as one line each)."""
    from nktenv.plan import PlanRequest, machine as plan_machine, make_plan
    from nktenv.setup.spec import spec_from_plan

    targets: list[Target] = []
    problems: list[str] = []
    for name, facts in machines:
        for py in pythons or (None,):
            request = PlanRequest(torch=torch, tensorflow=tensorflow, python=py, cpu_fallback=True)
            plan = make_plan(facts, manifests, request)
            m = plan_machine(facts, request)
            if not plan.ok or not plan.python:
                first = next((f.title for f in plan.findings if f.severity == "error"), None)
                problems.append(_("{machine}: no plan for Python {python} ({reason})").format(
                    machine=name, python=py or plan.python or "?", reason=first or _("unknown Python")))
                continue
            plans = [plan]
            if plan.separate_venvs and plan.torch is not None and plan.tensorflow is not None:
                # setup makes two environments here, so the wheelhouse holds both, resolved apart
                plans = [make_plan(facts, manifests, PlanRequest(torch=torch, tensorflow="none", python=py)),
                         make_plan(facts, manifests, PlanRequest(torch="none", tensorflow=tensorflow, python=py))]
            for p in plans:
                spec = spec_from_plan(p)
                if not spec.requirements or not p.ok:
                    continue
                variant = "+".join(v for v in (getattr(p.torch, "variant", None), getattr(p.tensorflow, "variant", None)) if v)
                targets.append(Target(name, p.python or plan.python, m.platform, spec.requirements, spec.index_url,
                                      spec.extra_index_urls, wheel_platforms(m.platform, m.glibc),
                                      dict(spec.versions), variant or None))
    return targets, problems


# --- the manifest ----------------------------------------------------------------------------


def manifest_path(folder: Path) -> Path:
    return folder / MANIFEST


def read_manifest(folder: Path) -> dict[str, Any]:
    path = manifest_path(folder)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"schema": SCHEMA, "targets": [], "files": {}}
    except (OSError, ValueError) as exc:
        raise NktenvError("wheelhouse-manifest-unreadable", _("cannot read {path}: {error}").format(path=path, error=exc),
                          exit_code=ExitCode.BAD_DATA) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise NktenvError("wheelhouse-manifest-unreadable", _("{path} is not a nktenv wheelhouse manifest.").format(path=path),
                          exit_code=ExitCode.BAD_DATA)
    doc.setdefault("targets", [])
    doc.setdefault("files", {})
    return doc


def write_manifest(folder: Path, doc: dict[str, Any]) -> None:
    """Atomic: an interruption leaves the previous manifest, never half of one."""
    path = manifest_path(folder)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _zip_ok(path: Path) -> bool:
    """A truncated download has no central directory at its end; reading it is cheap even for 3 GB."""
    try:
        with zipfile.ZipFile(path) as zf:
            return bool(zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def verify_folder(folder: Path, doc: dict[str, Any]) -> tuple[set[str], list[str]]:
    """Check every wheel already in the folder; delete the corrupt ones so pip fetches them again.

    Returns (file names known good, names removed)."""
    good: set[str] = set()
    removed: list[str] = []
    files = doc.get("files", {})
    for path in sorted(folder.glob("*.whl")):
        entry = files.get(path.name)
        if entry is not None:
            ok = path.stat().st_size == entry.get("size") and sha256_file(path) == entry.get("sha256")
        else:
            ok = _zip_ok(path)  # left by an interrupted run before it was recorded
        if ok:
            good.add(path.name)
        else:
            path.unlink()
            files.pop(path.name, None)
            removed.append(path.name)
    return good, removed


# --- fetching --------------------------------------------------------------------------------


def rewrite(url: str | None, mirrors: Sequence[tuple[str, str]]) -> str | None:
    """Apply the first matching `--mirror FROM=TO` prefix (a lab mirror of download.pytorch.org or PyPI)."""
    if url is None:
        return None
    for src, dst in mirrors:
        if url.rstrip("/") == src.rstrip("/") or url.startswith(src.rstrip("/") + "/"):
            return dst.rstrip("/") + url[len(src.rstrip("/")):]
    return url


def _indexes(target: Target, mirrors: Sequence[tuple[str, str]]) -> list[str]:
    argv = ["--index-url", rewrite(target.index_url or PYPI, mirrors) or PYPI]
    for url in target.extra_index_urls:
        argv += ["--extra-index-url", rewrite(url, mirrors) or url]
    return argv


def download_argv(target: Target, dest: Path, mirrors: Sequence[tuple[str, str]] = (), python: str | None = None,
                  pins: Sequence[str] | None = None) -> list[str]:
    """pip's own tag matching for another machine's Python and platform; wheels only. With `pins` (uv's
    resolution for that machine) exactly those files, else pip's resolver on the plan's requirements."""
    argv = [python or sys.executable, "-m", "pip", "download", "--dest", str(dest), "--only-binary=:all:",
            "--implementation", "cp", "--python-version", target.python,
            "--progress-bar", "off", "--no-input", "--disable-pip-version-check"]
    for tag in target.wheel_platforms:
        argv += ["--platform", tag]
    argv += _indexes(target, mirrors)
    if pins is not None:
        return argv + ["--no-deps", *pins]
    return argv + list(target.requirements)


# uv's --python-platform names the manylinux levels it knows; pick the newest the machine's glibc allows.
_UV_MANYLINUX = (40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 28, 17)


def uv_platform(target: Target) -> str | None:
    system, _sep, arch = target.platform.partition("-")
    if system == "windows":
        return {"x86_64": "x86_64-pc-windows-msvc", "aarch64": "aarch64-pc-windows-msvc"}.get(arch)
    if system == "macos":
        return {"x86_64": "x86_64-apple-darwin", "arm64": "aarch64-apple-darwin"}.get(arch)
    if arch not in ("x86_64", "aarch64"):
        return None
    best = max((int(t.split("_")[2]) for t in target.wheel_platforms if t.startswith("manylinux_2_")), default=28)
    level = next((m for m in _UV_MANYLINUX if m <= best), 17)
    return f"{arch}-manylinux_2_{level}"


def uv_compile_argv(uv: str, target: Target, requirements_file: Path, mirrors: Sequence[tuple[str, str]] = ()) -> list[str] | None:
    """uv's resolver for the target machine: environment markers (platform_system, python_version) are
    evaluated for it, which `pip download --platform` does not do (it evaluates them for this interpreter)."""
    platform = uv_platform(target)
    if platform is None:
        return None
    # --python: any interpreter will do for a wheels-only resolution; without it uv searches for one of
    # the target's version first, which costs seconds and may not exist here.
    argv = [uv, "pip", "compile", str(requirements_file), "--python", sys.executable, "--no-python-downloads",
            "--python-version", target.python, "--python-platform", platform,
            "--only-binary", ":all:", "--no-header", "--no-annotate", "--quiet", "--no-config", *_indexes(target, mirrors)]
    if target.extra_index_urls:
        argv += ["--index-strategy", "unsafe-best-match"]  # choose among all indexes like pip does
    return argv


def parse_pins(text: str) -> list[str]:
    """`name==version` lines of a `uv pip compile` output (comments and options dropped)."""
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-") and "==" in line:
            pins.append(line.split(";", 1)[0].strip())
    return pins


_SAVED = re.compile(r"^\s*(?:Saved|File was already downloaded)\s+(.+?\.whl)\s*$")


def saved_file(line: str) -> str | None:
    """The wheel a `pip download` output line reports as saved or already there (pip's own wording)."""
    m = _SAVED.match(line)
    return os.path.basename(m.group(1).replace("\\", "/")) if m else None


@dataclass
class BuildResult:
    folder: Path
    targets: list[dict[str, Any]]
    files: dict[str, dict[str, Any]]
    fetched: list[str]
    reused: list[str]
    removed: list[str]
    problems: list[str]

    def totals(self) -> dict[str, int]:
        return totals(self.targets, self.files)


def totals(targets: Sequence[dict[str, Any]], files: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Bytes the lab downloads once, against every machine downloading its own files."""
    per_machine: dict[str, set[str]] = {}
    for t in targets:
        per_machine.setdefault(t["machine"], set()).update(t.get("files") or [])
    used = set().union(*per_machine.values()) if per_machine else set()
    unique = sum(files[f]["size"] for f in used if f in files)
    each = sum(files[f]["size"] for names in per_machine.values() for f in names if f in files)
    return {"machines": len(per_machine), "files": len(used), "bytes": unique, "bytes_if_each_machine_downloads": each,
            "bytes_saved": each - unique}


def build(folder: Path, targets: Sequence[Target], *, mirrors: Sequence[tuple[str, str]] = (),
          on_event: Callable[[str, dict[str, Any]], None] | None = None,
          timeout_s: float = DOWNLOAD_TIMEOUT_S) -> BuildResult:
    """Fetch every target's wheels into folder; resumable, every file hashed and recorded once."""
    from nktenv.setup.process import child_env, run as run_process

    emit = on_event or (lambda kind, data: None)
    folder.mkdir(parents=True, exist_ok=True)
    doc = read_manifest(folder)
    good, removed = verify_folder(folder, doc)
    for name in removed:
        emit("removed", {"file": name})
    files: dict[str, dict[str, Any]] = {k: v for k, v in doc["files"].items() if k in good}
    done = {t["key"]: t for t in doc["targets"] if t.get("complete") and all(f in files for f in t.get("files", []))}
    records: list[dict[str, Any]] = []
    fetched: list[str] = []
    reused: list[str] = []
    problems: list[str] = []

    def save() -> None:
        pending = [r for r in records]
        known = {(r["machine"], r["key"]) for r in pending}
        # targets not in this request stay in the manifest: one folder can serve several requests
        keep = [t for t in doc["targets"] if (t["machine"], t["key"]) not in known and all(f in files for f in t.get("files", []))]
        write_manifest(folder, {"schema": SCHEMA, "targets": keep + pending, "files": dict(sorted(files.items()))})

    for i, target in enumerate(targets, 1):
        emit("target", {"index": i, "count": len(targets), "label": target.label, "target": target})
        record = dict(target.to_dict(), files=[], complete=False)
        previous = done.get(target.key)
        if previous is not None:
            record.update(files=list(previous["files"]), complete=True)
            reused.extend(previous["files"])
            records.append(record)
            emit("complete", {"files": len(previous["files"]), "bytes": sum(files[f]["size"] for f in previous["files"]), "cached": True})
            save()
            continue
        seen: list[str] = []

        def on_line(line: str) -> None:
            if line.strip().startswith("Downloading "):  # pip's "Downloading torch-...whl (812.3 MB)": a big one starts
                emit("downloading", {"text": line.strip()[len("Downloading "):]})
                return
            name = saved_file(line)
            if name and name not in seen:
                seen.append(name)
                path = folder / name
                if name not in files and path.is_file():
                    files[name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
                    fetched.append(name)
                    emit("file", {"file": name, "bytes": files[name]["size"], "new": True})
                else:
                    reused.append(name)
                    emit("file", {"file": name, "bytes": files.get(name, {}).get("size", 0), "new": False})

        records.append(record)
        pins, resolver = _resolve(target, folder, mirrors, timeout_s)
        record["resolver"] = resolver
        if pins is None and resolver.startswith("uv"):
            problems.append(_("{target}: uv could not resolve the plan: {reason}").format(target=target.label, reason=resolver[3:]))
            emit("failed", {"reason": resolver[3:]})
            save()
            continue
        result = run_process(download_argv(target, folder, mirrors, pins=pins), timeout=timeout_s, env=child_env(),
                             on_line=on_line, cwd=folder)
        record["files"] = seen
        if result.ok and seen:
            record["complete"] = True
            emit("complete", {"files": len(seen), "bytes": sum(files[f]["size"] for f in seen if f in files), "cached": False})
        else:
            last = next((ln for ln in reversed(result.stdout.splitlines()) if ln.strip().startswith("ERROR")), None)
            reason = _("timed out") if result.timed_out else (last or _("pip exited {code}").format(code=result.returncode))
            problems.append(_("{target}: pip download failed: {reason}").format(target=target.label, reason=reason.strip()))
            emit("failed", {"reason": reason})
        for name in seen:  # wheels pip reported as already there but this manifest never hashed
            if name not in files and (folder / name).is_file():
                files[name] = {"size": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
        save()
    return BuildResult(folder, records, files, fetched, reused, removed, problems)


def _resolve(target: Target, folder: Path, mirrors: Sequence[tuple[str, str]], timeout_s: float) -> tuple[list[str] | None, str]:
    """(pins, "uv") from uv's resolver for the target; (None, "pip") without uv; (None, "uv: reason") on failure."""
    import tempfile

    from nktenv.setup.backends import find_uv
    from nktenv.setup.process import capture, child_env

    uv = find_uv()
    if not uv:
        return None, "pip"
    with tempfile.TemporaryDirectory(prefix="nktenv-wheelhouse-") as tmp:
        reqs = Path(tmp) / "requirements.in"
        reqs.write_text("\n".join(target.requirements) + "\n", encoding="utf-8")
        argv = uv_compile_argv(uv, target, reqs, mirrors)
        if argv is None:
            return None, "pip"
        result = capture(argv, timeout=timeout_s, env=child_env())
    if not result.ok:
        last = next((ln for ln in reversed(result.stdout.splitlines()) if ln.strip()), "")
        return None, "uv: " + (last.strip() or _("uv exited {code}").format(code=result.returncode))
    return parse_pins(result.stdout), "uv"


# --- coverage --------------------------------------------------------------------------------


def coverage(folder: Path, targets: Sequence[Target], *, verify: bool = True) -> list[dict[str, Any]]:
    """For each target: covered, or which files are missing (unrecorded, absent, or failing their hash)."""
    doc = read_manifest(folder)
    by_key = {t["key"]: t for t in doc["targets"] if t.get("complete")}
    out = []
    hashed: dict[str, bool] = {}
    for target in targets:
        rec = by_key.get(target.key)
        if rec is None:
            out.append({"target": target.to_dict(), "covered": False, "planned": False, "missing": []})
            continue
        missing = []
        for name in rec["files"]:
            entry = doc["files"].get(name)
            path = folder / name
            if name not in hashed:
                hashed[name] = bool(entry) and path.is_file() and path.stat().st_size == entry["size"] and (
                    not verify or sha256_file(path) == entry["sha256"])
            if not hashed[name]:
                missing.append(name)
        out.append({"target": target.to_dict(), "covered": not missing, "planned": True, "missing": missing,
                    "files": list(rec["files"])})
    return out


# --- setup from a wheelhouse -----------------------------------------------------------------


def this_platform(facts: dict[str, Any] | None) -> str:
    """The planner's platform name for the machine setup runs on."""
    import platform as pl

    os_facts = (facts or {}).get("os") or {}
    system = os_facts.get("system") or {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")
    arch = os_facts.get("arch") or {"amd64": "x86_64", "arm64": "aarch64"}.get(pl.machine().lower(), pl.machine().lower())
    if system == "darwin":
        return "macos-arm64" if arch == "aarch64" else "macos-x86_64"
    return f"{system}-{arch}"


def _is_url(location: str) -> bool:
    return "://" in location and not (len(location) > 1 and location[1] == ":")


def _fetch_text(url: str, timeout: float = 30.0) -> str | None:
    from urllib.error import HTTPError, URLError
    from urllib.request import urlopen

    try:
        with urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked by the caller
            return resp.read().decode("utf-8", "replace")
    except HTTPError as exc:
        if exc.code == 404:
            return None
        raise NktenvError("wheelhouse-unreachable", _("cannot read the wheelhouse {url}: {error}").format(url=url, error=exc),
                          exit_code=ExitCode.NETWORK) from None
    except (URLError, OSError, ValueError) as exc:
        raise NktenvError("wheelhouse-unreachable", _("cannot read the wheelhouse {url}: {error}").format(url=url, error=exc),
                          exit_code=ExitCode.NETWORK) from None


def _present_at_url(base: str) -> set[str]:
    """File names a plain directory listing (python -m http.server, nginx autoindex) links to."""
    text = _fetch_text(base) or ""
    return {os.path.basename(unquote(urlparse(h).path)) for h in re.findall(r'href="([^"]+\.whl)[^"]*"', text)}


def local_copy_dir(base: str) -> Path:
    """Where a served wheelhouse's files are kept on this machine, one folder per wheelhouse URL."""
    from nktenv.setup.registry import data_dir

    return data_dir() / "wheelhouses" / hashlib.sha256(base.encode("utf-8")).hexdigest()[:16]


def fetch_verified(base: str, names: Iterable[str], files: dict[str, Any], dest: Path, *,
                   timeout: float = 60.0) -> list[str]:  # per socket read: a stalled server, not a slow one
    """Copy a served wheelhouse's files into `dest`, each checked against the manifest's size and sha256.

    The installer then reads only `dest`, so a plain-HTTP lab server needs no --allow-insecure-index:
    what it serves is trusted only after it matches the manifest. A file already there and intact is
    not fetched again; a partial download never takes a wheel's name. Returns the names that failed.
    """
    from urllib.error import URLError
    from urllib.request import urlopen

    dest.mkdir(parents=True, exist_ok=True)
    bad = []
    for name in names:
        entry = files.get(name) or {}
        path = dest / name
        if path.is_file() and path.stat().st_size == entry.get("size") and sha256_file(path) == entry.get("sha256"):
            continue
        part = dest / (name + ".part")
        digest = hashlib.sha256()
        try:
            with urlopen(urljoin(base, name), timeout=timeout) as resp, open(part, "wb") as out:  # noqa: S310 - http(s) only
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (URLError, OSError, ValueError) as exc:
            part.unlink(missing_ok=True)
            raise NktenvError("wheelhouse-unreachable", _("cannot read the wheelhouse {url}: {error}").format(
                url=urljoin(base, name), error=exc), exit_code=ExitCode.NETWORK) from None
        if part.stat().st_size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
            part.unlink(missing_ok=True)
            bad.append(name)
            continue
        os.replace(part, path)
    return bad


def setup_spec(spec: Any, location: str, *, python: str, platform: str) -> Any:
    """The InstallSpec for `setup --wheelhouse`: this plan's files pinned, only the wheelhouse as a source.

    Raises NktenvError naming the first missing file and whose plan needs it, before anything is made."""
    from dataclasses import replace

    from nktenv.setup.spec import requirement_name

    url = _is_url(location)
    base = location.rstrip("/") + "/" if url else location
    if url:
        text = _fetch_text(urljoin(base, MANIFEST))
        if text is None:
            raise NktenvError("wheelhouse-no-manifest", _("{location} is not a wheelhouse: it has no {name}.").format(
                location=location, name=MANIFEST), hint=_("Build one with nktenv wheelhouse build DIR."), exit_code=ExitCode.USAGE)
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise NktenvError("wheelhouse-manifest-unreadable", _("{path} is not a nktenv wheelhouse manifest.").format(
                path=urljoin(base, MANIFEST)), exit_code=ExitCode.BAD_DATA)
    else:
        folder = Path(location)
        if not folder.is_dir() or not manifest_path(folder).is_file():
            raise NktenvError("wheelhouse-no-manifest", _("{location} is not a wheelhouse: it has no {name}.").format(
                location=location, name=MANIFEST), hint=_("Build one with nktenv wheelhouse build DIR."), exit_code=ExitCode.USAGE)
        doc = read_manifest(folder)
    key = plan_key(spec.requirements, spec.index_url, spec.extra_index_urls, python, platform)
    rec = next((t for t in doc.get("targets", []) if t.get("key") == key and t.get("complete")), None)
    if rec is None:
        want = " ".join(spec.requirements)
        raise NktenvError("wheelhouse-no-plan", _("The wheelhouse {location} was not built for this machine's plan ({requirements}, Python {python}, {platform}).").format(
            location=location, requirements=want, python=python, platform=platform),
            hint=_("Rebuild it with this machine's facts: nktenv wheelhouse build DIR --facts FILE."), exit_code=ExitCode.USAGE)
    machines = [t["machine"] for t in doc["targets"] if t.get("key") == key]
    present = _present_at_url(base) if url else {p.name for p in Path(location).glob("*.whl")}
    for name in rec["files"]:
        entry = doc["files"].get(name) or {}
        ok = name in present
        if ok and not url:
            path = Path(location) / name
            ok = path.stat().st_size == entry.get("size") and sha256_file(path) == entry.get("sha256")
        if not ok:
            raise NktenvError("wheelhouse-missing-file", _("The wheelhouse {location} lacks {file} (or it is damaged), which {machine}'s plan needs.").format(
                location=location, file=name, machine=machines[0] if machines else "?"),
                hint=_("Run nktenv wheelhouse build on it again; it fetches only what is missing."), exit_code=ExitCode.NO_ENVIRONMENT)
    # The planned packages pinned to this target's files: a folder shared by a CPU and a CUDA machine
    # holds both torch builds. Only those: a dependency of a companion left out (--without) stays out.
    planned = {requirement_name(r) for r in spec.requirements}
    pins = []
    for name in rec["files"]:
        parts = name[:-4].split("-")
        if len(parts) >= 5 and requirement_name(parts[0]) in planned:
            pins.append(f"{requirement_name(parts[0])}=={parts[1]}")
    existing = {r.replace(" ", "") for r in spec.requirements}
    reqs = tuple(spec.requirements) + tuple(p for p in pins if p not in existing)
    link = os.path.abspath(location)
    if url:
        copy = local_copy_dir(base)
        damaged = fetch_verified(base, rec["files"], doc["files"], copy)
        if damaged:
            raise NktenvError("wheelhouse-missing-file", _("The wheelhouse {location} lacks {file} (or it is damaged), which {machine}'s plan needs.").format(
                location=location, file=damaged[0], machine=machines[0] if machines else "?"),
                hint=_("Run nktenv wheelhouse build on it again; it fetches only what is missing."), exit_code=ExitCode.NO_ENVIRONMENT)
        link = str(copy)
    return replace(spec, requirements=reqs, index_url=None, extra_index_urls=(), find_links=(link,), no_index=True)


def parse_mirrors(values: Iterable[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        src, sep, dst = value.partition("=")
        if not sep or "://" not in src or "://" not in dst:
            raise NktenvError("bad-mirror", _("--mirror takes FROM=TO, two URLs, not '{value}'.").format(value=value),
                              exit_code=ExitCode.USAGE)
        out.append((src, dst))
    return out


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


__all__ = ["Target", "build", "coverage", "setup_spec", "targets_for", "load_facts_docs"]
