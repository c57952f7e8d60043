"""Each code on real reports: the verbatim text of a public issue thread, read as `doctor --from` reads it."""

from __future__ import annotations

import re

import pytest

from nktenv.doctor import CODES, diagnose
from nktenv.manifest import load
from tests.doctor.reports import counts, reports

MANIFESTS = load()
ALL = reports()
# The codes added for the breakages of 2024-2026, and the fallback: each needs a report that shows it
# and one where it must stay quiet.
RECENT = ("arch_unsupported", "cpu_only_wheel", "extension_abi_mismatch", "cuda_pip_libs_mixed", "gpu_compute_mode_restricted",
          "gpu_memory_held_by_other_process", "tf_without_and_cuda", "wsl_linux_driver_installed", "docker_gpu_runtime_missing",
          "unexplained_error", "cuda_visible_devices_hidden", "windows_dll_search_path", "vc_redist_missing", "arch_too_old")


@pytest.mark.parametrize("report", ALL, ids=[f"{r.code}/{r.name}" for r in ALL])
def test_report(report) -> None:
    findings = diagnose(report.facts(), MANIFESTS)
    codes = [f.code for f in findings]
    if not report.positive:
        assert report.code not in codes, codes
        return
    assert report.code in codes, codes
    f = next(f for f in findings if f.code == report.code)
    assert f.evidence and f.fix and f.why
    # Evidence quotes the report: at least one line of it is verbatim from the text (a wrapped message re-joined).
    text = report.path.read_text(encoding="utf-8")
    flat = re.sub(r"\s+", "", text)
    assert any(e in text or re.sub(r"\s+", "", e) in flat for e in f.evidence), f.evidence


def test_every_report_names_its_public_thread() -> None:
    for r in ALL:
        assert re.match(r"https://github\.com/[\w.-]+/[\w.-]+/(issues|pull)/\d+$", r.url), (r.path, r.url)
        assert r.code in CODES, r.path


def test_recent_codes_have_a_report_that_shows_them_and_one_that_does_not() -> None:
    n = counts()
    for code in RECENT:
        pos, neg = n.get(code, (0, 0))
        assert pos >= 1 and neg >= 1, (code, pos, neg)


def test_blackwell_report_gets_an_index_with_sm120_kernels() -> None:
    from nktenv.manifest import cc_tuple

    (r,) = [r for r in ALL if r.name == "leggedlab-rtx5090-sm120"]
    f = next(f for f in diagnose(r.facts(), MANIFESTS) if f.code == "arch_unsupported")
    m = re.search(r"torch==(\S+) --index-url https://download\.pytorch\.org/whl/(cu\d+)", f.fix or "")
    assert m, f.fix
    variant = MANIFESTS.torch_release(m.group(1)).variant(m.group(2))
    sass, ptx = variant.archs("linux", "x86_64")
    assert any(cc_tuple(s) == (12, 0) for s in sass) or any(cc_tuple(p) <= (12, 0) for p in ptx)


def test_windows_pypi_torch_report_gets_a_cuda_index_and_names_the_cause() -> None:
    (r,) = [r for r in ALL if r.name == "windows-rtx4080-pypi-torch222"]
    f = next(f for f in diagnose(r.facts(), MANIFESTS) if f.code == "cpu_only_wheel")
    assert f.severity == "error"
    assert "torch==2.2.2" in f.fix and "--index-url https://download.pytorch.org/whl/cu12" in f.fix
    assert any("PyPI's wheel, which is CPU-only" in e for e in f.evidence)


def test_tensorrt_pin_report_gets_the_post1_release() -> None:
    (r,) = [r for r in ALL if r.name == "tf2150-and-cuda-python311-docker"]
    f = next(f for f in diagnose(r.facts(), MANIFESTS) if f.code == "tensorrt_and_cuda_unresolvable")
    assert '"tensorflow[and-cuda]==2.15.0.post1"' in f.fix


def test_ldd_lines_name_the_folder_that_shadows_the_wheels() -> None:
    from nktenv.paste import facts_from_pastes

    (r,) = [r for r in ALL if r.name == "cusparse-nvjitlink-cuda121-on-ld-path"]
    # The thread's LD_LIBRARY_PATH given: clear it. The text alone (ldd, no variable): name the folder.
    with_env = next(f for f in diagnose(r.facts(), MANIFESTS) if f.code == "cuda_pip_libs_mixed")
    assert "unset LD_LIBRARY_PATH" in with_env.fix
    alone = facts_from_pastes([(r.path.name, r.path.read_text(encoding="utf-8"))])
    f = next(f for f in diagnose(alone, MANIFESTS) if f.code == "cuda_pip_libs_mixed")
    assert "Take /usr/local/cuda-12.1/lib64 off the library path" in f.fix
    assert any(e.startswith("libnvJitLink.so.12 => /usr/local/cuda-12.1/lib64/") for e in f.evidence)
