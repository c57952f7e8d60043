"""Compare the torch manifest with a PEP 503 / PEP 691 simple index, and add what it lacks.

The index lists wheel files such as `torch-2.5.1+cu124-cp312-cp312-linux_x86_64.whl`; the local tag
is the variant, the platform tag the platform. Releases and variants the manifest lacks are reported;
`write_missing` appends them to torch.toml with a source line naming the index and the date. Their GPU
code is not in an index, so written CUDA variants carry `archs_known = false` (the planner never
picks those automatically), and a CUDA version without driver floors in cuda.toml is never written.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable

from nktenv.errors import ExitCode, NktenvError
from nktenv.fsutil import write_bytes_atomic
from nktenv.i18n import _
from nktenv.manifest import FILES, Manifests, load_dir, variant_cuda, version_tuple

DEFAULT_INDEX = "https://download.pytorch.org/whl"
PEP691 = "application/vnd.pypi.simple.v1+json"
_WHEEL = re.compile(
    r"^(?P<dist>[A-Za-z0-9_.]+)-(?P<version>\d+\.\d+\.\d+)(?:\+(?P<local>[A-Za-z0-9_.]+))?"
    r"-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
_VARIANT = re.compile(r"^(cpu|xpu|cu\d{3}|rocm\d+(\.\d+){1,2})$")


@dataclass(frozen=True)
class Wheel:
    version: str
    variant: str
    python: str | None  # "3.12"; None for py3-none wheels
    platform: str


@dataclass(frozen=True)
class Missing:
    release: str
    variant: str
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    index_url: str
    releases_seen: tuple[str, ...]
    missing_releases: tuple[str, ...]
    missing_variants: tuple[Missing, ...]  # variants not published for a release in the manifest
    missing_platforms: tuple[Missing, ...]  # known variants the index has on more platforms
    needs_cuda: tuple[str, ...]  # CUDA versions of missing variants that cuda.toml lacks
    pythons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    written: bool = False
    file: str | None = None

    @property
    def up_to_date(self) -> bool:
        return not (self.missing_releases or self.missing_variants or self.missing_platforms)

    def to_dict(self) -> dict[str, Any]:
        def rows(items: Iterable[Missing]) -> list[dict[str, Any]]:
            return [
                {"release": m.release, "variant": m.variant, "platforms": list(m.platforms)} for m in items
            ]

        return {
            "schema": "nktenv.manifests-refresh/1",
            "index_url": self.index_url,
            "up_to_date": self.up_to_date,
            "releases_seen": len(self.releases_seen),
            "missing_releases": list(self.missing_releases),
            "missing_variants": rows(self.missing_variants),
            "missing_platforms": rows(self.missing_platforms),
            "needs_cuda": list(self.needs_cuda),
            "written": self.written,
            "file": self.file,
        }


# --- reading the index -------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def filenames(body: str, content_type: str) -> list[str]:
    """File names on a simple-index project page, HTML (PEP 503) or JSON (PEP 691)."""
    if "json" in content_type:
        try:
            doc = json.loads(body)
            return [
                str(f["filename"]) for f in doc.get("files", []) if isinstance(f, dict) and "filename" in f
            ]
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise NktenvError(
                "bad-index",
                _("The index page is not PEP 691 JSON: {error}").format(error=exc),
                exit_code=ExitCode.BAD_DATA,
            ) from None
    parser = _Links()
    parser.feed(body)
    out = []
    for href in parser.hrefs:
        path = urllib.parse.urlsplit(href).path
        out.append(urllib.parse.unquote(path.rsplit("/", 1)[-1]))
    return out


def _platform(tag: str) -> str | None:
    tags = tag.split(".")
    if any(t == "win_amd64" for t in tags):
        return "windows-x86_64"
    if any(t == "win_arm64" for t in tags):
        return "windows-arm64"
    if any(t.startswith("macosx") and t.endswith("arm64") for t in tags):
        return "macos-arm64"
    if any(t.startswith("macosx") and t.endswith("x86_64") for t in tags):
        return "macos-x86_64"
    if any(t.endswith("linux_x86_64") or (t.startswith("manylinux") and t.endswith("x86_64")) for t in tags):
        return "linux-x86_64"
    if any(t.endswith("aarch64") for t in tags):
        return "linux-aarch64"
    return None


def parse_wheel(filename: str, project: str = "torch") -> Wheel | None:
    """A torch wheel's release, variant, Python and platform; None for anything else."""
    m = _WHEEL.match(filename)
    if not m or m.group("dist").lower().replace("-", "_") != project:
        return None
    platform = _platform(m.group("plat"))
    if platform is None:
        return None
    # The longest dotted prefix that names a variant: "rocm6.2.4" stays whole, "cpu.cxx11.abi" is "cpu".
    parts = (m.group("local") or "").split(".")
    local = next(
        (".".join(parts[:n]) for n in range(len(parts), 0, -1) if _VARIANT.match(".".join(parts[:n]))), ""
    )
    if not m.group("local"):
        # Untagged wheels: on macOS they are the CPU build; elsewhere the variant is unknowable.
        if not platform.startswith("macos"):
            return None
        local = "cpu"
    if not local:
        return None
    py = re.match(r"^cp(\d)(\d+)t?$", m.group("py"))
    return Wheel(m.group("version"), local, f"{py.group(1)}.{py.group(2)}" if py else None, platform)


def fetch(url: str, timeout: float = 30.0) -> tuple[str, str]:
    """(body, content type) of one index page. Every failure is one clear NktenvError."""
    request = urllib.request.Request(
        url,
        headers={
            "Accept": f"{PEP691}, text/html;q=0.5",
            "User-Agent": "nktenv-manifests-refresh",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) index by design
            data = response.read()
            ctype = response.headers.get("Content-Type", "text/html")
            charset = response.headers.get_content_charset() or "utf-8"
    except urllib.error.HTTPError as exc:
        raise NktenvError(
            "index-unreachable",
            _("{url}: HTTP {code} {reason}").format(url=url, code=exc.code, reason=exc.reason),
            hint=_("Check --index-url: it must be a simple index root such as {example}.").format(
                example=DEFAULT_INDEX
            ),
            exit_code=ExitCode.BAD_DATA,
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NktenvError(
            "index-unreachable",
            _("Cannot read {url}: {reason}").format(url=url, reason=reason),
            hint=_("Check the network or the proxy settings, or pass --index-url for a lab mirror."),
            exit_code=ExitCode.BAD_DATA,
        ) from None
    return data.decode(charset, errors="replace"), ctype


def scan(index_url: str, timeout: float = 30.0, project: str = "torch") -> list[Wheel]:
    url = index_url.rstrip("/") + f"/{project}/"
    body, ctype = fetch(url, timeout)
    return [w for w in (parse_wheel(name, project) for name in filenames(body, ctype)) if w is not None]


# --- comparing -----------------------------------------------------------------------------------


def compare(wheels: Iterable[Wheel], manifests: Manifests, index_url: str) -> Report:
    """What the index lists that the manifest lacks. Releases older than the manifest's oldest are
    outside its scope (the index keeps everything back to 1.0)."""
    oldest = min((version_tuple(r.version) for r in manifests.torch), default=())
    seen: dict[tuple[str, str], set[str]] = {}
    pythons: dict[str, set[str]] = {}
    for w in wheels:
        if version_tuple(w.version) < oldest:
            continue
        seen.setdefault((w.version, w.variant), set()).add(w.platform)
        if w.python:
            pythons.setdefault(w.version, set()).add(w.python)
    releases = sorted({v for v, _ in seen}, key=version_tuple, reverse=True)
    missing_releases = [v for v in releases if manifests.torch_release(v) is None]
    missing_variants: list[Missing] = []
    missing_platforms: list[Missing] = []
    for (version, variant), platforms in sorted(
        seen.items(), key=lambda kv: (version_tuple(kv[0][0]), kv[0][1]), reverse=True
    ):
        rel = manifests.torch_release(version)
        known = rel.variant(variant) if rel else None
        if known is None:
            missing_variants.append(Missing(version, variant, tuple(sorted(platforms))))
        else:
            extra = sorted(platforms - set(known.platforms))
            if extra:
                missing_platforms.append(Missing(version, variant, tuple(extra)))
    needs = sorted(
        {c for m in missing_variants if (c := variant_cuda(m.variant)) and manifests.cuda_release(c) is None},
        key=version_tuple,
    )
    return Report(
        index_url=index_url,
        releases_seen=tuple(releases),
        missing_releases=tuple(missing_releases),
        missing_variants=tuple(missing_variants),
        missing_platforms=tuple(missing_platforms),
        needs_cuda=tuple(needs),
        pythons={v: tuple(sorted(p, key=version_tuple)) for v, p in pythons.items()},
    )


# --- writing -------------------------------------------------------------------------------------


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def python_spec(pythons: Iterable[str]) -> str:
    """Cover the Python versions wheels were seen for: ['3.10', '3.12'] -> '>=3.10,<3.13'."""
    vs = sorted({version_tuple(p)[:2] for p in pythons})
    if not vs:
        return ">=3"
    low, high = vs[0], vs[-1]
    return f">={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}"


def render_additions(report: Report, today: str) -> str:
    """TOML text for the releases and variants the manifest lacks (skipping CUDA without floors)."""
    source = f"found on {report.index_url} on {today} by `nktenv manifests refresh`"
    lines: list[str] = []
    for version in report.missing_releases:
        lines += [
            "",
            "[[release]]",
            f"version = {json.dumps(version)}",
            f"python = {json.dumps(python_spec(report.pythons.get(version, ())))}",
            f"source = {json.dumps(source + '; Python range from the wheel tags; torchvision pairing not established')}",
        ]
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for m in report.missing_variants:
        cuda = variant_cuda(m.variant)
        if cuda and cuda in report.needs_cuda:
            continue
        groups.setdefault((m.variant, m.platforms), []).append(m.release)
    for (variant, platforms), releases in groups.items():
        lines += [
            "",
            "[[variant]]",
            f"name = {json.dumps(variant)}",
            f"releases = {_toml_list(sorted(releases, key=version_tuple))}",
            f"platforms = {_toml_list(platforms)}",
        ]
        if variant_cuda(variant):
            lines.append("archs_known = false")
            lines.append(
                f"source = {json.dumps(source + '; GPU code (sass/ptx) not established: measure get_arch_list() and fill it in')}"
            )
        else:
            lines.append(f"source = {json.dumps(source)}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_missing(report: Report, folder: Path, today: str) -> Report:
    """Append the additions to `folder`/torch.toml, atomically and only if the result still validates."""
    text = render_additions(report, today)
    target = folder / "torch.toml"
    if not text:
        return Report(**{**report.__dict__, "written": False, "file": str(target)})
    with tempfile.TemporaryDirectory(prefix="nktenv-manifests-") as tmp:
        staging = Path(tmp)
        for name in FILES:
            shutil.copyfile(folder / name, staging / name)
        with open(staging / "torch.toml", "a", encoding="utf-8", newline="\n") as fh:
            fh.write("\n# Added by `nktenv manifests refresh`" + text)
        load_dir(staging)  # raises invalid-manifest before anything is replaced
        try:
            write_bytes_atomic(target, (staging / "torch.toml").read_bytes())
        except OSError as exc:
            raise NktenvError(
                "manifest-not-writable",
                _("Cannot write to {folder}: {error}").format(folder=folder, error=exc.strerror or exc),
                hint=_("Copy the manifests folder somewhere writable and point NKTENV_MANIFESTS_DIR at it."),
                exit_code=ExitCode.BAD_DATA,
            ) from None
    from nktenv.manifest import clear_cache

    clear_cache()
    return Report(**{**report.__dict__, "written": True, "file": str(target)})
