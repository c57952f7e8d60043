"""What the user asked for: versions, variant, Python, and the NKTENV_TORCH_BACKEND override."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from nktenv.i18n import _

@dataclass(frozen=True)
class PlanRequest:
    torch: str = "latest"  # latest | none | VERSION
    tensorflow: str = "none"  # none | latest | VERSION
    variant: str = "auto"  # auto | cpu | cu126 | rocm6.2 | xpu ...
    python: str | None = None  # X.Y; None = the probed interpreter
    cpu_fallback: bool = True
    variant_from_env: bool = False  # the variant is NKTENV_TORCH_BACKEND's, not --variant's


BACKEND_ENV = "NKTENV_TORCH_BACKEND"
_BACKEND = re.compile(r"^(auto|cpu|xpu|cu\d{3}|rocm\d+\.\d+(\.\d+)?)$")


def torch_backend(flag: str | None, environ: Mapping[str, str]) -> tuple[str, bool]:
    """(variant, from_env): --variant wins; else NKTENV_TORCH_BACKEND (like uv's UV_TORCH_BACKEND); else auto.

    Raises:
        NktenvError: "bad-torch-backend" (usage) for a value that names no backend.
    """
    if flag is not None and flag.strip():
        return flag.strip().lower(), False
    value = (environ.get(BACKEND_ENV) or "").strip().lower()
    if not value:
        return "auto", False
    if not _BACKEND.match(value):
        from nktenv.errors import ExitCode, NktenvError

        raise NktenvError(
            "bad-torch-backend",
            _("{name}={value} names no PyTorch backend.").format(name=BACKEND_ENV, value=environ.get(BACKEND_ENV)),
            hint=_("Use auto, cpu, cuXYZ (such as cu126), rocmX.Y (such as rocm6.4) or xpu, or unset it."),
            exit_code=ExitCode.USAGE,
        )
    return value, value != "auto"
