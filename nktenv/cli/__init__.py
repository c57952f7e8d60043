"""The Typer application. One module per command; heavy imports live inside command bodies."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from nktenv import __version__
from nktenv.cli._common import NktenvGroup

app = typer.Typer(
    name="nktenv",
    cls=NktenvGroup,
    help="From 'just arrived' to 'proven fast': probe, plan, set up, diagnose and benchmark a GPU machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
            help="Language of human output: en or ja (default: NKTENV_LANG, then the system locale).",
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


def _register() -> None:
    from nktenv.cli import bench, compare, detect, doctor, manifests, plan, setup

    for module in (detect, doctor, plan, setup, bench, compare):
        module.register(app)
    app.add_typer(manifests.app, name="manifests")


_register()


def main() -> None:
    """Console-script entry point."""
    from nktenv.output import ensure_utf8_streams

    ensure_utf8_streams()
    app(prog_name="nktenv")


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
