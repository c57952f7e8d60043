from __future__ import annotations

import json

import pytest

from nktenv import facts as F
from nktenv.errors import NktenvError
from tests.conftest import SHARED


def test_shipped_schema_is_the_contract() -> None:
    contract = SHARED / "contracts" / "facts-v1.schema.json"
    if not contract.exists():
        pytest.skip("shared contract not present")
    assert F.schema() == json.loads(contract.read_text(encoding="utf-8"))


def test_round_trip_keeps_unknown_keys() -> None:
    doc = {
        "schema": "nktenv.facts/1",
        "os": {"system": "windows", "arch": "x86_64", "future_key": [1, 2]},
        "gpus": [{"name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9", "pcie": {"gen_current": 4}}],
        "frameworks": {"torch": {"version": "2.1.0+cu118", "arch_list": ["sm_50", "sm_90"]}, "tensorflow": None},
        "top_level_addition": {"x": 1},
    }
    facts = F.from_dict(doc)
    assert facts.os.system == "windows"
    assert facts.gpus[0].cc == (8, 9)
    assert facts.frameworks.torch.arch_list == ("sm_50", "sm_90")
    out = facts.to_dict()
    assert out["os"]["future_key"] == [1, 2]
    assert out["top_level_addition"] == {"x": 1}
    assert F.validate(out) is None


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"schema": "nktenv.facts/2", "os": {"system": "linux"}}, "facts.schema"),
        ({"schema": "nktenv.facts/1"}, "facts.os"),
        ({"schema": "nktenv.facts/1", "os": {"system": "bsd"}}, "facts.os.system"),
        ({"schema": "nktenv.facts/1", "os": {"system": "linux"}, "gpus": [{"index": "0"}]}, "facts.gpus[0].index"),
        ({"schema": "nktenv.facts/1", "os": {"system": "linux"}, "memory": {"total_bytes": True}}, "facts.memory.total_bytes"),
    ],
)
def test_invalid_documents_name_the_first_bad_field(doc: dict, where: str) -> None:
    with pytest.raises(NktenvError) as info:
        F.from_dict(doc)
    assert where in info.value.message


def test_load_file_errors_are_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(NktenvError, match="is not JSON"):
        F.load_file(str(bad))
    with pytest.raises(NktenvError, match="not found"):
        F.load_file(str(tmp_path / "missing.json"))


def test_parse_cc() -> None:
    assert F.parse_cc("12.0") == (12, 0)
    assert F.parse_cc("3") == (3, 0)
    assert F.parse_cc("n/a") is None
    assert F.parse_cc(None) is None
