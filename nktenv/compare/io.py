"""Reading results from files, folders and SQLite stores; naming result files (nktenv.fsutil writes them).

Reading never writes into an input: JSON files are only read, and a SQLite store is copied to a
private temporary folder before it is opened (SQLite may create `-wal`/`-shm` files or take
locks beside a database it opens, even read-only, and a store on a network share must not be
touched). Every input that cannot be used becomes one `Note`; nothing raises for bad data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from nktenv.compare.model import SCHEMA_PREFIX, BadResult, Result
from nktenv.fsutil import TEMP_PREFIX
from nktenv.fsutil import write_json_atomic as write_result_atomic  # noqa: F401  (documented in docs/compare.md)

MAX_FILE_BYTES = 64 * 1024 * 1024
READ_THREADS = 8
SQLITE_MAGIC = b"SQLite format 3\x00"
JSON_SUFFIXES = (".json",)
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
# Columns a store is most likely to keep the whole result document in; any text column is tried after.
_DOC_COLUMNS = ("document", "doc", "json", "result", "result_json", "payload", "data", "body", "content")


@dataclass(frozen=True)
class Note:
    """One input that was skipped, and why (`code` is stable; `detail` is verbatim evidence)."""

    source: str
    code: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Loaded:
    """Everything read: the usable results (first copy of each id wins) and one note per skip."""

    results: tuple[Result, ...]
    notes: tuple[Note, ...]
    files_seen: int


class InputMissing(Exception):
    """A path named on the command line does not exist (a typo, not bad data)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


# --------------------------------------------------------------------------------------------- reading


def _content_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_json_bytes(raw: bytes) -> Any:
    """Decode one JSON document.

    Raises:
        BadResult: empty, not UTF-8, truncated or otherwise not JSON.
    """
    if not raw.strip():
        raise BadResult("empty", "the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadResult("not-utf8", str(exc)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # An error at the very end means the writer stopped half-way (a copy cut short, a full disk).
        if exc.pos >= len(text.rstrip()):
            raise BadResult("truncated", f"line {exc.lineno} column {exc.colno}") from None
        raise BadResult("not-json", f"{exc.msg} (line {exc.lineno} column {exc.colno})") from None


def _unwrap(doc: Any) -> Any:
    # Accept a result inside a JSON envelope's "data" too; the document itself stays authoritative.
    if isinstance(doc, dict) and "schema" not in doc and isinstance(doc.get("data"), dict):
        inner = doc["data"]
        if str(inner.get("schema", "")).startswith(SCHEMA_PREFIX):
            return inner
    return doc


def _read_raw(path: Path) -> bytes | BadResult:
    """The file's bytes, or why they cannot be had (returned, not raised: this runs in worker threads)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return BadResult("too-large", f"{size} bytes")
        return path.read_bytes()
    except OSError as exc:
        return BadResult("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")


def _parse_file(path: Path, raw: bytes | BadResult) -> Result:
    if isinstance(raw, BadResult):
        raise raw
    return Result.from_dict(_unwrap(parse_json_bytes(raw)), str(path), _content_id(raw))


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def read_store(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (source label, parsed document or BadResult) for every result a SQLite store holds.

    The store's layout is discovered rather than assumed: any table with a text column holding
    `nktenv.bench/1` JSON documents is read, the likely column names first.

    Raises:
        BadResult: the file is not a readable SQLite database.
    """
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="nktenv-compare-") as tmp:
        copy = Path(tmp) / "store.sqlite"
        try:
            shutil.copyfile(path, copy)
            wal = Path(str(path) + "-wal")
            if wal.is_file():  # committed rows may still live only in the write-ahead log
                shutil.copyfile(wal, Path(str(copy) + "-wal"))
        except OSError as exc:
            raise BadResult("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}") from None
        conn = sqlite3.connect(str(copy))
        try:
            try:
                tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            except sqlite3.DatabaseError as exc:
                raise BadResult("store-unreadable", str(exc)) from None
            for table in tables:
                yield from _read_table(conn, path, table)
        finally:
            conn.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_table(conn: Any, path: Path, table: str) -> Iterator[tuple[str, Any]]:
    import sqlite3

    try:
        cols = [(r[1], (r[2] or "").upper()) for r in conn.execute(f"PRAGMA table_info({_quote(table)})")]
    except sqlite3.DatabaseError:
        return
    textual = [c for c, t in cols if t == "" or "CHAR" in t or "TEXT" in t or "CLOB" in t or "JSON" in t or "BLOB" in t]
    textual.sort(key=lambda c: (c.lower() not in _DOC_COLUMNS, _DOC_COLUMNS.index(c.lower()) if c.lower() in _DOC_COLUMNS else 0))
    for col in textual:
        found = False
        try:
            cursor = conn.execute(f"SELECT rowid, {_quote(col)} FROM {_quote(table)}")
            for rowid, value in cursor:
                if isinstance(value, (bytes, memoryview)):
                    value = bytes(value).decode("utf-8", "replace")
                # a "schema" column holds the bare id; only whole JSON objects are documents
                if not isinstance(value, str) or not value.lstrip().startswith("{") or SCHEMA_PREFIX not in value:
                    continue
                found = True
                label = f"{path}#{table}/{rowid}"
                try:
                    yield label, (parse_json_bytes(value.encode("utf-8")), _content_id(value.encode("utf-8")))
                except BadResult as exc:
                    yield label, exc
        except sqlite3.DatabaseError:
            continue
        if found:
            return  # one document column per table


def _walk(folder: Path) -> Iterator[Path]:
    """Every file under `folder`, sorted, not following directory links (no loops on a share)."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def _classify(path: Path, named: bool) -> str:
    name = path.name.lower()
    if name.startswith(TEMP_PREFIX):  # ours and `nktenv bench --out`'s temporary files
        return "in-progress"
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if (named or name.endswith(SQLITE_SUFFIXES)) and _is_sqlite(path):
        return "sqlite"
    if named:
        return "json"  # a file named explicitly is tried as JSON whatever its extension
    return "unrelated"


def load_results(paths: Sequence[Path | str] = (), stores: Sequence[Path | str] = ()) -> Loaded:
    """Read every result under `paths` (files or folders) and `stores` (SQLite files).

    Raises:
        InputMissing: a named path does not exist.
    """
    results: list[Result] = []
    notes: list[Note] = []
    seen: dict[str, str] = {}

    def take(result: Result) -> None:
        first = seen.get(result.id)
        if first is not None:
            notes.append(Note(result.source, "duplicate", first))
            return
        seen[result.id] = result.source
        results.append(result)

    def from_store(path: Path) -> None:
        try:
            for label, item in read_store(path):
                if isinstance(item, BadResult):
                    notes.append(Note(label, item.code, item.detail))
                    continue
                doc, content_id = item
                try:
                    take(Result.from_dict(_unwrap(doc), label, content_id))
                except BadResult as exc:
                    notes.append(Note(label, exc.code, exc.detail))
        except BadResult as exc:
            notes.append(Note(str(path), exc.code, exc.detail))

    for given in [Path(p) for p in paths] + [Path(s) for s in stores]:
        if not given.exists():
            raise InputMissing(given)
    files: list[tuple[Path, str]] = []
    for given in (Path(p) for p in paths):
        if given.is_dir():
            files.extend((file, _classify(file, named=False)) for file in _walk(given))
        else:
            files.append((given, _classify(given, named=True)))
    files_seen = len(files)
    # On a network share each file costs a round trip; fetch the bytes in parallel, parse in order.
    wanted = [path for path, kind in files if kind == "json"]
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        raw = iter(list(pool.map(_read_raw, wanted)))  # same order as the "json" entries of files
    for path, kind in files:
        if kind in ("in-progress", "unrelated"):
            notes.append(Note(str(path), kind))
        elif kind == "sqlite":
            from_store(path)
        else:
            try:
                take(_parse_file(path, next(raw)))
            except BadResult as exc:
                notes.append(Note(str(path), exc.code, exc.detail))
    for store in (Path(s) for s in stores):
        files_seen += 1
        if store.is_dir():
            notes.append(Note(str(store), "not-a-store", "a folder"))
        elif not _is_sqlite(store):
            notes.append(Note(str(store), "not-a-store", "no SQLite header"))
        else:
            from_store(store)
    return Loaded(tuple(results), tuple(notes), files_seen)


# --------------------------------------------------------------------------------------------- naming

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def result_filename(doc: dict[str, Any]) -> str:
    """A file name for one result that never collides between machines or runs.

    `<machine>_<created_at>_<id prefix>.json`, restricted to characters every file system and
    share accepts (machine names may hold spaces or non-ASCII letters).
    """
    machine = _UNSAFE.sub("-", str((doc.get("machine") or {}).get("name") or "machine")).strip("-.") or "machine"
    stamp = _UNSAFE.sub("", str(doc.get("created_at") or "").replace(":", ""))
    run = _UNSAFE.sub("", str(doc.get("id") or ""))[:8] or hashlib.sha256(
        json.dumps(doc, sort_keys=True).encode()
    ).hexdigest()[:8]
    return f"{machine[:64]}_{stamp}_{run}.json"

