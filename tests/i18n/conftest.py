"""Fixtures for Japanese output tests.

`ja` runs the real CLI in Japanese: `ja.invoke([...])` is `runner.invoke(app, ["--lang", "ja", ...])`,
and `ja.assert_translated(text)` fails when a catalog message shows up in English.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO

if str(REPO) not in sys.path:  # tools/ is not installed; it runs from the checkout
    sys.path.insert(0, str(REPO))

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def squash(text: str) -> str:
    """Whitespace collapsed, so wrapped help still matches."""
    return " ".join(text.split())


@dataclass
class JapaneseCli:
    runner: CliRunner
    app: Any

    def invoke(self, args: Sequence[str], **kwargs: Any) -> Any:
        return self.runner.invoke(self.app, ["--lang", "ja", *args], **kwargs)

    def assert_translated(self, text: str, min_length: int = 20) -> None:
        """No message the ja catalog translates may appear in English in `text`.

        Short messages (labels such as "NVIDIA driver") are skipped: they also occur inside
        verbatim tool output, which stays as the tool printed it.
        """
        from nktenv import i18n

        flat = squash(text)
        with i18n.use_language("ja"):
            leaked = [
                msgid
                for msgid in _catalog_ids()
                if len(msgid) >= min_length and "{" not in msgid and i18n.translate_text(msgid) != msgid
                and squash(msgid) in flat
            ]
        assert not leaked, f"English text in Japanese output: {leaked}"
        assert JAPANESE.search(text), f"no Japanese in output: {text[:300]!r}"


def _catalog_ids() -> list[str]:
    from nktenv import i18n

    catalog = getattr(i18n._translation("ja"), "_catalog", {})
    return [k for k in catalog if isinstance(k, str) and k]


@pytest.fixture
def ja(monkeypatch: pytest.MonkeyPatch, runner: CliRunner, app: Any) -> Iterator[JapaneseCli]:
    """The CLI in Japanese (the environment says ja too, for code that reads the language directly)."""
    from nktenv import i18n

    monkeypatch.setenv("NKTENV_LANG", "ja")
    with i18n.use_language("ja"):
        yield JapaneseCli(runner, app)
