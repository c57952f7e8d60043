"""`pip list`, `pip freeze` and `conda list`: the distributions that decide CUDA (torch tags, nvidia-* wheels)."""

from __future__ import annotations

import re

from nktenv.paste.model import Piece, is_prompt

_PIP_HEADER = re.compile(r"^\s*Package\s+Version(?:\s+(?:Editable project location|Location|Installer))*\s*$")
_PIP_RULE = re.compile(r"^\s*-{3,}(?:\s+-{3,})+\s*$")
_VERSION = r"\d[\w.!+-]*"
_PIP_ROW = re.compile(rf"^\s*(?P<name>[A-Za-z0-9][\w.-]*)\s+(?P<version>{_VERSION})(?:\s+\S.*)?\s*$")
_FREEZE_ROW = re.compile(rf"^\s*(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[\w,-]+\])?\s*(?:==|===)\s*(?P<version>{_VERSION})\s*$")
_FREEZE_URL = re.compile(r"^\s*(?P<name>[A-Za-z0-9][\w.-]*)\s+@\s+\S+\s*$")
_CONDA_HEADER = re.compile(r"^\s*#\s*packages in environment at\s+(?P<prefix>.+?):\s*$")
_CONDA_COLUMNS = re.compile(r"^\s*#\s*(?:Name\s+Version\s+Build\s+Channel)?\s*$")
_CONDA_ROW = re.compile(rf"^\s*(?P<name>[A-Za-z0-9_][\w.-]*)\s+(?P<version>{_VERSION})\s+(?P<build>\S+)"
                        r"(?:\s+\[\w+\])?(?:\s+(?P<channel>\S+))?\s*$")  # old conda: a "[vc14]" features column
_CONDA_BUILD = re.compile(r"^(?:pypi_0|<pip>|py\d+\w*|h[0-9a-f]{6,}\w*|\d+|\w+_\d+|cuda\w+|mkl|main|conda_forge)$")
# The CUDA-relevant distributions, as `detect` keeps them in python.packages, plus the extensions
# that are built against one torch (their mismatch is a classic breakage).
_RELEVANT = re.compile(r"^(?:nvidia-.+|torch.*|tensorflow.*|tf-nightly|tf-keras|keras|tensorrt.*|jax.*|xformers|"
                       r"flash[-_]attn|bitsandbytes|triton|pytorch-triton|cupy.*|onnxruntime-gpu|vllm)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _bare_rows(lines: list[str]) -> list[int]:
    """`pip list | grep torch` keeps no header: rows of a CUDA-relevant name, two spaces, a version."""
    return [i for i, ln in enumerate(lines)
            if (m := re.match(rf"^\s*(?P<name>[A-Za-z0-9][\w.-]*)\s{{2,}}(?P<version>{_VERSION})\s*$", ln))
            and _RELEVANT.match(_norm(m.group("name")))]


def detect_pip_list(lines: list[str]) -> bool:
    return any(_PIP_HEADER.match(ln) for ln in lines) or len(_bare_rows(lines)) >= 2


def detect_freeze(lines: list[str]) -> bool:
    """Three `name==version` rows in a row (a requirements line here and there is not a freeze), or
    any row under a `pip freeze` / `pip list --format=freeze` command line."""
    run = 0
    after_command = False
    for ln in lines:
        if is_prompt(ln) and re.search(r"\bpip3?\s+(?:freeze|list\s+--format[= ]freeze)", ln):
            after_command = True
            continue
        row = bool(_FREEZE_ROW.match(ln) or _FREEZE_URL.match(ln))
        if row and after_command:
            return True
        run = run + 1 if row else 0
        if run >= 3:
            return True
    return False


# `torch @ https://download.pytorch.org/whl/cu101/torch-1.4.0-cp36-...whl`: the version is in the wheel's
# name, the build in its local tag (`%2Bcu101`) or, for the old indexes, in the index path (`/whl/cu101/`).
_WHEEL_NAME = re.compile(r"(?P<dist>[A-Za-z0-9_.]+)-(?P<version>\d[\w.]*?)(?:(?:%2B|\+)(?P<tag>[\w.]+))?-(?:cp|py)\d")
_INDEX_PATH = re.compile(r"/whl/(?:nightly/)?(?P<index>cu\d+|cpu|rocm[\d.]+)/")


def _version_from_url(line: str) -> tuple[str | None, str | None]:
    """(the version as the wheel names it, the index folder it came from: 'cu101', 'cpu' or None)."""
    m = _WHEEL_NAME.search(line.rsplit("/", 1)[-1])
    if not m:
        return None, None
    index = _INDEX_PATH.search(line)
    version = f"{m.group('version')}+{m.group('tag')}" if m.group("tag") else m.group("version")
    return version, index.group("index") if index else None


def detect_conda_list(lines: list[str]) -> bool:
    if any(_CONDA_HEADER.match(ln) for ln in lines):
        return True
    rows = [m for m in (_CONDA_ROW.match(ln) for ln in lines) if m and _CONDA_BUILD.match(m.group("build"))]
    return len(rows) >= 3 and any(m.group("build") in ("pypi_0", "<pip>") or m.group("channel") for m in rows)


def _relevant(packages: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in packages.items() if _RELEVANT.match(k)}


def parse_pip_list(lines: list[str]) -> Piece:
    piece = Piece("pip-list")
    packages: dict[str, str] = {}
    inside = False
    bare = set(_bare_rows(lines))
    for i, ln in enumerate(lines):
        if i in bare:
            m = _PIP_ROW.match(ln)
            packages[_norm(m.group("name"))] = m.group("version")
            piece.lines.add(i)
            continue
        if _PIP_HEADER.match(ln) or _PIP_RULE.match(ln):
            inside = True
            piece.lines.add(i)
            continue
        if is_prompt(ln) or re.match(r"^\s*(?:Microsoft Windows \[Version [\d.]+\]|\(c\) Microsoft Corporation\..*)$", ln):
            piece.lines.add(i)
            continue
        m = _PIP_ROW.match(ln) if inside else None
        if m:
            packages[_norm(m.group("name"))] = m.group("version")
            piece.lines.add(i)
        elif inside and not ln.strip():
            inside = False  # the list ends at the first blank line
    piece.data["all_packages"] = packages
    piece.data["packages"] = _relevant(packages)
    if any(re.match(r"^\s*(?:Microsoft Windows \[Version|[A-Za-z]:\\.*>)", ln) for ln in lines):
        piece.data["os"] = {"system": "windows"}  # the cmd.exe banner or prompt above the list
    return piece


def parse_freeze(lines: list[str]) -> Piece:
    piece = Piece("pip-freeze")
    packages: dict[str, str] = {}
    for i, ln in enumerate(lines):
        m = _FREEZE_ROW.match(ln)
        if m:
            packages[_norm(m.group("name"))] = m.group("version")
            piece.lines.add(i)
        elif _FREEZE_URL.match(ln):
            name = _norm(_FREEZE_URL.match(ln).group("name"))
            version, index = _version_from_url(ln)
            if version:
                packages[name] = version
            if index:
                piece.data.setdefault("wheel_index", {})[name] = index
            piece.lines.add(i)
        elif is_prompt(ln):
            piece.lines.add(i)
    piece.data["all_packages"] = packages
    piece.data["packages"] = _relevant(packages)
    return piece


def parse_conda_list(lines: list[str]) -> Piece:
    piece = Piece("conda-list")
    packages: dict[str, str] = {}
    pip_rows: dict[str, str] = {}
    prefix = None
    for i, ln in enumerate(lines):
        h = _CONDA_HEADER.match(ln)
        if h:
            prefix = h.group("prefix").strip()
            piece.lines.add(i)
            continue
        if _CONDA_COLUMNS.match(ln) or is_prompt(ln):
            piece.lines.add(i)
            continue
        m = _CONDA_ROW.match(ln)
        if m and (prefix or _CONDA_BUILD.match(m.group("build"))):
            name = _norm(m.group("name"))
            if m.group("build") in ("pypi_0", "<pip>") or m.group("channel") == "pypi":
                pip_rows[name] = m.group("version")
            else:
                packages[name] = m.group("version")
            piece.lines.add(i)
            continue
    conda: dict[str, object] = {"packages": packages}
    if prefix:
        conda["prefix"] = prefix
        piece.data["os"] = {"system": "windows" if re.match(r"^[A-Za-z]:\\", prefix) else "linux"}
        piece.data["python"] = {"kind": "conda", "conda_prefix": prefix}
    piece.data["conda"] = conda
    piece.data["all_packages"] = {**pip_rows}
    piece.data["packages"] = _relevant({**pip_rows, **{k: v for k, v in packages.items() if k in ("pytorch", "tensorflow")}})
    return piece
