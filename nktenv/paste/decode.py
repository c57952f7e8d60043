"""Bytes a user saved or piped -> text: UTF-8 (BOM or not), UTF-16 (PowerShell's `>`), cp932."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nktenv.errors import ExitCode, NktenvError

MAX_BYTES = 2_000_000


def decode(raw: bytes) -> str:
    """Pasted bytes as text, line ends and markdown quoting normalised."""
    return normalise(decode_bytes(raw))


def decode_bytes(raw: bytes) -> str:
    """Windows PowerShell 5.1's `>` writes UTF-16 LE with a BOM; a Japanese console writes cp932."""
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8", errors="replace")
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    elif len(raw) >= 4 and raw[1::2].count(0) > len(raw) // 4 and raw[::2].count(0) < len(raw) // 8:
        text = raw.decode("utf-16-le", errors="replace")  # UTF-16 without a BOM (rare, but Out-File can)
    else:
        for encoding in ("utf-8", "cp932"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = raw.decode("utf-8", errors="replace")
    return text


def normalise(text: str) -> str:
    """CRLF -> LF; a paste quoted as markdown ('> ' on most lines) loses the quote marks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = text.split("\n")
    body = [ln for ln in lines if ln.strip()]
    if body and sum(1 for ln in body if re.match(r"^\s*>(?:\s|$)", ln)) >= 0.6 * len(body):
        lines = [re.sub(r"^\s*> ?", "", ln, count=1) for ln in lines]
    return "\n".join(lines)


def read(path: str) -> tuple[str, str]:
    """One `--from` argument -> (name, text). `-` is stdin. Failures are one clear line (exit 5)."""
    from nktenv.i18n import _

    if path == "-":
        raw = sys.stdin.buffer.read(MAX_BYTES) if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        return "stdin", decode(raw)
    p = Path(path)
    try:
        raw = p.read_bytes()[:MAX_BYTES]
    except FileNotFoundError:
        raise NktenvError("paste-not-found", _("pasted text file not found: {path}").format(path=path),
                          exit_code=ExitCode.BAD_DATA) from None
    except OSError as exc:
        raise NktenvError("paste-unreadable", _("cannot read pasted text file {path}: {reason}").format(
            path=path, reason=exc.strerror or str(exc)), exit_code=ExitCode.BAD_DATA) from None
    return p.name, decode(raw)
