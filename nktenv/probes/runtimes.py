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
    looked: list[str] = []
    for folder in folders:
        listed = ctx.seam.listdir(folder, "|".join(VC_RUNTIME_FILES))
        if listed is None:
            continue  # no such folder (or not in a recording): not looked at
        looked.append(folder)
        names = {n.lower() for n in listed}
        for name in VC_RUNTIME_FILES:
            if name in names:
                found[name].append(folder)
    extra = dict(win.extra)
    # Without System32 nothing can be said to be missing: null, not "absent".
    extra["vc_runtime_files"] = found if folders[0] in looked else None
    extra["vc_runtime_folders"] = looked
    return dataclasses.replace(win, extra=extra)


def add_toolkit_bin_dlls(ctx: Ctx, win: WindowsFacts | None, toolkits: list) -> WindowsFacts | None:
    """`windows.toolkit_bin_dlls`: {DLL: [CUDA toolkit bin folders holding it]}, whether or not the folder is on PATH.

    A framework that reports a DLL missing while it sits in a toolkit's bin has a search-path problem, not a missing file.
    """
    if win is None or not ctx.windows:
        return win
    from nktenv.probes.windows import DLL_PATTERN

    p = ctx.path
    roots: list[str] = []
    for tk in toolkits:
        root = getattr(tk, "root", None)
        if root and root not in roots:
            roots.append(root)
    for key, value in sorted(ctx.env.items()):
        if key.upper() == "CUDA_PATH" or key.upper().startswith("CUDA_PATH_V"):
            if value and value not in roots:
                roots.append(value)
    found: dict[str, list[str]] = {}
    for root in roots:
        folder = p.join(root, "bin")
        for name in ctx.seam.listdir(folder, DLL_PATTERN) or []:
            holders = found.setdefault(name.lower(), [])
            if folder not in holders:
                holders.append(folder)
    extra = dict(win.extra)
    extra["toolkit_bin_dlls"] = {k: v for k, v in sorted(found.items())}
    return dataclasses.replace(win, extra=extra)
