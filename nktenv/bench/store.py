"""The results store: one SQLite file, one transaction per bench run.

Default: `bench.sqlite3` in nktenv's data folder (NKTENV_DATA_DIR overrides); `--store` for a shared
path. Writes take the database's write lock up front (BEGIN IMMEDIATE) and retry while another
writer holds it, so two benches finishing at once both land. The rollback journal (not WAL) is
used because WAL does not work on network shares.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

FILE_NAME = "bench.sqlite3"
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    machine_name TEXT,
    fingerprint TEXT,
    schema TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rows (
    run_id TEXT NOT NULL REFERENCES runs(id),
    framework TEXT, model TEXT, pipeline TEXT, device TEXT, status TEXT,
    samples_per_s REAL
);
CREATE INDEX IF NOT EXISTS rows_by_workload ON rows (framework, model, pipeline, device);
"""


def default_path() -> Path:
    """bench.sqlite3 in nktenv's per-user data folder (the same folder as the environment registry)."""
    from nktenv.setup.registry import data_dir

    return data_dir() / FILE_NAME


def _connect(path: Path, timeout: float) -> Any:
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = %d" % int(timeout * 1000))
    return conn


def save(document: dict[str, Any], path: Path | str | None = None, *, timeout: float = 60.0) -> Path:
    """Store one `nktenv.bench/1` document atomically; returns the store's path.

    Raises:
        sqlite3.Error / OSError: the store cannot be written (after retrying `timeout` seconds).
    """
    import sqlite3

    target = Path(path) if path is not None else default_path()
    deadline = time.monotonic() + timeout
    while True:
        conn = _connect(target, timeout)
        try:
            conn.executescript(SCHEMA_SQL)
            conn.execute("BEGIN IMMEDIATE")
            try:
                machine = document.get("machine") or {}
                conn.execute(
                    "INSERT OR REPLACE INTO runs (id, created_at, machine_name, fingerprint, schema, document) VALUES (?, ?, ?, ?, ?, ?)",
                    (document["id"], document["created_at"], machine.get("name"), machine.get("fingerprint"),
                     document["schema"], json.dumps(document, ensure_ascii=False, sort_keys=True)),
                )
                conn.execute("DELETE FROM rows WHERE run_id = ?", (document["id"],))
                conn.executemany(
                    "INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (document["id"], r.get("framework"), r.get("model"), r.get("pipeline"), r.get("device"),
                         r.get("status"), (r.get("samples_per_s") or {}).get("median"))
                        for r in document.get("rows", [])
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return target
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            conn.close()


def load_all(path: Path | str | None = None) -> list[dict[str, Any]]:
    """Every stored document, oldest first."""
    target = Path(path) if path is not None else default_path()
    if not target.is_file():
        return []
    conn = _connect(target, 30.0)
    try:
        cursor = conn.execute("SELECT document FROM runs ORDER BY created_at, id")
        return [json.loads(doc) for (doc,) in cursor]
    finally:
        conn.close()
