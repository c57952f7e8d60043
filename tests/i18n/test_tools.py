"""`python -m tools.i18n`: extraction from source, merging into the .po, and the checks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from nktenv.locale import _po
from tools.i18n import catalog
from tests.conftest import REPO

SOURCE = '''
    """A module with every kind of message."""
    from __future__ import annotations
    import typer
    from nktenv.i18n import N_, _

    LABELS = {"ok": N_("All good.")}

    def register(app: typer.Typer) -> None:
        @app.command("demo")
        def demo(
            path: str = typer.Option(None, "--path", help="Folder to look at."),
        ) -> None:
            """Show a demo.

            It has two paragraphs.
            """
            print(_("Found {count} GPU(s) in {path}").format(count=1, path=path))
            print(_(LABELS["ok"]))  # a lookup of a msgid marked above: fine
            print(_(f"bad {path}"))
            print(_("bad " + path))
            print(_("bad {}".format(path)))

    def helper() -> None:
        """Not a command: not extracted."""
'''


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "demo.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    locale = root / "locale"
    locale.mkdir()
    return root, locale


def test_extract_finds_calls_help_and_command_docstrings(tmp_path: Path) -> None:
    root, _locale = _tree(tmp_path)
    found = catalog.extract(root, tmp_path)
    assert list(found.messages) == [
        "All good.",
        "Show a demo.\n\nIt has two paragraphs.",
        "Folder to look at.",
        "Found {count} GPU(s) in {path}",
    ]
    assert found.messages["Found {count} GPU(s) in {path}"].references == ["pkg/demo.py:18"]
    assert "Not a command: not extracted." not in found.messages
    # f-string, concatenation and .format inside _() are reported, one each.
    assert [p.split(":")[1] for p in found.problems] == ["20", "21", "22"]


def test_update_keeps_translations_and_retires_removed_ones(tmp_path: Path) -> None:
    root, locale = _tree(tmp_path)
    po_file = catalog.po_path("ja", locale)
    po_file.parent.mkdir(parents=True)
    po_file.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\nLanguage: ja\\n"\n\n'
        'msgid "All good."\nmsgstr "問題ありません。"\n\n'
        'msgid "A message that was removed"\nmsgstr "削除されたメッセージ"\n',
        encoding="utf-8",
    )
    added = catalog.update(locale, ["ja"], root, tmp_path)
    assert added["ja"] == ["Show a demo.\n\nIt has two paragraphs.", "Folder to look at.", "Found {count} GPU(s) in {path}"]
    entries = _po.read_po(po_file)
    by_id = {e.msgid: e for e in entries}
    assert by_id["All good."].msgstr == "問題ありません。"
    assert by_id["A message that was removed"].obsolete
    assert by_id["Found {count} GPU(s) in {path}"].flags == ["python-brace-format"]
    assert (locale / "nktenv.pot").is_file()
    # A second run changes nothing.
    before = po_file.read_text(encoding="utf-8")
    catalog.update(locale, ["ja"], root, tmp_path)
    assert po_file.read_text(encoding="utf-8") == before
    # --prune drops the retired translation and keeps the live ones.
    catalog.update(locale, ["ja"], root, tmp_path, keep_obsolete=False)
    by_id = {e.msgid: e for e in _po.read_po(po_file)}
    assert "A message that was removed" not in by_id
    assert by_id["All good."].msgstr == "問題ありません。"


def test_check_reports_missing_and_mismatched(tmp_path: Path) -> None:
    root, locale = _tree(tmp_path)
    catalog.update(locale, ["ja"], root, tmp_path)
    po_file = catalog.po_path("ja", locale)
    entries = _po.read_po(po_file)
    for entry in entries:
        if entry.msgid == "Found {count} GPU(s) in {path}":
            entry.msgstr = "{path} に GPU が {n} 台あります"  # wrong placeholder
        elif entry.msgid == "All good.":
            entry.msgstr = "問題ありません。"
    po_file.write_text(_po.format_po(entries), encoding="utf-8")
    result = catalog.check(locale, ["ja"], root, tmp_path)
    assert result.total == 4 and result.translated == {"ja": 2}
    text = "\n".join(result.problems)
    assert "untranslated: 'Folder to look at.'" in text
    assert "placeholders differ: ['count', 'path'] vs ['n', 'path']" in text


def test_placeholder_rules() -> None:
    assert catalog.placeholder_problems("{a} and {b}", "{b} と {a}") == []  # reordering is the point
    assert catalog.placeholder_problems("{watts:.0f} W", "{watts:.0f} W です") == []
    assert catalog.placeholder_problems("{watts:.0f} W", "{watts} W") != []
    assert "positional" in catalog.placeholder_problems("{} GPUs", "{} 台")[0]
    assert "unbalanced" in catalog.placeholder_problems("{a}", "{a")[0]


def test_command_line_check_passes_on_the_repository() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tools.i18n", "check"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert "ja: " in out.stdout and "translated" in out.stdout


def test_compile_writes_mo_that_gettext_reads(tmp_path: Path) -> None:
    import gettext

    po_file = tmp_path / "x.po"
    po_file.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Options"\nmsgstr "オプション"\n\n#, fuzzy\nmsgid "Commands"\nmsgstr "こまんど"\n',
        encoding="utf-8",
    )
    mo = _po.compile_po_file(po_file)
    with mo.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    assert translations.gettext("Options") == "オプション"
    assert translations.gettext("Commands") == "Commands"  # fuzzy is not shipped
