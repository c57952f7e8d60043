"""Japanese output on a cp932 (Japanese Windows) stream: no crash, no mojibake."""

from __future__ import annotations

import io
import json
import sys

import pytest

from nktenv import i18n


class Cp932:
    """sys.stdout / sys.stderr as a redirected Japanese Windows console has them (bytes kept)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.out, self.err = io.BytesIO(), io.BytesIO()
        # Patched inside the test body: pytest installs its own capture after fixtures run.
        self.stdout = io.TextIOWrapper(self.out, encoding="cp932", newline="\n")
        self.stderr = io.TextIOWrapper(self.err, encoding="cp932", newline="\n")
        monkeypatch.setattr(sys, "stdout", self.stdout)
        monkeypatch.setattr(sys, "stderr", self.stderr)

    def text(self, which: str) -> str:
        self.stdout.flush()
        self.stderr.flush()
        # Strict decoding: mojibake or a wrong encoding fails here.
        return (self.out if which == "out" else self.err).getvalue().decode("cp932")


def _run_main(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> int:
    from nktenv.cli import main

    monkeypatch.setattr(sys, "argv", ["nktenv", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    sys.stdout.flush()
    sys.stderr.flush()
    return int(exit_info.value.code or 0)


def test_japanese_help_through_the_real_entry_point(monkeypatch) -> None:
    streams = Cp932(monkeypatch)
    assert _run_main(monkeypatch, ["--lang", "ja", "--help"]) == 0
    text = streams.text("out")
    assert "使い方: nktenv" in text
    assert "オプション" in text and "コマンド" in text
    assert "バージョンを表示して終了します。" in text


def test_unencodable_characters_are_replaced_not_fatal(monkeypatch) -> None:
    streams = Cp932(monkeypatch)
    # cp932 has 藤澤 but no emoji and no "ü": the error line must still come out.
    code = _run_main(monkeypatch, ["--lang", "ja", "--lang", "藤澤🙂ü", "--version"])
    assert code == 0  # --version is eager; the bad value is not reached
    code = _run_main(monkeypatch, ["--lang", "藤澤🙂ü", "detect"])
    assert code == 2
    text = streams.text("err")
    assert "藤澤?" in text and "🙂" not in text


def test_error_line_in_japanese_on_cp932(monkeypatch) -> None:
    streams = Cp932(monkeypatch)
    from nktenv.output import ensure_utf8_streams, error_line

    ensure_utf8_streams()
    with i18n.use_language("ja"):
        error_line(r"C:\Users\藤澤\venv 🙂 が見つかりません", hint="nktenv setup を実行してください")
    text = streams.text("err")
    assert text.splitlines() == [
        r"エラー: C:\Users\藤澤\venv ? が見つかりません",
        "ヒント: nktenv setup を実行してください",
    ]


def test_rich_console_on_cp932(monkeypatch) -> None:
    streams = Cp932(monkeypatch)
    from nktenv.output import ensure_utf8_streams, err_console

    ensure_utf8_streams()
    with i18n.use_language("ja"):
        err_console().print(i18n._("hint: {hint}").format(hint="GPU 🙂"))
    assert "ヒント: GPU ?" in streams.text("err")


def test_json_survives_a_cp932_stdout(monkeypatch) -> None:
    streams = Cp932(monkeypatch)
    from nktenv.output import emit_json, ensure_utf8_streams

    ensure_utf8_streams()
    document = {"path": "C:\\Users\\藤澤\\🙂", "gpu": "GeForce RTX 4090"}
    emit_json(document)
    raw = streams.text("out")
    assert json.loads(raw) == document  # escaped, not replaced by "?"


def test_json_stays_readable_on_utf8(monkeypatch) -> None:
    from nktenv.output import emit_json

    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="utf-8"))
    emit_json({"user": "藤澤"})
    sys.stdout.flush()
    assert "藤澤" in buffer.getvalue().decode("utf-8")
