"""The CUDA libraries a conda environment installed: `cudatoolkit`, `cuda-*`, `cudnn`, `libcublas`, ... .

conda records every installed package as `$PREFIX/conda-meta/<name>-<version>-<build>.json`
(conda-forge and defaults alike). Version and build never contain '-', so the file name alone
gives all three; the JSON adds the channel. These copies live in `$PREFIX/lib` (Linux) or
`$PREFIX/Library/bin` (Windows), beside any pip `nvidia-*` wheels of the same library.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from nktenv.facts import PythonFacts
from nktenv.probes._ctx import Ctx

# conda package names that carry CUDA libraries (NVIDIA's and conda-forge's split packages included).
CUDA_PACKAGE = re.compile(
    r"^(?:cudatoolkit|cudnn|nccl|cutensor|tensorrt|cuda-[\w.-]+|"
    r"lib(?:cublas|cufft|curand|cusolver|cusparse|nvjitlink|npp|nvjpeg|cufile|cudnn[\w-]*|nccl)(?:-dev)?)$")
PATTERN = "|".join(("cudatoolkit-*.json", "cudnn-*.json", "nccl-*.json", "cutensor-*.json", "tensorrt-*.json",
                    "cuda-*.json", "libcu*.json", "libnv*.json", "libnpp*.json", "libcudnn*.json", "libnccl*.json"))


def parse_meta_name(file_name: str) -> tuple[str, str, str] | None:
    """'cudatoolkit-11.8.0-h6a678d5_0.json' -> ('cudatoolkit', '11.8.0', 'h6a678d5_0')."""
    if not file_name.lower().endswith(".json"):
        return None
    parts = file_name[:-5].rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def conda_prefix(ctx: Ctx, python: PythonFacts | None) -> str | None:
    extra = python.extra if python is not None else {}
    prefix = extra.get("conda_prefix")
    if isinstance(prefix, str) and prefix:
        return prefix
    # The interpreter's own prefix when it is a conda environment (it has conda-meta), else none.
    own = extra.get("prefix")
    if isinstance(own, str) and own and ctx.seam.exists(ctx.path.join(own, "conda-meta")):
        return own
    return None


def probe_conda_packages(ctx: Ctx, prefix: str) -> list[dict[str, Any]] | None:
    """The CUDA packages of the environment at `prefix`, sorted by name; None when it has no conda-meta."""
    meta = ctx.path.join(prefix, "conda-meta")
    names = ctx.seam.listdir(meta, PATTERN)
    if names is None:
        return None
    out: list[dict[str, Any]] = []
    for file_name in names:
        parsed = parse_meta_name(file_name)
        if parsed is None or not CUDA_PACKAGE.match(parsed[0]):
            continue
        name, version, build = parsed
        channel = None
        text = ctx.seam.read_text(ctx.path.join(meta, file_name))
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                data = {}
            if isinstance(data, dict):
                channel = data.get("channel") or data.get("schannel")
        out.append({"name": name, "version": version, "build": build, "channel": channel})
    return sorted(out, key=lambda p: p["name"])


def add_conda_packages(ctx: Ctx, python: PythonFacts | None) -> PythonFacts | None:
    """`python.conda_cuda_packages`: [{name, version, build, channel}] of the interpreter's conda environment."""
    if python is None:
        return None
    prefix = conda_prefix(ctx, python)
    if prefix is None:
        return python
    extra = dict(python.extra)
    extra["conda_cuda_packages"] = probe_conda_packages(ctx, prefix)
    return dataclasses.replace(python, extra=extra)
