"""Start-up work of the CLI: subcommands built lazily, no catalog for English, no pydantic for plain values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import nktenv.cli as cli
from nktenv.cli._common import LazyCommands, NktenvGroup, _deferred_coercion

FACTS = {
    "schema": "nktenv.facts/1",
    "os": {"system": "linux", "arch": "x86_64", "glibc": "2.35"},
    "python": {"version": "3.10.13"},
    "driver": {"version": "550.54.15"},
    "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6"}],
    "env": {},
}


def _eager_app() -> typer.Typer:
    """The application as it was before lazy registration: every command registered up front."""
    eager = typer.Typer(name="nktenv", cls=NktenvGroup, help=cli.app.info.help, no_args_is_help=True, **cli._SETTINGS)
    eager.callback()(cli._root)
    import importlib

    for name in cli.COMMANDS:
        module = importlib.import_module(f"nktenv.cli.{name}")
        if hasattr(module, "register"):
            module.register(eager)
        else:
            eager.add_typer(module.app, name=name)
    return eager


def _run_module(args: list[str], extra: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m nktenv ARGS` in a fresh interpreter; `extra` runs afterwards and may print findings."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['nktenv', *{args!r}]\n"
        "try:\n    runpy.run_module('nktenv', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        + extra
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                          timeout=120, env=env)


# --- lazy registration ----------------------------------------------------------------------------


def test_the_command_table_builds_one_command_per_lookup() -> None:
    built: list[str] = []
    loaded: list[str] = []

    def loader(name: str):
        return lambda: built.append(name) or f"<{name}>"

    table = LazyCommands({n: loader(n) for n in ("a", "b", "c")}, {"x": "<x>"}, on_load=loaded.append)
    assert list(table) == ["a", "b", "c", "x"] and len(table) == 4
    assert "b" in table and "zz" not in table and built == []  # names and membership build nothing
    assert table.get("zz") is None and built == []
    assert table["b"] == "<b>" and table.get("b") == "<b>"
    assert built == ["b"] and loaded == ["<b>"]  # built once, prepared once
    assert table.built() == {"x": "<x>", "b": "<b>"}
    assert dict(table.items()) == {"a": "<a>", "b": "<b>", "c": "<c>", "x": "<x>"}
    assert sorted(built) == ["a", "b", "c"]
    del table["a"]
    assert "a" not in table and list(table) == ["b", "c", "x"]
    with pytest.raises(KeyError):
        del table["a"]
    table["d"] = "<d>"
    assert table["d"] == "<d>" and list(table)[-1] == "d"


def test_the_group_knows_every_command_before_building_any() -> None:
    group = typer.main.get_command(cli.app)
    assert isinstance(group.commands, LazyCommands)
    assert list(group.commands) == list(cli.COMMANDS)
    assert group.list_commands(None) == list(cli.COMMANDS)
    assert group.commands.built() == {}
    assert group.get_command(None, "plan").name == "plan"
    assert list(group.commands.built()) == ["plan"]
    assert group.get_command(None, "no-such") is None


def test_a_command_runs_without_importing_the_others(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(FACTS), encoding="utf-8")
    extra = "print('LOADED', sorted(m for m in sys.modules if m.startswith('nktenv.cli.')), file=sys.stderr)\n"
    out = _run_module(["plan", "--facts", str(facts), "--json"], extra)
    assert json.loads(out.stdout)["schema"] == "nktenv.plan/1", out.stderr
    assert "LOADED ['nktenv.cli._common', 'nktenv.cli.plan']" in out.stderr


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_lazy_help_is_the_help_of_the_eager_application(runner, app, lang: str) -> None:
    eager = _eager_app()
    paths = [[], *([name] for name in cli.COMMANDS), ["manifests", "check"], ["manifests", "refresh"]]
    for path in paths:
        args = ["--lang", lang, *path, "--help"]
        lazy_out, eager_out = runner.invoke(app, args), runner.invoke(eager, args)
        assert lazy_out.exit_code == 0 == eager_out.exit_code, (path, lazy_out.output)
        assert lazy_out.stdout == eager_out.stdout, path


def test_root_help_lists_every_command_with_its_short_help(runner, app) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:")[1].splitlines()
    names = [line.split()[0] for line in commands if line.startswith("  ") and not line.startswith("   ")]
    assert names == list(cli.COMMANDS)
    for line in commands:
        if line.startswith("  ") and not line.startswith("   "):
            assert len(line.split()) > 2, f"no short help: {line!r}"


def test_root_help_in_japanese_lists_every_command_translated(runner, app) -> None:
    result = runner.invoke(app, ["--lang", "ja", "--help"])
    assert result.exit_code == 0
    body = result.stdout.split("コマンド:")[1]
    for name in cli.COMMANDS:
        row = next(line for line in body.splitlines() if line.strip().startswith(name + " "))
        assert any("\u3040" <= ch <= "\u9fff" for ch in row), row


@pytest.mark.parametrize("args", [["plna"], ["--lang", "ja", "plna"]])
def test_an_unknown_command_is_one_clean_usage_error(args: list[str]) -> None:
    out = _run_module(args, "print('LOADED', [m for m in sys.modules if m.startswith('nktenv.cli.')"
                            " and m != 'nktenv.cli._common'], file=sys.stderr)\n")
    assert "Traceback" not in out.stderr
    assert "'plan'" in out.stderr  # the suggestion needs the names only
    assert "LOADED []" in out.stderr
    assert ("No such command" in out.stderr) if "ja" not in args else ("コマンドはありません" in out.stderr)


def test_unknown_command_exit_code(runner, app) -> None:
    result = runner.invoke(app, ["plna"])
    assert result.exit_code == 2
    assert "Did you mean 'plan'?" in result.output


# --- the catalog ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "loaded"), [("en", []), ("ja", ["ja"])])
def test_english_runs_never_read_a_catalog(tmp_path: Path, lang: str, loaded: list[str]) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(FACTS), encoding="utf-8")
    code = (
        "import sys, runpy\n"
        "import nktenv.i18n as i\n"
        "seen = []\n"
        "original = i._catalog_files\n"
        "i._catalog_files = lambda lang: (seen.append(lang), original(lang))[1]\n"
        f"sys.argv = ['nktenv', '--lang', {lang!r}, 'plan', '--facts', {str(facts)!r}, '--json']\n"
        "try:\n    runpy.run_module('nktenv', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('CATALOGS', sorted(set(seen)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert json.loads(out.stdout)["ok"] is True, out.stderr
    assert f"CATALOGS {loaded}" in out.stderr


# --- coercion without pydantic --------------------------------------------------------------------


@pytest.mark.skipif(_deferred_coercion() is None, reason="this Typer has no coercion slot to fill")
def test_plan_runs_without_pydantic(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(FACTS), encoding="utf-8")
    extra = "print('PYDANTIC', 'pydantic' in sys.modules, file=sys.stderr)\n"
    out = _run_module(["plan", "--facts", str(facts), "--tensorflow", "latest", "--json"], extra)
    assert json.loads(out.stdout)["ok"] is True, out.stderr
    assert "PYDANTIC False" in out.stderr
    out = _run_module(["doctor", "--facts", str(facts), "--json"], extra)
    assert json.loads(out.stdout)["schema"] == "nktenv.doctor/1", out.stderr
    assert "PYDANTIC False" in out.stderr
