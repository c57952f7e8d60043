"""Small real wheels and a PEP 503 index on 127.0.0.1, for the setup tests and the benchmark."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    module_source: str | None = None,
    module: str | None = None,
    payload_bytes: int = 0,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a pure-Python wheel `name-version-py3-none-any.whl` that installs module `module`."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    module = module or dist
    files: dict[str, bytes] = {
        f"{module}/__init__.py": (module_source if module_source is not None else f"__version__ = {version!r}\n").encode(),
    }
    if payload_bytes:
        # incompressible-ish payload so installs do real I/O, like a framework wheel does
        files[f"{module}/payload.bin"] = hashlib.sha256(name.encode()).digest() * (payload_bytes // 32)
    files.update(extra_files or {})
    info = f"{dist}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"] + [f"Requires-Dist: {r}" for r in requires]
    files[f"{info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: nktenv-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return pack_wheel(folder / f"{dist}-{version}-py3-none-any.whl", files, info, zipfile.ZIP_DEFLATED)


def pack_wheel(path: Path, files: dict[str, bytes], info: str, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Write `files` as the wheel `path`, adding the RECORD of `info` (the .dist-info folder)."""
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", compression) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return path


def write_simple_index(wheelhouse: Path, root: Path) -> Path:
    """A PEP 503 'simple' tree under root/simple linking the wheels in wheelhouse."""
    simple = root / "simple"
    projects: dict[str, list[Path]] = {}
    for whl in sorted(wheelhouse.glob("*.whl")):
        project = whl.name.split("-")[0].lower().replace("_", "-")
        projects.setdefault(project, []).append(whl)
    for project, wheels in projects.items():
        d = simple / project
        d.mkdir(parents=True, exist_ok=True)
        links = []
        for whl in wheels:
            (d / whl.name).write_bytes(whl.read_bytes())
            sha = hashlib.sha256(whl.read_bytes()).hexdigest()
            links.append(f'<a href="{whl.name}#sha256={sha}">{whl.name}</a><br>')
        (d / "index.html").write_text("<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>")
    simple.mkdir(parents=True, exist_ok=True)
    (simple / "index.html").write_text(
        "<!DOCTYPE html><html><body>" + "".join(f'<a href="{p}/">{p}</a>' for p in projects) + "</body></html>"
    )
    return simple


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run `handler` on 127.0.0.1 (an ephemeral port) in a thread; yields the base URL, no trailing slash."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` over http on 127.0.0.1 (an ephemeral port) in a thread; yields the base URL."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    with serving(Handler) as base:
        yield base


# A stand-in `torch` for checks/probe.py: imports, reports a CPU-only build. Version 0.0.2 is broken
# the way a wrong CUDA build is: the import itself fails.
FAKE_TORCH_OK = '''__version__ = "0.0.1"
class version:
    cuda = None
class backends:
    class cudnn:
        @staticmethod
        def version():
            return None
class cuda:
    @staticmethod
    def is_available():
        return False
    @staticmethod
    def device_count():
        return 0
    @staticmethod
    def get_arch_list():
        return []
'''
FAKE_TORCH_BROKEN = 'raise OSError("libcudnn.so.9: cannot open shared object file: No such file or directory")\n'


def lab_wheelhouse(folder: Path) -> Path:
    """The wheels the setup tests install: a small dependency chain, a working and a broken torch stand-in,
    and `nkt-slow`, whose download the slow server holds back."""
    make_wheel(folder, "nkt-dep", "1.0")
    make_wheel(folder, "nkt-app", "2.0", requires=("nkt-dep>=1",))
    make_wheel(folder, "nkt-app", "3.0", requires=("nkt-dep>=1",))
    make_wheel(folder, "torch", "0.0.1", module_source=FAKE_TORCH_OK)
    make_wheel(folder, "torch", "0.0.2", module_source=FAKE_TORCH_BROKEN)
    make_wheel(folder, "nkt-slow", "1.0")
    return folder


@contextmanager
def serve_slow(root: Path, *, stall: str = "nkt_slow", hold_s: float = 60.0) -> Iterator[str]:
    """Like serve(), but every file whose name contains `stall` is held back for up to hold_s seconds
    (a mirror that hangs midway), so an install can be killed or interrupted while it runs."""
    release = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:
            if stall in self.path and self.path.endswith(".whl"):
                release.wait(hold_s)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    try:
        with serving(Handler) as base:
            yield base
    finally:
        release.set()


def offline_lock(folder: Path, requirement: str = "nkt-dep==1.0", **make: object) -> Path:
    """A setup lock (`nktenv.lock/1`) that installs one small real wheel from a local folder, no index."""
    import json
    import sys

    from nktenv.setup.apply import LOCK_SCHEMA

    name, version = requirement.split("==")
    make_wheel(folder / "wheels", name, version, **make)  # type: ignore[arg-type]
    path = folder / "lock.json"
    path.write_text(json.dumps({"schema": LOCK_SCHEMA, "python": "%d.%d.%d" % sys.version_info[:3],
                                "requirements": [requirement], "no_index": True,
                                "find_links": [str(folder / "wheels")]}), encoding="utf-8")
    return path
