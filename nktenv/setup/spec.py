"""What to install, where from: built from a plan or a lock, checked before anything runs. Pure."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

from nktenv.errors import ExitCode, NktenvError
from nktenv.i18n import _

FRAMEWORKS = ("torch", "tensorflow")
PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class InstallSpec:
    """Requirements plus their sources; `frameworks` are verified by checks/ after install."""

    requirements: tuple[str, ...]
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    frameworks: tuple[str, ...] = ()
    gpu: bool = False  # the plan expects the frameworks to run kernels on the GPU
    and_cuda: bool = False  # TensorFlow with pip-installed NVIDIA libraries (Linux)
    versions: dict[str, str] = field(default_factory=dict)  # framework -> planned version

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("requirements", "extra_index_urls", "find_links", "frameworks"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstallSpec:
        return cls(
            requirements=tuple(data.get("requirements") or ()),
            index_url=data.get("index_url"),
            extra_index_urls=tuple(data.get("extra_index_urls") or ()),
            find_links=tuple(data.get("find_links") or ()),
            no_index=bool(data.get("no_index")),
            frameworks=tuple(data.get("frameworks") or ()),
            gpu=bool(data.get("gpu")),
            and_cuda=bool(data.get("and_cuda")),
            versions=dict(data.get("versions") or {}),
        )

    def with_sources(
        self,
        *,
        index_url: str | None = None,
        extra_index_urls: Iterable[str] = (),
        find_links: Iterable[str] = (),
    ) -> InstallSpec:
        """Apply `--index-url` / `--extra-index-url` / `--find-links` (lab mirrors, wheelhouses)."""
        extra = tuple(extra_index_urls)
        links = tuple(str(f) for f in find_links)
        return replace(
            self,
            index_url=index_url if index_url else self.index_url,
            extra_index_urls=extra if (extra or index_url) else self.extra_index_urls,
            find_links=_dedup(self.find_links + links),
        )


    def without(self, names: Iterable[str]) -> InstallSpec:
        """Drop companion packages (`--without torchaudio`); a framework itself cannot be dropped this way."""
        key = requirement_name
        drop = {canonicalize_name(n) for n in names}
        if not drop:
            return self
        for name in sorted(drop):
            if name in FRAMEWORKS:
                raise NktenvError("without-framework", _("--without {name}: use --{name} none to leave a framework out.").format(
                    name=name), exit_code=ExitCode.USAGE)
        present = {key(r) for r in self.requirements}
        unknown = sorted(drop - present)
        if unknown:
            raise NktenvError("without-unknown", _("--without {names}: not among the planned requirements ({planned}).").format(
                names=", ".join(unknown), planned=" ".join(self.requirements)), exit_code=ExitCode.USAGE)
        return replace(self, requirements=tuple(r for r in self.requirements if key(r) not in drop))


def requirement_name(text: str) -> str:
    """The canonical project name of a requirement string (`torch==2.13.0` -> `torch`)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return canonicalize_name(text)


def canonicalize_name(name: str) -> str:
    """PEP 503 name normalization (here so the no-op path does not import packaging)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return tuple(out)


def fingerprint(spec: InstallSpec, python_version: str) -> str:
    """Identity of 'this environment, built from these inputs': equal fingerprints mean no work to do."""
    doc = {
        "python": python_version,
        "requirements": sorted(spec.requirements),
        "index_url": spec.index_url,
        "extra_index_urls": list(spec.extra_index_urls),
        "find_links": sorted(spec.find_links),
        "no_index": spec.no_index,
        "and_cuda": spec.and_cuda,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def spec_from_plan(plan: Any) -> InstallSpec:
    """Turn a `nktenv.plan.Plan` into an InstallSpec (one venv; torch's index first)."""
    reqs: list[str] = []
    indexes: list[str] = []
    extras: list[str] = []
    frameworks: list[str] = []
    versions: dict[str, str] = {}
    gpu = False
    and_cuda = False
    for name in FRAMEWORKS:
        fw = getattr(plan, name, None)
        if fw is None:
            continue
        frameworks.append(name)
        versions[name] = str(getattr(fw, "version", "") or "")
        reqs.extend(getattr(fw, "requirements", ()) or ())
        # A plan's None index means PyPI; it must be named once another framework brings its own index.
        indexes.append(getattr(fw, "index_url", None) or PYPI)
        extras.extend(getattr(fw, "extra_index_urls", ()) or ())
        gpu = gpu or bool(getattr(fw, "gpu", False))
        if name == "tensorflow" and any("[and-cuda]" in r.replace(" ", "") for r in fw.requirements):
            and_cuda = True
    if "torch" in frameworks and "numpy" not in {requirement_name(r) for r in reqs}:
        # torch wheels do not bring numpy (torchvision does); the verification benchmark and nearly
        # every training script need it. `--without numpy` still drops it.
        reqs.append("numpy")
    all_indexes = _dedup(indexes + extras)
    index = all_indexes[0] if all_indexes else None
    if all_indexes == (PYPI,):
        index = None  # the installers' default; nothing to spell out
    return InstallSpec(
        requirements=tuple(_dedup(reqs)),
        index_url=index,
        extra_index_urls=tuple(all_indexes[1:]),
        frameworks=tuple(frameworks),
        gpu=gpu,
        and_cuda=and_cuda,
        versions=versions,
    )


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_insecure: bool, what: str = "index") -> None:
    """Refuse a package source that is not https, unless it is file://, loopback or explicitly allowed.

    Raises:
        NktenvError: insecure-index (exit 2).
    """
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "https" or scheme == "file" or allow_insecure:
        return
    if scheme == "http" and _is_loopback(parsed.hostname):
        return
    raise NktenvError(
        "insecure-index",
        _("The package {what} {url} is not https; packages from it could be altered on the way.").format(
            what=what, url=url
        ),
        hint=_("Use an https mirror, a file:// or 127.0.0.1 mirror, or pass --allow-insecure-index."),
        exit_code=ExitCode.USAGE,
    )


def check_sources(spec: InstallSpec, *, allow_insecure: bool) -> None:
    """Validate every index and find-links location of a spec before anything is created."""
    for url in ([spec.index_url] if spec.index_url else []) + list(spec.extra_index_urls):
        check_url(url, allow_insecure=allow_insecure)
    for link in spec.find_links:
        if "://" in link and not (len(link) > 1 and link[1] == ":"):
            check_url(link, allow_insecure=allow_insecure, what="location")
        elif not Path(link).is_dir():
            raise NktenvError(
                "find-links-missing",
                _("The wheel folder {path} does not exist.").format(path=link),
                exit_code=ExitCode.USAGE,
            )


def absolute_links(links: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    """Local find-links folders as absolute paths (the installer runs in another folder)."""
    out = []
    for link in links:
        text = os.fspath(link)
        out.append(text if "://" in text else os.path.abspath(text))
    return tuple(out)
