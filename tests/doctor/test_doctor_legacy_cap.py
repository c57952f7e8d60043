"""A GPU that only a legacy driver branch serves, with a framework that says the driver is too old."""

from __future__ import annotations

from tests.doctor.builders import healthy_linux, merge, run

# Verbatim from https://github.com/serend1p1ty/SeqNet/issues/36 (a 470-branch driver: CUDA 11.4).
TOO_OLD_11040 = ("RuntimeError: The NVIDIA driver on your system is too old (found version 11040). Please update your GPU driver "
                 "by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx Alternatively, "
                 "go to: https://pytorch.org to install a PyTorch version that has been compiled with your version of the CUDA driver.")
# The nvidia-smi header of https://github.com/lllyasviel/Fooocus/issues/1313: an RTX 3050 laptop GPU on 470.86.
FOOOCUS_DRIVER = "470.86"


def _doc(gpu: dict, torch_version: str = "2.1.2+cu121", cuda: str = "12.1") -> dict:
    return merge(healthy_linux(), {
        "driver": {"version": "470.256.02", "cuda_version": "11.4", "kernel_module": {"version": "470.256.02"},
                   "userspace_version": "470.256.02"},
        "gpus": [dict({"index": 0, "vendor": "nvidia"}, **gpu)],
        "frameworks": {"torch": {"version": torch_version, "cuda": cuda, "cuda_available": False, "kernel_ok": None,
                                 "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
                                 "error": TOO_OLD_11040}},
    })


def _too_old(doc: dict):
    (f,) = [f for f in run(doc) if f.code == "driver_too_old"]
    return f


def test_kepler_k80_gets_a_build_for_its_driver_not_a_driver_upgrade() -> None:
    f = _too_old(_doc({"name": "Tesla K80", "compute_capability": "3.7"}))
    assert f.severity == "error"
    assert "Do not upgrade the driver: no branch newer than 470 supports this GPU" in (f.fix or "")
    assert "Install NVIDIA driver" not in (f.fix or "")
    assert any("served only up to the 470 driver branch" in e for e in f.evidence)
    assert TOO_OLD_11040 in f.evidence


def test_the_suggested_build_runs_on_the_capped_driver_and_covers_the_gpu() -> None:
    import re

    from nktenv.manifest import cc_tuple, driver_satisfies, load

    m = load()
    fix = _too_old(_doc({"name": "Tesla K80", "compute_capability": "3.7"})).fix or ""
    hit = re.search(r"torch==(\S+) .*--index-url https://download\.pytorch\.org/whl/(cu\d+)", fix)
    if hit is None:  # no manifest build fits: then it must say which CUDA to look for
        assert "CUDA 11.4 or older" in fix
        return
    variant = m.torch_release(hit.group(1)).variant(hit.group(2))
    from nktenv.manifest import driver_floor

    assert driver_satisfies("470.256.02", driver_floor(variant.cuda, "linux", mvc=True, manifests=m))
    sass, ptx = variant.archs("linux", "x86_64")
    assert any(cc_tuple(s)[0] == 3 and cc_tuple(s) <= (3, 7) for s in sass) or any(cc_tuple(p) <= (3, 7) for p in ptx)


def test_a_current_gpu_on_the_same_driver_is_told_to_upgrade() -> None:
    doc = _doc({"name": "NVIDIA GeForce RTX 3050 Laptop GPU", "compute_capability": "8.6"})
    doc["driver"].update(version=FOOOCUS_DRIVER, userspace_version=FOOOCUS_DRIVER)
    doc["driver"]["kernel_module"]["version"] = FOOOCUS_DRIVER
    f = _too_old(doc)
    assert "Install NVIDIA driver" in (f.fix or "") and "Do not upgrade" not in (f.fix or "")


def test_a_maxwell_gpu_whose_branch_still_covers_the_build_may_upgrade() -> None:
    # Maxwell's last branch is 580 (manifests/gpus.toml); CUDA 12.1 needs less, so upgrading within it is right.
    f = _too_old(_doc({"name": "NVIDIA GeForce GTX 970", "compute_capability": "5.2"}))
    assert "Install NVIDIA driver" in (f.fix or "") and "Do not upgrade" not in (f.fix or "")


def test_a_k80_known_only_by_name_is_capped_too() -> None:
    # nvidia-smi of the 470 branch reports no compute capability; the name table gives sm_37.
    f = _too_old(_doc({"name": "Tesla K80", "compute_capability": None}))
    assert f.severity == "error"
    assert "Do not upgrade the driver: no branch newer than 470 supports this GPU" in (f.fix or "")
