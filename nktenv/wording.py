"""Lists and runs of sentences, joined the way the current language writes them.

English separates list items with ", " and sentences with a space; Japanese uses "、" and puts
nothing after "。". The joins are catalog patterns (like CLDR list patterns), so each language
decides, and no caller glues translated pieces together with English punctuation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nktenv.i18n import _


def _fold(items: Iterable[object], pair: Callable[[str, str], str]) -> str:
    parts = [str(item) for item in items]
    if not parts:
        return ""
    text = parts[0]
    for item in parts[1:]:
        text = pair(text, item)
    return text


def join_list(items: Iterable[object]) -> str:
    """`a, b, c` in English, `a、b、c` in Japanese; "" for no items."""
    return _fold(items, lambda text, item: _("{items}, {item}").format(items=text, item=item))


def join_sentences(sentences: Iterable[str | None]) -> str:
    """Whole sentences in a row (empty ones skipped): spaced in English, run together in Japanese."""
    parts = [s.strip() for s in sentences if s and s.strip()]
    return _fold(parts, lambda text, sentence: _("{text} {sentence}").format(text=text, sentence=sentence))


def join_alternatives(items: Iterable[object]) -> str:
    """`a or b or c` in English, `a または b または c` in Japanese."""
    return _fold(items, lambda text, item: _("{choices} or {choice}").format(choices=text, choice=item))
