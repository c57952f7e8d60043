"""Shared CLI plumbing: the error boundary, common options, JSON mode.

Only Typer here (it carries its own Click); domain code never imports this module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Optional

import typer
from typer.core import TyperGroup

from nktenv.errors import ExitCode, NktenvError

_json_requested = False
_json_in_argv = False
_argv: list[str] = []


def _remember_json(value: bool) -> bool:
    global _json_requested
    _json_requested = _json_requested or bool(value)
    return value


def json_requested() -> bool:
    return _json_requested


class LazyCommands(MutableMapping[str, Any]):
    """Subcommands by name, each built on first use, so `nktenv plan` never imports or builds `bench`.

    The names (and their help order) are known without building anything: listing them, `in` and
    Click's "did you mean" cost nothing. Reading one command builds that one; `values()` and
    `items()` build them all, as they must.
    """

    def __init__(
        self,
        loaders: Mapping[str, Callable[[], Any]],
        built: Mapping[str, Any] | None = None,
        on_load: Callable[[Any], None] | None = None,
    ) -> None:
        self._loaders = dict(loaders)
        self._built = dict(built or {})
        self._on_load = on_load

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._loaders:
                raise KeyError(name)
            command = self._loaders[name]()
            if self._on_load is not None:
                self._on_load(command)
            self._built[name] = command
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._loaders
        yield from (name for name in self._built if name not in self._loaders)

    def __len__(self) -> int:
        return len(self._loaders.keys() | self._built.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._loaders or name in self._built

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._loaders.pop(name, None)
        self._built.pop(name, None)

    def built(self) -> dict[str, Any]:
        """The commands built so far (nothing is built by asking)."""
        return dict(self._built)


class NktenvGroup(TyperGroup):
    """Turns expected failures into one line on stderr and a documented exit code.

    A subclass may name `lazy_commands` (name -> function returning the Click command); those are
    built only when used and get the same preparation (translation, coercion) as the rest.
    """

    lazy_commands: ClassVar[Mapping[str, Callable[[], Any]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepared = False
        if self.lazy_commands:
            self.commands = LazyCommands(self.lazy_commands, self.commands, on_load=self._prepare_loaded)

    def main(self, args: Any = None, *pargs: Any, **kwargs: Any) -> Any:
        # The language must be known before Click renders help or parses errors, i.e. before
        # the --lang callback runs; help texts are translated on this fresh command tree.
        from nktenv.i18n import DEFAULT, language_from_args, localize_command, set_language

        global _json_in_argv, _argv
        argv = list(sys.argv[1:] if args is None else args)
        _argv = argv
        # The --json callback has not run when parsing fails, yet a usage error owes its document.
        _json_in_argv = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
        lazy = isinstance(self.commands, LazyCommands)
        try:
            if set_language(language_from_args(argv)) != DEFAULT:
                localize_command(self, subcommands=not lazy)  # English help is already English
            plain_coercion(self, subcommands=not lazy)
        except KeyboardInterrupt:  # before Click's own handling starts
            report_interrupt()
            raise SystemExit(int(ExitCode.INTERRUPTED)) from None
        self._prepared = True
        return super().main(args, *pargs, **kwargs)

    def _prepare_loaded(self, command: Any) -> None:
        """A lazily built subcommand gets what main() gave the others (nothing outside main)."""
        if not self._prepared:
            return
        from nktenv.i18n import DEFAULT, current_language, localize_command

        if current_language() != DEFAULT:
            localize_command(command)
        plain_coercion(command)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names alone: building is get_command's business

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except Exception as exc:
            if is_usage_error(exc):  # `nktenv --bogus`: the root's own options
                report_usage_error(exc)
                raise typer.Exit(int(ExitCode.USAGE)) from None
            from nktenv.i18n import localize_usage_error

            localize_usage_error(exc)
            raise
        except KeyboardInterrupt:
            report_interrupt()
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    def invoke(self, ctx: typer.Context) -> Any:
        global _json_requested
        _json_requested = False
        try:
            return super().invoke(ctx)
        except NktenvError as exc:
            report_error(exc)
            ctx.exit(int(exc.exit_code))
        except (KeyboardInterrupt, typer.Abort):  # Abort: Click's prompt saw Ctrl-C or end of input
            report_interrupt()
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Exception as exc:
            if is_usage_error(exc):
                report_usage_error(exc)
                ctx.exit(int(ExitCode.USAGE))
            from nktenv.i18n import localize_usage_error

            localize_usage_error(exc)
            raise
        return None


def is_usage_error(exc: BaseException) -> bool:
    """A Click usage error (unknown option, bad value), but not the bare command's help screen."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "UsageError" in names and "NoArgsIsHelpError" not in names and hasattr(exc, "format_message")


def _command_path_from_argv() -> str:
    """`nktenv plan` for `nktenv plan --variant` (the option parser's errors carry no context)."""
    from nktenv.cli import COMMANDS

    name = next((a for a in _argv if a in COMMANDS), None)  # `--lang ja plan`: skip option values
    return f"nktenv {name}" if name else "nktenv"


def _json_mode() -> bool:
    return _json_requested or _json_in_argv


def report_usage_error(exc: Any) -> None:
    """One `error:` line and a `hint:` naming --help, like every other failure (no usage block)."""
    from nktenv.i18n import _, localize_click_message

    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or _command_path_from_argv()
    message = localize_click_message(exc.format_message())
    hint = _("Run '{command} --help' to see the options.").format(command=path)
    report_error(NktenvError("usage", message, hint=hint, exit_code=ExitCode.USAGE), json_mode=_json_mode())


def report_interrupt() -> None:
    """Ctrl-C: one line, and the error document where one was asked for."""
    from nktenv.i18n import _

    if getattr(sys.stderr, "isatty", lambda: False)():
        sys.stderr.write("\n")  # end the line the terminal's ^C is on
    sys.stderr.write(_("interrupted") + "\n")
    sys.stderr.flush()
    if _json_mode():
        from nktenv.output import emit_json

        emit_json(interrupted_document(_("interrupted")))


def interrupted_document(message: str) -> dict[str, Any]:
    return _error_document(NktenvError("interrupted", message, exit_code=ExitCode.INTERRUPTED))


# --- coercion without pydantic ------------------------------------------------------------------
#
# Typer builds a pydantic TypeAdapter for every option it processes, even an unset one or a default,
# and importing pydantic costs more than most commands. `plain_coercion` puts a stand-in into each
# parameter's runtime-coercion slot (Typer's private API): a value whose coercion is the identity
# (None, a str for a str, a default already of its type, a plain path) passes as Typer would pass
# it; any other value makes Typer build its own coercion and use it from then on. When Typer no
# longer looks the way this expects, nothing is changed and Typer coerces everything itself.

_PLAIN_PATH_FLAGS = {"exists": False, "file_okay": True, "dir_okay": True, "writable": False,
                     "resolve_path": False, "allow_dash": False, "path_type": None}


def _plain_value(annotation: Any, info: Any, value: Any) -> tuple[bool, Any]:
    """(True, what Typer's coercion would return) where that needs no pydantic, else (False, None)."""
    if getattr(info, "parser", None) is not None:
        return False, None
    kind = type(value)
    if annotation is str and kind is str:
        return True, value
    if annotation is bool and kind is bool:
        return True, value
    if annotation in (int, float) and kind is annotation and not getattr(info, "clamp", False):
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        if (low is None or value >= low) and (high is None or value <= high):
            return True, value
        return False, None
    if annotation is Path and kind is str and value:
        if any(getattr(info, flag, None) != plain for flag, plain in _PLAIN_PATH_FLAGS.items()):
            return False, None
        # Typer refuses an existing path it cannot read; let it say so in its own words.
        if getattr(info, "readable", True) and os.path.exists(value) and not os.access(value, os.R_OK):
            return False, None
        return True, Path(value)
    return False, None


@lru_cache(maxsize=1)
def _deferred_coercion() -> type | None:
    """The stand-in class, or None when Typer's coercion slot is not the one this was written for."""
    try:
        import dataclasses
        import inspect

        from typer._coercion import RuntimeParam

        if [f.name for f in dataclasses.fields(RuntimeParam)] != ["parameter_info", "annotation"]:
            return None
        if list(inspect.signature(RuntimeParam._coerce_value).parameters) != ["self", "value", "param", "ctx"]:
            return None
        if not callable(getattr(RuntimeParam, "coerce", None)):
            return None

        @dataclasses.dataclass(frozen=True)
        class Deferred(RuntimeParam):  # type: ignore[misc, valid-type]
            def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
                plain, result = _plain_value(self.annotation, self.parameter_info, value)
                if plain:
                    return result
                param._runtime_param = None  # from now on this parameter uses Typer's own coercion
                return param.get_runtime_param().coerce(value, param=param, ctx=ctx)

        return Deferred
    except Exception:  # noqa: BLE001 - any surprise means: leave Typer alone
        return None


def plain_coercion(command: Any, *, subcommands: bool = True) -> bool:
    """Spare `command` (and, unless told not to, its subcommands) the pydantic import, see above.

    Returns whether the stand-in could be used with the installed Typer.
    """
    deferred = _deferred_coercion()
    if deferred is None:
        return False

    def seed(param: Any) -> None:
        desc = getattr(param, "type_descriptor", None)
        if desc is None or getattr(param, "_runtime_param", 0) is not None:
            return
        if not callable(getattr(param, "get_runtime_param", None)):
            return
        stand_in = deferred(parameter_info=desc.parameter_info, annotation=desc.annotation)
        param._runtime_param = stand_in
        if param.get_runtime_param() is not stand_in:  # Typer stopped reading the slot: undo
            param._runtime_param = None

    def seed_help(cmd: Any) -> None:
        original = cmd.get_help_option  # Click makes --help on demand, per context

        def get_help_option(ctx: Any) -> Any:
            option = original(ctx)
            if option is not None:
                try:
                    seed(option)
                except Exception:  # noqa: BLE001 - Typer then coerces --help itself
                    pass
            return option

        cmd.get_help_option = get_help_option

    stack = [command]
    try:
        while stack:
            cmd = stack.pop()
            for param in getattr(cmd, "params", None) or ():
                seed(param)
            seed_help(cmd)
            if subcommands:
                stack.extend((getattr(cmd, "commands", None) or {}).values())
    except Exception:  # noqa: BLE001 - a speed-up must never break a command
        return False
    return True


def _error_document(exc: NktenvError) -> dict[str, Any]:
    return {
        "schema": "nktenv.error/1",
        "ok": False,
        "error": {"code": exc.code, "message": exc.message, "hint": exc.hint},
        "exit_code": int(exc.exit_code),
    }


def report_error(exc: NktenvError, *, json_mode: bool | None = None) -> None:
    from nktenv.output import emit_json, error_line

    error_line(exc.message, exc.hint)
    if _json_requested if json_mode is None else json_mode:
        emit_json(_error_document(exc))


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
    typer.Option("--facts", help="Reason about a saved `nktenv detect --json` snapshot (or the facts in a `nktenv doctor --json` report) instead of this machine.", show_default=False),
]
