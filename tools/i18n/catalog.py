"""Extraction (AST over nktenv/**), catalog update and checks."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import string
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "nktenv"
LOCALE = SOURCE / "locale"
POT = LOCALE / "nktenv.pot"
LANGUAGES = ("ja",)

# Calls whose first argument is a message id.
MARKERS = {"_", "N_", "gettext"}
# Keyword arguments that carry help text (typer.Option/Argument/Typer/command); translated when
# help is rendered, so they are plain English literals in the source.
HELP_KEYWORDS = {"help", "short_help", "epilog"}
# Decorators whose function docstring becomes a command's help.
COMMAND_DECORATORS = {"command", "callback"}


def _load_po_module():
    # By path, so the tool works without nktenv being importable (and matches setup.py).
    spec = importlib.util.spec_from_file_location("_nktenv_po", LOCALE / "_po.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_nktenv_po", module)
    spec.loader.exec_module(module)
    return module


po = _load_po_module()


@dataclass
class Message:
    msgid: str
    references: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)  # "call", "help", "docstring"


@dataclass
class Extraction:
    messages: dict[str, Message]
    problems: list[str]


def _marker_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_command_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr in COMMAND_DECORATORS


def _built_from_literal(arg: ast.expr) -> bool:
    """An f-string, a concatenation or a formatted literal: a msgid that no catalog can hold."""
    if isinstance(arg, ast.JoinedStr):
        return True
    if isinstance(arg, ast.BinOp):
        return True
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "format":
        return isinstance(arg.func.value, ast.Constant)
    return False


def extract_file(path: Path, rel: str, into: dict[str, Message], problems: list[str]) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)

    def add(msgid: str, line: int, kind: str) -> None:
        if not msgid.strip():
            return
        message = into.setdefault(msgid, Message(msgid))
        ref = f"{rel}:{line}"
        if ref not in message.references:
            message.references.append(ref)
        message.kinds.add(kind)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _marker_name(node.func)
            if name in MARKERS and len(node.args) == 1 and not node.keywords:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    add(arg.value, node.lineno, "call")
                elif _built_from_literal(arg):
                    problems.append(
                        f"{rel}:{node.lineno}: {name}() gets a string built at run time (f-string, concatenation "
                        "or format); pass the literal template and .format() the result"
                    )
                # `_(variable)` is allowed: it looks up a msgid marked elsewhere (N_ or a help text).
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg in HELP_KEYWORDS and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    add(value.value, value.lineno, "help")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(_is_command_decorator(d) for d in node.decorator_list):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    add(inspect.cleandoc(doc), node.lineno, "docstring")


def extract(root: Path = SOURCE, repo: Path = REPO) -> Extraction:
    """Every message id in the package source, with where it is used."""
    messages: dict[str, Message] = {}
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[:1] == ("locale",):
            continue  # the catalog code itself has no messages
        extract_file(path, path.relative_to(repo).as_posix(), messages, problems)
    def first_use(message: Message) -> tuple[str, int]:
        path, _, line = message.references[0].rpartition(":")
        return path, int(line)

    ordered = dict(sorted(messages.items(), key=lambda item: first_use(item[1])))
    return Extraction(ordered, problems)


POT_HEADER = (
    "Project-Id-Version: nktenv\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
)


def po_path(lang: str, locale: Path = LOCALE) -> Path:
    return locale / lang / "LC_MESSAGES" / "nktenv.po"


def build_pot(extraction: Extraction) -> list:
    entries = [po.Entry(msgid="", msgstr=POT_HEADER)]
    for message in extraction.messages.values():
        flags = ["python-brace-format"] if _fields(message.msgid) else []
        entries.append(po.Entry(msgid=message.msgid, references=list(message.references), flags=flags))
    return entries


def merge(pot_entries: list, existing: list, lang: str, keep_obsolete: bool = True) -> tuple[list, list[str]]:
    """The .po for `lang`: the .pot's messages in order, translations kept, removed ones made obsolete."""
    old = {e.msgid: e for e in existing}
    header = old.get("") or po.Entry(msgid="", msgstr=POT_HEADER + f"Language: {lang}\n")
    header.obsolete = False
    result = [header]
    new_ids: list[str] = []
    for entry in pot_entries:
        if not entry.msgid:
            continue
        previous = old.get(entry.msgid)
        merged = po.Entry(msgid=entry.msgid, references=list(entry.references), flags=list(entry.flags))
        if previous is not None:
            merged.msgstr = previous.msgstr
            merged.comments = list(previous.comments)
            if previous.fuzzy:
                merged.flags.append("fuzzy")
        else:
            new_ids.append(entry.msgid)
        result.append(merged)
    current = {e.msgid for e in pot_entries}
    for entry in existing if keep_obsolete else ():
        if entry.msgid and entry.msgid not in current and entry.msgstr:
            result.append(po.Entry(msgid=entry.msgid, msgstr=entry.msgstr, comments=entry.comments, obsolete=True))
    return result, new_ids


def update(
    locale: Path = LOCALE,
    languages: Iterable[str] = LANGUAGES,
    root: Path = SOURCE,
    repo: Path = REPO,
    keep_obsolete: bool = True,
) -> dict[str, list[str]]:
    """Rewrite the .pot and every .po from the source; returns the new msgids per language."""
    extraction = extract(root, repo)
    pot_entries = build_pot(extraction)
    locale.joinpath("nktenv.pot").write_text(po.format_po(pot_entries), encoding="utf-8")
    added: dict[str, list[str]] = {}
    for lang in languages:
        path = po_path(lang, locale)
        existing = po.read_po(path) if path.is_file() else []
        merged, new_ids = merge(pot_entries, existing, lang, keep_obsolete)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(po.format_po(merged), encoding="utf-8")
        added[lang] = new_ids
    return added


def _fields(text: str) -> list[tuple[str, str, str]] | None:
    """The replacement fields of a str.format template (name, conversion, spec), sorted; None if malformed."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return None
    return sorted((name, conv or "", spec or "") for _, name, spec, conv in parsed if name is not None)


def placeholder_problems(msgid: str, msgstr: str) -> list[str]:
    problems: list[str] = []
    source = _fields(msgid)
    if source is None:
        return [f"msgid has unbalanced braces: {msgid!r}"]
    for name, _conv, _spec in source:
        if name == "" or name.isdigit():
            problems.append(f"positional placeholder {{{name}}} (name it, so translators can reorder): {msgid!r}")
    if msgstr:
        target = _fields(msgstr)
        if target is None:
            problems.append(f"translation has unbalanced braces: {msgstr!r}")
        elif sorted(set(target)) != sorted(set(source)):
            problems.append(
                f"placeholders differ: {sorted({f[0] for f in source})} vs {sorted({f[0] for f in target})}: {msgid!r}"
            )
    return problems


@dataclass
class CheckResult:
    total: int
    translated: dict[str, int]
    problems: list[str]


def check(
    locale: Path = LOCALE, languages: Iterable[str] = LANGUAGES, root: Path = SOURCE, repo: Path = REPO
) -> CheckResult:
    """Every source msgid present and translated in each language, with matching placeholders."""
    extraction = extract(root, repo)
    problems = list(extraction.problems)
    translated: dict[str, int] = {}
    for lang in languages:
        path = po_path(lang, locale)
        entries = {e.msgid: e for e in po.read_po(path) if not e.obsolete} if path.is_file() else {}
        done = 0
        for msgid in extraction.messages:
            entry = entries.get(msgid)
            rel = path.relative_to(repo) if path.is_relative_to(repo) else path
            if entry is None:
                problems.append(f"{rel}: missing (run `python -m tools.i18n extract`): {msgid!r}")
                continue
            if not entry.msgstr or entry.fuzzy:
                problems.append(f"{rel}: untranslated{' (fuzzy)' if entry.fuzzy else ''}: {msgid!r}")
            else:
                done += 1
            problems += [f"{rel}: {p}" for p in placeholder_problems(msgid, entry.msgstr)]
        translated[lang] = done
    return CheckResult(len(extraction.messages), translated, problems)
