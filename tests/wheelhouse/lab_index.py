"""A lab's package sources on 127.0.0.1: a PyTorch-style index per variant and a PyPI, wheels built here.

Wheels carry real platform tags (cp310/cp311, manylinux_2_28_x86_64, win_amd64), so pip's own tag
matching decides what each machine gets. The server logs every path asked for and can hold one
file back, so a build can be interrupted midway for real.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import sys
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "setup"))

from wheels import FAKE_TORCH_OK, pack_wheel, serving  # noqa: E402

PLATFORMS = {"linux": "manylinux_2_28_x86_64", "windows": "win_amd64"}
PYTHONS = ("310", "311")


def make_tagged_wheel(folder: Path, name: str, version: str, tag: str, *, requires: tuple[str, ...] = (),
                      module_source: str | None = None, payload_bytes: int = 0) -> Path:
    """A wheel `name-version-tag.whl` whose WHEEL file carries the same tag."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    files: dict[str, bytes] = {f"{dist}/__init__.py": (module_source or f"__version__ = {version!r}\n").encode()}
    if payload_bytes:
        files[f"{dist}/payload.bin"] = hashlib.sha256((name + version + tag).encode()).digest() * (payload_bytes // 32)
    info = f"{dist}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    files[f"{info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: nktenv-tests\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()
    return pack_wheel(folder / f"{dist}-{version}-{tag}.whl", files, info, zipfile.ZIP_STORED)


def write_index(wheels: Path, root: Path) -> Path:
    """A PEP 503 tree under root/simple with PEP 658 metadata beside each wheel, as PyPI and
    download.pytorch.org serve it: resolvers read METADATA without fetching the wheel."""
    simple = root / "simple"
    projects: dict[str, list[Path]] = {}
    for whl in sorted(wheels.glob("*.whl")):
        projects.setdefault(whl.name.split("-")[0].lower().replace("_", "-"), []).append(whl)
    for project, files in projects.items():
        d = simple / project
        d.mkdir(parents=True, exist_ok=True)
        links = []
        for whl in files:
            data = whl.read_bytes()
            (d / whl.name).write_bytes(data)
            with zipfile.ZipFile(whl) as zf:
                meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))
            (d / (whl.name + ".metadata")).write_bytes(meta)
            m = hashlib.sha256(meta).hexdigest()
            links.append(f'<a href="{whl.name}#sha256={hashlib.sha256(data).hexdigest()}" '
                         f'data-dist-info-metadata="sha256={m}" data-core-metadata="sha256={m}">{whl.name}</a><br>')
        (d / "index.html").write_text("<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>")
    simple.mkdir(parents=True, exist_ok=True)
    (simple / "index.html").write_text(
        "<!DOCTYPE html><html><body>" + "".join(f'<a href="{p}/">{p}</a>' for p in projects) + "</body></html>")
    return simple


def build_lab_index(root: Path, torch: str, torchvision: str, *, variants: tuple[str, ...] = ("cpu", "cu126"),
                    payload_bytes: int = 64 * 1024) -> dict[str, Path]:
    """root/<variant>/simple for each PyTorch variant (torch, torchvision, numpy, like download.pytorch.org)
    and root/pypi/simple. Returns the wheel folder of each."""
    made: dict[str, Path] = {}
    for variant in variants:
        wheels = root / "wheels" / variant
        source = FAKE_TORCH_OK.replace('"0.0.1"', repr(f"{torch}+{variant}"))
        for py in PYTHONS:
            for plat in PLATFORMS.values():
                tag = f"cp{py}-cp{py}-{plat}"
                # the marker is the target's, not the building machine's (tensorflow-intel is one such)
                make_tagged_wheel(wheels, "torch", f"{torch}+{variant}", tag,
                                  requires=("nkt-common>=1", 'nkt-winonly>=1; platform_system == "Windows"'),
                                  module_source=source, payload_bytes=payload_bytes)
                make_tagged_wheel(wheels, "torchvision", f"{torchvision}+{variant}", tag,
                                  requires=(f"torch=={torch}", "nkt-imaging>=1"))
                make_tagged_wheel(wheels, "numpy", "2.2.6", tag)
        # a pure-Python dependency every variant shares: the wheelhouse must hold it once
        make_tagged_wheel(wheels, "nkt-common", "1.0", "py3-none-any")
        make_tagged_wheel(wheels, "nkt-imaging", "1.0", "py3-none-any")  # torchvision's alone, like pillow
        make_tagged_wheel(wheels, "nkt-winonly", "1.0", "py3-none-any")
        write_index(wheels, root / variant)
        made[variant] = wheels
    return made


def mirror_args(base: str, variants: tuple[str, ...] = ("cpu", "cu126")) -> list[str]:
    args = []
    for v in variants:
        args += ["--mirror", f"https://download.pytorch.org/whl/{v}={base}/{v}/simple"]
    return args


class LabServer:
    """http.server on 127.0.0.1 in a thread, logging the paths it serves; `hold` stalls matching files."""

    def __init__(self, root: Path, hold: str | None = None) -> None:
        self.root = root
        self.requests: list[str] = []
        self.hold = hold
        self.release = threading.Event()
        self.held = threading.Event()

    @contextmanager
    def running(self) -> Iterator[str]:
        owner = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(owner.root), **kw)

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                if owner.hold and owner.hold in self.path and self.path.endswith(".whl"):
                    owner.held.set()
                    owner.release.wait(120)
                super().do_GET()

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):  # the client was killed midway, as intended
                    pass

            def log_message(self, *args) -> None:
                pass

        try:
            with serving(Handler) as base:
                yield base
        finally:
            self.release.set()

    def wheels_served(self) -> list[str]:
        from urllib.parse import unquote

        return [unquote(p.rsplit("/", 1)[-1]) for p in self.requests if p.endswith(".whl")]


def write_facts(folder: Path, machine: str, name: str | None = None) -> Path:
    """The facts `nktenv detect --replay tests/machines/<machine>` gives, as a snapshot file."""
    from machines import replay_facts

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or machine}.json"
    path.write_text(json.dumps(replay_facts(machine, frameworks=False).to_dict(), ensure_ascii=False), encoding="utf-8")
    return path
