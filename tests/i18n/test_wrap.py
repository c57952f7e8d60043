"""Wrapping Japanese help text by terminal columns."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nktenv.i18n import display_width, wrap_display


def test_display_width() -> None:
    assert display_width("GPU") == 3
    assert display_width("ドライバ") == 8
    assert display_width("CUDA 12.4 のドライバ") == 20


def test_wraps_japanese_anywhere_but_keeps_ascii_words_whole() -> None:
    text = "新しい NVIDIA ドライバ 550.54.14 をインストールし、nvidia-smi で確認してください。"
    lines = wrap_display(text, 20)
    assert all(display_width(line) <= 22 for line in lines)
    joined = "".join(lines)
    for word in ("NVIDIA", "550.54.14", "nvidia-smi"):
        assert word in joined
    assert not any(line.startswith(("、", "。")) for line in lines)


_words = st.lists(
    st.one_of(
        st.sampled_from(["GPU", "CUDA", "cuDNN", "--json", "C:\\Users\\藤澤", "12.4"]),
        st.text(alphabet="ドライバを確認してくださいの、。", min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(_words, st.integers(min_value=10, max_value=60))
def test_wrap_keeps_every_character_and_respects_width(words: list[str], width: int) -> None:
    text = " ".join(words)
    lines = wrap_display(text, width)
    assert "".join("".join(lines).split()) == "".join(text.split())
    longest_word = max(display_width(w) for w in words)
    for number, line in enumerate(lines):
        # Over the width only for an unbreakable word, or marks hanging after an ASCII word.
        assert display_width(line.rstrip(" 、。")) <= max(width, longest_word), line
        if number:
            assert line[0] not in "、。", lines
