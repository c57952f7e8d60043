"""Message translation with gettext.

Every human-facing text goes through `_()`; placeholders are named (`{path}`) and filled with
`.format(...)` after translation so translators can reorder them. JSON output never passes
through here: codes and keys stay English.

Language: `--lang`, else `NKTENV_LANG`, else the system locale (LC_ALL / LC_MESSAGES / LANG;
the user's UI language on Windows), else English. Catalogs are `locale/<lang>/LC_MESSAGES/nktenv.mo`,
compiled from the .po at build time; a source checkout without an up-to-date .mo compiles the .po
in memory, so an edited translation shows up at once.

Help texts are translated when help is rendered (`localize_command`), not when Typer builds its
parameters at import time, so `nktenv --lang ja doctor --help` is Japanese whatever language was
active when the command modules were imported.
"""

from __future__ import annotations

import gettext
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

DOMAIN = "nktenv"
SUPPORTED = ("en", "ja")
DEFAULT = "en"
LANG_JAPANESE = 0x11  # primary language id of a Windows LANGID (0x0411 = ja-JP)
_current: str | None = None


def _localedir() -> Path:
    return Path(__file__).parent / "locale"


def normalize(value: str | None) -> str | None:
    """Map 'ja', 'ja_JP.UTF-8', 'ja-JP', 'Japanese_Japan.932' to a supported code, else None."""
    if not value:
        return None
    text = value.strip().lower()
    if text in ("c", "posix") or text.startswith(("c.", "posix.")):
        return DEFAULT
    for sep in ("_", "-", ".", "@", ":"):
        text = text.split(sep, 1)[0]
    if text in SUPPORTED:
        return text
    if text == "japanese":
        return "ja"
    if text == "english":
        return "en"
    return None


def _windows_ui_langid() -> int | None:
    """The user's Windows UI language (a LANGID), or None when it cannot be read."""
    try:
        import ctypes

        return int(ctypes.windll.kernel32.GetUserDefaultUILanguage())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


def language_from_langid(langid: int | None) -> str | None:
    """Japanese for any LANGID whose primary language is Japanese; English for the others."""
    if langid is None:
        return None
    return "ja" if (langid & 0x3FF) == LANG_JAPANESE else DEFAULT


def system_language(
    environ: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
    windows_langid: Callable[[], int | None] = _windows_ui_langid,
) -> str:
    """The language without `--lang`: NKTENV_LANG, else the system locale, else English.

    An NKTENV_LANG naming a language nktenv does not speak means English, not "ask the system":
    the user chose explicitly.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("NKTENV_LANG", "").strip()
    if explicit:
        return normalize(explicit) or DEFAULT
    if (platform or sys.platform) == "win32":
        return language_from_langid(windows_langid()) or DEFAULT
    # POSIX precedence: the first of these that is set decides (an empty value counts as unset).
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "").strip()
        if value:
            return normalize(value) or DEFAULT
    return DEFAULT


def set_language(lang: str | None) -> str:
    """Set the process language (`--lang`); None (or an unknown code) means auto-detect."""
    global _current
    _current = normalize(lang) if normalize(lang) in SUPPORTED else system_language()
    return _current


def current_language() -> str:
    return _current or set_language(None)


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Run a block in one language and restore the previous one (tests, report rendering)."""
    global _current
    previous = _current
    try:
        yield set_language(lang)
    finally:
        _current = previous


def language_from_args(args: Sequence[str]) -> str | None:
    """The value of a `--lang X` / `--lang=X` option in argv (before `--`), if any."""
    items = list(args)
    for index, arg in enumerate(items):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(items):
            return items[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _catalog_files(lang: str) -> tuple[Path, Path]:
    base = _localedir() / lang / "LC_MESSAGES"
    return base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"


@lru_cache(maxsize=8)
def _translation(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT:
        return gettext.NullTranslations()  # English is the msgids themselves
    po, mo = _catalog_files(lang)
    try:
        stale = po.is_file() and (not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime)
        if stale:
            from nktenv.locale import _po

            data = _po.compile_mo(_po.messages(_po.read_po(po)))
            return gettext.GNUTranslations(io.BytesIO(data))
        if mo.is_file():
            with mo.open("rb") as handle:
                return gettext.GNUTranslations(handle)
    except (OSError, ValueError):
        pass  # a broken catalog must not break the tool: fall back to English
    return gettext.NullTranslations()


@lru_cache(maxsize=8)
def _reverse(lang: str) -> dict[str, str]:
    """translation -> msgid, so text translated earlier in another language can be re-translated."""
    catalog = getattr(_translation(lang), "_catalog", {})
    return {v: k for k, v in catalog.items() if isinstance(k, str) and k and isinstance(v, str)}


def _lookup(message: str) -> str:
    # For texts that are not literals (help strings, Click's headings); source code uses `_()`.
    return _translation(current_language()).gettext(message)


def _(message: str) -> str:
    """Translate one message id into the current language."""
    return _lookup(message)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext name
    """Mark a literal for extraction without translating it now (translated where it is shown)."""
    return message


def translate_text(text: str | None) -> str | None:
    """Translate a text that may already be a translation (help strings built at import time)."""
    if not text:
        return text
    msgid = text
    for lang in SUPPORTED:
        # A text that is a message id itself stays one, even if it also reads like a translation.
        if lang != DEFAULT and msgid not in getattr(_translation(lang), "_catalog", {}):
            msgid = _reverse(lang).get(msgid, msgid)
    translated = _lookup(msgid)
    if translated == msgid and "\n" in msgid:
        # Typer keeps docstrings as written; the catalog holds them dedented.
        import inspect

        cleaned = inspect.cleandoc(msgid)
        alternative = _lookup(cleaned)
        if alternative != cleaned:
            return alternative
    return translated


def clear_cache() -> None:
    """Forget loaded catalogs (after the .po files changed)."""
    _translation.cache_clear()
    _reverse.cache_clear()


# --- help texts -------------------------------------------------------------------------------

_HELP_ATTRS = ("help", "short_help", "epilog")


def localize_command(command: Any, *, subcommands: bool = True) -> None:
    """Translate the help of a Click/Typer command tree in place, and its help headings.

    Typer builds a fresh Click command tree on each call, so changing it here affects this
    invocation only. `subcommands=False` translates `command` alone (subcommands built later are
    translated as they are built).
    """
    seen: set[int] = set()
    stack = [command]
    while stack:
        cmd = stack.pop()
        if id(cmd) in seen:
            continue
        seen.add(id(cmd))
        for attr in _HELP_ATTRS:
            value = getattr(cmd, attr, None)
            if isinstance(value, str):
                setattr(cmd, attr, translate_text(value))
        help_text = getattr(cmd, "help", None)
        if current_language() != DEFAULT and isinstance(help_text, str) and not getattr(cmd, "short_help", None):
            # Click shortens help at the first ". ", which Japanese never has: use the first sentence.
            first = help_text.strip().split("\n\n")[0]
            end = first.find("。")
            cmd.short_help = " ".join((first[: end + 1] if end >= 0 else first).split())
        for param in getattr(cmd, "params", []) or []:
            value = getattr(param, "help", None)
            if isinstance(value, str):
                param.help = translate_text(value)
        context_class = getattr(cmd, "context_class", None)
        if isinstance(context_class, type):
            cmd.context_class = _localized_context_class(context_class)
        if subcommands or cmd is not command:
            stack.extend((getattr(cmd, "commands", None) or {}).values())


@lru_cache(maxsize=4)
def _localized_context_class(base: type) -> type:
    """A Click Context subclass whose help formatter translates Click's own headings."""
    if getattr(base, "_nktenv_localized", False):
        return base
    formatter_base: type = base.formatter_class  # type: ignore[attr-defined]

    class LocalizedFormatter(formatter_base):  # type: ignore[misc, valid-type]
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, prefix if prefix is not None else _("Usage: "))

        def section(self, name: str) -> Any:
            return super().section(_lookup(name))

        def write_text(self, text: str) -> None:
            if current_language() == DEFAULT:
                return super().write_text(text)
            indent = " " * self.current_indent
            width = max(self.width - self.current_indent, 20)
            paragraphs = [p for p in text.split("\n\n") if p.strip()]
            for number, paragraph in enumerate(paragraphs):
                if number:
                    self.write("\n")
                for line in wrap_display(" ".join(paragraph.split()), width):
                    self.write(f"{indent}{line}\n")
            return None

        def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
            rows = [(term, _help_extra(text)) for term, text in rows]
            if current_language() == DEFAULT:
                return super().write_dl(rows, col_max, col_spacing)
            # Click wraps by characters; Japanese characters take two columns on a terminal.
            first_col = min(max((display_width(term) for term, _t in rows), default=0), col_max) + col_spacing
            for term, text in rows:
                self.write(f"{'':>{self.current_indent}}{term}")
                if not text:
                    self.write("\n")
                    continue
                if display_width(term) <= first_col - col_spacing:
                    self.write(" " * (first_col - display_width(term)))
                else:
                    self.write("\n" + " " * (first_col + self.current_indent))
                lines = wrap_display(text, max(self.width - first_col - 2, 10)) or [""]
                self.write(f"{lines[0]}\n")
                for line in lines[1:]:
                    self.write(f"{'':>{first_col + self.current_indent}}{line}\n")
            return None

    class LocalizedContext(base):  # type: ignore[misc, valid-type]
        formatter_class = LocalizedFormatter
        _nktenv_localized = True

    return LocalizedContext


_WIDE = ("W", "F")
# Characters that must not start a line in Japanese (kinsoku), plus ASCII closing punctuation.
_NO_LINE_START = set("、。,.)]}」』】〕>:;!?ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ\uff09\uff0c\uff0e\uff1a\uff1b\uff01\uff1f\uff3d\uff5d")
# Whitespace, a katakana word (kept whole, like an ASCII word), one other CJK character, or an ASCII run.
_TOKEN = re.compile(
    r"\s+|[\u30a1-\u30fa\u30fc]+|[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
    r"|[^\s\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+"
)


def display_width(text: str) -> int:
    """Terminal columns `text` takes (East Asian wide characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in _WIDE else 1 for ch in text)


def _wide(token: str) -> bool:
    return display_width(token) == 2 * len(token)


def wrap_display(text: str, width: int) -> list[str]:
    """Wrap mixed Japanese/ASCII text to `width` terminal columns.

    Japanese may break between any two characters; ASCII words, paths and commands stay whole.
    A closing mark (、。) never starts a line: the character before it moves down with it.
    """
    lines: list[str] = []
    current: list[str] = []  # tokens of the line being built, " " between words
    space = False
    for token in _TOKEN.findall(text):
        if token.isspace():
            space = bool(current)
            continue
        piece = [" ", token] if space else [token]
        space = False
        if not current or display_width("".join(current + piece)) <= width:
            current += piece
            continue
        if token[0] in _NO_LINE_START:
            i = len(current) - 1
            while i > 0 and len(current[i]) == 1 and current[i] in _NO_LINE_START:
                i -= 1
            if i > 0 and _wide(current[i]) and current[i][0] not in _NO_LINE_START:
                lines.append("".join(current[:i]).rstrip())
                current = current[i:] + piece
            else:
                current += piece  # nothing to carry down (an ASCII word before it): let it hang
            continue
        lines.append("".join(current).rstrip())
        current = [token]
    if current:
        lines.append("".join(current).rstrip())
    return lines


def _help_extra(text: str) -> str:
    """Translate Click's built-in option help and its '[default: x]' / '[required]' suffixes."""
    text = _lookup(text)
    match = re.search(r"\s*\[(default: (?P<default>.*?)|(?P<required>required))\]$", text)
    if not match:
        return text
    head = text[: match.start()]
    if match.group("required"):
        tail = _("[required]")
    else:
        tail = _("[default: {value}]").format(value=match.group("default"))
    return f"{head}  {tail}" if head else tail


def help_headings() -> tuple[str, ...]:
    """Click's own help texts that nktenv translates (kept here so extraction finds them)."""
    return (
        N_("Usage: "),
        N_("Options"),
        N_("Arguments"),
        N_("Commands"),
        N_("Show this message and exit."),
        N_("[required]"),
        N_("[default: {value}]"),
    )


# --- Click's usage errors -------------------------------------------------------------------

# Click and Typer build their error texts without gettext; match the English and re-word it.
_CLICK_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)",
     N_("No such option: {name} (similar options: {options})")),
    (r"No such option: (?P<name>\S+)", N_("No such option: {name}")),
    (r"No such command '(?P<name>.*)'\. Did you mean (?P<suggestions>.+)\?",
     N_("No such command: {name}. Did you mean {suggestions}?")),
    (r"No such command '(?P<name>.*)'\.", N_("No such command: {name}")),
    (r"Option '(?P<name>[^']+)' requires an argument\.", N_("Option {name} needs a value.")),
    (r"Option '(?P<name>[^']+)' requires (?P<count>\d+) arguments\.", N_("Option {name} needs {count} values.")),
    (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", N_("Unexpected extra argument(s): {args}")),
    (r"Missing option (?P<param>.+?)\.", N_("Missing option {param}.")),
    (r"Missing argument (?P<param>.+?)\.", N_("Missing argument {param}.")),
    (r"Missing command\.", N_("Missing command.")),
    (r"Invalid value for (?P<param>.+?): Input should be a valid integer.*",
     N_("Invalid value for {param}: give a whole number.")),
    (r"Invalid value for (?P<param>.+?): Input should be a valid number.*",
     N_("Invalid value for {param}: give a number.")),
    (r"Invalid value for (?P<param>.+?): (?P<message>.*)", N_("Invalid value for {param}: {message}")),
)


def localize_click_message(message: str) -> str:
    """Click's English error text in the current language (unchanged when no pattern matches)."""
    if current_language() == DEFAULT:
        return message
    for pattern, msgid in _CLICK_MESSAGES:
        match = re.fullmatch(pattern, message, flags=re.DOTALL)
        if match:
            return _lookup(msgid).format(**match.groupdict())
    return message


def localize_usage_error(exc: BaseException) -> None:
    """Make a Click usage error print in the current language (usage line, hint and message)."""
    if current_language() == DEFAULT:
        return
    if not any(cls.__name__ == "UsageError" for cls in type(exc).__mro__) or not hasattr(exc, "format_message"):
        return
    import types

    exc.show = types.MethodType(_show_usage_error, exc)  # type: ignore[attr-defined]


def _show_usage_error(self: Any, file: Any = None) -> None:
    stream = file if file is not None else sys.stderr
    ctx = getattr(self, "ctx", None)
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            command = f"'{ctx.command_path} {ctx.help_option_names[0]}'"
            hint = _("Try {command} for help.").format(command=command) + "\n"
        stream.write(f"{ctx.get_usage()}\n{hint}\n")
    stream.write(_("Error: {message}").format(message=localize_click_message(self.format_message())) + "\n")
    stream.flush()
