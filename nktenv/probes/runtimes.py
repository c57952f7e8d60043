"""Windows only: which folders hold the Visual C++ runtime files the frameworks' DLLs import.

PyTorch's and TensorFlow's DLLs import msvcp140.dll, vcruntime140.dll and vcruntime140_1.dll (the
Visual C++ 2015-2022 Redistributable); torch 2.4.0's fbgemm.dll, and conda-forge's win-64 pytorch
builds, also import libomp140.x86_64.dll (MSVC's LLVM OpenMP), which no redistributable installs.
Windows finds a DLL's imports in the importing DLL's folder (the frameworks load theirs that way),
the application folder (the base interpreter's) and System32, so those are the folders looked at.
"""

from __future__ import annotations

import dataclasses

from nktenv.facts import PythonFacts, WindowsFacts
from nktenv.probes._ctx import Ctx

VC_RUNTIME_FILES = ("msvcp140.dll", "vcruntime140.dll", "vcruntime140_1.dll", "libomp140.x86_64.dll")


def runtime_folders(ctx: Ctx, python: PythonFacts | None) -> list[str]:
    p = ctx.path
    folders = [p.join(ctx.getenv("SystemRoot") or r"C:\Windows", "System32")]
    extra = python.extra if python is not None else {}
    for key in ("base_prefix", "prefix"):
        prefix = extra.get(key)
        if not isinstance(prefix, str) or not prefix:
            continue
        site = p.join(prefix, "Lib", "site-packages")
        for folder in (prefix, p.join(prefix, "DLLs"), p.join(prefix, "Library", "bin"),
                       p.join(site, "torch", "lib"), p.join(site, "tensorflow", "python")):
            if folder not in folders:
                folders.append(folder)
    return folders


def add_vc_runtime_files(ctx: Ctx, win: WindowsFacts | None, python: PythonFacts | None) -> WindowsFacts | None:
    """`windows.vc_runtime_files`: {file: [folders holding it]} ([] = looked, not there), and the folders looked at."""
    if win is None or not ctx.windows:
        return win
    folders = runtime_folders(ctx, python)
    found: dict[str, list[str]] = {name: [] for name in VC_RUNTIME_FILES}
    for folder in folders:
        listed = ctx.seam.listdir(folder, "|".join(VC_RUNTIME_FILES))
        if listed is None:
            continue  # no such folder
        names = {n.lower() for n in listed}
        for name in VC_RUNTIME_FILES:
            if name in names:
                found[name].append(folder)
    extra = dict(win.extra)
    extra["vc_runtime_files"] = found
    extra["vc_runtime_folders"] = folders
    return dataclasses.replace(win, extra=extra)
