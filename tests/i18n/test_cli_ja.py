"""The real CLI in Japanese: help texts, Click's headings, errors, and JSON that does not change."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nktenv import __version__
from tests.i18n.conftest import JAPANESE, squash


def _commands(app) -> dict:
    import typer

    group = typer.main.get_command(app)
    found = {}
    for name, cmd in group.commands.items():
        found[(name,)] = cmd
        for sub, subcmd in (getattr(cmd, "commands", None) or {}).items():
            found[(name, sub)] = subcmd
    return found


def test_root_help_in_japanese(ja) -> None:
    result = ja.invoke(["--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("使い方: nktenv [OPTIONS] COMMAND [ARGS]...")
    assert "オプション:" in result.stdout and "コマンド:" in result.stdout
    assert "人向け出力の言語" in result.stdout  # --lang's own help
    assert "このヘルプを表示して終了します。" in result.stdout  # Click's built-in --help
    ja.assert_translated(result.stdout)


def test_doctor_help_in_japanese(ja, runner, app) -> None:
    english = runner.invoke(app, ["--lang", "en", "doctor", "--help"])
    result = ja.invoke(["doctor", "--help"])
    assert result.exit_code == 0 == english.exit_code, result.output
    assert result.stdout.startswith("使い方: nktenv doctor")
    assert english.stdout.startswith("Usage: nktenv doctor")
    assert result.stdout != english.stdout
    ja.assert_translated(result.stdout)


def test_every_command_help_in_japanese(ja, runner, app) -> None:
    for path, cmd in _commands(app).items():
        result = ja.invoke([*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout.startswith("使い方: nktenv " + " ".join(path)), path
        flat = squash(result.stdout)
        english = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for text in english:
            if JAPANESE.search(text) or len(text) < 8:
                continue
            assert squash(text) not in flat, f"{' '.join(path)} --help shows English: {text!r}"
        ja.assert_translated(result.stdout)


def test_version_in_japanese(ja) -> None:
    result = ja.invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"nktenv {__version__}"


def test_detect_help(ja) -> None:
    result = ja.invoke(["detect", "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("使い方: nktenv detect")
    ja.assert_translated(result.stdout)


def test_language_does_not_leak_between_invocations(runner, app) -> None:
    first = runner.invoke(app, ["--lang", "ja", "--help"])
    second = runner.invoke(app, ["--help"])
    assert "使い方" in first.stdout
    assert second.stdout.startswith("Usage: nktenv")
    assert not JAPANESE.search(second.stdout)


def test_nktenv_lang_environment(runner, app, monkeypatch) -> None:
    monkeypatch.setenv("NKTENV_LANG", "ja")
    assert runner.invoke(app, ["--help"]).stdout.startswith("使い方")
    # --lang beats the environment
    assert runner.invoke(app, ["--lang", "en", "--help"]).stdout.startswith("Usage:")


def test_system_locale_when_nothing_else_says(runner, app, monkeypatch) -> None:
    monkeypatch.delenv("NKTENV_LANG")
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    if sys.platform == "win32":
        pytest.skip("Windows uses the UI language, not LANG")
    assert runner.invoke(app, ["--help"]).stdout.startswith("使い方")


def test_unknown_language_is_a_usage_error(runner, app) -> None:
    result = runner.invoke(app, ["--lang", "fr", "detect"])
    assert result.exit_code == 2
    assert "fr" in result.stderr and "en, ja" in result.stderr


def test_error_line_in_japanese(ja) -> None:
    # Usage errors raised by nktenv itself come out in Japanese, one line on stderr.
    result = ja.invoke(["compare"])
    assert result.exit_code != 0
    assert result.stderr.startswith("エラー: ")
    assert "Traceback" not in result.output
    ja.assert_translated(result.stderr)


def _neutral(document):
    """A JSON document without its human texts (which --lang is allowed to translate)."""
    human = {"message", "hint", "title", "fix", "why", "detail", "text", "summary", "note", "notes"}
    if isinstance(document, dict):
        return {k: _neutral(v) for k, v in document.items() if k not in human}
    if isinstance(document, list):
        return [_neutral(v) for v in document]
    return document


def test_json_error_envelope_is_language_neutral(runner, app) -> None:
    english = runner.invoke(app, ["--lang", "en", "compare", "--json"])
    japanese = runner.invoke(app, ["--lang", "ja", "compare", "--json"])
    assert english.exit_code == japanese.exit_code != 0
    en_doc, ja_doc = json.loads(english.stdout), json.loads(japanese.stdout)
    assert _neutral(en_doc) == _neutral(ja_doc)
    assert en_doc["error"]["code"] == ja_doc["error"]["code"]  # codes stay English
    assert JAPANESE.search(ja_doc["error"]["message"])  # a JSON consumer can ask for Japanese
    assert not JAPANESE.search(json.dumps(en_doc, ensure_ascii=False))


def test_real_entry_point_in_japanese() -> None:
    env = {**os.environ, "NKTENV_LANG": "en", "PYTHONIOENCODING": "utf-8"}
    out = subprocess.run(
        [sys.executable, "-m", "nktenv", "--lang", "ja", "doctor", "--help"],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("使い方: nktenv doctor")


def test_japanese_help_fits_the_terminal(ja, app) -> None:
    # Click counts characters; a Japanese character takes two columns, so nktenv wraps by width.
    from nktenv.i18n import display_width

    for path in [(), *_commands(app)]:
        result = ja.invoke([*path, "--help"])
        widest = max(result.stdout.splitlines(), key=display_width)
        # The test runner forces an 80-column help width; a hanging "。" must fit in it too.
        assert display_width(widest) <= 80, (path, widest)


def test_english_help_is_left_to_click(runner, app) -> None:
    result = runner.invoke(app, ["--lang", "en", "bench", "--help"])
    assert result.exit_code == 0
    assert "  [default: all]" in result.stdout  # Click's own layout, two spaces before the marker


@pytest.mark.parametrize(
    ("args", "japanese", "english"),
    [
        (["detect", "--jsn"], "エラー: --jsn というオプションはありません(似たオプション: --json)",
         "error: No such option: --jsn (Possible options: --json)"),
        (["detct"], "エラー: detct というコマンドはありません。'detect' のことですか?",
         "error: No such command 'detct'. Did you mean 'detect'?"),
        (["detect", "extra"], "エラー: 余分な引数があります: extra", "error: Got unexpected extra argument(s) (extra)"),
        (["detect", "--python"], "エラー: オプション --python には値が必要です。",
         "error: Option '--python' requires an argument."),
        (["--lang", "fr", "detect"], "エラー: --lang の値が正しくありません: 不明な言語 fr です。",
         "error: Invalid value for --lang: Unknown language fr; choose one of: en, ja."),
    ],
)
def test_usage_errors_in_japanese(runner, app, args, japanese, english) -> None:
    ja_args = args if args[0] == "--lang" else ["--lang", "ja", *args]
    with_ja = runner.invoke(app, ja_args, env={"NKTENV_LANG": "ja"})
    with_en = runner.invoke(app, ["--lang", "en", *args] if args[0] != "--lang" else args)
    assert with_ja.exit_code == with_en.exit_code == 2
    assert japanese in with_ja.stderr, with_ja.stderr
    assert english in with_en.stderr, with_en.stderr  # English keeps Click's own message
    # One error line and one hint naming --help, in both languages; no usage block.
    for result in (with_ja, with_en):
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and "--help" in lines[1], result.stderr
    assert "Traceback" not in with_ja.output
