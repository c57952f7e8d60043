"""`nktenv bench` (not implemented yet)."""

from __future__ import annotations

import typer

from nktenv.errors import ExitCode, NktenvError


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench() -> None:
        """Not implemented yet."""
        raise NktenvError("not-implemented", "nktenv bench is not implemented yet", exit_code=ExitCode.USAGE)
