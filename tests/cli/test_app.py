from __future__ import annotations

import subprocess
import sys

from nktenv import __version__


def test_version(runner, app) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"nktenv {__version__}"


def test_unknown_option_is_usage_error(runner, app) -> None:
    result = runner.invoke(app, ["detect", "--no-such-option"])
    assert result.exit_code == 2


def test_python_dash_m_and_lazy_imports() -> None:
    # --help must not import the heavy parts (rich tables, pynvml, psutil, frameworks).
    code = (
        "import sys, runpy; sys.argv=['nktenv','--help']\n"
        "try:\n runpy.run_module('nktenv', run_name='__main__')\n"
        "except SystemExit as e: assert e.code == 0\n"
        "heavy = [m for m in ('pynvml','torch','tensorflow','psutil','nktenv.probes.nvidia','nktenv.manifests') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert "detect" in out.stdout and "doctor" in out.stdout
