"""Rules never crash, whatever a (valid) snapshot leaves unknown or odd."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nktenv.doctor import CODES, diagnose, summary
from nktenv.facts import from_dict
from nktenv.manifest import load
from tests.doctor.builders import healthy_linux, healthy_windows, merge
from tests.doctor.test_doctor_codes import CASES

MANIFESTS = load()

def _strings(patch: Any) -> list[str]:
    if isinstance(patch, str):
        return [patch]
    if isinstance(patch, dict):
        return [s for v in patch.values() for s in _strings(v)]
    if isinstance(patch, list):
        return [s for v in patch for s in _strings(v)]
    return []


TEXTS = sorted({s for c in CASES for s in _strings(c[2]) if len(s) > 20})
versions = st.one_of(st.none(), st.sampled_from(["", "abc", "550.54.15", "470", "12", "64_112", "9.3.0.75", "2.15.0.post1",
                                                 "1.2.3.4.5", "12.0", "0.0"]))
ccs = st.one_of(st.none(), st.sampled_from(["", "x", "3.5", "6.1", "8.9", "12.0", "99.9", "10"]))
texts = st.one_of(st.sampled_from(TEXTS), st.text(max_size=80))


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(st.sampled_from([healthy_linux, healthy_windows]))()
    system = draw(st.sampled_from(["linux", "windows", "darwin"]))
    fw = {"version": draw(versions), "cuda": draw(versions), "cudnn": draw(versions),
          "is_cuda_build": draw(st.one_of(st.none(), st.booleans())),
          "cuda_available": draw(st.one_of(st.none(), st.booleans())),
          "kernel_ok": draw(st.one_of(st.none(), st.booleans())),
          "arch_list": draw(st.lists(st.sampled_from(["sm_50", "sm_86", "compute_90", "sm_90a", "junk", "sm_"]), max_size=4)),
          "error": draw(st.one_of(st.none(), texts)), "log": draw(st.one_of(st.none(), texts)),
          "packages": draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(
              ["nvidia-cudnn-cu12", "nvidia-cudnn-cu11", "tensorflow-gpu", "nvidia-cublas-cu12"]), st.sampled_from(
              ["9.1.0.70", "8.6.0.163", "x"]), max_size=2)))}
    patch = {
        "os": {"system": system, "wsl": draw(st.one_of(st.none(), st.booleans())),
               "container": draw(st.one_of(st.none(), st.booleans())),
               "secure_boot": draw(st.one_of(st.none(), st.booleans()))},
        "python": draw(st.one_of(st.none(), st.fixed_dictionaries({
            "version": versions, "kind": st.sampled_from(["venv", "conda", "store", None]),
            "executable": st.one_of(st.none(), st.just("C:\\Users\\藤澤\\py thon.exe"))}))),
        "driver": draw(st.one_of(st.none(), st.fixed_dictionaries({
            "version": versions, "cuda_version": versions, "userspace_version": versions,
            "nouveau_loaded": st.one_of(st.none(), st.booleans()),
            "nvidia_uvm_loaded": st.one_of(st.none(), st.booleans()),
            "device_nodes": st.one_of(st.none(), st.booleans()),
            "kernel_module": st.one_of(st.none(), st.fixed_dictionaries({"loaded": st.one_of(st.none(), st.booleans()),
                                                                         "version": versions,
                                                                         "flavor": st.sampled_from(["open", "proprietary", None])})),
            "errors": st.lists(texts, max_size=2), "kernel_log": st.lists(texts, max_size=2)}))),
        "gpus": draw(st.lists(st.fixed_dictionaries({"vendor": st.sampled_from(["nvidia", "amd", None]),
                                                     "name": st.one_of(st.none(), st.just("GPU")),
                                                     "compute_capability": ccs}), max_size=2)),
        "cudnn": draw(st.lists(st.fixed_dictionaries({"version": versions, "location": st.one_of(
            st.none(), st.sampled_from(["/usr/lib/x86_64-linux-gnu", "C:\\cudnn\\bin", "/opt/conda/lib"])),
            "source": st.sampled_from(["header", "library", "pip", "conda", "framework", None])}), max_size=2)),
        "cuda_toolkits": draw(st.lists(st.fixed_dictionaries({"version": versions, "root": st.one_of(st.none(), st.just("/usr/local/cuda"))}),
                                       max_size=2)),
        "env": {"CUDA_VISIBLE_DEVICES": draw(st.one_of(st.none(), st.sampled_from(["", "-1", "0", "1,7", "GPU-x", "all"]))),
                "LD_LIBRARY_PATH": draw(st.one_of(st.none(), st.sampled_from(["", "/usr/lib/x86_64-linux-gnu", "/opt/conda/lib:"]))),
                "CONDA_PREFIX": draw(st.one_of(st.none(), st.just("/opt/conda")))},
        "windows": draw(st.one_of(st.none(), st.fixed_dictionaries({
            "long_paths_enabled": st.one_of(st.none(), st.booleans()),
            "vc_runtime_version": st.one_of(st.none(), st.just("14.38")),
            "dlls_on_path": st.one_of(st.none(), st.dictionaries(st.sampled_from(["cudnn64_8.dll", "zlibwapi.dll", "cudart64_110.dll"]),
                                                                 st.lists(st.just("C:\\x"), max_size=2), max_size=2))}))),
        "frameworks": {"torch": draw(st.one_of(st.none(), st.just(fw))),
                       "tensorflow": draw(st.one_of(st.none(), st.just(dict(fw, version=draw(versions)))))},
        "logs": [{"text": t, "source": "x"} for t in draw(st.lists(texts, max_size=2))],
    }
    doc = merge(base, patch)
    if doc["python"] is None:
        del doc["python"]
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_diagnose_never_raises(doc: dict[str, Any]) -> None:
    facts = from_dict(doc)
    findings = diagnose(facts, MANIFESTS)
    assert all(f.code in CODES for f in findings)
    assert isinstance(summary(facts, findings), str)


@pytest.mark.parametrize("error", ["\r", "\r\n", "  \n "])
def test_blank_framework_error_quotes_nothing(error: str) -> None:
    """A framework error that is only line endings (a Windows log's lone CR) is not an error to quote."""
    facts = from_dict({"schema": "nktenv.facts/1", "os": {"system": "linux"},
                       "frameworks": {"tensorflow": {"version": None, "error": error}}})
    findings = diagnose(facts, MANIFESTS)
    text = summary(facts, findings)
    assert "does not recognise" not in text


@pytest.mark.parametrize("system", ["linux", "windows", "darwin"])
def test_minimal_snapshot(system: str) -> None:
    """A snapshot with nothing but the OS: no problem claimed, and the verdict does not say "no GPU"."""
    facts = from_dict({"schema": "nktenv.facts/1", "os": {"system": system}})
    findings = diagnose(facts, MANIFESTS)
    assert [f.code for f in findings] == ["facts_incomplete"]
    assert findings[0].severity == "info"
    unknown = findings[0].data["unknown"]
    assert "frameworks" in unknown and ("driver" in unknown) is (system != "darwin")
    text = summary(facts, findings)
    if system == "darwin":
        assert text == "No NVIDIA GPU or driver found: frameworks will run on the CPU."
    else:
        assert "does not say whether this machine has an NVIDIA GPU" in text
