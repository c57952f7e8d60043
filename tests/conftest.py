"""Hermetic defaults for every test: English, wide tables, a private data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NKTENV_LANG", "en")
    monkeypatch.setenv("NKTENV_DATA_DIR", str(tmp_path_factory.mktemp("nktenv-data")))
    for var in ("NKTENV_OVERRIDE_DRIVER", "NKTENV_OVERRIDE_CUDA_DRIVER", "NKTENV_OVERRIDE_GPUS", "NKTENV_TORCH_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    import nktenv.cli._common as common
    import nktenv.i18n as i18n

    i18n.set_language("en")
    common._json_requested = False


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def app():
    from nktenv.cli import app as typer_app

    return typer_app
