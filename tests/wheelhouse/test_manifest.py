"""The wheelhouse manifest and the setup pre-check, on files written here (fast, no installer)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lab_index import LabServer, make_tagged_wheel
from nktenv.errors import NktenvError
from nktenv.setup.spec import InstallSpec
from nktenv.wheelhouse import MANIFEST, SCHEMA, plan_key, setup_spec, totals, verify_folder

TORCH = "torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl"
CPU = "torch-2.14.1+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
SPEC = InstallSpec(("torch==2.14.1", "numpy"), index_url="https://download.pytorch.org/whl/cu126",
                   frameworks=("torch",))


def _house(folder: Path) -> dict:
    files = {}
    for name, version in (("torch", "2.14.1+cu126"), ("torch", "2.14.1+cpu"), ("numpy", "2.2.6"), ("nkt-common", "1.0")):
        tag = "py3-none-any" if name == "nkt-common" else "cp311-cp311-manylinux_2_28_x86_64"
        path = make_tagged_wheel(folder, name, version, tag)
        files[path.name] = {"size": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    common = ["numpy-2.2.6-cp311-cp311-manylinux_2_28_x86_64.whl", "nkt_common-1.0-py3-none-any.whl"]
    key = plan_key(SPEC.requirements, SPEC.index_url, (), "3.11", "linux-x86_64")
    doc = {"schema": SCHEMA, "files": files, "targets": [
        {"machine": "lab-ws03", "key": key, "complete": True, "python": "3.11", "files": [TORCH, *common]},
        {"machine": "lab-cpu", "key": "other", "complete": True, "python": "3.11", "files": [CPU, *common]}]}
    (folder / MANIFEST).write_text(json.dumps(doc), encoding="utf-8")
    return doc


def test_setup_spec_pins_this_plans_build_and_contacts_no_index(tmp_path: Path) -> None:
    _house(tmp_path)
    spec = setup_spec(SPEC, str(tmp_path), python="3.11", platform="linux-x86_64")
    assert spec.no_index and spec.index_url is None and spec.extra_index_urls == ()
    assert spec.find_links == (str(tmp_path),)
    assert "torch==2.14.1+cu126" in spec.requirements and "torch==2.14.1+cpu" not in spec.requirements
    assert "numpy==2.2.6" in spec.requirements and not any(r.startswith("nkt-common") for r in spec.requirements)


def test_missing_or_damaged_file_names_it_and_the_machine(tmp_path: Path) -> None:
    _house(tmp_path)
    (tmp_path / "numpy-2.2.6-cp311-cp311-manylinux_2_28_x86_64.whl").unlink()
    with pytest.raises(NktenvError) as exc:
        setup_spec(SPEC, str(tmp_path), python="3.11", platform="linux-x86_64")
    assert exc.value.code == "wheelhouse-missing-file"
    assert "numpy-2.2.6-cp311-cp311-manylinux_2_28_x86_64.whl" in exc.value.message and "lab-ws03's plan" in exc.value.message
    # same size, one byte changed: the hash catches it
    _house(tmp_path)
    data = bytearray((tmp_path / TORCH).read_bytes())
    data[100] ^= 1
    (tmp_path / TORCH).write_bytes(bytes(data))
    with pytest.raises(NktenvError) as exc:
        setup_spec(SPEC, str(tmp_path), python="3.11", platform="linux-x86_64")
    assert TORCH in exc.value.message


def test_another_python_or_no_wheelhouse_is_one_clear_error(tmp_path: Path) -> None:
    _house(tmp_path)
    with pytest.raises(NktenvError) as exc:
        setup_spec(SPEC, str(tmp_path), python="3.12", platform="linux-x86_64")
    assert exc.value.code == "wheelhouse-no-plan" and "Python 3.12" in exc.value.message
    with pytest.raises(NktenvError) as exc:
        setup_spec(SPEC, str(tmp_path / "nothing"), python="3.11", platform="linux-x86_64")
    assert exc.value.code == "wheelhouse-no-manifest"


def test_verify_folder_drops_damaged_and_truncated_files(tmp_path: Path) -> None:
    doc = _house(tmp_path)
    extra = make_tagged_wheel(tmp_path, "leftover", "1.0", "py3-none-any")  # unrecorded but whole: kept
    partial = tmp_path / "cut-1.0-py3-none-any.whl"  # an interrupted copy: no zip directory at the end
    partial.write_bytes(extra.read_bytes()[:200])
    (tmp_path / CPU).write_bytes(b"x" * doc["files"][CPU]["size"])
    good, removed = verify_folder(tmp_path, doc)
    assert sorted(removed) == sorted([CPU, partial.name]) and extra.name in good and TORCH in good
    assert not (tmp_path / CPU).exists() and CPU not in doc["files"]


def test_totals_count_what_each_machine_would_download_alone() -> None:
    files = {"a": {"size": 100}, "b": {"size": 10}, "c": {"size": 1}}
    t = totals([{"machine": "m1", "files": ["a", "b"]}, {"machine": "m1", "files": ["b"]},
                {"machine": "m2", "files": ["b", "c"]}], files)
    assert t == {"machines": 2, "files": 3, "bytes": 111, "bytes_if_each_machine_downloads": 121, "bytes_saved": 10}


def test_served_wheelhouse_is_copied_here_and_checked_against_the_manifest(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    _house(house)
    served = LabServer(house)  # logs every path it serves
    with served.running() as base:
        url = base + "/"
        spec = setup_spec(SPEC, url, python="3.11", platform="linux-x86_64")
        # the installer reads a local, verified copy: no http:// source, so no --allow-insecure-index
        (link,) = spec.find_links
        assert "://" not in link and spec.no_index
        assert sorted(p.name for p in Path(link).iterdir()) == sorted([TORCH, "numpy-2.2.6-cp311-cp311-manylinux_2_28_x86_64.whl",
                                                                     "nkt_common-1.0-py3-none-any.whl"])
        fetched = [r for r in served.requests if r.endswith(".whl")]
        assert len(fetched) == 3
        # a second setup fetches nothing again
        setup_spec(SPEC, url, python="3.11", platform="linux-x86_64")
        assert [r for r in served.requests if r.endswith(".whl")] == fetched
        # the server's copy is altered (same size): refused, named, and not left in the local copy
        (Path(link) / TORCH).unlink()
        data = bytearray((house / TORCH).read_bytes())
        data[100] ^= 1
        (house / TORCH).write_bytes(bytes(data))
        with pytest.raises(NktenvError) as exc:
            setup_spec(SPEC, url, python="3.11", platform="linux-x86_64")
        assert exc.value.code == "wheelhouse-missing-file" and TORCH in exc.value.message
        assert not (Path(link) / TORCH).exists() and not list(Path(link).glob("*.part"))


def test_unreachable_served_wheelhouse_is_a_network_error(tmp_path: Path) -> None:
    with pytest.raises(NktenvError) as exc:
        setup_spec(SPEC, "http://127.0.0.1:9/wheels/", python="3.11", platform="linux-x86_64")
    assert exc.value.code == "wheelhouse-unreachable" and int(exc.value.exit_code) == 6
