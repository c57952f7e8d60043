"""The one atomic writer: whole files only, the umask's mode, nothing left behind on failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nktenv import fsutil


def test_json_is_indented_utf8_with_a_final_newline(tmp_path: Path) -> None:
    target = fsutil.write_json_atomic(tmp_path / "r.json", {"machine": "藤澤-pc", "n": [1, 2]})
    raw = target.read_bytes()
    assert raw.endswith(b"}\n") and "藤澤".encode() in raw and b'\n  "n"' in raw
    assert json.loads(raw) == {"machine": "藤澤-pc", "n": [1, 2]}


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_mode_follows_the_umask_not_mkstemp(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        target = fsutil.write_bytes_atomic(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == mode


def test_replaces_whole_and_leaves_only_the_target(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    fsutil.write_json_atomic(target, {"old": True})
    fsutil.write_json_atomic(target, {"new": True})
    assert json.loads(target.read_text(encoding="utf-8")) == {"new": True}
    assert os.listdir(tmp_path) == ["r.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.json"
    target.write_text('{"previous": 1}')

    def interrupted(src: Path, dst: Path, attempts: int = 10) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fsutil, "_replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsutil.write_bytes_atomic(target, b"{}")
    assert os.listdir(tmp_path) == ["r.json"] and target.read_text() == '{"previous": 1}'


def test_a_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        fsutil.write_bytes_atomic(tmp_path / "no" / "f.bin", b"x")
    assert os.listdir(tmp_path) == []
