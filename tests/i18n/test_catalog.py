"""The Japanese catalog covers every message in the source, with the same placeholders."""

from __future__ import annotations

import gettext
import os
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nktenv import i18n
from nktenv.locale import _po
from tools.i18n import catalog


@pytest.fixture(scope="module")
def extraction() -> catalog.Extraction:
    return catalog.extract()


@pytest.fixture(scope="module")
def ja_entries() -> dict[str, _po.Entry]:
    return {e.msgid: e for e in _po.read_po(catalog.po_path("ja")) if not e.obsolete}


def test_source_has_messages(extraction: catalog.Extraction) -> None:
    # Guards the extractor itself: the CLI shell alone has a dozen messages.
    assert len(extraction.messages) >= 20
    assert "Show the version and exit." in extraction.messages  # a help= keyword
    assert "error: {message}" in extraction.messages  # a _() call


def test_every_msgid_is_extractable(extraction: catalog.Extraction) -> None:
    assert extraction.problems == []


def test_every_message_has_a_japanese_translation(extraction: catalog.Extraction, ja_entries: dict) -> None:
    missing = [m for m in extraction.messages if m not in ja_entries]
    assert not missing, f"not in the ja catalog (run `python -m tools.i18n extract`): {missing}"
    untranslated = [m for m in extraction.messages if not ja_entries[m].msgstr.strip() or ja_entries[m].fuzzy]
    assert not untranslated, f"untranslated in nktenv/locale/ja/LC_MESSAGES/nktenv.po: {untranslated}"


def test_placeholders_match(extraction: catalog.Extraction, ja_entries: dict) -> None:
    problems = [
        p for m in extraction.messages if m in ja_entries
        for p in catalog.placeholder_problems(m, ja_entries[m].msgstr)
    ]
    assert not problems


def test_translations_format_with_the_english_arguments(extraction: catalog.Extraction, ja_entries: dict) -> None:
    # What callers do: _("...{name}...").format(name=...) must work in Japanese exactly as in English.
    import string

    for msgid in extraction.messages:
        entry = ja_entries.get(msgid)
        if entry is None or not entry.msgstr:
            continue
        names = {f[1] for f in string.Formatter().parse(msgid) if f[1]}
        if not names:
            continue
        values = {n: 1.5 for n in names}
        msgid.format(**values)
        entry.msgstr.format(**values)


def test_japanese_keeps_the_technical_words(ja_entries: dict) -> None:
    # Names of things stay as they are: a translation that drops them would mislead.
    for word in ("CUDA", "cuDNN", "venv", "GPU", "nvidia-smi", "PyTorch", "TensorFlow", "--json", "--python"):
        for entry in ja_entries.values():
            if entry.msgid and entry.msgstr and word in entry.msgid:
                assert word in entry.msgstr, (word, entry.msgid, entry.msgstr)


def test_pot_is_up_to_date(extraction: catalog.Extraction) -> None:
    pot = {e.msgid for e in _po.read_po(catalog.POT) if e.msgid}
    assert set(extraction.messages) <= pot, "run `python -m tools.i18n extract`"


def test_po_file_round_trips() -> None:
    text = catalog.po_path("ja").read_text(encoding="utf-8")
    assert _po.format_po(_po.parse_po(text)) == text


def test_runtime_uses_the_catalog(extraction: catalog.Extraction, ja_entries: dict) -> None:
    i18n.clear_cache()
    with i18n.use_language("ja"):
        for msgid in extraction.messages:
            assert i18n._(msgid) == ja_entries[msgid].msgstr
    with i18n.use_language("en"):
        for msgid in extraction.messages:
            assert i18n._(msgid) == msgid


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_text, _text, max_size=12))
def test_mo_compiler_matches_gettext(table: dict[str, str]) -> None:
    data = _po.compile_mo({"": "Content-Type: text/plain; charset=UTF-8\n", **table})
    translations = gettext.GNUTranslations(io.BytesIO(data))
    for msgid, msgstr in table.items():
        assert translations.gettext(msgid) == msgstr


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_text, _text), max_size=8, unique_by=lambda t: t[0]))
def test_po_writer_and_reader_agree(pairs: list[tuple[str, str]]) -> None:
    entries = [_po.Entry(msgid=a, msgstr=b, references=["x.py:1"]) for a, b in pairs]
    back = _po.parse_po(_po.format_po(entries))
    assert [(e.msgid, e.msgstr) for e in back] == pairs


def test_fuzzy_and_empty_entries_are_not_used() -> None:
    entries = _po.parse_po(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgid "Options"\nmsgstr "おぷしょん"\n\n'
        'msgid "Commands"\nmsgstr ""\n\n'
        'msgid "Arguments"\nmsgstr "引数"\n\n'
        '#~ msgid "Old"\n#~ msgstr "古い"\n'
    )
    assert [e.obsolete for e in entries] == [False, False, False, False, True]
    assert _po.messages(entries) == {"": "Content-Type: text/plain; charset=UTF-8\n", "Arguments": "引数"}


def test_bad_po_names_the_line() -> None:
    with pytest.raises(_po.PoError, match="x.po:2"):
        _po.parse_po('msgid "a"\nmsgstr unquoted\n', "x.po")


def test_stale_mo_loses_to_an_edited_po(tmp_path, monkeypatch) -> None:
    # An editable install keeps the .mo compiled at install time; a later .po edit must still show.
    base = tmp_path / "ja" / "LC_MESSAGES"
    base.mkdir(parents=True)
    header = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    po_file = base / "nktenv.po"
    po_file.write_text(header + 'msgid "Options"\nmsgstr "古い訳"\n', encoding="utf-8")
    mo_file = _po.compile_po_file(po_file)
    monkeypatch.setattr(i18n, "_localedir", lambda: tmp_path)
    i18n.clear_cache()
    try:
        with i18n.use_language("ja"):
            assert i18n._("Options") == "古い訳"  # read from the .mo
        po_file.write_text(header + 'msgid "Options"\nmsgstr "新しい訳"\n', encoding="utf-8")
        os.utime(mo_file, (1, 1))  # the .mo is now older than the .po
        i18n.clear_cache()
        with i18n.use_language("ja"):
            assert i18n._("Options") == "新しい訳"
        po_file.write_text("msgid broken", encoding="utf-8")  # a broken catalog must not break the tool
        i18n.clear_cache()
        with i18n.use_language("ja"):
            assert i18n._("Options") == "Options"
    finally:
        i18n.clear_cache()


def test_japanese_text_fits_a_cp932_console(ja_entries: dict) -> None:
    # Japanese Windows consoles and redirected output use cp932: a character it lacks (an em dash)
    # would print as "?". Characters copied from the English (a command) are exempt.
    problems = []
    for entry in ja_entries.values():
        for char in set(entry.msgstr) - set(entry.msgid):
            try:
                char.encode("cp932")
            except UnicodeEncodeError:
                problems.append((char, entry.msgid))
    assert not problems


def test_help_translated_at_import_time_is_re_translated() -> None:
    # Typer may have built a help text while another language was active.
    i18n.clear_cache()
    with i18n.use_language("en"):
        assert i18n.translate_text("オプション") == "Options"
        assert i18n.translate_text("GPUs") == "GPUs"  # a msgid stays itself in English
    with i18n.use_language("ja"):
        assert i18n.translate_text("Options") == "オプション"
        assert i18n.translate_text("オプション") == "オプション"
