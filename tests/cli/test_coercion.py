"""`plain_coercion`: values pass exactly as Typer's own coercion passes them, and a changed Typer is left alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, List, Optional

import pytest
import typer

from nktenv.cli import _common
from nktenv.cli._common import _deferred_coercion, plain_coercion

needs_slot = pytest.mark.skipif(_deferred_coercion() is None, reason="this Typer has no coercion slot to fill")


def _probe_app(received: dict[str, Any]) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

    @app.command()
    def main(
        name: Annotated[str, typer.Option("--name")] = "latest",
        maybe: Annotated[Optional[str], typer.Option("--maybe")] = None,
        path: Annotated[Optional[Path], typer.Option("--path")] = None,
        must_exist: Annotated[Optional[Path], typer.Option("--must-exist", exists=True)] = None,
        flag: Annotated[bool, typer.Option("--flag")] = False,
        timeout: Annotated[float, typer.Option("--timeout", min=5.0)] = 120.0,
        count: Annotated[Optional[int], typer.Option("--count", min=1, max=9)] = None,
        logs: Annotated[Optional[List[Path]], typer.Option("--log")] = None,
    ) -> None:
        received.update(name=name, maybe=maybe, path=path, must_exist=must_exist, flag=flag, timeout=timeout,
                        count=count, logs=logs)

    return app


def _invoke(args: list[str], *, hook: bool) -> tuple[Any, str]:
    received: dict[str, Any] = {}
    command = typer.main.get_command(_probe_app(received))
    if hook:
        assert plain_coercion(command) is True
    try:
        command.main(args, standalone_mode=False)
    except typer.BadParameter as exc:  # Click's usage errors, compared by their text
        return None, exc.format_message()
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"
    return {k: (type(v).__name__, v) for k, v in received.items()}, ""


CASES = [
    [],
    ["--name", "2.5.1", "--maybe", "x"],
    ["--name", ""],
    ["--path", "rel/file.json"],
    ["--path", ""],
    ["--path", "."],
    ["--path", "/no/such/dir/f"],
    ["--must-exist", "/no/such/file"],
    ["--flag"],
    ["--timeout", "30"],
    ["--timeout", "30.5"],
    ["--timeout", "1"],
    ["--timeout", "abc"],
    ["--count", "3"],
    ["--count", "0"],
    ["--count", "10"],
    ["--log", "a.txt", "--log", "b.txt"],
]


@needs_slot
@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a) or "defaults")
def test_values_are_what_typer_itself_makes(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _invoke(args, hook=True) == _invoke(args, hook=False)


@needs_slot
def test_existing_paths_and_unreadable_ones(tmp_path: Path) -> None:
    present = tmp_path / "present.json"
    present.write_text("{}", encoding="utf-8")
    for args in (["--path", str(present)], ["--must-exist", str(present)], ["--path", str(tmp_path)]):
        assert _invoke(args, hook=True) == _invoke(args, hook=False)
    if os.name != "nt" and os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked.json"
        locked.write_text("{}", encoding="utf-8")
        locked.chmod(0)
        hooked = _invoke(["--path", str(locked)], hook=True)
        assert hooked == _invoke(["--path", str(locked)], hook=False)
        assert "not readable" in hooked[1]


@needs_slot
def test_defaults_and_plain_strings_never_build_typer_coercion(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.core

    built: list[Any] = []
    original = typer.core._TyperParameter.get_runtime_param

    def spy(self: Any) -> Any:
        result = original(self)
        if not isinstance(result, _deferred_coercion()):
            built.append(self.name)
        return result

    monkeypatch.setattr(typer.core._TyperParameter, "get_runtime_param", spy)
    values, error = _invoke(["--name", "x", "--path", "p.json", "--flag"], hook=True)
    assert error == "" and values["path"] == ("PosixPath" if os.name != "nt" else "WindowsPath", Path("p.json"))
    assert built == []
    _invoke(["--timeout", "30"], hook=True)  # a string for a float: Typer's own coercion, for that option only
    assert built == ["timeout"]


def test_a_typer_without_the_slot_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer._coercion

    monkeypatch.delattr(typer._coercion, "RuntimeParam")
    _deferred_coercion.cache_clear()
    try:
        received: dict[str, Any] = {}
        command = typer.main.get_command(_probe_app(received))
        assert plain_coercion(command) is False
        assert all(getattr(p, "_runtime_param", None) is None for p in command.params)
        command.main(["--timeout", "30", "--path", "x"], standalone_mode=False)
        assert received["timeout"] == 30.0 and received["path"] == Path("x")
    finally:
        _deferred_coercion.cache_clear()


def test_a_typer_whose_slot_changed_shape_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import typer._coercion

    @dataclasses.dataclass(frozen=True)
    class Changed:
        parameter_info: Any
        annotation: Any
        adapter: Any = None

        def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
            return value

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return value

    monkeypatch.setattr(typer._coercion, "RuntimeParam", Changed)
    _deferred_coercion.cache_clear()
    try:
        assert _deferred_coercion() is None
        assert plain_coercion(typer.main.get_command(_probe_app({}))) is False
    finally:
        _deferred_coercion.cache_clear()


@needs_slot
def test_a_parameter_that_no_longer_reads_the_slot_is_restored() -> None:
    class Param:
        type_descriptor = type("Desc", (), {"parameter_info": None, "annotation": str})()
        _runtime_param = None

        def get_runtime_param(self) -> Any:
            return "typer's own"

    class Command:
        params = [Param()]

        def get_help_option(self, ctx: Any) -> Any:
            return None

    command = Command()
    assert plain_coercion(command) is True
    assert command.params[0]._runtime_param is None


def test_the_cli_still_runs_when_the_hook_cannot_apply(runner, app, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    monkeypatch.setattr(_common, "_deferred_coercion", lambda: None)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "nktenv.facts/1", "os": {"system": "linux"}, "gpus": [], "env": {}}),
                     encoding="utf-8")
    result = runner.invoke(app, ["plan", "--facts", str(facts), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["schema"] == "nktenv.plan/1"
    result = runner.invoke(app, ["doctor", "--facts", str(facts), "--timeout", "1"])
    assert result.exit_code == 2 and "--timeout" in result.output
