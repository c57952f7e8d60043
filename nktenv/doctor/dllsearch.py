"""Windows DLL search as each loader does it, and the Visual C++ runtime the frameworks' DLLs import.

Loaders (https://docs.python.org/3/library/os.html#os.add_dll_directory, Python 3.8 "What's New"):
- `python`: an extension module's (.pyd) imports, and ctypes/`LoadLibraryExW` loads such as torch's
  own `Error loading "...\\torch\\lib\\fbgemm.dll"`: since Python 3.8 they search the module's own
  folder, System32 and folders added with os.add_dll_directory(), never PATH.
- `tensorflow`: TensorFlow's dso_loader ("Could not load dynamic library 'cudart64_110.dll'") calls
  LoadLibrary itself, which does search the process's PATH.
- Store Python runs in an app package: its own folder is sandboxed, so DLLs must come through
  os.add_dll_directory() or from the environment itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from nktenv.doctor.context import Ctx, base_version, finding, vtuple
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list

TF_LOADER = re.compile(r"Could not load dynamic library '([\w.-]+\.dll)'", re.I)
PY_LOADER = re.compile(
    r"Could not find module '([^']+\.dll)' \(or one of its dependencies\)|"
    r"Error loading \"([^\"]+\.dll)\" or one of its dependencies|"
    r"DLL load failed(?: while importing ([\w.]+))?", re.I)
VC_RUNTIME = ("msvcp140.dll", "vcruntime140.dll", "vcruntime140_1.dll")
LIBOMP = "libomp140.x86_64.dll"
VC_NAMED = re.compile(r"\b(msvcp140(?:_1)?\.dll|vcruntime140(?:_1)?\.dll|libomp140\.x86_64\.dll)\b", re.I)
REDIST = ("winget install Microsoft.VCRedist.2015+.x64 (or run https://aka.ms/vs/17/release/vc_redist.x64.exe)")


@dataclass(frozen=True)
class Failure:
    dll: str | None  # the file name the loader could not load (None: an extension module's import, unnamed)
    loader: str  # python | tensorflow
    line: str


def failures(ctx: Ctx) -> list[Failure]:
    out: list[Failure] = []
    for line in ctx.grep(TF_LOADER):
        for m in TF_LOADER.finditer(line):
            out.append(Failure(m.group(1), "tensorflow", line))
    for line in ctx.grep(PY_LOADER):
        m = PY_LOADER.search(line)
        path = (m.group(1) or m.group(2)) if m else None
        out.append(Failure(re.split(r"[\\/]", path)[-1] if path else None, "python", line))
    return out


def _folders(table: object, name: str) -> list[str]:
    if not isinstance(table, dict):
        return []
    hit = {str(k).lower(): v for k, v in table.items()}.get(name.lower())
    return [str(f) for f in hit] if isinstance(hit, (list, tuple)) else []


def _py_searches_path(ctx: Ctx) -> bool:
    v = vtuple(ctx.python_version)
    return bool(v) and v[:2] < (3, 8)


def windows_dll_search_path(ctx: Ctx) -> Iterable[Finding]:
    """A DLL reported missing that is in a PATH folder or a CUDA toolkit's bin: a search-path problem, per loader."""
    if not ctx.native_windows:
        return
    win = ctx.facts.windows
    if win is None:
        return
    on_path = win.dlls_on_path
    in_bin = win.extra.get("toolkit_bin_dlls")
    looked = on_path is not None or isinstance(in_bin, dict)
    store = (ctx.facts.python is not None and ctx.facts.python.kind == "store")
    done: set[str] = set()
    for fail in failures(ctx):
        if not fail.dll or fail.dll.lower() in done or VC_NAMED.fullmatch(fail.dll):
            continue
        path_dirs = _folders(on_path, fail.dll)
        bin_dirs = [d for d in _folders(in_bin, fail.dll) if d not in path_dirs]
        if not path_dirs and not bin_dirs:
            if looked and fail.loader == "tensorflow" and fail.dll.lower() not in ("zlibwapi.dll",):
                done.add(fail.dll.lower())
                yield _absent(ctx, fail)
            continue
        done.add(fail.dll.lower())
        folder = (path_dirs or bin_dirs)[0]
        ev = [fail.line]
        ev += [_("{dll} is in a PATH folder: {folders}").format(dll=fail.dll, folders=" ; ".join(path_dirs))] if path_dirs else []
        ev += [_("{dll} is in a CUDA toolkit's bin, not on PATH: {folders}").format(dll=fail.dll, folders=" ; ".join(bin_dirs))
               ] if bin_dirs else []
        add = _("import os; os.add_dll_directory(r\"{folder}\") before importing the framework").format(folder=folder)
        if fail.loader == "tensorflow" and path_dirs and _dependency_missing(ctx):
            continue  # found on PATH, but its own import is missing: zlibwapi_missing / vc_redist_missing say which
        if fail.loader == "tensorflow" and path_dirs:
            title = _("{dll} is on PATH, but TensorFlow's loader did not find it there").format(dll=fail.dll)
            fix = _("TensorFlow's loader searches the PATH of the running process: open a new terminal or restart the IDE or "
                    "Jupyter (a process keeps the PATH it started with), check that the folder is on the PATH that program "
                    "sees (python -c \"import os; print(os.environ['PATH'])\"), or add it explicitly: {add}.").format(add=add)
            why = _("TensorFlow loads CUDA DLLs with LoadLibrary, which searches PATH; a DLL found on the PATH of a new shell "
                    "but not by the program means that program runs with another PATH.")
            loader = "tensorflow"
        elif fail.loader == "tensorflow":
            title = _("{dll} is in the CUDA toolkit's bin folder, which is not on PATH").format(dll=fail.dll)
            fix = _("Add the folder to PATH (TensorFlow's loader searches PATH): setx PATH \"%PATH%;{folder}\" and open a new "
                    "terminal; or, in the program, {add}.").format(folder=folder, add=add)
            why = _("TensorFlow loads CUDA DLLs with LoadLibrary, which searches PATH but not CUDA_PATH.")
            loader = "tensorflow"
        elif _py_searches_path(ctx):
            continue  # Python before 3.8 searched PATH: not this cause
        else:
            title = _("The DLL is on PATH, but Python does not search PATH for extension-module DLLs") if path_dirs else \
                _("The DLL is in the CUDA toolkit's bin, which Python does not search for extension-module DLLs")
            fix = _("Add the folder explicitly before importing the framework: import os; os.add_dll_directory(r\"{folder}\") "
                    "(or install the framework's pip CUDA wheels so the DLLs sit inside the environment)").format(folder=folder)
            why = _("Since Python 3.8, DLLs that extension modules depend on are no longer looked up along PATH.")
            loader = "python"
        if store:
            why = " ".join((why, _("The Microsoft Store Python also runs sandboxed in an app package: add folders with "
                                   "os.add_dll_directory() or use a python.org interpreter.")))
        yield finding("windows_dll_search_path", "error", title, evidence=ev, fix=fix, why=why,
                      folder=folder, dll=fail.dll, loader=loader)


def _dependency_missing(ctx: Ctx) -> bool:
    win = ctx.facts.windows
    files = win.extra.get("vc_runtime_files") if win is not None else None
    vc_missing = isinstance(files, dict) and any(_listed(files, n) == [] for n in VC_RUNTIME)
    return vc_missing or bool(ctx.grep(r"zlibwapi\.dll|Could not locate zlibwapi"))


def _absent(ctx: Ctx, fail: Failure) -> Finding:
    m = re.match(r"(?:cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|nvrtc)64_(\d+)", fail.dll or "", re.I)
    c = re.match(r"cudnn\w*64_(\d+)", fail.dll or "", re.I)
    what = (_("a CUDA {major} toolkit").format(major=m.group(1)[:2] if len(m.group(1)) >= 3 else m.group(1)) if m else
            _("cuDNN {major}").format(major=c.group(1)) if c else _("the library it belongs to"))
    return finding(
        "windows_dll_search_path", "info",
        _("{dll} is in no PATH folder and no CUDA toolkit's bin: the file is absent, not hidden").format(dll=fail.dll),
        evidence=[fail.line, _("looked in every PATH folder and CUDA toolkit bin: {dll} not found").format(dll=fail.dll)],
        fix=_("Install {what} (the version the framework was built with), then open a new terminal.").format(what=what),
        why=_("A search-path fix cannot help a file that is not on the machine."),
        dll=fail.dll, loader=fail.loader, absent=True,
    )


# --- the Visual C++ runtime -------------------------------------------------------------------


def _needs_libomp(ctx: Ctx) -> bool:
    fw = ctx.torch
    if fw is None or not fw.version:
        return False
    # torch 2.4.0's fbgemm.dll imports it (https://github.com/pytorch/pytorch/issues/131662, fixed in 2.4.1);
    # conda's win-64 pytorch builds import it from torch_cpu.dll (https://github.com/ContinuumIO/anaconda-issues/issues/13513).
    return base_version(fw.version) == "2.4.0" or (ctx.facts.python is not None and ctx.facts.python.kind == "conda")


def vc_redist_missing(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.native_windows:
        return
    win = ctx.facts.windows
    files = win.extra.get("vc_runtime_files") if win is not None else None
    named = ctx.grep(VC_NAMED.pattern + r"|Microsoft Visual C\+\+ Redistributable is not installed")
    load_fail = ctx.grep(r"\[WinError 126\]|DLL load failed while importing|Error loading \"[^\"]+\.dll\" or one of its dependencies")
    if isinstance(files, dict):
        yield from _from_probe(ctx, files, named, load_fail)
        return
    # No file probe (an older snapshot or a paste): the registry value and the evidence.
    known_missing = (win is not None and win.vc_runtime_version is None and "vc_runtime_dll" in win.extra
                     and win.extra.get("vc_runtime_dll") is None)
    lines = [line for line in named if re.search(r"not found|is missing|not installed|dlerror|was not found", line, re.I)]
    if known_missing:
        lines += load_fail
    if not lines and not known_missing:
        return
    yield finding(
        "vc_redist_missing",
        "error" if lines else "warning",
        _("The Microsoft Visual C++ runtime is missing"),
        evidence=([_("vcruntime140.dll: not found")] if known_missing else []) + lines,
        fix=_("Install it: winget install Microsoft.VCRedist.2015+.x64 (or run https://aka.ms/vs/17/release/vc_redist.x64.exe), then open a new terminal."),
        why=_("PyTorch and TensorFlow DLLs link against msvcp140.dll and vcruntime140.dll; without them imports fail with WinError 126."),
    )


def _from_probe(ctx: Ctx, files: dict, named: list[str], load_fail: list[str]) -> Iterable[Finding]:
    missing = [n for n in VC_RUNTIME if _listed(files, n) == []]
    omp_named = any(LIBOMP in line.lower() for line in named)
    if _listed(files, LIBOMP) == [] and (_needs_libomp(ctx) or omp_named) and (load_fail or omp_named):
        missing.append(LIBOMP)
    if not missing:
        return  # every runtime file is there: a WinError 126 has another cause
    has_framework = ctx.torch is not None or ctx.tf is not None
    if not (load_fail or named) and not has_framework:
        return
    folders = ctx.facts.windows.extra.get("vc_runtime_folders") if ctx.facts.windows else None
    ev = [_("{dll}: not found in {folders}").format(dll=n, folders=" ; ".join(folders) if isinstance(folders, list) else "System32")
          for n in missing]
    ev += [line for line in named if re.search(r"MISSING|not found|is missing|could not|cannot", line, re.I)] + load_fail
    fixes = []
    redist = [n for n in missing if n != LIBOMP]
    if redist:
        fixes.append(_("Install the Microsoft Visual C++ 2015-2022 Redistributable (x64), which brings {files}: {command}; then "
                       "open a new terminal.").format(files=join_list(redist), command=REDIST))
    if LIBOMP in missing:
        torch_v = base_version(ctx.torch.version) if ctx.torch is not None else None
        fixes.append(_("{dll} is not part of the redistributable: it comes with Visual Studio 2022's \"MSVC v143 - VS 2022 C++ "
                       "x64/x86 build tools\" (Visual Studio Installer or winget install Microsoft.VisualStudio.2022.BuildTools), "
                       "which put it in System32{torch}.").format(
            dll=LIBOMP, torch=_("; or upgrade torch to 2.4.1 or newer, where PyTorch fixed this dependency (pytorch/pytorch#131662)")
            if torch_v == "2.4.0" else ""))
    yield finding(
        "vc_redist_missing",
        "error" if (load_fail or named) else "warning",
        _("A Visual C++ runtime file the framework's DLLs import is missing: {files}").format(files=join_list(missing)),
        evidence=ev,
        fix=" ".join(fixes),
        why=_("Windows names only the DLL that failed to load (fbgemm.dll, c10.dll, _C), never the import it could not find; "
              "PyTorch and TensorFlow DLLs import msvcp140.dll, vcruntime140.dll and vcruntime140_1.dll, and some torch builds "
              "libomp140.x86_64.dll."),
        missing=missing,
    )


def _listed(files: dict, name: str) -> list[str] | None:
    for k, v in files.items():
        if str(k).lower() == name:
            return list(v) if isinstance(v, (list, tuple)) else None
    return None
