"""Writing files atomically: readers see the old file, no file, or the whole new one.

One writer for every file nktenv hands to people or to other processes (bench and compare
results, setup records, the environment registry, plots, refreshed manifests).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

# Readers (compare) skip files named like this as writes in progress.
TEMP_PREFIX = ".nktenv-"
TEMP_SUFFIX = ".tmp"


def json_bytes(doc: Any) -> bytes:
    """The house JSON file format: indented, UTF-8 as is (Japanese stays readable), newline-terminated."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_json_atomic(path: Path | str, doc: Any) -> Path:
    """Write `doc` as JSON to `path` atomically (see `write_bytes_atomic`).

    Raises:
        OSError: the folder is not writable (the temporary file is gone by then).
    """
    return write_bytes_atomic(path, json_bytes(doc))


def write_bytes_atomic(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` atomically: readers see the old file, or no file, or the whole new one.

    The bytes go to a hidden temporary file in the same folder (same file system, so the rename
    is atomic), are flushed to disk, then renamed over `path`. On any failure, Ctrl-C included,
    the temporary file is removed. The folder must exist.

    Raises:
        OSError: the folder is not writable (the temporary file is gone by then).
    """
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=str(target.parent))
    tmp = Path(tmp_name)
    try:
        # mkstemp creates 0600; the file must be readable like any other the user creates (umask).
        os.chmod(tmp, default_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def default_mode() -> int:
    """The mode `open()` would give a new file under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _replace(src: Path, dst: Path, attempts: int = 10) -> None:
    # On Windows a reader holding the target open makes os.replace fail for a moment; retry briefly.
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
