"""`nktenv manifests refresh` against recorded index pages served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nktenv import manifest
from nktenv.errors import NktenvError
from nktenv.manifest import load
from nktenv.plan import PlanRequest, make_plan
from nktenv.refresh import PEP691, compare, filenames, parse_wheel, python_spec, scan
from tests.manifests.copies import manifest_copy

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


class _Index(SimpleHTTPRequestHandler):
    """Serves data/: a folder URL gives its index.json to PEP 691 clients, else its index.html."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(DATA), **kwargs)

    def send_head(self):  # type: ignore[override]
        folder = Path(self.translate_path(self.path))
        as_json = folder / "index.json"
        if self.path.endswith("/") and as_json.is_file() and PEP691 in self.headers.get("Accept", ""):
            body = as_json.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", PEP691)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            import io

            return io.BytesIO(body)
        return super().send_head()

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def manifests_copy(tmp_path, monkeypatch):
    yield from manifest_copy(tmp_path / "manifests", monkeypatch)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("torch-2.5.1+cu124-cp312-cp312-linux_x86_64.whl", ("2.5.1", "cu124", "3.12", "linux-x86_64")),
        (
            "torch-2.9.0+cu130-cp314-cp314t-manylinux_2_28_aarch64.whl",
            ("2.9.0", "cu130", "3.14", "linux-aarch64"),
        ),
        (
            "torch-2.6.0+rocm6.2.4-cp310-cp310-manylinux_2_28_x86_64.whl",
            ("2.6.0", "rocm6.2.4", "3.10", "linux-x86_64"),
        ),
        ("torch-2.1.2+cpu.cxx11.abi-cp311-cp311-linux_x86_64.whl", ("2.1.2", "cpu", "3.11", "linux-x86_64")),
        ("torch-2.2.2-cp39-none-macosx_10_9_x86_64.whl", ("2.2.2", "cpu", "3.9", "macos-x86_64")),
        ("torch-2.7.1+cu128-cp313-cp313-win_amd64.whl", ("2.7.1", "cu128", "3.13", "windows-x86_64")),
        # the file a Windows on Arm install log downloads (docs/manifests.md, Windows on Arm)
        ("torch-2.7.0+cpu-cp312-cp312-win_arm64.whl", ("2.7.0", "cpu", "3.12", "windows-arm64")),
        ("torch-2.15.0-cp312-cp312-manylinux_2_28_x86_64.whl", None),  # untagged Linux: variant unknowable
        ("torch-2.16.0.dev20261101+cu132-cp312-cp312-manylinux_2_28_x86_64.whl", None),
        ("torchvision-0.20.1+cu124-cp312-cp312-linux_x86_64.whl", None),
        ("torch-2.15.0+cu132-cp312-cp312-linux_s390x.whl", None),
        ("torch-2.5.1.tar.gz", None),
    ],
)
def test_parse_wheel(name, expected) -> None:
    wheel = parse_wheel(name)
    assert (
        None if wheel is None else (wheel.version, wheel.variant, wheel.python, wheel.platform)
    ) == expected


def test_filenames_html_unquotes_and_drops_fragments() -> None:
    body = '<a href="/whl/cu124/torch-2.5.1%2Bcu124-cp312-cp312-linux_x86_64.whl#sha256=ab">x</a>'
    assert filenames(body, "text/html") == ["torch-2.5.1+cu124-cp312-cp312-linux_x86_64.whl"]


def test_python_spec() -> None:
    assert python_spec(["3.12", "3.11", "3.14"]) == ">=3.11,<3.15"


@pytest.mark.parametrize("index", ["index-html", "index-json"])
def test_compare_finds_what_the_manifest_lacks(server, index) -> None:
    url = f"{server}/{index}"
    report = compare(scan(url, timeout=10), load(), url)
    assert report.missing_releases == ("2.16.0",)
    missing = {(m.release, m.variant): m.platforms for m in report.missing_variants}
    assert missing == {
        ("2.16.0", "cu132"): ("linux-x86_64", "windows-x86_64"),
        ("2.16.0", "cu135"): ("linux-x86_64",),
        ("2.16.0", "cpu"): ("linux-x86_64", "macos-arm64"),
    }
    assert [(m.release, m.variant, m.platforms) for m in report.missing_platforms] == [
        ("2.13.0", "cu129", ("windows-x86_64",))
    ]
    assert report.needs_cuda == ("13.5",)
    assert report.pythons["2.16.0"] == ("3.11", "3.12", "3.13", "3.14")
    assert not report.up_to_date


def test_refresh_cli_reports_without_writing(server, manifests_copy, runner, app) -> None:
    before = (manifests_copy / "torch.toml").read_bytes()
    result = runner.invoke(app, ["manifests", "refresh", "--index-url", f"{server}/index-html", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "nktenv.manifests-refresh/1"
    assert doc["missing_releases"] == ["2.16.0"] and doc["written"] is False
    assert (manifests_copy / "torch.toml").read_bytes() == before


def test_refresh_write_adds_releases_safely(server, manifests_copy, runner, app) -> None:
    url = f"{server}/index-json"
    result = runner.invoke(app, ["manifests", "refresh", "--index-url", url, "--write"])
    assert result.exit_code == 0, result.output
    assert "2.16.0" in result.stdout and "13.5" in result.stdout
    manifest.clear_cache()
    m = load()
    rel = m.torch_release("2.16.0")
    assert rel is not None and rel.python == ">=3.11,<3.15" and rel.torchvision is None
    assert url in rel.source
    cu132 = rel.variant("cu132")
    assert cu132.archs_known is False and cu132.sass == () and url in cu132.source
    assert rel.variant("cpu").platforms == ("linux-x86_64", "macos-arm64")
    assert rel.variant("cu135") is None  # no driver floor for CUDA 13.5, so never written
    # Unknown GPU code is never chosen automatically: a GPU machine stays on 2.15.0.
    from plan_facts_shim import facts_for_rtx3090

    chosen = make_plan(facts_for_rtx3090(), m, PlanRequest())
    assert (chosen.torch.version, chosen.torch.variant) == ("2.15.0", "cu132")
    assert any("not in the manifest yet" in r for r in chosen.torch.reasons)
    # A second run finds only what cannot be written.
    again = runner.invoke(app, ["manifests", "refresh", "--index-url", url, "--json"])
    doc = json.loads(again.stdout)
    assert doc["missing_releases"] == []
    assert [m["variant"] for m in doc["missing_variants"]] == ["cu135"]


def test_unreachable_index_is_one_clear_line(runner, app) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(
        app, ["manifests", "refresh", "--index-url", f"http://127.0.0.1:{port}/whl", "--timeout", "5"]
    )
    assert result.exit_code == 5
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[0].startswith("error: Cannot read http://127.0.0.1")


def test_http_error_names_status(server) -> None:
    with pytest.raises(NktenvError) as info:
        scan(f"{server}/no-such-index", timeout=10)
    assert info.value.code == "index-unreachable" and "HTTP 404" in info.value.message
