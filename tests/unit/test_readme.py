"""README promises that CI keeps: the test command is the one .ci/run runs, the commands exist."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _block_after(heading: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    return re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()


def test_ci_runs_the_readme_test_command() -> None:
    command = _block_after("## Run the tests")
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci_lines
    assert ci_lines[-1] == command  # the last thing CI does: its exit code is CI's verdict


def test_quick_start_installs_and_runs_setup() -> None:
    assert _block_after("## Quick start") == "python -m pip install . && nktenv setup"


def test_every_command_in_the_readme_exists(runner, app) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `nktenv (\w+)", text, re.M))
    assert {"detect", "doctor", "plan", "setup", "bench", "compare", "manifests"} <= named
    for name in named:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
