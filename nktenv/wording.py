"""Lists and runs of sentences, joined the way the current language writes them.

English separates list items with ", " and sentences with a space; Japanese uses "、" and puts
nothing after "。". The joins are catalog patterns (like CLDR list patterns), so each language
decides, and no caller glues translated pieces together with English punctuation.
"""

from __future__ import annotations

from collections.abc import Iterable

from nktenv.i18n import _


def join_list(items: Iterable[object]) -> str:
    """`a, b, c` in English, `a、b、c` in Japanese; "" for no items."""
    parts = [str(item) for item in items]
    if not parts:
        return ""
    text = parts[0]
    for item in parts[1:]:
        text = _("{items}, {item}").format(items=text, item=item)
    return text


def join_sentences(sentences: Iterable[str | None]) -> str:
    """Whole sentences in a row (empty ones skipped): spaced in English, run together in Japanese."""
    parts = [s.strip() for s in sentences if s and s.strip()]
    if not parts:
        return ""
    text = parts[0]
    for sentence in parts[1:]:
        text = _("{text} {sentence}").format(text=text, sentence=sentence)
    return text


def join_alternatives(items: Iterable[object]) -> str:
    """`a or b or c` in English, `a または b または c` in Japanese."""
    parts = [str(item) for item in items]
    if not parts:
        return ""
    text = parts[0]
    for item in parts[1:]:
        text = _("{choices} or {choice}").format(choices=text, choice=item)
    return text
