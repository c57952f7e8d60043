"""An unreachable index: the host named from real installer output, the wheel folder read, the command that works."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nktenv.errors import ExitCode
from nktenv.setup import apply as A
from nktenv.setup import offline
from nktenv.setup.process import ProcResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wheels import FAKE_TORCH_OK, make_wheel  # noqa: E402

CASES = json.loads((Path(__file__).parent / "data" / "network-errors.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["source"].rsplit("/", 2)[-2] + "-" + c["source"].rsplit("/", 1)[-1]
                                             for c in CASES])
def test_real_network_failures_name_the_host(case: dict) -> None:
    assert offline.unreachable_hosts(case["text"]) == case["hosts"]
    err = A.classify_failure("install", ProcResult((case["installer"],), 1, case["text"]), Path("/tmp/x.log"))
    assert err.code == "no-network" and err.exit_code == ExitCode.NETWORK == 6
    assert all(host in err.message for host in case["hosts"]), err.message


def test_host_falls_back_to_the_index_the_installer_was_given() -> None:
    # pip with retries turned down names neither host nor path; the spec's index is then the one out of reach.
    tail = "Connection refused\nERROR: No matching distribution found for torch==2.15.0"
    assert offline.unreachable_hosts(tail, ["http://127.0.0.1:9/simple"]) == ["127.0.0.1"]
    err = A.classify_failure("install", ProcResult(("pip",), 1, tail), Path("/tmp/x.log"), ("https://mirror.lab.example/simple",))
    assert "mirror.lab.example" in err.message


def _folder(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "torch", "2.13.0+cpu", module_source=FAKE_TORCH_OK.replace('"0.0.1"', '"2.13.0+cpu"'))
    make_wheel(wheels, "numpy", "2.1.0")
    (wheels / "torchvision-0.30.0-cp39-cp39-manylinux_2_28_x86_64.whl").write_bytes(b"")  # for another Python
    return wheels


def test_report_says_what_the_folder_lacks_and_holds(tmp_path: Path) -> None:
    wheels = _folder(tmp_path)
    report = offline.report(("torch==2.15.0", "torchvision==0.30.0", "numpy"), [str(wheels)], "3.11.7")
    assert report.missing[0] == "No torch 2.15.0 wheel for cp311 in the wheel folder; it holds torch 2.13.0+cpu"
    assert report.missing[1].startswith("No torchvision 0.30.0 wheel for cp311 in the wheel folder; it holds torchvision 0.30.0 (")
    assert len(report.missing) == 2 and report.lacking == ["torchvision"]
    command = offline.offline_command(report, frameworks=["torch"], companions=["torchvision", "numpy"],
                                      find_links=[str(wheels)], keep=["--venv", "env"])
    assert command == ["nktenv", "setup", "--venv", "env", "--torch", "2.13.0", "--variant", "cpu",
                       "--without", "torchvision", "--find-links", str(wheels), "--no-index"]
    assert offline.report(("torch==2.13.0", "numpy"), [str(wheels)], "3.11").complete


def test_no_command_when_the_framework_is_not_on_disk(tmp_path: Path) -> None:
    report = offline.report(("tensorflow==2.21.0",), [str(_folder(tmp_path))], "3.12")
    assert report.missing == ["No tensorflow 2.21.0 wheel for cp312 in the wheel folder, and no tensorflow wheel at all"]
    assert offline.offline_command(report, frameworks=["tensorflow"], companions=[], find_links=["w"]) is None


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_unreachable_index_names_host_folder_and_the_command_that_works(runner, app, tmp_path: Path, monkeypatch,
                                                                        installer: str) -> None:
    pytest.importorskip("nktenv.plan")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.setenv("PIP_RETRIES", "1")  # with 0, pip skips an unreachable index without a word
    monkeypatch.chdir(tmp_path)
    wheels = _folder(tmp_path)
    args = ["setup", "--torch", "2.15.0", "--variant", "cpu", "--find-links", str(wheels), "--venv", "env",
            "--installer", installer, "--yes", "--no-bench"]
    result = runner.invoke(app, [*args, "--index-url", "http://127.0.0.1:9/simple", "--json"])
    if result.exit_code == 3 and "uv" in result.stderr:
        pytest.skip("uv is not installed")
    assert result.exit_code == 6, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "no-network" and "127.0.0.1" in error["message"]
    hint = error["hint"]
    assert "No torch 2.15.0 wheel for cp%d%d in the wheel folder; it holds torch 2.13.0+cpu" % sys.version_info[:2] in hint
    assert "use a local wheel folder with --find-links" not in hint  # it was given already
    command = hint.split("With what is on disk: ", 1)[1].split()
    assert command[:2] == ["nktenv", "setup"] and command[-1] == "--no-index"
    assert [e.name for e in tmp_path.iterdir() if e.name != "wheels"] == []  # nothing half-done
    # ... and that command works, offline, from the folder alone
    again = runner.invoke(app, [*command[1:], "--yes", "--no-bench", "--json"])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["distributions"]["torch"] == "2.13.0+cpu"


def test_file_url_folders_are_read_too(tmp_path: Path) -> None:
    wheels = _folder(tmp_path)
    report = offline.report(("torch==2.13.0",), [wheels.as_uri()], "3.11")
    assert report.complete and report.installable["torch"].version == "2.13.0+cpu"
    assert offline.report(("torch==2.13.0",), ["https://mirror.lab.example/wheels/"], "3.11").lacking == ["torch"]
