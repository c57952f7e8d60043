from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nktenv.errors import ExitCode, NktenvError
from nktenv.setup.spec import InstallSpec, check_sources, check_url, fingerprint, spec_from_plan


@dataclass(frozen=True)
class FakeFw:
    version: str
    variant: str
    index_url: str | None
    requirements: tuple[str, ...]
    gpu: bool = False
    extra_index_urls: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class FakePlan:
    ok: bool = True
    python: str | None = None
    torch: FakeFw | None = None
    tensorflow: FakeFw | None = None
    findings: tuple = field(default_factory=tuple)


TORCH = FakeFw("2.13.0", "cu126", "https://download.pytorch.org/whl/cu126", ("torch==2.13.0",), gpu=True)
TF = FakeFw("2.21.0", "and-cuda", None, ("tensorflow[and-cuda]==2.21.0",), gpu=True)


def test_spec_from_plan_merges_both_frameworks() -> None:
    spec = spec_from_plan(FakePlan(torch=TORCH, tensorflow=TF))
    # numpy: torch does not bring it and the verification benchmark needs it
    assert spec.requirements == ("torch==2.13.0", "tensorflow[and-cuda]==2.21.0", "numpy")
    assert spec.index_url == TORCH.index_url
    assert spec.extra_index_urls == ("https://pypi.org/simple",)
    assert spec.frameworks == ("torch", "tensorflow")
    assert spec.gpu and spec.and_cuda
    assert spec.versions == {"torch": "2.13.0", "tensorflow": "2.21.0"}


def test_numpy_is_added_beside_torch_only_once() -> None:
    pinned = FakeFw("2.13.0", "cpu", "https://download.pytorch.org/whl/cpu", ("torch==2.13.0", "NumPy<2"))
    assert spec_from_plan(FakePlan(torch=pinned)).requirements == ("torch==2.13.0", "NumPy<2")
    assert "numpy" not in spec_from_plan(FakePlan(tensorflow=TF)).requirements
    assert spec_from_plan(FakePlan(torch=pinned)).without(["numpy"]).requirements == ("torch==2.13.0",)


def test_pypi_only_plan_names_no_index() -> None:
    spec = spec_from_plan(FakePlan(tensorflow=TF))
    assert spec.index_url is None and spec.extra_index_urls == ()


def test_spec_from_plan_cpu_torch_only() -> None:
    cpu = FakeFw("2.13.0", "cpu", "https://download.pytorch.org/whl/cpu", ("torch==2.13.0",))
    spec = spec_from_plan(FakePlan(torch=cpu))
    assert spec.frameworks == ("torch",) and not spec.gpu and not spec.and_cuda
    assert spec.extra_index_urls == ()


def test_overrides_replace_the_plans_index() -> None:
    spec = spec_from_plan(FakePlan(torch=TORCH, tensorflow=TF))
    mirror = spec.with_sources(index_url="https://mirror.example.ac.jp/simple", find_links=["/wheels"])
    assert mirror.index_url == "https://mirror.example.ac.jp/simple"
    assert mirror.extra_index_urls == ()  # a mirror replaces every index of the plan
    assert mirror.find_links == ("/wheels",)
    only_links = spec.with_sources(find_links=["/wheels", "/wheels"])
    assert only_links.index_url == spec.index_url and only_links.find_links == ("/wheels",)


@pytest.mark.parametrize(
    "url",
    ["https://pypi.org/simple", "file:///C:/Users/藤澤/wheels", "http://127.0.0.1:8080/simple",
     "http://localhost/simple", "http://[::1]:9000/simple"],
)
def test_safe_urls_are_accepted(url: str) -> None:
    check_url(url, allow_insecure=False)


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(NktenvError) as exc:
        check_url("http://mirror.lab.local/simple", allow_insecure=False)
    assert exc.value.code == "insecure-index" and exc.value.exit_code == ExitCode.USAGE
    check_url("http://mirror.lab.local/simple", allow_insecure=True)


def test_check_sources_refuses_missing_wheel_folder(tmp_path: Path) -> None:
    check_sources(InstallSpec(("x",), find_links=(str(tmp_path),)), allow_insecure=False)
    with pytest.raises(NktenvError) as exc:
        check_sources(InstallSpec(("x",), find_links=(str(tmp_path / "nope"),)), allow_insecure=False)
    assert exc.value.code == "find-links-missing"
    with pytest.raises(NktenvError):
        check_sources(InstallSpec(("x",), extra_index_urls=("http://10.0.0.5/simple",)), allow_insecure=False)


def test_fingerprint_tracks_inputs_not_order() -> None:
    a = InstallSpec(("b==1", "a==2"), index_url="https://x/simple", find_links=("/w1", "/w2"))
    b = InstallSpec(("a==2", "b==1"), index_url="https://x/simple", find_links=("/w2", "/w1"))
    assert fingerprint(a, "3.11.7") == fingerprint(b, "3.11.7")
    assert fingerprint(a, "3.11.7") != fingerprint(a, "3.10.13")
    assert fingerprint(a, "3.11.7") != fingerprint(InstallSpec(("a==3", "b==1"), index_url="https://x/simple"), "3.11.7")


def test_spec_round_trips_through_dict() -> None:
    spec = spec_from_plan(FakePlan(torch=TORCH, tensorflow=TF))
    assert InstallSpec.from_dict(spec.to_dict()) == spec
