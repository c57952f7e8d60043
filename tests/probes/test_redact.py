"""`--redact`: nothing that names the person or the machine survives."""

from __future__ import annotations

import json

import pytest
from machines import replay_facts

from nktenv.facts import validate
from nktenv.probes import redact


def _text(facts) -> str:  # noqa: ANN001
    return json.dumps(facts.to_dict(), ensure_ascii=False)


def test_japanese_user_folder_hostname_and_uuid_are_gone() -> None:
    facts = replay_facts("win11-ja-cp932")
    before = _text(facts)
    assert "藤澤" in before and "GPU-1a2b3c4d" in before
    red = redact(facts)
    after = _text(red)
    assert "藤澤" not in after
    assert "GPU-1a2b3c4d" not in after
    assert red.host["hostname"] is None and red.gpus[0].uuid is None
    assert red.python.executable == "C:\\Users\\<user>\\AppData\\Local\\Programs\\Python\\Python310\\python.exe"
    assert red.extra["redacted"] is True
    assert validate(red.to_dict()) is None
    # What doctor needs stays: versions, GPU names, paths outside the user folder.
    assert red.gpus[0].name == "NVIDIA GeForce RTX 3060" and red.driver.version == "537.58"
    assert red.cuda_toolkits[0].root == "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v12.1"


@pytest.mark.parametrize("name", ["conda-own-cudnn", "macos-arm64", "nvidia-smi-hangs"])
def test_linux_and_mac_home_folders(name: str) -> None:
    red = redact(replay_facts(name, frameworks=False))
    text = _text(red)
    for user in ("tanaka", "suzuki"):
        assert f"/home/{user}" not in text and f"/Users/{user}" not in text
    assert "GPU-8e0d0c55" not in text  # a UUID quoted inside a kernel log line
    assert red.host == {"hostname": None}
