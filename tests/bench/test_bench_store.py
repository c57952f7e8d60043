from __future__ import annotations

import multiprocessing
import sqlite3
import uuid
from pathlib import Path

import pytest

from nktenv.bench import store


def _doc(i: int, writer: int) -> dict:
    return {
        "schema": "nktenv.bench/1",
        "id": str(uuid.uuid4()),
        "created_at": "2026-11-28T04:00:00Z",
        "machine": {"name": f"pc-{writer}", "fingerprint": "f" * 64},
        "rows": [{"framework": "torch", "model": "cnn", "pipeline": "resident", "device": "cpu", "status": "ok",
                  "samples_per_s": {"median": 1000.0 + i}}],
        "writer": writer,
        "index": i,
    }


def _writer(path: str, writer: int, count: int) -> None:
    for i in range(count):
        store.save(_doc(i, writer), path, timeout=60)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "results" / "bench.sqlite3"
    doc = _doc(0, 0)
    assert store.save(doc, path) == path
    assert store.load_all(path) == [doc]
    store.save(doc, path)  # the same run again replaces, never duplicates
    assert len(store.load_all(path)) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0] == 1


def test_default_path_follows_nktenv_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NKTENV_DATA_DIR", str(tmp_path / "data"))
    assert store.default_path() == tmp_path / "data" / "bench.sqlite3"
    store.save(_doc(1, 1))
    assert len(store.load_all()) == 1


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    docs = store.load_all(path)
    assert len(docs) == 60
    assert sorted((d["writer"], d["index"]) for d in docs) == [(w, i) for w in range(4) for i in range(15)]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0] == 60


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store.save(_doc(0, 0), path)
    broken = _doc(1, 0)
    broken["rows"] = [{"framework": "torch", "samples_per_s": "not a mapping"}]  # fails inside the transaction
    with pytest.raises(AttributeError):
        store.save(broken, path)
    assert len(store.load_all(path)) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0] == 1


def test_missing_store_reads_as_empty(tmp_path: Path) -> None:
    assert store.load_all(tmp_path / "none.sqlite3") == []
