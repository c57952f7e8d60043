"""Build hook: compile the translation catalogs (.po -> .mo) into every wheel.

All metadata lives in pyproject.toml; this file only adds the compile step to build_py. The
compiler is nktenv/locale/_po.py, loaded by path so the build needs nothing but setuptools.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
LOCALE = Path("nktenv") / "locale"


def _po_module():
    spec = importlib.util.spec_from_file_location("_nktenv_po_build", HERE / LOCALE / "_po.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


class build_py_with_catalogs(build_py):  # noqa: N801 - setuptools command naming
    """build_py, then compile each .po next to its copy (or in the source tree for editable installs)."""

    def run(self) -> None:
        super().run()
        target = HERE / LOCALE if self.editable_mode else Path(self.build_lib) / LOCALE
        if not target.is_dir():
            return
        for mo in _po_module().compile_tree(target):
            self.announce(f"compiled {mo}", level=2)


setup(cmdclass={"build_py": build_py_with_catalogs})
