"""Saved and piped text in the encodings people have: UTF-8 (BOM), UTF-16 (PowerShell `>`), cp932."""

from __future__ import annotations

import io
import sys

import pytest

from nktenv.errors import NktenvError
from nktenv.paste import decode, facts_from_pastes, read, recognise
from tests.paste.samples import SAMPLES

WIN_SMI = SAMPLES / "nvidia-smi" / "windows-geforce-rtx-2080-super-610.62-load.txt"
JA_REG = SAMPLES / "unrecognised" / "ja-reg-query-cp932.txt"
JA_TEXT = "エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。"


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@pytest.mark.parametrize("encode", [
    lambda t: "\ufeff".encode("utf-16-le") + crlf(t).encode("utf-16-le"),  # Windows PowerShell 5.1 `>`
    lambda t: "\ufeff".encode("utf-16-be") + crlf(t).encode("utf-16-be"),
    lambda t: crlf(t).encode("utf-16-le"),  # Out-File without a BOM
    lambda t: b"\xef\xbb\xbf" + crlf(t).encode("utf-8"),  # PowerShell 7, Notepad
    lambda t: crlf(t).encode("cp932"),
], ids=["utf16le-bom", "utf16be-bom", "utf16le-nobom", "utf8-bom", "cp932"])
def test_windows_table_decodes_in_every_encoding(encode) -> None:
    text = WIN_SMI.read_text(encoding="utf-8")
    decoded = decode(encode(text))
    assert decoded == text
    assert recognise(decoded) == ["nvidia-smi"]


def test_cp932_bytes_from_a_japanese_console_decode_and_stay_a_log() -> None:
    text = decode(JA_REG.read_bytes())
    assert text.strip() == JA_TEXT
    facts = facts_from_pastes([("reg.txt", text)])
    assert [(log.source, log.text) for log in facts.logs] == [("pasted:reg.txt", JA_TEXT)]


def test_utf16_japanese_text_round_trips() -> None:
    raw = "\ufeff".encode("utf-16-le") + JA_TEXT.encode("utf-16-le")
    assert decode(raw) == JA_TEXT


def test_markdown_quoted_paste_is_unquoted() -> None:
    text = decode((SAMPLES / "collect_env" / "windows-2020-titan-rtx-x2-quoted.txt").read_bytes())
    assert not any(ln.startswith(">") for ln in text.splitlines())
    assert "PyTorch version: 1.5.0+cu101" in text.splitlines()


def test_read_missing_file_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(NktenvError) as exc:
        read(str(tmp_path / "nope.txt"))
    assert exc.value.code == "paste-not-found" and int(exc.value.exit_code) == 5


def test_read_stdin(monkeypatch) -> None:
    raw = (SAMPLES / "nvcc" / "linux-cuda-11.1.txt").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    name, text = read("-")
    assert name == "stdin" and "release 11.1" in text


def test_non_ascii_user_path_survives(tmp_path) -> None:
    folder = tmp_path / "藤澤"
    folder.mkdir()
    path = folder / "smi.txt"
    path.write_bytes(WIN_SMI.read_bytes())
    name, text = read(str(path))
    assert name == "smi.txt" and "610.62" in text


def test_any_bytes_give_a_valid_snapshot_never_a_traceback() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from nktenv.facts import validate

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
    def check(raw: bytes) -> None:
        facts = facts_from_pastes([("x.txt", decode(raw))])
        assert validate(facts.to_dict()) is None

    check()


def test_lines_from_every_sample_shuffled_still_parse() -> None:
    import random

    from nktenv.facts import validate
    from tests.paste.samples import all_samples

    lines = [ln for p in all_samples() for ln in decode(p.read_bytes()).splitlines()]
    rnd = random.Random(7)
    for _ in range(20):
        rnd.shuffle(lines)
        assert validate(facts_from_pastes([("mix.txt", "\n".join(lines[:300]))]).to_dict()) is None
