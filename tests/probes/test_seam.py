"""The seam against the real machine: timeouts, decoding, environment, and record -> replay."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from nktenv.probes.seam import (
    CmdResult,
    RealSeam,
    RecordingSeam,
    ReplayError,
    ReplaySeam,
    argv_key,
    child_env,
    decode_output,
)


def test_run_captures_output_and_exit_code() -> None:
    res = RealSeam().run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                         timeout=30, python=True)
    assert res.returncode == 3
    assert res.stdout.strip() == "out"
    assert res.stderr.strip() == "err"
    assert not res.ok and not res.timed_out and not res.not_found


def test_hanging_command_is_cut_off_and_reported() -> None:
    start = time.perf_counter()
    res = RealSeam().run([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"],
                         timeout=1.0, python=True)
    elapsed = time.perf_counter() - start
    assert res.timed_out is True
    assert res.returncode is None
    assert res.error == "timed out after 1 s"
    assert elapsed < 15  # killed, not waited for
    assert "started" in res.stdout  # what it said before hanging is kept


def test_missing_command_is_not_found_not_an_exception() -> None:
    res = RealSeam().run(["nktenv-no-such-tool-xyz", "--version"], timeout=5)
    assert res.not_found is True
    assert res.returncode is None
    assert res.error


def test_python_children_speak_utf8_and_env_none_removes_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    code = "import os, sys; print(os.environ.get('PYTHONUTF8'), os.environ.get('CUDA_VISIBLE_DEVICES'), '藤澤')"
    res = RealSeam().run([sys.executable, "-c", code], timeout=30, env={"CUDA_VISIBLE_DEVICES": None}, python=True)
    assert res.stdout.split() == ["1", "None", "藤澤"]


def test_child_env_applies_overrides() -> None:
    env = child_env({"A_NEW_VAR": "x", "PATH": None}, python=False)
    assert env["A_NEW_VAR"] == "x" and "PATH" not in env and "PYTHONUTF8" not in env


def test_cp932_output_decodes_and_bad_bytes_stay_visible() -> None:
    raw = "エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。".encode("cp932")
    assert decode_output(raw, "cp932").startswith("エラー: 指定された")
    # The same bytes read as UTF-8 must not raise; undecodable bytes are shown as \xNN.
    assert "\\x" in decode_output(raw, "utf-8")
    assert decode_output(b"abc", "no-such-codec") == "abc"
    assert decode_output(None, "utf-8") == ""


def test_read_text_miss_keeps_the_error(tmp_path: Path) -> None:
    seam = RealSeam()
    missing = str(tmp_path / "nope")
    assert seam.read_text(missing) is None
    assert "FileNotFoundError" in (seam.read_error(missing) or "")
    (tmp_path / "f.txt").write_text("héllo\n", encoding="utf-8")
    assert seam.read_text(str(tmp_path / "f.txt")) == "héllo\n"


def test_listdir_pattern_and_alternatives(tmp_path: Path) -> None:
    for name in ("cudnn64_8.dll", "cudart64_110.dll", "other.dll", "zlibwapi.dll"):
        (tmp_path / name).write_bytes(b"")
    seam = RealSeam()
    assert seam.listdir(str(tmp_path), "cudnn*.dll|zlibwapi.dll") == ["cudnn64_8.dll", "zlibwapi.dll"]
    assert seam.listdir(str(tmp_path / "missing")) is None


def test_nvml_answers_as_data_without_raising() -> None:
    data = RealSeam().nvml()
    assert isinstance(data, dict) and "available" in data
    if not data["available"]:
        assert isinstance(data["error"], str) and data["error"]
    else:  # pragma: no cover - only on a machine with a working driver
        assert data["driver_version"]


class _FakeInner:
    """A machine described in code, to check that recording keeps every answer."""

    environ = {"PATH": "C:\\Windows", "CUDA_PATH": "C:\\CUDA\\v11.8"}

    def run(self, argv, *, timeout, env=None, python=False):  # noqa: ANN001
        if argv[0] == "hang":
            return CmdResult(tuple(argv), timed_out=True, error="timed out after 1 s", duration_s=1.0)
        return CmdResult(tuple(argv), returncode=0, stdout="ＯＫ " + " ".join(argv[1:]), stderr="warn")

    def read_text(self, path):  # noqa: ANN001
        return "text of " + path if path.endswith(".txt") else None

    def read_bytes(self, path):  # noqa: ANN001
        return b"\x06\x00\x00\x00\x01" if path.endswith("SecureBoot") else None

    def read_error(self, path):  # noqa: ANN001
        return "PermissionError: Permission denied"

    def exists(self, path):  # noqa: ANN001
        return path == "C:\\Windows\\System32\\vcruntime140.dll"

    def realpath(self, path):  # noqa: ANN001
        return path.replace("cuda", "cuda-12.4")

    def listdir(self, path, pattern="*"):  # noqa: ANN001
        return ["cudnn64_8.dll"] if path.endswith("bin") else None

    def platform(self):
        return {"system": "Windows", "machine": "AMD64", "executable": "C:\\Users\\藤澤\\python.exe"}

    def which(self, name):  # noqa: ANN001
        return "C:\\CUDA\\v11.8\\bin\\nvcc.exe" if name == "nvcc" else None

    def nvml(self):
        return {"available": False, "error": "Driver/library version mismatch", "error_name": "NVMLError_LibRmVersionMismatch"}


def _exercise(seam) -> list:  # noqa: ANN001
    return [
        seam.platform(),
        dict(seam.environ),
        seam.run(["nvidia-smi", "-L"], timeout=5),
        seam.run(["hang"], timeout=1),
        seam.run(["nvidia-smi", "-L"], timeout=5),
        seam.read_text("C:\\x\\version.txt"),
        seam.read_text("C:\\x\\missing.json"),
        seam.read_error("C:\\x\\missing.json"),
        seam.read_bytes("/sys/firmware/SecureBoot"),
        seam.exists("C:\\Windows\\System32\\vcruntime140.dll"),
        seam.exists("C:\\nope"),
        seam.listdir("C:\\CUDA\\v11.8\\bin", "cudnn*.dll"),
        seam.listdir("C:\\nowhere"),
        seam.which("nvcc"),
        seam.which("nvidia-smi"),
        seam.realpath("/usr/local/cuda"),
        seam.nvml(),
    ]


def test_recording_replays_every_answer(tmp_path: Path) -> None:
    inner = _FakeInner()
    live = _exercise(RecordingSeam(inner, tmp_path / "rec"))
    index = json.loads((tmp_path / "rec" / "machine.json").read_text(encoding="utf-8"))
    assert index["format"] == "nktenv.recording/1"
    assert [c["file"] for c in index["commands"]] == ["commands/001.json", "commands/002.json", "commands/003.json"]
    hang = json.loads((tmp_path / "rec" / "commands" / "002.json").read_text(encoding="utf-8"))
    assert hang["timed_out"] is True and hang["argv"] == ["hang"]
    assert index["files"]["C:\\x\\missing.json"] == {"missing": True, "error": "PermissionError: Permission denied"}
    replayed = _exercise(ReplaySeam(tmp_path / "rec"))
    assert replayed == live


def test_replay_of_an_unrecorded_command_is_not_found(tmp_path: Path) -> None:
    RecordingSeam(_FakeInner(), tmp_path / "rec")
    res = ReplaySeam(tmp_path / "rec").run(["nvcc", "--version"], timeout=5)
    assert res.not_found and res.error == "not recorded"


def test_replay_rejects_what_is_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(ReplayError) as info:
        ReplaySeam(tmp_path)
    assert info.value.kind == "missing" and info.value.path == tmp_path / "machine.json"
    (tmp_path / "machine.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReplayError) as info:
        ReplaySeam(tmp_path)
    assert info.value.kind == "unreadable" and "Expecting property name" in info.value.detail
    (tmp_path / "machine.json").write_text('{"format": "something/2"}', encoding="utf-8")
    with pytest.raises(ReplayError) as info:
        ReplaySeam(tmp_path)
    assert info.value.kind == "format"


def test_checks_scripts_match_by_name_wherever_nktenv_lives() -> None:
    a = argv_key(["C:\\Users\\藤澤\\py\\python.exe", "C:\\site-packages\\nktenv\\checks\\probe.py", "torch"])
    b = argv_key(["C:\\Users\\藤澤\\py\\python.exe", "/work/main/checks/probe.py", "torch"])
    assert a == b == ("C:\\Users\\藤澤\\py\\python.exe", "<checks>/probe.py", "torch")
    assert argv_key(["/usr/bin/nvidia-smi"]) == ("/usr/bin/nvidia-smi",)
