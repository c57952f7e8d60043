"""A writable copy of the shipped manifests that nktenv reads instead (NKTENV_MANIFESTS_DIR)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

from nktenv import manifest
from nktenv.manifest import FILES
from tests.conftest import REPO


def manifest_copy(folder: Path, monkeypatch) -> Iterator[Path]:
    """Copy every manifest file into `folder` and point nktenv at it for one test (a fixture body)."""
    folder.mkdir()
    for name in FILES:
        shutil.copyfile(REPO / "manifests" / name, folder / name)
    monkeypatch.setenv("NKTENV_MANIFESTS_DIR", str(folder))
    manifest.clear_cache()
    yield folder
    manifest.clear_cache()
