"""Doctor derives a GPU's architecture the way plan does when a snapshot lacks it (older nktenv, by hand)."""

from __future__ import annotations

import json

from machines import replay_facts

from nktenv.doctor import diagnose
from nktenv.facts import from_dict
from nktenv.manifest import load


def _without_arch(name: str):
    doc = replay_facts(name, frameworks=False).to_dict()
    for gpu in doc["gpus"]:  # as nktenv wrote it before the PCI-id / name table existed
        gpu["compute_capability"] = None
        gpu.pop("derived_arch", None)
        (gpu.get("extra") or {}).pop("derived_arch", None)
    return from_dict(json.loads(json.dumps(doc)))


def test_old_snapshot_of_an_rtx5090_still_needs_the_open_module() -> None:
    facts = _without_arch("blackwell-rtx5090-proprietary")
    assert all(g.compute_capability is None for g in facts.gpus)
    codes = {f.code for f in diagnose(facts, load())}
    assert "blackwell_needs_open_kernel_module" in codes


def test_derivation_does_not_invent_an_architecture_for_an_unknown_gpu() -> None:
    doc = replay_facts("ubuntu2204-rtx3090-driver535", frameworks=False).to_dict()
    for gpu in doc["gpus"]:
        gpu.update(name="NVIDIA Future GPU", compute_capability=None, pci_device_id=None)
    facts = from_dict(json.loads(json.dumps(doc)))
    codes = {f.code for f in diagnose(facts, load())}
    assert not codes & {"blackwell_needs_open_kernel_module", "arch_too_old", "arch_unsupported"}


def test_arch_too_old_on_a_snapshot_without_compute_capability_says_where_it_came_from() -> None:
    doc = replay_facts("gtx1080ti-torch-cu128").to_dict()
    for gpu in doc["gpus"]:
        gpu["compute_capability"] = None
        (gpu.get("extra") or {}).pop("derived_arch", None)
        gpu.pop("derived_arch", None)
    facts = from_dict(json.loads(json.dumps(doc)))
    (f,) = [f for f in diagnose(facts, load()) if f.code == "arch_too_old"]
    assert any("compute capability 6.1 (derived from its" in e for e in f.evidence)
