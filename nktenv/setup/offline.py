"""When the package index cannot be reached: which host, what the wheel folders hold, what would work.

Pure over the installer's output and the folders' file names; nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.request import url2pathname

# Where installers name the place they could not reach, in their own words:
#   uv:  "Failed to fetch: `https://pypi.org/simple/torch/`", "error sending request for url (https://...)"
#   pip: "HTTPSConnectionPool(host='pypi.org', port=443)", "HTTPSConnection(host='pypi.org', port=443)",
#        "Could not fetch URL https://pypi.org/simple/pip/: connection error"
# Older pip retry lines name only the path ("...: /simple/numpy/"); the host is then the index whose
# path it falls under, from pip's "Looking in indexes:" line or the spec.
_URL = re.compile(r"(?:Failed to fetch:?|sending request for url|Could not fetch URL)\W*(https?://[^\s`'\")]+)", re.I)
_HOST_KW = re.compile(r"host='([^']+)'")
_RETRY_PATH = re.compile(r"Retrying \(Retry\(.*\)\) after connection broken by .*\)': (/\S*)")
_LOOKING = re.compile(r"Looking in indexes:\s*(.+)")
# uv wraps a long URL onto the next line behind a box-drawing rule: "├─▶ Failed to fetch:\n  │   `https://...`"
_WRAPPED = re.compile(r"Failed to fetch:\s*\n[\s│]*`(https?://[^`]+)`")


def unreachable_hosts(tail: str, indexes: Sequence[str] = ()) -> list[str]:
    """The hosts an installer's output says it could not reach, in the order it names them."""
    hosts: list[str] = []

    def add(host: str | None) -> None:
        if host and host not in hosts:
            hosts.append(host)

    for url in _WRAPPED.findall(tail) + _URL.findall(tail):
        add(urlsplit(url).hostname)
    for host in _HOST_KW.findall(tail):
        add(host)
    if hosts:
        return hosts
    listed = [u.strip() for m in _LOOKING.findall(tail) for u in m.split(",") if u.strip()]
    candidates = [u for u in [*listed, *indexes] if urlsplit(u).scheme in ("http", "https")]
    for path in _RETRY_PATH.findall(tail):
        for url in candidates:
            prefix = urlsplit(url).path.rstrip("/")
            if path.startswith(prefix + "/") or not prefix:
                add(urlsplit(url).hostname)
    if not hosts:  # the output named nothing: the indexes the installer was given
        for url in candidates:
            add(urlsplit(url).hostname)
    return hosts


@dataclass(frozen=True)
class Wheel:
    name: str  # canonical project name
    version: str  # as in the file name, local label included: 2.13.0+cpu
    filename: str

    @property
    def public(self) -> str:
        return self.version.split("+", 1)[0]

    @property
    def local(self) -> str | None:
        return self.version.split("+", 1)[1] if "+" in self.version else None


def python_tag(version: str) -> str:
    major, minor = (version.split(".") + ["0"])[:2]
    return f"cp{major}{minor}"


def folder_wheels(folders: Iterable[str], python_version: str) -> tuple[list[Wheel], list[Wheel]]:
    """(wheels this interpreter on this machine can install, every wheel) in the local folders."""
    from packaging.tags import compatible_tags, cpython_tags
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    major, minor = (int(p) for p in (python_version.split(".") + ["0"])[:2])
    supported = {*cpython_tags(python_version=(major, minor)), *compatible_tags(python_version=(major, minor))}
    fits: list[Wheel] = []
    every: list[Wheel] = []
    for folder in folders:
        if "://" in folder and not folder.startswith("file://"):
            continue  # a URL of wheels: nothing on disk to read
        # file:///C:/wheels is C:\wheels on Windows: let urllib turn the URL path into this OS's path.
        path = url2pathname(urlsplit(folder).path) if folder.startswith("file://") else folder
        try:
            names = sorted(os.listdir(path))
        except OSError:
            continue
        for filename in names:
            if not filename.endswith(".whl"):
                continue
            try:
                name, version, _build, tags = parse_wheel_filename(filename)
            except InvalidWheelFilename:
                continue
            wheel = Wheel(str(name), str(version), filename)
            every.append(wheel)
            if tags & supported:
                fits.append(wheel)
    return fits, every


def canonical(requirement: str) -> str:
    from nktenv.setup.spec import requirement_name

    return requirement_name(requirement)


def _pin(requirement: str) -> tuple[str, str | None]:
    match = re.search(r"==\s*([^\s,;]+)", requirement)
    return canonical(requirement), match.group(1) if match else None


def _matches(wheel: Wheel, pin: str | None) -> bool:
    if pin is None:
        return True
    return wheel.version == pin if "+" in pin else wheel.public == pin


@dataclass
class FolderReport:
    """What the wheel folders lack for the requirements, and what they could install instead."""

    missing: list[str] = field(default_factory=list)  # one sentence per requirement the folders lack
    installable: dict[str, Wheel] = field(default_factory=dict)  # name -> newest wheel that fits
    lacking: list[str] = field(default_factory=list)  # names of requirements with no fitting wheel at all

    @property
    def complete(self) -> bool:
        return not self.missing


def _version_key(wheel: Wheel) -> tuple[object, ...]:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(wheel.version))
    except InvalidVersion:
        return (0, wheel.version)


def report(requirements: Sequence[str], folders: Sequence[str], python_version: str) -> FolderReport:
    from nktenv.i18n import _
    from nktenv.wording import join_list

    fits, every = folder_wheels(folders, python_version)
    tag = python_tag(python_version)
    out = FolderReport()
    for requirement in requirements:
        name, pin = _pin(requirement)
        usable = sorted((w for w in fits if w.name == name), key=_version_key, reverse=True)
        if usable:
            out.installable[name] = usable[0]
        else:
            out.lacking.append(name)
        if any(_matches(w, pin) for w in usable):
            continue
        wanted = f"{name} {pin}" if pin else name
        held = [f"{w.name} {w.version}" for w in usable] or [f"{w.name} {w.version} ({w.filename})" for w in every
                                                               if w.name == name]
        if held:
            out.missing.append(_("No {wanted} wheel for {tag} in the wheel folder; it holds {held}").format(
                wanted=wanted, tag=tag, held=join_list(held)))
        else:
            out.missing.append(_("No {wanted} wheel for {tag} in the wheel folder, and no {name} wheel at all").format(
                wanted=wanted, tag=tag, name=name))
    return out


_VARIANT = re.compile(r"^(cpu|cu\d+|rocm[\d.]+|xpu)$")


def offline_command(folder_report: FolderReport, *, frameworks: Sequence[str], companions: Sequence[str],
                    find_links: Sequence[str], keep: Sequence[str] = ()) -> list[str] | None:
    """`nktenv setup ...` that installs what the folders hold, without an index; None when a framework is absent.

    `keep` are options of the original command to repeat (--venv DIR, --python X.Y, --installer NAME).
    """
    argv = ["nktenv", "setup", *keep]
    for framework in frameworks:
        wheel = folder_report.installable.get(framework)
        if wheel is None:
            return None
        option = "--torch" if framework == "torch" else "--tensorflow"
        argv += [option, wheel.public]
        if framework == "torch" and wheel.local and _VARIANT.match(wheel.local):
            argv += ["--variant", wheel.local]
    if "torch" not in frameworks:
        argv += ["--torch", "none"]
    for name in companions:
        if name in folder_report.lacking:
            argv += ["--without", name]
    for link in find_links:
        argv += ["--find-links", link]
    return [*argv, "--no-index"]
