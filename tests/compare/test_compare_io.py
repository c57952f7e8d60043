"""The result reader on corrupt and foreign files, SQLite stores, and the atomic writer."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from compare_fleet import make_result

from nktenv import fsutil
from nktenv.compare import io as cio
from nktenv.compare.io import InputMissing, load_results, result_filename, write_result_atomic

DATA = Path(__file__).parent / "data"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under folder with its size and mtime: proof that nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def codes(loaded) -> dict[str, str]:
    return {Path(n.source).name: n.code for n in loaded.notes}


def test_recorded_bad_files_are_each_skipped_with_one_note(tmp_path: Path) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    for f in DATA.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    good = make_result("good-pc")
    (folder / "good-pc.json").write_text(json.dumps(good), encoding="utf-8")
    (folder / "copy of good-pc.json").write_text(json.dumps(good, indent=4), encoding="utf-8")
    before = snapshot(folder)
    loaded = load_results([folder])
    assert [r.machine for r in loaded.results] == ["good-pc"]
    assert codes(loaded) == {
        "bench-v2.json": "unknown-schema",
        "truncated.json": "truncated",
        "facts-snapshot.json": "not-a-result",
        "garbage.json": "not-json",
        "empty.json": "empty",
        "no-rows.json": "no-rows",
        "desktop.ini": "unrelated",
        "notes.txt": "unrelated",
        "latin1.json": "not-utf8",
        "list.json": "not-a-result",
        "good-pc.json": "duplicate",  # "copy of good-pc.json" sorts first and wins
    }
    assert loaded.files_seen == len(before)
    assert snapshot(folder) == before


def test_result_in_envelope_and_with_bom_is_read(tmp_path: Path) -> None:
    doc = make_result("pc")
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    other = make_result("pc2")
    (tmp_path / "env.json").write_text(json.dumps({"schema_version": 1, "status": "success", "data": other}))
    loaded = load_results([tmp_path])
    assert sorted(r.machine for r in loaded.results) == ["pc", "pc2"] and not loaded.notes


def test_named_file_with_other_extension_is_tried_and_missing_path_raises(tmp_path: Path) -> None:
    p = tmp_path / "result.txt"
    p.write_text(json.dumps(make_result("pc")))
    assert [r.machine for r in load_results([p]).results] == ["pc"]
    with pytest.raises(InputMissing):
        load_results([tmp_path / "nope"])


def test_a_file_named_twice_is_one_result(tmp_path: Path) -> None:
    p = tmp_path / "pc.json"
    p.write_text(json.dumps(make_result("pc")))
    loaded = load_results([p, tmp_path, p])
    assert len(loaded.results) == 1 and [n.code for n in loaded.notes] == ["duplicate", "duplicate"]


def test_in_progress_temp_files_are_noted_not_read(tmp_path: Path) -> None:
    (tmp_path / ".nktenv-abc123.tmp").write_text('{"schema": "nktenv.bench/1", "id"')
    (tmp_path / ".nktenv-k2j4.json").write_text(json.dumps(make_result("pc")))  # bench --out before its rename
    loaded = load_results([tmp_path])
    assert codes(loaded) == {".nktenv-abc123.tmp": "in-progress", ".nktenv-k2j4.json": "in-progress"}
    assert not loaded.results


def test_unreadable_file_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "locked.json"
    p.write_text("{}")
    real = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "locked.json":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    loaded = load_results([tmp_path])
    assert codes(loaded) == {"locked.json": "unreadable"} and "Permission denied" in loaded.notes[0].detail


def _store(path: Path, docs: list[dict], wal: bool = False) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('version', '1')")
    conn.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, machine TEXT, created_at TEXT, document TEXT NOT NULL)")
    for d in docs:
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?)",
                     (d.get("id"), d["machine"]["name"], d.get("created_at"), json.dumps(d, ensure_ascii=False)))
    conn.commit()
    conn.close()


def test_sqlite_store_is_read_without_touching_it(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    db = folder / "results.sqlite"
    future = make_result("future")
    future["schema"] = "nktenv.bench/9"
    _store(db, [make_result("pc-a"), make_result("研究室-pc"), future])
    before = snapshot(folder)
    loaded = load_results(stores=[db])
    assert sorted(r.machine for r in loaded.results) == ["pc-a", "研究室-pc"]
    assert [n.code for n in loaded.notes] == ["unknown-schema"]
    assert loaded.notes[0].source.startswith(str(db) + "#runs/")
    assert snapshot(folder) == before  # no -wal, -shm or journal beside the store


def test_the_bench_store_layout_is_read(tmp_path: Path) -> None:
    from nktenv.bench import store

    db = tmp_path / "lab" / "bench.sqlite3"
    for name in ("pc-1", "pc-2"):
        store.save(make_result(name), db)
    store.save(make_result("pc-1"), db)  # the same run saved twice is one row (INSERT OR REPLACE)
    before = snapshot(db.parent)
    loaded = load_results([db.parent])
    assert sorted(r.machine for r in loaded.results) == ["pc-1", "pc-2"] and not loaded.notes
    assert snapshot(db.parent) == before


def test_wal_store_rows_still_in_the_log_are_read(tmp_path: Path) -> None:
    db = tmp_path / "wal.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # keep the committed row in the -wal file
    conn.execute("CREATE TABLE results (json TEXT)")
    conn.execute("INSERT INTO results VALUES (?)", (json.dumps(make_result("walpc")),))
    conn.commit()
    try:
        assert Path(str(db) + "-wal").stat().st_size > 0
        loaded = load_results(stores=[db])
        assert [r.machine for r in loaded.results] == ["walpc"]
    finally:
        conn.close()


def test_store_found_in_folder_and_bad_stores_are_notes(tmp_path: Path) -> None:
    _store(tmp_path / "bench.db", [make_result("from-db")])
    (tmp_path / "fake.sqlite").write_text("not a database")
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(cio.SQLITE_MAGIC + b"\x00" * 50)
    loaded = load_results([tmp_path])
    assert [r.machine for r in loaded.results] == ["from-db"]
    assert codes(loaded)["fake.sqlite"] == "unrelated"
    assert codes(loaded)["broken.sqlite"] == "store-unreadable"
    not_store = load_results(stores=[tmp_path / "fake.sqlite"])
    assert [n.code for n in not_store.notes] == ["not-a-store"]


def test_same_run_in_a_file_and_a_store_is_counted_once(tmp_path: Path) -> None:
    doc = make_result("pc")
    (tmp_path / "pc.json").write_text(json.dumps(doc))
    _store(tmp_path / "s.sqlite", [doc])
    loaded = load_results([tmp_path / "pc.json"], [tmp_path / "s.sqlite"])
    assert len(loaded.results) == 1 and [n.code for n in loaded.notes] == ["duplicate"]


def test_result_without_id_uses_its_content(tmp_path: Path) -> None:
    doc = make_result("pc")
    del doc["id"]
    (tmp_path / "a.json").write_text(json.dumps(doc))
    (tmp_path / "b.json").write_text(json.dumps(doc))
    loaded = load_results([tmp_path])
    assert len(loaded.results) == 1 and loaded.results[0].id.startswith("sha256:")
    assert [n.code for n in loaded.notes] == ["duplicate"]


def test_write_result_atomic_round_trips_and_replaces(tmp_path: Path) -> None:
    doc = make_result("藤澤-pc")
    target = tmp_path / "C Users 藤澤" / result_filename(doc)
    target.parent.mkdir()
    write_result_atomic(target, {"old": True})
    write_result_atomic(target, doc)
    assert json.loads(target.read_text(encoding="utf-8")) == doc
    assert os.listdir(target.parent) == [target.name]
    assert [r.machine for r in load_results([target.parent]).results] == ["藤澤-pc"]


def test_write_result_atomic_leaves_nothing_when_it_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.json"
    target.write_text('{"previous": 1}')

    def boom(src: Path, dst: Path, attempts: int = 10) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil, "_replace", boom)
    with pytest.raises(OSError):
        write_result_atomic(target, make_result("pc"))
    assert os.listdir(tmp_path) == ["r.json"] and target.read_text() == '{"previous": 1}'


def test_result_filename_is_safe_on_every_file_system() -> None:
    doc = make_result('lab pc/03:"研究室"')
    name = result_filename(doc)
    assert name.endswith(".json") and name.count(".") == 1
    assert not set(name) & set('/\\:*?"<>| ')
    # ASCII only (some NAS shares mangle other names); the id prefix keeps machines apart anyway
    assert name == f"lab-pc-03_2026-11-20T100000Z_{doc['id'][:8]}.json"
