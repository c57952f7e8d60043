"""The suite runs in a fresh `pip install -e ".[test]"` venv and nowhere else: every third-party module a
test imports is declared in pyproject.toml (dependencies or the `test` extra) or guarded by
`pytest.importorskip` / `except ImportError`; no test borrows the base interpreter's packages."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

TESTS = REPO / "tests"
SKIP_DIRS = {"__pycache__", ".git", ".venv", ".ci-venv", "build", "dist", "node_modules"}
GUARD_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions(pyproject: Path = REPO / "pyproject.toml") -> set[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = list(project.get("dependencies", [])) + list(project.get("optional-dependencies", {}).get("test", []))
    return {_canonical(Requirement(r).name) for r in reqs}


def local_modules(root: Path = REPO) -> set[str]:
    """Top-level names the tests import from this repository: packages, helper modules, checks/ scripts."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        if SKIP_DIRS.intersection(path.relative_to(root).parts):
            continue
        names.add(path.stem)
        names.update(part for part in path.relative_to(root).parts[:-1])
    return names


def _called_with_module(node: ast.AST, *functions: str) -> str | None:
    """The top-level module named by `pytest.importorskip("x")` / `find_spec("x")` (for functions=...)."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in functions and isinstance(node.args[0].value, str):
            return node.args[0].value.split(".")[0]
    return None


def _guards_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(isinstance(k, ast.Name) and k.id in GUARD_EXCEPTIONS for k in kinds)


def unguarded_imports(source: str) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import not under `try/except ImportError` and not of a
    module the file importorskip's (at module level: before the import; in a function: anywhere in the file)."""
    tree = ast.parse(source)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    # In a function, `skipif(find_spec("x") is None)` on it guards as well as an importorskip.
    skipped_anywhere = {n for node in ast.walk(tree) if (n := _called_with_module(node, "importorskip", "find_spec"))}
    skipped_at_line: dict[str, int] = {}
    for node in ast.walk(tree):
        name = _called_with_module(node, "importorskip")
        if name:
            skipped_at_line[name] = min(skipped_at_line.get(name, node.lineno), node.lineno)

    def guarded(node: ast.AST, module: str) -> bool:
        at_module_level = True
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.Try) and child in parent.body and any(map(_guards_import_error, parent.handlers)):
                return True
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                at_module_level = False
            child, parent = parent, parents.get(parent)
        if at_module_level:
            return skipped_at_line.get(module, node.lineno + 1) < node.lineno
        return module in skipped_anywhere

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module.split(".")[0]]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m != "__future__" and not guarded(node, m)]
    return sorted(found)


def undeclared(source: str, declared: set[str], local: set[str]) -> list[tuple[int, str]]:
    providers = packages_distributions()
    out = []
    for line, module in unguarded_imports(source):
        if module in sys.stdlib_module_names or module in local:
            continue
        dists = {_canonical(d) for d in providers.get(module, [])} or {_canonical(module)}
        if not dists & declared:
            out.append((line, module))
    return out


def test_every_third_party_module_a_test_imports_is_declared_or_skipped() -> None:
    declared, local = declared_distributions(), local_modules()
    problems = []
    for path in sorted(TESTS.rglob("*.py")):
        if SKIP_DIRS.intersection(path.relative_to(REPO).parts):
            continue
        for line, module in undeclared(path.read_text(encoding="utf-8"), declared, local):
            problems.append(f"{path.relative_to(REPO).as_posix()}:{line}: {module}")
    assert not problems, (
        "imported by tests but neither in pyproject's dependencies / [test] extra nor importorskip'd:\n"
        + "\n".join(problems)
    )


@pytest.mark.parametrize(("source", "flagged"), [
    ("import numpy as np\n", ["numpy"]),
    ("from numpy.random import default_rng\n", ["numpy"]),
    ("import pytest\nnp = pytest.importorskip('numpy')\nimport numpy.linalg\n", []),
    ("import numpy\nimport pytest\npytest.importorskip('numpy')\n", ["numpy"]),  # too late: collection fails first
    ("def test():\n    import torch\n", ["torch"]),
    ("def test():\n    torch = pytest.importorskip('torch')\n    import torch.nn\n", []),
    ("@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='')\ndef test():\n    import torch\n", []),
    ("try:\n    import nkt_absent\nexcept ImportError:\n    nkt_absent = None\n", []),
    ("try:\n    import nkt_absent\nexcept KeyError:\n    nkt_absent = None\n", ["nkt_absent"]),
    ("import os, json\nfrom pathlib import Path\nfrom nktenv.cli import app\nimport wheels\n", []),
    ("import typer\nfrom packaging.version import Version\nimport jsonschema\nimport hypothesis\n", []),
    ("from . import sibling\n", []),
])
def test_the_scan_flags_what_a_fresh_test_venv_lacks(source: str, flagged: list[str]) -> None:
    declared = {"typer", "packaging", "pytest", "jsonschema", "hypothesis"}
    assert [m for _, m in undeclared(source, declared, local={"nktenv", "wheels"})] == flagged


def test_the_declared_set_is_read_from_pyproject() -> None:
    declared = declared_distributions()
    assert {"typer", "pytest", "hypothesis", "jsonschema", "build", "setuptools"} <= declared
    assert "tomli" in declared  # markers (python_version < '3.11') do not hide a declaration


def test_no_test_venv_borrows_the_base_interpreters_packages() -> None:
    # A venv with system site-packages sees the base interpreter (for a venv: the Python it was made
    # from), so what the test finds there depends on the machine. tests/packaging/venvs.py is the way.
    pattern = re.compile(r"system_site_packages\s*=\s*True|--system-site-packages")
    hits = [
        f"{path.relative_to(REPO).as_posix()}:{n}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits
