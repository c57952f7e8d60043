"""The Typer application. One module per command; heavy imports live inside command bodies.

Subcommands are registered lazily: `nktenv plan` imports and builds only `nktenv.cli.plan`, while
`--help`, "did you mean" and `typer.main.get_command(app).commands` still see every command.
"""

from __future__ import annotations

import importlib
import sys
from functools import partial
from typing import Annotated, Any, Optional

import typer

from nktenv import __version__
from nktenv.cli._common import NktenvGroup

# Subcommands in the order help lists them; each is `nktenv.cli.<name>`, with `register(app)` or a
# sub-application `app`.
COMMANDS = ("detect", "doctor", "plan", "setup", "bench", "compare", "manifests", "wheelhouse")
_SETTINGS: dict[str, Any] = {"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None}


def _no_options() -> None:
    """Makes the holder below a group, so Typer builds the subcommand as it would for the root."""


def build_command(name: str) -> Any:
    """The Click command for one subcommand, built by Typer exactly as an eagerly registered one."""
    module = importlib.import_module(f"nktenv.cli.{name}")
    holder = typer.Typer(**_SETTINGS)
    if hasattr(module, "register"):
        module.register(holder)
    else:
        holder.add_typer(module.app, name=name)
    holder.callback()(_no_options)
    return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]


class _RootGroup(NktenvGroup):
    lazy_commands = {name: partial(build_command, name) for name in COMMANDS}


app = typer.Typer(
    name="nktenv",
    cls=_RootGroup,
    help="From 'just arrived' to 'proven fast': probe, plan, set up, diagnose and benchmark a GPU machine.",
    no_args_is_help=True,
    **_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nktenv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
    lang: Annotated[
        Optional[str],
        typer.Option(
            "--lang",
            metavar="<en|ja>",
            help="Language of human output: en or ja (default: NKTENV_LANG, then the system locale). With --json, keys, codes and numbers stay the same; text fields such as title, fix and message follow it.",
        ),
    ] = None,
) -> None:
    from nktenv.i18n import SUPPORTED, _, normalize, set_language

    if lang is not None and normalize(lang) not in SUPPORTED:
        raise typer.BadParameter(
            _("Unknown language {lang}; choose one of: {choices}.").format(lang=lang, choices=", ".join(SUPPORTED)),
            param_hint="--lang",
        )
    set_language(lang)


def main() -> None:
    """Console-script entry point."""
    from nktenv.output import ensure_utf8_streams

    ensure_utf8_streams()
    try:
        app(prog_name="nktenv")
    except KeyboardInterrupt:  # before or after the command's own boundary (start-up, shutdown)
        from nktenv.cli._common import report_interrupt

        report_interrupt()
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
