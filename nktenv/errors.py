"""Exit codes and the one error type every expected failure is raised as.

Every exit code nktenv uses is defined here and documented in README.md ("Exit codes").
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # doctor found an error-severity problem; plan could not be met; a check or bench failed
    USAGE = 2  # bad option or argument (also what Click/Typer use)
    NO_ENVIRONMENT = 3  # a required interpreter, venv or GPU is missing
    INSTALL_FAILED = 4  # venv creation or installation failed; nothing was left behind
    BAD_DATA = 5  # unreadable or invalid file: facts snapshot, manifest, recording, results
    NETWORK = 6  # a package index or download host could not be reached; nothing was installed
    INTERRUPTED = 130  # Ctrl-C


class NktenvError(Exception):
    """An expected failure: rendered as one line on stderr, never as a traceback.

    `code` is a stable kebab-case reference (for scripts and the JSON envelope);
    `message` is for people; `hint` is an optional next step.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        exit_code: ExitCode = ExitCode.USAGE,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
