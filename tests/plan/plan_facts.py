"""Build realistic `nktenv.facts/1` snapshots for planner tests."""

from __future__ import annotations

from typing import Any, Sequence

from nktenv.facts import Facts, from_dict

# (name, compute capability) of real cards, one or more per generation.
CARDS = {
    "K80": ("Tesla K80", "3.7"),
    "GTX980": ("NVIDIA GeForce GTX 980", "5.2"),
    "GTX1080TI": ("NVIDIA GeForce GTX 1080 Ti", "6.1"),
    "P100": ("Tesla P100-PCIE-16GB", "6.0"),
    "V100": ("Tesla V100-SXM2-32GB", "7.0"),
    "RTX2080": ("NVIDIA GeForce RTX 2080 Ti", "7.5"),
    "A100": ("NVIDIA A100-SXM4-80GB", "8.0"),
    "RTX3090": ("NVIDIA GeForce RTX 3090", "8.6"),
    "RTX4090": ("NVIDIA GeForce RTX 4090", "8.9"),
    "H100": ("NVIDIA H100 80GB HBM3", "9.0"),
    "B200": ("NVIDIA B200", "10.0"),
    "RTX5090": ("NVIDIA GeForce RTX 5090", "12.0"),
    "GB10": ("NVIDIA GB10", "12.1"),
}


def machine_facts(
    cards: Sequence[str] = ("RTX3090",),
    *,
    system: str = "linux",
    arch: str | None = "x86_64",
    wsl: bool = False,
    driver: str | None = "550.54.15",
    python: str | None = "3.12.4",
    env: dict[str, str | None] | None = None,
    glibc: str | None = "2.35",
) -> Facts:
    gpus: list[dict[str, Any]] = []
    for index, key in enumerate(cards):
        name, cc = CARDS[key] if key in CARDS else (key, None)
        gpus.append(
            {
                "index": index,
                "vendor": "nvidia",
                "name": name,
                "uuid": f"GPU-{index:x}{index:x}c0ffee-0000-1111-2222-{index:012x}",
                "compute_capability": cc,
            }
        )
    doc: dict[str, Any] = {
        "schema": "nktenv.facts/1",
        "os": {"system": system, "arch": arch, "wsl": wsl, "glibc": glibc if system == "linux" else None},
        "python": {"version": python} if python else None,
        "driver": {"version": driver, "source": "nvml"} if driver else None,
        "gpus": gpus,
        "env": env or {},
    }
    return from_dict(doc)
