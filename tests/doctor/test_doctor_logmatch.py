"""Rules match a message across the line breaks of captured logs (nktenv.doctor.logmatch)."""

from __future__ import annotations

import re
import textwrap

from nktenv.doctor.context import Ctx
from nktenv.doctor.logmatch import Unwrapped
from nktenv.facts import from_dict
from tests.doctor.builders import by_code, healthy_linux, healthy_windows, merge, run

# TensorFlow's message as one line, verbatim from https://github.com/tensorflow/tensorflow/issues/17445
TF_IGNORING = ("2018-03-05 13:43:54.533246: I tensorflow/core/common_runtime/gpu/gpu_device.cc:1283] Ignoring visible gpu "
               "device (device: 0, name: Quadro K2000M, pci bus id: 0000:01:00.0, compute capability: 3.0) with Cuda compute "
               "capability 3.0. The minimum required Cuda capability is 3.5.")
TF_OLDER = r"Ignoring (?:visible )?gpu device .* The minimum required Cuda capability is"


def _ctx(text: str, system: str = "linux") -> Ctx:
    doc = healthy_windows() if system == "windows" else healthy_linux()
    doc["logs"] = [{"source": "run.txt", "text": text}]
    return Ctx(from_dict(doc))


def _console(text: str, width: int) -> str:
    """The text as a console of `width` columns wraps it: cut at the width, mid-word."""
    return "\r\n".join(text[i:i + width] for i in range(0, len(text), width))


def test_single_line_message_matches_as_before() -> None:
    assert _ctx(TF_IGNORING).grep(TF_OLDER) == [TF_IGNORING]


def test_message_wrapped_by_a_windows_console_matches_at_80_and_120_columns() -> None:
    for width in (80, 120):
        wrapped = _console(TF_IGNORING, width)
        assert not any(re.search(TF_OLDER, line, re.I) for line in wrapped.splitlines())  # line by line it is lost
        assert _ctx(wrapped, "windows").grep(TF_OLDER) == [TF_IGNORING], width


def test_message_folded_with_indentation_matches_and_keeps_word_spaces() -> None:
    folded = textwrap.fill(TF_IGNORING, 70, subsequent_indent="    ")
    (hit,) = _ctx(folded).grep(TF_OLDER)
    # Evidence starts at the line the message starts on, with single spaces where the lines were folded.
    assert hit.startswith("Ignoring") or hit.startswith("I tensorflow") or "gpu_device.cc" in hit
    assert TF_IGNORING.endswith(hit.split("] ", 1)[-1]) and "  " not in hit


def test_a_blank_line_ends_the_message() -> None:
    text = "Ignoring visible gpu device (device: 0) with Cuda compute capability 3.0.\r\n\r\nThe minimum required Cuda capability is 3.5."
    assert _ctx(text).grep(TF_OLDER) == []


def test_double_carriage_return_lines_of_windows_logs_still_join() -> None:
    text = TF_IGNORING.replace(" The minimum", "\r\r\nThe minimum")
    assert _ctx(text, "windows").grep(TF_OLDER) == [TF_IGNORING]


def test_two_separate_lines_are_not_glued_into_a_false_match() -> None:
    # Each line is its own message; a pattern that needs both halves in one message must not fire across a blank.
    u = Unwrapped("first: Ignoring visible gpu device\n\nsecond: The minimum required Cuda capability is 3.5")
    assert u.crossing(re.compile(TF_OLDER, re.I)) == []


def test_search_pulls_values_out_of_a_wrapped_message() -> None:
    m = _ctx(_console(TF_IGNORING, 80)).search(r"minimum required Cuda capability is (\d+\.\d+)")
    assert m is not None and m.group(1) == "3.5"


def test_a_wrapped_message_reaches_the_rule() -> None:
    doc = merge(healthy_linux(), {"gpus": [{"index": 0, "vendor": "nvidia", "name": "Quadro K2000M", "compute_capability": "3.0"}]})
    doc["logs"] = [{"source": "run.txt", "text": _console(TF_IGNORING, 80)}]
    (f,) = [f for f in run(doc) if f.code == "arch_too_old" and f.data.get("framework") == "tensorflow"]
    assert TF_IGNORING in f.evidence
