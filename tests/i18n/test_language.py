"""Which language nktenv speaks: --lang, then NKTENV_LANG, then the system locale, then English."""

from __future__ import annotations

import pytest

from nktenv import i18n


def _no_windows() -> int | None:
    raise AssertionError("the Windows UI language must not be read on this platform")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_MESSAGES": "ja_JP.eucJP", "LANG": "en_US.UTF-8"}, "ja"),
        ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),
        ({"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
        ({"LC_ALL": "", "LANG": "ja_JP.UTF-8"}, "ja"),  # empty counts as unset
        ({"NKTENV_LANG": "ja", "LC_ALL": "en_US.UTF-8"}, "ja"),
        ({"NKTENV_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
        ({"NKTENV_LANG": "ja_JP", "LANG": "C"}, "ja"),
        ({"NKTENV_LANG": "de", "LANG": "ja_JP.UTF-8"}, "en"),  # explicit but unsupported: English
    ],
)
def test_posix_precedence(environ: dict[str, str], expected: str) -> None:
    assert i18n.system_language(environ, platform="linux", windows_langid=_no_windows) == expected


@pytest.mark.parametrize(
    ("langid", "expected"),
    [(0x0411, "ja"), (0x0409, "en"), (0x0809, "en"), (0x0407, "en"), (None, "en")],
)
def test_windows_ui_language(langid: int | None, expected: str) -> None:
    # LANG is ignored on Windows: the user's UI language decides.
    environ = {"LANG": "ja_JP.UTF-8" if expected == "en" else "en_US.UTF-8"}
    assert i18n.system_language(environ, platform="win32", windows_langid=lambda: langid) == expected


def test_nktenv_lang_beats_windows_ui_language() -> None:
    assert i18n.system_language({"NKTENV_LANG": "en"}, platform="win32", windows_langid=lambda: 0x0411) == "en"


def test_windows_reader_is_harmless_elsewhere() -> None:
    # Off Windows there is no windll: the reader reports "unknown" instead of raising.
    import sys

    if sys.platform == "win32":
        pytest.skip("reads the real UI language on Windows")
    assert i18n._windows_ui_langid() is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ja", "ja"), ("JA", "ja"), ("ja-JP", "ja"), ("ja_JP.UTF-8", "ja"), ("Japanese_Japan.932", "ja"),
     ("en_GB", "en"), ("C.UTF-8", "en"), ("POSIX", "en"), ("fr", None), ("", None), (None, None)],
)
def test_normalize(value: str | None, expected: str | None) -> None:
    assert i18n.normalize(value) == expected


def test_set_language_explicit_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NKTENV_LANG", "en")
    assert i18n.set_language("ja") == "ja"
    assert i18n._("Options") == "オプション"
    assert i18n.set_language(None) == "en"
    assert i18n._("Options") == "Options"


def test_use_language_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    i18n.set_language("en")
    with i18n.use_language("ja"):
        assert i18n.current_language() == "ja"
    assert i18n.current_language() == "en"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lang", "ja", "--help"], "ja"),
        (["--lang=ja", "doctor"], "ja"),
        (["doctor", "--json"], None),
        (["--lang"], None),
        (["compare", "--", "--lang", "ja"], None),  # after "--" it is a file name
    ],
)
def test_language_from_args(argv: list[str], expected: str | None) -> None:
    assert i18n.language_from_args(argv) == expected


def test_unknown_message_falls_back_to_english() -> None:
    with i18n.use_language("ja"):
        assert i18n._("a message no catalog has {x}") == "a message no catalog has {x}"
