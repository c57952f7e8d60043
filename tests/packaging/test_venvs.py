"""The install tests' venvs import this interpreter's packages and never the base interpreter's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.packaging.venvs import host_site_packages, make_venv

SHOW = "import json, sys, typer, setuptools; print(json.dumps([sys.path, typer.__file__, setuptools.__version__]))"


def test_the_venv_sees_the_test_environment_and_not_the_base_interpreter(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "vé nv")  # a non-ASCII folder, as under C:\Users\藤澤
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([str(python), "-c", SHOW], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    path, typer_file, setuptools_version = json.loads(out.stdout)
    host = host_site_packages()
    assert host and all(d in path for d in host)
    # typer and the build backend are the test environment's (pyproject asks setuptools>=77)
    assert any(typer_file.startswith(d) for d in host)
    assert int(setuptools_version.split(".")[0]) >= 77
    own = [p for p in path if p.startswith(str(tmp_path))]
    assert own and path.index(own[0]) < min(path.index(d) for d in host)  # what the venv installs wins
    if sys.prefix != sys.base_prefix:  # under a venv: the Python it was made from stays invisible
        base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})["purelib"]
        assert base not in host and base not in path
