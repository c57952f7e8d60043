"""Windows DLL search as each loader does it, and the Visual C++ runtime file that is missing."""

from __future__ import annotations

from tests.doctor.builders import by_code, healthy_windows, merge, run

BIN = r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v11.2\bin"
# Verbatim lines of public reports.
TF_CUDART = ("2021-06-06 15:22:42.083594: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic "
             "library 'cudart64_110.dll'; dlerror: cudart64_110.dll not found")  # tensorflow/tensorflow#25807
TORCH_FBGEMM = ('OSError: [WinError 126] The specified module could not be found. Error loading '
                '"C:\\Users\\username\\AppData\\Local\\Programs\\Python\\Python312\\Lib\\site-packages\\torch\\lib\\fbgemm.dll" '
                'or one of its dependencies.')  # modelscope/FunClip#105
# The ctypes form of Python 3.8+ (https://docs.python.org/3/library/ctypes.html, "Could not find module").
CTYPES_CUDNN = ("FileNotFoundError: Could not find module 'cudnn64_8.dll' (or one of its dependencies). "
                "Try using the full path with constructor syntax.")


def _doc(log: str, windows: dict | None = None, **patch) -> dict:
    doc = merge(healthy_windows(), {"logs": [{"source": "err.txt", "text": log}], "windows": windows or {}, **patch})
    return doc


def test_python_loader_with_the_dll_on_path_says_add_dll_directory() -> None:
    f = by_code(run(_doc(CTYPES_CUDNN, {"dlls_on_path": {"cudnn64_8.dll": [BIN]}})))["windows_dll_search_path"]
    assert f.severity == "error" and f.data["loader"] == "python"
    assert f'os.add_dll_directory(r"{BIN}")' in (f.fix or "")
    assert "Python 3.8" in (f.why or "")


def test_python_before_38_searched_path_so_that_is_not_the_cause() -> None:
    doc = _doc(CTYPES_CUDNN, {"dlls_on_path": {"cudnn64_8.dll": [BIN]}}, python={"version": "3.7.9"})
    assert "windows_dll_search_path" not in by_code(run(doc))


def test_tensorflow_loader_with_the_dll_in_the_toolkit_bin_only_says_add_it_to_path() -> None:
    doc = _doc(TF_CUDART, {"dlls_on_path": {}, "toolkit_bin_dlls": {"cudart64_110.dll": [BIN]}})
    f = by_code(run(doc))["windows_dll_search_path"]
    assert f.data["loader"] == "tensorflow" and "not on PATH" in f.title
    assert f'setx PATH "%PATH%;{BIN}"' in (f.fix or "")


def test_tensorflow_loader_with_the_dll_on_path_names_a_stale_process_path() -> None:
    f = by_code(run(_doc(TF_CUDART, {"dlls_on_path": {"cudart64_110.dll": [BIN]}})))["windows_dll_search_path"]
    assert "TensorFlow's loader did not find it" in f.title and "restart the IDE" in (f.fix or "")


def test_found_on_path_but_zlibwapi_missing_is_left_to_that_rule() -> None:
    log = ("W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'cudnn64_8.dll'; "
           "dlerror: cudnn64_8.dll not found\nCould not locate zlibwapi.dll. Please make sure it is in your library path!")
    assert "windows_dll_search_path" not in by_code(run(_doc(log, {"dlls_on_path": {"cudnn64_8.dll": [BIN]}})))


def test_a_really_absent_dll_is_said_to_be_absent() -> None:
    f = by_code(run(_doc(TF_CUDART, {"dlls_on_path": {}, "toolkit_bin_dlls": {}})))["windows_dll_search_path"]
    assert f.severity == "info" and f.data["absent"] and "absent, not hidden" in f.title
    assert "CUDA 11 toolkit" in (f.fix or "")


def test_without_a_look_at_the_folders_nothing_is_claimed() -> None:
    doc = _doc(TF_CUDART)
    doc["windows"].pop("dlls_on_path", None)
    assert "windows_dll_search_path" not in by_code(run(doc))


def test_store_python_gets_the_sandbox_note() -> None:
    doc = _doc(CTYPES_CUDNN, {"dlls_on_path": {"cudnn64_8.dll": [BIN]}}, python={"kind": "store"})
    assert "Store Python" in (by_code(run(doc))["windows_dll_search_path"].why or "")


def test_missing_msvcp140_is_named_with_the_redistributable() -> None:
    files = {"msvcp140.dll": [], "vcruntime140.dll": [r"C:\WINDOWS\System32"], "vcruntime140_1.dll": [r"C:\WINDOWS\System32"],
             "libomp140.x86_64.dll": []}
    f = by_code(run(_doc(TORCH_FBGEMM, {"vc_runtime_files": files, "vc_runtime_folders": [r"C:\WINDOWS\System32"]})))[
        "vc_redist_missing"]
    assert f.severity == "error" and f.data["missing"] == ["msvcp140.dll"]  # torch 2.5.1 does not need libomp140
    assert "Microsoft.VCRedist.2015+.x64" in (f.fix or "") and "libomp140" not in (f.fix or "")
    assert TORCH_FBGEMM in f.evidence


def test_torch_240_needs_libomp140_which_no_redistributable_brings() -> None:
    files = {"msvcp140.dll": ["S"], "vcruntime140.dll": ["S"], "vcruntime140_1.dll": ["S"], "libomp140.x86_64.dll": []}
    doc = _doc(TORCH_FBGEMM, {"vc_runtime_files": files})
    doc["frameworks"]["torch"]["version"] = "2.4.0+cu121"
    f = by_code(run(doc))["vc_redist_missing"]
    assert f.data["missing"] == ["libomp140.x86_64.dll"]
    assert "not part of the redistributable" in (f.fix or "") and "2.4.1" in (f.fix or "")


def test_every_runtime_file_present_keeps_quiet_on_a_winerror_126() -> None:
    files = {"msvcp140.dll": ["S"], "vcruntime140.dll": ["S"], "vcruntime140_1.dll": ["S"], "libomp140.x86_64.dll": ["S"]}
    assert "vc_redist_missing" not in by_code(run(_doc(TORCH_FBGEMM, {"vc_runtime_files": files})))
