"""Shared CLI plumbing: the error boundary, common options, JSON mode.

Only Typer here (it carries its own Click); domain code never imports this module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from nktenv.errors import ExitCode, NktenvError

_json_requested = False


def _remember_json(value: bool) -> bool:
    global _json_requested
    _json_requested = _json_requested or bool(value)
    return value


def json_requested() -> bool:
    return _json_requested


class NktenvGroup(TyperGroup):
    """Turns expected failures into one line on stderr and a documented exit code."""

    def main(self, args: Any = None, *pargs: Any, **kwargs: Any) -> Any:
        # The language must be known before Click renders help or parses errors, i.e. before
        # the --lang callback runs; help texts are translated on this fresh command tree.
        from nktenv.i18n import language_from_args, localize_command, set_language

        argv = list(sys.argv[1:] if args is None else args)
        set_language(language_from_args(argv))
        localize_command(self)
        plain_coercion(self)
        return super().main(args, *pargs, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except Exception as exc:  # re-raised as it is; a usage error only learns to print translated
            from nktenv.i18n import localize_usage_error

            localize_usage_error(exc)
            raise

    def invoke(self, ctx: typer.Context) -> Any:
        global _json_requested
        _json_requested = False
        try:
            return super().invoke(ctx)
        except NktenvError as exc:
            report_error(exc)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            from nktenv.i18n import _

            sys.stderr.write("\n" + _("interrupted") + "\n")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Exception as exc:  # re-raised as it is; a usage error only learns to print translated
            from nktenv.i18n import localize_usage_error

            localize_usage_error(exc)
            raise
        return None


def plain_coercion(command: Any) -> None:
    """Coerce plain str / Path / flag options of the whole command tree without pydantic.

    Typer builds a pydantic TypeAdapter for every non-flag option, even an unset one, and importing
    pydantic costs more than most commands; strings and paths need none of it. Other types keep
    Typer's coercion, and a Typer without this hook is left alone.
    """
    try:
        from typer._coercion import RuntimeParam
    except ImportError:  # pragma: no cover - older or newer Typer
        return

    from dataclasses import dataclass

    @dataclass(frozen=True)
    class _Plain(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.annotation is bool and isinstance(value, bool):
                return value
            if self.annotation is Path:
                return Path(value)
            if self.annotation is str:
                return str(value)
            raise typer.BadParameter(f"{value!r} is not a valid flag value")

    def seed(param: Any) -> None:
        desc = getattr(param, "type_descriptor", None)
        if desc is not None and desc.annotation in (str, Path, bool) and getattr(param, "_runtime_param", 0) is None:
            param._runtime_param = _Plain(parameter_info=desc.parameter_info, annotation=desc.annotation)

    def walk(cmd: Any) -> None:
        for param in cmd.params:
            seed(param)
        original = cmd.get_help_option  # --help is made lazily, per command

        def get_help_option(ctx: Any) -> Any:
            option = original(ctx)
            if option is not None:
                seed(option)
            return option

        cmd.get_help_option = get_help_option  # type: ignore[method-assign]
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)


def report_error(exc: NktenvError) -> None:
    from nktenv.output import emit_json, error_line

    error_line(exc.message, exc.hint)
    if _json_requested:
        emit_json(
            {
                "schema": "nktenv.error/1",
                "ok": False,
                "error": {"code": exc.code, "message": exc.message, "hint": exc.hint},
                "exit_code": int(exc.exit_code),
            }
        )


JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print exactly one JSON document on stdout; people's text goes to stderr.", callback=_remember_json),
]
PythonOpt = Annotated[
    Optional[Path],
    typer.Option("--python", help="Target interpreter (path to python / python.exe).", show_default=False),
]
VenvOpt = Annotated[
    Optional[Path],
    typer.Option("--venv", help="Target virtual environment folder.", show_default=False),
]
FactsOpt = Annotated[
    Optional[Path],
    typer.Option("--facts", help="Reason about a saved `nktenv detect --json` snapshot instead of this machine.", show_default=False),
]
