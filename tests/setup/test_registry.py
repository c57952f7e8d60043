from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from nktenv.setup import registry


def _fake_venv(root: Path) -> Path:
    py = registry.venv_python(root)
    py.parent.mkdir(parents=True)
    py.write_text("")
    return py


def test_empty_registry_has_no_last_python() -> None:
    assert registry.environments() == []
    assert registry.last_python() is None


def test_remember_and_last_python(tmp_path: Path) -> None:
    a = _fake_venv(tmp_path / "a")
    b = _fake_venv(tmp_path / "藤澤 env")
    registry.remember(registry.Environment(path=str(tmp_path / "a"), python=str(a), torch="2.13.0"))
    registry.remember(registry.Environment(path=str(tmp_path / "藤澤 env"), python=str(b)))
    assert registry.last_python() == str(b)
    assert [e.torch for e in registry.environments()] == ["2.13.0", None]
    # Re-remembering moves an env to the end and keeps its creation time.
    first = registry.environments()[0]
    registry.remember(registry.Environment(path=str(tmp_path / "a"), python=str(a), torch="2.12.0"))
    envs = registry.environments()
    assert len(envs) == 2
    assert envs[-1].torch == "2.12.0" and envs[-1].created_at == first.created_at
    assert registry.last_python() == str(a)


def test_last_python_skips_deleted_environments(tmp_path: Path) -> None:
    a = _fake_venv(tmp_path / "a")
    registry.remember(registry.Environment(path=str(tmp_path / "a"), python=str(a)))
    registry.remember(registry.Environment(path=str(tmp_path / "gone"), python=str(tmp_path / "gone" / "python")))
    assert registry.last_python() == str(a)
    assert registry.forget(tmp_path / "gone") is True
    assert registry.forget(tmp_path / "gone") is False
    assert len(registry.environments()) == 1


def test_damaged_file_reads_as_empty_and_unknown_keys_survive(tmp_path: Path) -> None:
    f = registry.data_dir() / registry.FILE_NAME
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("{not json", encoding="utf-8")
    assert registry.environments() == []
    f.write_text(json.dumps({"environments": [{"path": "p", "python": "q", "future_key": 1}, {"bad": 1}]}))
    (env,) = registry.environments()
    assert env.to_dict()["future_key"] == 1


def test_data_dir_defaults(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NKTENV_DATA_DIR")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\藤澤\AppData\Local")
    assert str(registry.data_dir()).endswith("nktenv") and "藤澤" in str(registry.data_dir())
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert registry.data_dir() == tmp_path / "nktenv"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    def add(i: int) -> None:
        registry.remember(registry.Environment(path=str(tmp_path / f"e{i}"), python=f"p{i}"))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e.python for e in registry.environments()) == sorted(f"p{i}" for i in range(12))
