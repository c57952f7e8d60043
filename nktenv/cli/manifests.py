"""`nktenv manifests check|refresh` (not implemented yet)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Check and refresh the version manifests.", no_args_is_help=True)
