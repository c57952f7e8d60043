"""Conda's CUDA copies seen beside pip's (nktenv.doctor.conda)."""

from __future__ import annotations

from tests.doctor.builders import by_code, healthy_linux, merge, run

PREFIX = "/home/lab/miniconda3/envs/seg"
# Verbatim from https://github.com/NVIDIA/nvidia-container-toolkit/issues/224 (title of the thread).
CONDA_CUDNN = ("Could not load library libcudnn_cnn_train.so.8. Error: /home/czh/anaconda3/envs/python39/bin/../lib/"
               "libcudnn_ops_train.so.8: undefined symbol: _Z22cudnnGenericOpTensorNdILi2EE13cudnnStatus_tP12cudnnContext16"
               "cudnnGenericOp_t21cudnnNanPropagation_tPK21cudnnActivationStructPKvPK17cudnnTensorStructS9_S9_SC_S9_S9_SC_Pv, "
               "version libcudnn_ops_infer.so.8")
# A pip wheel's path (site-packages), verbatim from https://github.com/pytorch/pytorch/issues/90673: not conda's lib.
PIP_PATH = ("ImportError: /fsx/conda/envs/test_libcusparse/lib/python3.10/site-packages/torch/lib/libtorch_cuda_cu.so: "
            "undefined symbol: cusparseSpSM_analysis, version libcusparse.so.11")


def _conda(packages: list[dict] | None, pip: dict[str, str], log: str = "") -> dict:
    doc = merge(healthy_linux(), {"python": {"kind": "conda", "executable": PREFIX + "/bin/python", "prefix": PREFIX,
                                             "conda_prefix": PREFIX, "conda_cuda_packages": packages}})
    doc["frameworks"]["torch"]["packages"] = {"torch": "2.5.1+cu124", **pip}
    doc["cudnn"] = []
    doc["logs"] = [{"source": "err.txt", "text": log}] if log else []
    return doc


def test_conda_meta_and_pip_wheels_of_the_same_library_side_by_side() -> None:
    pkgs = [{"name": "cudatoolkit", "version": "11.8.0", "build": "h6a678d5_0"},
            {"name": "cudnn", "version": "8.9.2.26", "build": "cuda11_0"}]
    f = by_code(run(_conda(pkgs, {"nvidia-cudnn-cu12": "9.1.0.70", "nvidia-cublas-cu12": "12.4.5.8"})))["conda_pip_cuda_mix"]
    assert f.severity == "warning"
    assert "conda cudnn 8.9.2.26 (cuda11_0) beside pip nvidia-cudnn-cu12==9.1.0.70" in f.evidence
    assert "conda cudatoolkit 11.8.0 (h6a678d5_0) beside pip nvidia-cublas-cu12==12.4.5.8" in f.evidence
    assert "conda remove --force cudatoolkit cudnn" in (f.fix or "")
    assert "pip uninstall nvidia-cublas-cu12 nvidia-cudnn-cu12" in (f.fix or "")


def test_a_conda_lib_path_in_the_error_makes_it_an_error() -> None:
    f = by_code(run(_conda([], {"nvidia-cudnn-cu11": "8.6.0.163"}, CONDA_CUDNN)))["conda_pip_cuda_mix"]
    assert f.severity == "error"
    assert any("libcudnn_ops_train.so.8 in /home/czh/anaconda3/envs/python39" in e for e in f.evidence), f.evidence
    assert CONDA_CUDNN in f.evidence


def test_only_conda_copies_or_only_pip_wheels_stay_quiet() -> None:
    pkgs = [{"name": "cudatoolkit", "version": "11.8.0", "build": "h6a678d5_0"}]
    assert "conda_pip_cuda_mix" not in by_code(run(_conda(pkgs, {})))
    assert "conda_pip_cuda_mix" not in by_code(run(_conda([], {"nvidia-cudnn-cu12": "9.1.0.70"})))
    # site-packages inside a conda env is pip's folder, not conda's lib
    assert "conda_pip_cuda_mix" not in by_code(run(_conda([], {"nvidia-cusparse-cu12": "12.3.1.170"}, PIP_PATH)))


def test_a_package_that_is_no_cuda_library_is_not_paired() -> None:
    pkgs = [{"name": "cuda-version", "version": "12.1", "build": "h1d6eff3_3"}]
    assert "conda_pip_cuda_mix" not in by_code(run(_conda(pkgs, {"nvidia-cudnn-cu12": "9.1.0.70"})))
