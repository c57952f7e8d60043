from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compare_fleet import lab_fleet, write_fleet


@pytest.fixture
def fleet_docs() -> dict[str, dict[str, Any]]:
    return lab_fleet()


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    return write_fleet(tmp_path / "shared" / "results")
