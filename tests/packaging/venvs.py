"""Venvs for the install tests that see this interpreter's packages and nothing of the base interpreter's.

A venv made with system site-packages would see the *base* interpreter's packages (for a venv:
those of the Python it was made from), so a test would pass or fail with whatever that Python
happens to hold. Instead the venv gets no system packages and one .pth file that lists the running
interpreter's own site-packages: the build backend, typer and the rest come from the test
environment, explicitly and offline.
"""

from __future__ import annotations

import os
import site
import subprocess
import venv
from pathlib import Path

# Sorts after pip's and setuptools' own .pth files: what the venv installs itself comes first.
HOST_PTH = "zz-nktenv-test-host.pth"


def host_site_packages() -> list[str]:
    """The site-packages folders the running interpreter imports from."""
    return [d for d in dict.fromkeys(site.getsitepackages()) if os.path.isdir(d)]


def venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(path: Path) -> Path:
    """A venv without pip and without system site-packages that imports this interpreter's packages last."""
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(path)
    python = venv_python(path)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    purelib = Path(out.stdout.strip())
    purelib.mkdir(parents=True, exist_ok=True)
    (purelib / HOST_PTH).write_text("".join(d + "\n" for d in host_site_packages()), encoding="utf-8")
    return python


def host_has_installed_nktenv() -> bool:
    """A non-editable nktenv in the test environment would shadow an editable install made in the new venv."""
    return any((Path(d) / "nktenv" / "__init__.py").is_file() for d in host_site_packages())
