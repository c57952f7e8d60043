"""`nktenv manifests check` through the real Typer app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from nktenv import manifest

REPO = Path(__file__).resolve().parents[2]


def test_check_passes_on_shipped_manifests(runner, app) -> None:
    result = runner.invoke(app, ["manifests", "check", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["schema"] == "nktenv.manifests-check/1"
    assert doc["counts"]["torch_releases"] >= 30 and doc["counts"]["tensorflow_releases"] >= 18
    assert doc["newest"]["torch"] == "2.15.0"
    human = runner.invoke(app, ["manifests", "check"])
    assert human.exit_code == 0 and "are valid" in human.stdout


def test_check_reports_bad_entry(runner, app, tmp_path, monkeypatch) -> None:
    for name in manifest.FILES:
        shutil.copyfile(REPO / "manifests" / name, tmp_path / name)
    path = tmp_path / "torch.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('name = "cu132"', 'name = "cu135"', 1), encoding="utf-8"
    )
    monkeypatch.setenv("NKTENV_MANIFESTS_DIR", str(tmp_path))
    manifest.clear_cache()
    try:
        result = runner.invoke(app, ["manifests", "check", "--json"])
        human = runner.invoke(app, ["manifests", "check"])
    finally:
        manifest.clear_cache()
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "invalid-manifest"
    assert "torch.toml: variant cu135" in doc["error"]["message"]
    assert human.exit_code == 5 and "Traceback" not in human.output
    assert human.stderr.splitlines()[0].startswith("error: torch.toml: variant cu135")
