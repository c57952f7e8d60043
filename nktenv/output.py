"""Rendering at the edge: stdout is data, stderr is for people.

With `--json`, stdout carries exactly one JSON document and every human text goes to stderr.
Rich is imported lazily so `nktenv --help` stays fast.
"""

from __future__ import annotations

import io
import json
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def ensure_utf8_streams() -> None:
    """Make stdout/stderr able to print any text (a cp932 Windows console must not crash).

    Characters the console cannot show are replaced rather than raising UnicodeEncodeError.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, io.TextIOWrapper):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):  # detached or closed stream
                pass


@lru_cache(maxsize=None)
def _console(stderr: bool, _stream_id: int) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def err_console() -> Console:
    """Console for people (progress, tables in --json mode, warnings, errors)."""
    return _console(True, id(sys.stderr))


def out_console() -> Console:
    """Console for the primary human output (stdout when not --json)."""
    return _console(False, id(sys.stdout))


def human_console(json_mode: bool) -> Console:
    return err_console() if json_mode else out_console()


def emit_json(document: Any) -> None:
    """Write exactly one JSON document to stdout."""
    # On a stream that is not UTF-8 (a redirected cp932 console), escape non-ASCII instead of
    # letting the stream replace what it cannot encode: the data must survive intact.
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("_", "-")
    ascii_only = not encoding.startswith("utf")
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=ascii_only) + "\n")
    sys.stdout.flush()


def error_line(message: str, hint: str | None = None) -> None:
    """One clear line on stderr (plus an optional hint line)."""
    from nktenv.i18n import _

    sys.stderr.write(_("error: {message}").format(message=message) + "\n")
    if hint:
        sys.stderr.write(_("hint: {hint}").format(hint=hint) + "\n")
    sys.stderr.flush()
