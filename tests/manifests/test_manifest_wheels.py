"""The wheels each torch release published, per platform, as the sources cited in torch.toml say; and the
loader's checks of the fields that carry them (gpu_targets, python_preview, per-platform overrides, pre-releases).

Every expected value below is quoted from the source the manifest entry names (see docs/manifests.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nktenv import manifest
from nktenv.errors import ExitCode, NktenvError
from nktenv.manifest import is_prerelease, release_key
from tests.manifests.copies import manifest_copy

REPO = Path(__file__).resolve().parents[2]

# pytorch/builder windows/cuda11{6,7}.bat: TORCH_CUDA_ARCH_LIST=3.7+PTX;5.0;6.0;6.1;7.0;7.5;8.0;8.6
WIN_CU11 = ("3.7", "5.0", "6.0", "6.1", "7.0", "7.5", "8.0", "8.6")


@pytest.fixture(scope="module")
def m():
    return manifest.load_dir(REPO / "manifests")


def _variant(m, release: str, name: str):
    rel = m.torch_release(release)
    assert rel is not None, release
    v = rel.variant(name)
    assert v is not None, (release, name)
    return v


# --- Windows GPU code up to 2.7.1 -----------------------------------------------------------------


@pytest.mark.parametrize("release,name", [("1.13.1", "cu116"), ("1.13.0", "cu117"), ("2.0.1", "cu117")])
def test_windows_cu116_cu117_carry_sm37_ptx_and_sm61(m, release, name) -> None:
    v = _variant(m, release, name)
    assert v.archs("windows") == (WIN_CU11, ("3.7",))
    # The Linux wheels are built from another list (no sm_61, no PTX).
    assert v.archs("linux") == (("3.7", "5.0", "6.0", "7.0", "7.5", "8.0", "8.6"), ())


@pytest.mark.parametrize("release", ["2.0.0", "2.3.1", "2.5.1", "2.6.0", "2.7.1"])
def test_windows_cu118_adds_sm90(m, release) -> None:
    sass, ptx = _variant(m, release, "cu118").archs("windows")
    assert sass == WIN_CU11 + ("9.0",) and ptx == ("3.7",)


@pytest.mark.parametrize(
    "release,name",
    [("2.1.0", "cu121"), ("2.5.1", "cu121"), ("2.4.0", "cu124"), ("2.6.0", "cu126"), ("2.7.1", "cu126"),
     ("2.9.0", "cu126"), ("2.14.1", "cu126")],
)
def test_windows_cu12x_carry_sm61(m, release, name) -> None:
    sass, ptx = _variant(m, release, name).archs("windows")
    assert sass == ("5.0", "6.0", "6.1", "7.0", "7.5", "8.0", "8.6", "9.0") and ptx == ()


def test_windows_2_8_cu128_claims_only_the_linux_list(m) -> None:
    v = _variant(m, "2.8.0", "cu128")
    assert v.archs("windows") == v.archs("linux")
    assert "6.1" not in v.archs("windows")[0]


def test_cu129_2_9_0_is_linux_only(m) -> None:
    assert _variant(m, "2.9.0", "cu129").platforms == ("linux-x86_64",)
    assert m.torch_release("2.9.0").variants_for("windows-x86_64")
    assert "cu129" not in {v.name for v in m.torch_release("2.9.0").variants_for("windows-x86_64")}
    assert "windows-x86_64" in _variant(m, "2.8.0", "cu129").platforms


# --- Linux aarch64 CUDA wheels --------------------------------------------------------------------


@pytest.mark.parametrize(
    "release,name,sass",
    [
        ("2.7.0", "cu128", ("9.0", "10.0", "12.0")),
        ("2.7.1", "cu128", ("9.0", "10.0", "12.0")),
        ("2.8.0", "cu129", ("8.0", "9.0", "10.0", "12.0")),
        ("2.9.0", "cu128", ("8.0", "9.0", "10.0", "12.0")),
        ("2.10.0", "cu128", ("8.0", "9.0", "10.0", "12.0")),
        ("2.11.0", "cu128", ("8.0", "9.0", "10.0", "12.0")),
    ],
)
def test_aarch64_cuda_wheels(m, release, name, sass) -> None:
    v = _variant(m, release, name)
    assert "linux-aarch64" in v.platforms
    assert v.archs("linux-aarch64") == (sass, ())


def test_aarch64_2_8_cu128_left_out_until_its_gpu_code_is_known(m) -> None:
    assert "linux-aarch64" not in _variant(m, "2.8.0", "cu128").platforms


# --- ROCm variants per release --------------------------------------------------------------------


@pytest.mark.parametrize(
    "release,rocm",
    [
        ("1.13.0", {"rocm5.1.1", "rocm5.2"}),
        ("2.0.1", {"rocm5.3", "rocm5.4.2"}),
        ("2.1.2", {"rocm5.5", "rocm5.6"}),
        ("2.2.0", {"rocm5.6", "rocm5.7"}),
        ("2.2.2", {"rocm5.6", "rocm5.7"}),
        ("2.3.0", {"rocm5.7", "rocm6.0"}),
        ("2.14.0", {"rocm7.2", "rocm7.14"}),
        ("2.14.1", {"rocm7.2", "rocm7.14"}),
    ],
)
def test_rocm_variants_per_release(m, release, rocm) -> None:
    rel = m.torch_release(release)
    assert {v.name for v in rel.variants if v.name.startswith("rocm")} == rocm
    for name in rocm:
        v = rel.variant(name)
        assert v.platforms == ("linux-x86_64",) and v.index_url == f"https://download.pytorch.org/whl/{name}"


def test_rocm_gpu_targets(m) -> None:
    # pytorch/builder manywheel/build_docker.sh PYTORCH_ROCM_ARCH per release branch; uv's measured lists later.
    assert _variant(m, "1.13.1", "rocm5.2").gpu_targets == ("gfx900", "gfx906", "gfx908", "gfx90a", "gfx1030")
    assert "gfx1100" in _variant(m, "2.2.0", "rocm5.7").gpu_targets
    assert "gfx942" not in _variant(m, "2.3.0", "rocm5.7").gpu_targets  # gfx942 only from ROCm 6.0
    assert "gfx942" in _variant(m, "2.3.0", "rocm6.0").gpu_targets
    assert "gfx1101" not in _variant(m, "2.4.1", "rocm6.1").gpu_targets
    assert "gfx1101" in _variant(m, "2.6.0", "rocm6.1").gpu_targets
    assert {"gfx1150", "gfx1151", "gfx950"} <= set(_variant(m, "2.14.1", "rocm7.2").gpu_targets)
    # ROCm 7.14 splits GPU code into per-target device wheels: not one list, so none is claimed.
    assert _variant(m, "2.14.0", "rocm7.14").gpu_targets is None
    for rel in m.torch:
        for v in rel.variants:
            if v.name == "xpu":
                # XPU lists Intel GPU families (ocloc names), only where established.
                assert v.gpu_targets is None or set(v.gpu_targets) <= {"dg2", "bmg", "pvc"}
            elif not v.name.startswith("rocm"):
                assert v.gpu_targets is None
    assert _variant(m, "2.14.1", "xpu").gpu_targets == ("dg2", "bmg", "pvc")
    assert _variant(m, "2.13.0", "xpu").gpu_targets is None


# --- platforms, defaults, Pythons -----------------------------------------------------------------


def test_windows_arm64_cpu_wheels_2_7_to_2_13(m) -> None:
    on = {r.version for r in m.torch if r.variants_for("windows-arm64")}
    assert on == {"2.7.0", "2.7.1", "2.8.0", "2.9.0", "2.9.1", "2.10.0", "2.11.0", "2.12.0", "2.12.1", "2.13.0"}
    assert all(v.name == "cpu" for r in m.torch for v in r.variants_for("windows-arm64"))


def test_pypi_default_of_2_1_2_3_2_4(m) -> None:
    for version in ("2.1.0", "2.1.1", "2.3.0", "2.3.1", "2.4.0", "2.4.1"):
        assert m.torch_release(version).pypi_default == "cu121", version
    assert m.torch_release("2.1.2").pypi_default is None  # no source found (docs/manifests.md)


def test_preview_pythons_are_recorded_and_never_offered(m) -> None:
    for version, preview in (("2.5.1", "3.13"), ("2.13.0", "3.15"), ("2.14.1", "3.15")):
        rel = m.torch_release(version)
        assert preview in rel.python_preview and not rel.supports_python(preview)
    # 3.12 for 2.2 / 2.3 was built in the release matrix on every platform: offered, not a preview.
    assert m.torch_release("2.2.0").supports_python("3.12") and m.torch_release("2.2.0").python_preview == ()


# --- CUDA and GPU generations ---------------------------------------------------------------------


def test_cuda_13_3_and_13_4(m) -> None:
    c133 = m.cuda_release("13.3.1")
    assert (c133.driver_min_linux, c133.driver_min_windows, c133.mvc_min_linux) == ("610.43.02", None, "580.65.06")
    c134 = m.cuda_release("13.4")
    assert (c134.driver_min_linux, c134.driver_min_windows) == (None, None)
    assert manifest.driver_floor("13.4", "linux", manifests=m) == "580.65.06"
    assert manifest.driver_floor("13.4", "windows", mvc=False, manifests=m) is None
    # No torch release in the manifest ships cu134 (not established for 2.15).
    assert not any(v.name == "cu134" for r in m.torch for v in r.variants)


def test_kepler_split(m) -> None:
    gk104, gk110, gk210 = m.gpu_arch((3, 0)), m.gpu_arch((3, 5)), m.gpu_arch((3, 7))
    assert gk104.name == gk110.name == "Kepler"
    assert gk104.last_cuda == "10.2" and gk110.last_cuda == gk210.last_cuda == "11.8"
    assert m.gpu_arch((3, 2)).last_cuda == "10.2"
    assert m.gpu_arch((3, 3)) is None


# --- pre-release versions -------------------------------------------------------------------------


def test_prerelease_versions() -> None:
    assert is_prerelease("2.22.0rc0") and is_prerelease("2.16.0.dev1") and not is_prerelease("2.15.0.post1")
    ordered = sorted(["2.22.0", "2.21.0", "2.22.0rc0", "2.15.0.post1", "2.15.0"], key=release_key)
    assert ordered == ["2.15.0", "2.15.0.post1", "2.21.0", "2.22.0rc0", "2.22.0"]


# --- the loader rejects bad new fields ------------------------------------------------------------


@pytest.fixture
def copy_dir(tmp_path, monkeypatch):
    yield from manifest_copy(tmp_path / "マニフェスト copy", monkeypatch)


def _edit(folder: Path, old: str, new: str, name: str = "torch.toml") -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BAD = [
    (
        "gpu-targets-windows-not-a-subset",
        'gpu_targets_windows = ["dg2", "bmg"]',
        'gpu_targets_windows = ["dg2", "xe3"]',
        ["torch.toml", "variant xpu", "gpu_targets_windows must be a subset of gpu_targets"],
    ),
    (
        "gpu-targets-on-cuda",
        'name = "cu132"\n',
        'name = "cu132"\ngpu_targets = ["gfx90a"]\n',
        ["torch.toml", "variant cu132", "only ROCm and XPU variants carry gpu_targets"],
    ),
    (
        "gpu-target-malformed",
        'gpu_targets = ["gfx900", "gfx906", "gfx908", "gfx90a", "gfx1030"]',
        'gpu_targets = ["gfx900", "MI250"]',
        ["torch.toml", "variant rocm5.1.1", "gpu_targets has 'MI250'", "gfx90a"],
    ),
    (
        "python-preview-inside-range",
        'python_preview = ["3.15"]',
        'python_preview = ["3.12"]',
        ["torch.toml", "release 2.13.0", "python_preview lists 3.12", ">=3.10,<3.15"],
    ),
    (
        "python-preview-malformed",
        'python_preview = ["3.15"]',
        'python_preview = ["3.15.0b1"]',
        ["torch.toml", "release 2.13.0", "python_preview has '3.15.0b1'"],
    ),
    (
        "aarch64-override-without-platform",
        'platforms = ["linux-x86_64", "windows-x86_64", "linux-aarch64"]\nsass = ["7.5", "8.0", "8.6", "9.0", "10.0", "12.0"]\nptx = ["12.0"]\nsass_windows',
        'platforms = ["linux-x86_64", "windows-x86_64"]\nsass = ["7.5", "8.0", "8.6", "9.0", "10.0", "12.0"]\nptx = ["12.0"]\nsass_windows',
        ["torch.toml", "variant cu128 (2.7.0…2.7.1)", "sass_aarch64 is set but platforms does not list linux-aarch64"],
    ),
    (
        "windows-override-without-platform",
        'releases = ["1.13.0", "1.13.1"]\nplatforms = ["linux-x86_64", "windows-x86_64"]\nsass = ["3.7"',
        'releases = ["1.13.0", "1.13.1"]\nplatforms = ["linux-x86_64"]\nsass = ["3.7"',
        ["torch.toml", "variant cu116", "sass_windows is set but platforms does not list windows-x86_64"],
    ),
    (
        "unknown-platform",
        '"windows-arm64", "macos-arm64"]',
        '"windows-armv7", "macos-arm64"]',
        ["torch.toml", "windows-armv7", "windows-arm64"],
    ),
]


@pytest.mark.parametrize("old,new,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_loader_rejects_bad_new_fields(copy_dir, old, new, words) -> None:
    _edit(copy_dir, old, new)
    with pytest.raises(NktenvError) as info:
        manifest.load()
    err = info.value
    assert err.code == "invalid-manifest" and err.exit_code == ExitCode.BAD_DATA and "\n" not in err.message
    for word in words:
        assert word in err.message, (word, err.message)


def test_tensorflow_release_candidate_loads_below_its_final(copy_dir) -> None:
    rc = (
        '[[release]]\nversion = "2.22.0rc0"\npython = ">=3.10,<3.14"\ngpu_platforms = []\n'
        'and_cuda = "absent"\nsource = "test entry"\n\n'
    )
    _edit(copy_dir, "[[release]]\n", rc + "[[release]]\n", name="tensorflow.toml")
    m = manifest.load()
    assert m.tf_release("2.22.0rc0").is_prerelease
    assert m.tensorflow[0].version == "2.22.0rc0" and m.tf_release("2.21").version == "2.21.0"


def test_manifests_check_cli_reports_a_bad_new_field(copy_dir, runner, app) -> None:
    _edit(copy_dir, 'name = "cu132"\n', 'name = "cu132"\ngpu_targets = ["gfx90a"]\n')
    result = runner.invoke(app, ["manifests", "check", "--json"])
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "invalid-manifest"
    assert "only ROCm and XPU variants carry gpu_targets" in doc["error"]["message"]
    human = runner.invoke(app, ["manifests", "check"])
    assert human.exit_code == 5 and "Traceback" not in human.output
    assert human.stderr.splitlines()[0].startswith("error: torch.toml: variant cu132")
