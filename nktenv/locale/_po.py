"""Read and write gettext .po files and compile them to .mo, in pure Python.

The package needs this at run time (a source checkout has only the .po), the build hook in
setup.py needs it without importing nktenv, and tools/i18n uses it for extraction. So it
depends on nothing but the standard library.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

MO_MAGIC = 0x950412DE


@dataclass
class Entry:
    """One message: its id, its translation and the comments translators see."""

    msgid: str
    msgstr: str = ""
    references: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # "# ..." translator comments
    extracted: list[str] = field(default_factory=list)  # "#. ..." comments from the source
    obsolete: bool = False

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


class PoError(ValueError):
    """A .po file that cannot be parsed; the message names the file and line."""


_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPE = re.compile(r"\\(?:([ntr\"\\abfv])|([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.?))", re.DOTALL)


def _unquote(token: str, where: str) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise PoError(f"{where}: expected a quoted string, got {token!r}")
    body = token[1:-1]
    if "\\" not in body:
        if '"' in body:
            raise PoError(f"{where}: unescaped quote in {token!r}")
        return body

    def replace(match: re.Match[str]) -> str:
        simple, octal, hexa, bad = match.groups()
        if simple:
            return _SIMPLE[simple]
        if octal:
            return chr(int(octal, 8))
        if hexa:
            return chr(int(hexa, 16))
        raise PoError(f"{where}: unknown escape \\{bad} in {token!r}")

    return _ESCAPE.sub(replace, body)


def parse_po(text: str, name: str = "<po>") -> list[Entry]:
    """Parse .po text into entries (the header is the entry whose msgid is "")."""
    entries: list[Entry] = []
    pending = Entry(msgid="")
    keyword: str | None = None
    values: dict[str, str] = {}
    seen_any = False

    def finish() -> None:
        nonlocal pending, values, keyword, seen_any
        if "msgid" in values:
            pending.msgid = values["msgid"]
            pending.msgstr = values.get("msgstr", "")
            entries.append(pending)
        elif values:
            raise PoError(f"{name}: msgstr without msgid")
        pending = Entry(msgid="")
        values = {}
        keyword = None
        seen_any = False

    # Only "\n" ends a .po line: str.splitlines() would also split inside strings at U+0085 etc.
    for lineno, raw in enumerate(text.split("\n"), start=1):
        where = f"{name}:{lineno}"
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            if seen_any and "msgid" in values:
                finish()
            continue
        if line.startswith("#"):
            if "msgstr" in values:
                finish()
            if line.startswith("#:"):
                pending.references.extend(line[2:].split())
            elif line.startswith("#,"):
                pending.flags.extend(f.strip() for f in line[2:].split(",") if f.strip())
            elif line.startswith("#."):
                pending.extracted.append(line[2:].strip())
            elif line.startswith("#|"):
                pass  # previous msgid of a fuzzy entry: informational only
            else:
                pending.comments.append(line[1:].strip())
            continue
        if obsolete:
            pending.obsolete = True
        if line.startswith('"'):
            if keyword is None:
                raise PoError(f"{where}: string continuation without a keyword")
            values[keyword] += _unquote(line, where)
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and "msgstr" in values:
            finish()
            if obsolete:
                pending.obsolete = True
        if word not in ("msgid", "msgstr", "msgctxt"):
            raise PoError(f"{where}: unsupported keyword {word!r} (plural forms and contexts are not used)")
        if word == "msgctxt":
            raise PoError(f"{where}: msgctxt is not used by nktenv")
        keyword = word
        values[word] = _unquote(rest, where)
        seen_any = True
    finish()
    seen: set[str] = set()
    for entry in entries:
        if entry.obsolete:
            continue
        if entry.msgid in seen:
            raise PoError(f"{name}: duplicate msgid {entry.msgid!r}")
        seen.add(entry.msgid)
    return entries


def read_po(path: Path) -> list[Entry]:
    return parse_po(Path(path).read_text(encoding="utf-8"), str(path))


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _quote(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\{ord(char):03o}")  # other control characters as octal escapes
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _field(keyword: str, value: str, prefix: str = "") -> list[str]:
    # Multi-line strings are written one source line per .po line, as msgmerge does.
    if "\n" not in value.rstrip("\n"):
        return [f"{prefix}{keyword} {_quote(value)}"]
    parts = [part + "\n" for part in value.split("\n")]
    parts[-1] = parts[-1][:-1]
    parts = [part for part in parts if part]
    return [f'{prefix}{keyword} ""'] + [prefix + _quote(part) for part in parts]


def format_po(entries: list[Entry]) -> str:
    """Render entries as .po text (stable: same entries, same bytes)."""
    blocks: list[str] = []
    for entry in entries:
        lines: list[str] = []
        prefix = "#~ " if entry.obsolete else ""
        lines += [f"# {c}".rstrip() for c in entry.comments]
        lines += [f"#. {c}" for c in entry.extracted]
        if entry.references and not entry.obsolete:
            lines.append("#: " + " ".join(entry.references))
        if entry.flags:
            lines.append("#, " + ", ".join(entry.flags))
        lines += _field("msgid", entry.msgid, prefix)
        lines += _field("msgstr", entry.msgstr, prefix)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def messages(entries: list[Entry]) -> dict[str, str]:
    """The translations a program should use: non-empty, not fuzzy, not obsolete (plus the header)."""
    result: dict[str, str] = {}
    for entry in entries:
        if entry.obsolete or not entry.msgstr:
            continue
        if entry.fuzzy and entry.msgid:
            continue
        result[entry.msgid] = entry.msgstr
    return result


def compile_mo(catalog: dict[str, str]) -> bytes:
    """Encode a catalog in the GNU .mo format that `gettext.GNUTranslations` reads."""
    keys = sorted(catalog)
    ids = [k.encode("utf-8") for k in keys]
    strs = [catalog[k].encode("utf-8") for k in keys]
    count = len(keys)
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    table_o: list[int] = []
    table_t: list[int] = []
    blob = bytearray()
    for raw in ids:
        table_o += [len(raw), data_at + len(blob)]
        blob += raw + b"\0"
    for raw in strs:
        table_t += [len(raw), data_at + len(blob)]
        blob += raw + b"\0"
    head = struct.pack("<7I", MO_MAGIC, 0, count, originals_at, translations_at, 0, data_at)
    return head + struct.pack(f"<{2 * count}I", *table_o) + struct.pack(f"<{2 * count}I", *table_t) + bytes(blob)


def compile_po_file(po_path: Path, mo_path: Path | None = None) -> Path:
    """Compile one .po next to itself (or to `mo_path`); returns the .mo path."""
    po_path = Path(po_path)
    target = Path(mo_path) if mo_path is not None else po_path.with_suffix(".mo")
    data = compile_mo(messages(read_po(po_path)))
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)  # atomic: a reader never sees half a catalog
    return target


def compile_tree(root: Path) -> list[Path]:
    """Compile every .po under `root`; returns the .mo files written."""
    return [compile_po_file(po) for po in sorted(Path(root).rglob("*.po"))]
