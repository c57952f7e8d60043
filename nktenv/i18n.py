"""Message translation with gettext.

Every human-facing text goes through `_()`; placeholders are named (`{path}`) and filled with
`.format(...)` after translation so translators can reorder them. JSON output never passes
through here: codes and keys stay English.
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from pathlib import Path

DOMAIN = "nktenv"
SUPPORTED = ("en", "ja")
_current: str | None = None


def _localedir() -> str:
    return str(Path(__file__).parent / "locale")


def system_language(environ: dict[str, str] | None = None) -> str:
    """Pick the language: NKTENV_LANG, else the locale variables, else English."""
    env = os.environ if environ is None else environ
    explicit = env.get("NKTENV_LANG", "").strip().lower()
    if explicit:
        return explicit[:2] if explicit[:2] in SUPPORTED else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def set_language(lang: str | None) -> str:
    """Set the process language (`--lang`); None means auto-detect."""
    global _current
    _current = lang if lang in SUPPORTED else system_language()
    return _current


def current_language() -> str:
    return _current or set_language(None)


@lru_cache(maxsize=4)
def _translation(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, _localedir(), languages=[lang], fallback=True)


def _(message: str) -> str:
    """Translate one message id into the current language."""
    return _translation(current_language()).gettext(message)
