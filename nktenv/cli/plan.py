"""`nktenv plan` (not implemented yet)."""

from __future__ import annotations

import typer

from nktenv.errors import ExitCode, NktenvError


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan() -> None:
        """Not implemented yet."""
        raise NktenvError("not-implemented", "nktenv plan is not implemented yet", exit_code=ExitCode.USAGE)
