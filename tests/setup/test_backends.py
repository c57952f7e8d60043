from __future__ import annotations

from pathlib import Path

import pytest

from nktenv.errors import NktenvError
from nktenv.setup import backends
from nktenv.setup.backends import PipBackend, UvBackend, resolve_backend
from nktenv.setup.spec import InstallSpec

SPEC = InstallSpec(("torch==2.13.0",), index_url="https://download.pytorch.org/whl/cpu",
                   extra_index_urls=("https://pypi.org/simple",), find_links=("/opt/wheels",))


def test_pip_commands() -> None:
    b = PipBackend()
    target = Path("C:/Users/藤澤/envs/lab env")
    assert b.create_venv("/usr/bin/python3.11", target) == ["/usr/bin/python3.11", "-m", "venv", str(target)]
    argv = b.install(target / "bin" / "python", SPEC)
    assert argv[:4] == [str(target / "bin" / "python"), "-m", "pip", "install"]
    assert argv[argv.index("--index-url") + 1] == SPEC.index_url
    assert argv[argv.index("--extra-index-url") + 1] == "https://pypi.org/simple"
    assert argv[argv.index("--find-links") + 1] == "/opt/wheels"
    assert argv[-1] == "torch==2.13.0"


def test_uv_commands_are_isolated_and_relocatable() -> None:
    b = UvBackend("/bin/uv")
    create = b.create_venv("/usr/bin/python3", Path("/e"))
    assert create[:2] == ["/bin/uv", "venv"] and "--relocatable" in create and "--no-config" in create
    argv = b.install(Path("/e/bin/python"), SPEC)
    assert argv[:3] == ["/bin/uv", "pip", "install"] and "--no-config" in argv
    # several indexes: uv must pick among all of them like pip does
    assert argv[argv.index("--index-strategy") + 1] == "unsafe-best-match"
    offline = b.install(Path("/e/bin/python"), InstallSpec(("x",), no_index=True, extra_index_urls=("https://i",),
                                                           find_links=("/w",)))
    assert "--no-index" in offline and "--extra-index-url" not in offline and "--index-url" not in offline


def test_resolve_explicit_pip_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_backend("pip")[0].name == "pip"
    monkeypatch.setenv("NKTENV_INSTALLER", "pip")
    b, source = resolve_backend("auto")
    assert (b.name, source) == ("pip", "env")


def test_resolve_unknown_installer() -> None:
    with pytest.raises(NktenvError) as exc:
        resolve_backend("conda")
    assert exc.value.code == "unknown-installer"


def test_auto_falls_back_to_pip_without_uv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NKTENV_INSTALLER", raising=False)
    monkeypatch.setattr(backends, "find_uv", lambda: None)
    assert resolve_backend("auto")[0].name == "pip"
    with pytest.raises(NktenvError) as exc:
        resolve_backend("uv")
    assert exc.value.code == "uv-not-found"


def test_too_old_uv_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NKTENV_INSTALLER", raising=False)
    monkeypatch.setattr(backends, "find_uv", lambda: "/old/uv")
    monkeypatch.setattr(backends, "uv_version", lambda uv: "0.1.5")
    assert resolve_backend("auto")[0].name == "pip"


def test_real_uv_is_found_and_auto_picks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NKTENV_INSTALLER", raising=False)
    if backends.find_uv() is None:
        pytest.skip("uv is not installed")
    b, source = resolve_backend("auto")
    assert b.name == "uv" and source == "auto"
    assert b.version() and b.version()[0].isdigit()
