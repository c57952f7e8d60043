"""A facts snapshot for the refresh tests (kept apart from tests/plan so each folder imports on its own)."""

from __future__ import annotations

from nktenv.facts import Facts, from_dict


def facts_for_rtx3090() -> Facts:
    return from_dict(
        {
            "schema": "nktenv.facts/1",
            "os": {"system": "linux", "arch": "x86_64"},
            "python": {"version": "3.12.4"},
            "driver": {"version": "580.95.05"},
            "gpus": [
                {
                    "index": 0,
                    "vendor": "nvidia",
                    "name": "NVIDIA GeForce RTX 3090",
                    "compute_capability": "8.6",
                }
            ],
        }
    )
