"""Installer backends: uv and `python -m venv` + pip. They build argv lists; the caller runs them.

Keeping the commands as plain data means the exact commands can be shown before running
(`--dry-run`), written into the record, and tested without running anything.
"""

from __future__ import annotations

import os
import re
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nktenv.errors import ExitCode, NktenvError
from nktenv.i18n import _
from nktenv.setup.spec import InstallSpec

CHOICES = ("auto", "uv", "pip")
_MIN_UV = (0, 4)


class Backend(ABC):
    """One way to make a venv and install into it."""

    name: str = ""

    @abstractmethod
    def create_venv(self, python: str, target: Path) -> list[str]:
        """argv that creates a venv at `target` from the base interpreter `python`."""

    @abstractmethod
    def install(self, venv_python: Path, spec: InstallSpec) -> list[str]:
        """argv that installs `spec` into the venv whose interpreter is `venv_python`."""

    def version(self) -> str | None:
        return None

    @staticmethod
    def _sources(spec: InstallSpec) -> list[str]:
        args: list[str] = []
        if spec.no_index:
            args.append("--no-index")
        elif spec.index_url:
            args += ["--index-url", spec.index_url]
        for url in spec.extra_index_urls:
            if not spec.no_index:
                args += ["--extra-index-url", url]
        for link in spec.find_links:
            args += ["--find-links", link]
        return args


class PipBackend(Backend):
    """The standard library's venv, then pip inside it (what the lab manual does by hand)."""

    name = "pip"

    def create_venv(self, python: str, target: Path) -> list[str]:
        return [python, "-m", "venv", str(target)]

    def install(self, venv_python: Path, spec: InstallSpec) -> list[str]:
        return [
            str(venv_python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            "--progress-bar", "off", *self._sources(spec), *spec.requirements,
        ]


@dataclass
class UvBackend(Backend):
    """uv: fast venv creation and installs; `--relocatable` so the staged venv can be moved into place."""

    uv: str
    name: str = "uv"

    def create_venv(self, python: str, target: Path) -> list[str]:
        return [self.uv, "venv", "--no-config", "--relocatable", "--python", python, str(target)]

    def install(self, venv_python: Path, spec: InstallSpec) -> list[str]:
        # --index-strategy unsafe-best-match makes uv choose among all indexes like pip does, so both
        # backends install the same thing from the same plan.
        strategy = ["--index-strategy", "unsafe-best-match"] if spec.extra_index_urls else []
        return [
            self.uv, "pip", "install", "--no-config", "--python", str(venv_python),
            *strategy, *self._sources(spec), *spec.requirements,
        ]

    def version(self) -> str | None:
        return uv_version(self.uv)


def find_uv() -> str | None:
    """The uv binary: the one shipped by the `uv` Python distribution, else uv on PATH."""
    try:
        import uv  # the PyPI `uv` distribution exposes its bundled binary

        path = uv.find_uv_bin()
        if path and os.path.exists(path):
            return str(path)
    except Exception:  # not installed, or a broken install: fall back to PATH
        pass
    return shutil.which("uv")


@lru_cache(maxsize=8)
def uv_version(uv: str) -> str | None:
    """`uv --version` -> '0.13.9', or None when it does not run (short timeout, cached)."""
    from nktenv.setup.process import capture

    res = capture([uv, "--version"], timeout=10)
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", res.stdout) if res.ok else None
    return m.group(0) if m else None


def _new_enough(version: str | None) -> bool:
    if not version:
        return False
    parts = tuple(int(p) for p in version.split(".")[:2])
    return parts >= _MIN_UV


def resolve_backend(choice: str | None = None) -> tuple[Backend, str]:
    """Pick the installer: --installer, else NKTENV_INSTALLER, else auto (uv when it works).

    Returns (backend, source) where source is 'option', 'env' or 'auto'.

    Raises:
        NktenvError: unknown choice, or uv requested but not usable.
    """
    source = "option"
    if not choice or choice == "auto":
        env_choice = os.environ.get("NKTENV_INSTALLER", "").strip().lower()
        if env_choice and env_choice != "auto":
            choice, source = env_choice, "env"
        else:
            choice, source = "auto", "auto"
    if choice not in CHOICES:
        raise NktenvError(
            "unknown-installer",
            _("Unknown installer {name}; use uv, pip or auto.").format(name=choice),
            exit_code=ExitCode.USAGE,
        )
    if choice == "pip":
        return PipBackend(), source
    uv = find_uv()
    if uv and _new_enough(uv_version(uv)):
        return UvBackend(uv), source
    if choice == "uv":
        raise NktenvError(
            "uv-not-found",
            _("The uv installer was requested but no working uv was found."),
            hint=_("Install it with: python -m pip install uv (or use --installer pip)."),
            exit_code=ExitCode.NO_ENVIRONMENT,
        )
    return PipBackend(), source
