"""Linux + `tensorflow[and-cuda]`: make the venv find pip's NVIDIA libraries, and only those.

TF 2.16/2.17 did not find `site-packages/nvidia/*/lib` on its own (tensorflow#63362); the official
fix links those libraries next to TensorFlow (tensorflow/docs@7cf1c57de). A foreign CUDA/cuDNN on
LD_LIBRARY_PATH (a toolkit, a conda env) still wins over them and gives "Loaded runtime CuDNN
library: X but source was compiled with: Y", so the activate script strips such entries while the
venv is active and restores them on `deactivate`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MARK_BEGIN = "# >>> nktenv: CUDA libraries from pip >>>"
MARK_END = "# <<< nktenv: CUDA libraries from pip <<<"
# Folders whose name says CUDA or cuDNN, or that hold a libcudart / libcudnn copy, are foreign.
_FOREIGN_RE = re.compile(r"cuda|cudnn", re.IGNORECASE)


def nvidia_lib_dirs(site_packages: Path) -> list[Path]:
    """`site-packages/nvidia/*/lib` folders that hold shared libraries, sorted."""
    root = site_packages / "nvidia"
    if not root.is_dir():
        return []
    return sorted(d for d in root.glob("*/lib") if d.is_dir() and any(d.glob("*.so*")))


def is_foreign_cuda_dir(entry: str, venv: str) -> bool:
    """True for a library-path entry that carries a CUDA/cuDNN other than the venv's own (pure)."""
    if not entry:
        return False
    if venv and os.path.normpath(entry).startswith(os.path.normpath(venv) + os.sep):
        return False
    return bool(_FOREIGN_RE.search(entry))


def strip_library_path(value: str, venv: str) -> str:
    """LD_LIBRARY_PATH without foreign CUDA/cuDNN entries (pure; order kept)."""
    return ":".join(e for e in value.split(":") if e and not is_foreign_cuda_dir(e, venv))


def link_into_tensorflow(site_packages: Path) -> list[Path]:
    """Relative symlinks `tensorflow/lib*.so*` -> `../nvidia/*/lib/lib*.so*` (the documented fix).

    Relative links keep working after the venv is moved into place. Returns the links made.
    """
    tf_dir = site_packages / "tensorflow"
    if not tf_dir.is_dir():
        return []
    made: list[Path] = []
    for lib_dir in nvidia_lib_dirs(site_packages):
        for lib in sorted(lib_dir.glob("*.so*")):
            link = tf_dir / lib.name
            if link.exists() or link.is_symlink():
                continue
            link.symlink_to(os.path.relpath(lib, tf_dir))
            made.append(link)
    return made


def activate_snippet(site_packages_rel: str) -> str:
    """The bash/zsh block appended to bin/activate (paths relative to $VIRTUAL_ENV)."""
    return f"""
{MARK_BEGIN}
_nktenv_old_ld="${{LD_LIBRARY_PATH-__nktenv_unset__}}"
_nktenv_new=""
for _d in "$VIRTUAL_ENV/{site_packages_rel}"/nvidia/*/lib; do
    [ -d "$_d" ] && _nktenv_new="${{_nktenv_new:+$_nktenv_new:}}$_d"
done
_nktenv_keep=""
_nktenv_ifs="$IFS"; IFS=":"
for _d in ${{LD_LIBRARY_PATH-}}; do
    case "$_d" in
        ""|*[Cc][Uu][Dd][Aa]*|*[Cc][Uu][Dd][Nn][Nn]*) ;;
        *) _nktenv_keep="${{_nktenv_keep:+$_nktenv_keep:}}$_d" ;;
    esac
done
IFS="$_nktenv_ifs"
LD_LIBRARY_PATH="$_nktenv_new${{_nktenv_keep:+:$_nktenv_keep}}"
export LD_LIBRARY_PATH
unset _d _nktenv_new _nktenv_keep _nktenv_ifs
eval "_nktenv_venv_deactivate() $(declare -f deactivate | tail -n +2)"
deactivate () {{
    if [ "$_nktenv_old_ld" = "__nktenv_unset__" ]; then unset LD_LIBRARY_PATH
    else LD_LIBRARY_PATH="$_nktenv_old_ld"; export LD_LIBRARY_PATH; fi
    unset _nktenv_old_ld
    _nktenv_venv_deactivate "$@"
    if [ "${{1-}}" != "nondestructive" ]; then unset -f _nktenv_venv_deactivate; fi
}}
{MARK_END}
"""


def patch_activate(venv: Path, site_packages: Path) -> bool:
    """Append the library-path block to bin/activate once. Returns True when it was added."""
    activate = venv / "bin" / "activate"
    if not activate.is_file():
        return False
    text = activate.read_text(encoding="utf-8")
    if MARK_BEGIN in text:
        return False
    rel = os.path.relpath(site_packages, venv).replace(os.sep, "/")
    activate.write_text(text.rstrip("\n") + "\n" + activate_snippet(rel), encoding="utf-8")
    return True


def apply(venv: Path, site_packages: Path) -> dict[str, object]:
    """Do both fixes; report what was done (for the record)."""
    links = link_into_tensorflow(site_packages)
    patched = patch_activate(venv, site_packages)
    return {
        "nvidia_lib_dirs": [str(d.relative_to(venv)) for d in nvidia_lib_dirs(site_packages)],
        "tensorflow_links": len(links),
        "activate_patched": patched,
    }
