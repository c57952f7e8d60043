"""The manifests load, carry the facts the planner relies on, and reject bad data with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from nktenv import manifest
from nktenv.errors import ExitCode, NktenvError
from nktenv.manifest import build_covers, driver_floor, driver_satisfies, load, python_in
from tests.manifests.copies import manifest_copy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def m():
    return manifest.load_dir(REPO / "manifests")


def test_loads_packaged_manifests(m) -> None:
    assert load().torch == m.torch  # the package data is the repository folder
    assert [r.version for r in m.torch] == sorted(
        (r.version for r in m.torch), key=manifest.version_tuple, reverse=True
    )
    assert m.torch[-1].version == "1.13.0" and m.tensorflow[-1].version == "2.4.0"
    assert {a.name for a in m.gpu_archs} >= {
        "Kepler",
        "Maxwell",
        "Pascal",
        "Volta",
        "Turing",
        "Ampere",
        "Ada",
        "Hopper",
        "Blackwell",
    }


def test_every_entry_has_a_source_and_every_cuda_variant_a_floor(m) -> None:
    for rel in m.torch:
        assert rel.source
        assert any(v.name == "cpu" and "linux-x86_64" in v.platforms for v in rel.variants), rel.version
        for v in rel.variants:
            assert v.source and v.index_url.startswith("https://download.pytorch.org/whl/")
            if v.cuda:
                assert driver_floor(v.cuda, "linux", manifests=m) and driver_floor(
                    v.cuda, "windows", manifests=m
                )
                assert v.sass, (rel.version, v.name)
    assert (
        all(r.source for r in m.tensorflow)
        and all(c.source for c in m.cuda)
        and all(a.source for a in m.gpu_archs)
    )


def test_lookups(m) -> None:
    assert m.cuda_release("12.4.1").version == "12.4"
    assert m.cuda_release("10.2") is None
    assert m.torch_release("2.1.0+cu118").version == "2.1.0"
    assert m.torch_release("2.16.0") is None
    assert m.tf_release("2.15").version == "2.15.0.post1"
    assert m.tf_release("2.15.0").version == "2.15.0"
    assert m.tf_release("2.16.0").version == "2.16.1"
    assert m.gpu_arch((8, 6)).name == "Ampere" and m.gpu_arch((12, 1)).name == "Blackwell"
    assert m.gpu_arch((7, 3)) is None


# Facts from torch-wheels.md / tensorflow-cudnn.md that the planner depends on.
def test_driver_floors(m) -> None:
    assert driver_floor("12.6", "linux", manifests=m) == "525.60.13"
    assert driver_floor("12.6", "windows", manifests=m) == "528.33"
    assert driver_floor("12.6", "wsl", manifests=m) == "528.33"
    assert driver_floor("11.8", "linux", manifests=m) == "450.80.02"
    assert driver_floor("11.8", "windows", manifests=m) == "452.39"
    assert driver_floor("13.0", "linux", manifests=m) == "580.65.06"
    assert driver_floor("12.8", "linux", mvc=False, manifests=m) == "570.26"
    assert driver_floor("13.0", "windows", mvc=False, manifests=m) is None


def test_torch_facts(m) -> None:
    def variants(version, platform="linux-x86_64"):
        return {v.name for v in m.torch_release(version).variants_for(platform)}

    assert {"cu116", "cu117"} <= variants("1.13.1")
    assert "cu118" in variants("2.7.1") and "cu118" not in variants("2.8.0")
    assert "cu128" in variants("2.11.0") and "cu128" not in variants("2.12.0")
    assert "cu126" in variants("2.14.1") and "cu126" not in variants("2.15.0")
    assert "cu129" in variants("2.13.0") and "cu129" not in variants("2.13.0", "windows-x86_64")
    assert "cu129" not in variants("2.12.0")
    assert not any(v.startswith("rocm") for v in variants("2.5.1", "windows-x86_64"))
    assert "macos-x86_64" in m.torch_release("2.2.2").variant("cpu").platforms
    assert "macos-x86_64" not in m.torch_release("2.3.0").variant("cpu").platforms
    assert m.torch_release("2.15.0").python == ">=3.11,<3.15"
    assert m.torch_release("2.5.1").torchvision == "0.20.1"
    cu118 = m.torch_release("2.0.1").variant("cu118")
    assert "3.7" in cu118.sass and "9.0" in cu118.sass
    cu128 = m.torch_release("2.7.1").variant("cu128")
    assert cu128.archs("linux") == (("7.5", "8.0", "8.6", "9.0", "10.0", "12.0"), ("12.0",))
    assert "6.1" in cu128.archs("windows")[0] and cu128.archs("windows")[1] == ()
    cu130 = m.torch_release("2.13.0").variant("cu130")
    assert "11.0" in cu130.archs("linux", "aarch64")[0] and "11.0" not in cu130.archs("linux")[0]
    assert cu130.archs("linux-aarch64") == cu130.archs("linux", "aarch64")
    assert "7.0" not in cu130.sass


def test_tensorflow_and_gpu_facts(m) -> None:
    assert "windows-native" in m.tf_release("2.10").gpu_platforms
    assert "windows-native" not in m.tf_release("2.11").gpu_platforms
    assert m.tf_release("2.15.0").and_cuda == "broken" and m.tf_release("2.15.0.post1").and_cuda == "ok"
    assert m.tf_release("2.13").and_cuda == "absent"
    assert (
        m.tf_release("2.14").and_cuda_for("3.10") == "ok"
        and m.tf_release("2.14").and_cuda_for("3.11") == "broken"
    )
    assert m.tf_release("2.21").and_cuda_for("3.12") == "ok"
    assert (m.tf_release("2.10").cuda, m.tf_release("2.10").cudnn) == ("11.2", "8.1")
    assert m.tf_release("2.21").glibc_min == "2.27"
    kepler = m.gpu_arch((3, 7))
    assert kepler.last_driver_branch == "470" and kepler.open_module == "unsupported"
    assert m.gpu_arch((6, 1)).last_driver_branch == "580"
    assert m.gpu_arch((12, 0)).open_module == "required"
    assert m.gpu_arch((8, 9)).last_driver_branch is None


@pytest.mark.parametrize(
    "driver,floor,ok",
    [
        ("550.54.15", "525.60.13", True),
        ("525.60.13", "525.60.13", True),
        ("525.60.12", "525.60.13", False),
        ("580", "580.65.06", False),
        ("580.88", "580", True),
        ("581.15", "580", True),
        ("470.256.02", "450.80.02", True),
        ("528.02", "528.33", False),
        ("1000.1", "580.65.06", True),
    ],
)
def test_driver_satisfies(driver, floor, ok) -> None:
    assert driver_satisfies(driver, floor) is ok


@pytest.mark.parametrize(
    "cc,sass,ptx,ok",
    [
        ((6, 1), ["6.0"], [], True),
        ((8, 9), ["8.6"], [], True),
        ((9, 0), ["8.6"], [], False),
        ((12, 1), ["12.0"], [], True),
        ((10, 0), ["12.0"], ["12.0"], False),
        ((12, 0), [], ["9.0"], True),
        ((7, 5), ["7.0"], [], True),
        ((5, 2), ["6.0", "7.0"], [], False),
        ((3, 7), ["3.7"], [], True),
        ((8, 0), ["8.6"], [], False),
    ],
)
def test_build_covers(cc, sass, ptx, ok) -> None:
    assert build_covers(cc, sass, ptx) is ok


def test_python_in() -> None:
    assert python_in("3.10.13", ">=3.10,<3.15") and not python_in("3.9", ">=3.10,<3.15")
    assert python_in("3.14", ">=3.10,<3.15") and not python_in("3.15.0", ">=3.10,<3.15")


# --- strict validation --------------------------------------------------------------------------


@pytest.fixture
def bad_dir(tmp_path, monkeypatch):
    yield from manifest_copy(tmp_path / "manifests with space 藤澤", monkeypatch)


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BAD = [
    (
        "tf-bad-macos-package",
        "tensorflow.toml",
        'macos_arm64_package = "tensorflow-macos"',
        'macos_arm64_package = "tensorflow-metal"',
        ["tensorflow.toml", "release 2.12.0", "'tensorflow-metal'", "tensorflow-macos"],
    ),
    (
        "cudnn-unknown-key",
        "cuda.toml",
        'major = "9"\n',
        'major = "9"\nsoname = "x"\n',
        ["cuda.toml", "cudnn[0] 9", "unknown key 'soname'"],
    ),
    (
        "cudnn-zlib-other-major",
        "cuda.toml",
        'zlibwapi_from = "8.3"',
        'zlibwapi_from = "9.3"',
        ["cuda.toml", "cudnn[1] 8", "'9.3' is not a cuDNN 8 version"],
    ),
    (
        "cudnn-duplicate-major",
        "cuda.toml",
        'major = "8"',
        'major = "9"',
        ["cuda.toml", "duplicate cuDNN major 9"],
    ),
    (
        "unknown-key",
        "torch.toml",
        'version = "2.5.1"\n',
        'version = "2.5.1"\nmirror = "x"\n',
        ["torch.toml", "release 2.5.1", "unknown key 'mirror'"],
    ),
    (
        "bad-release-version",
        "torch.toml",
        'version = "2.5.1"\n',
        'version = "2.5"\n',
        ["torch.toml", "version = '2.5' is not valid (expected: 2.5.1)"],
    ),
    (
        "bad-python-spec",
        "torch.toml",
        'python = ">=3.9,<3.13"',
        'python = "three nine"',
        ["torch.toml", "python = 'three nine'", ">=3.9,<3.13"],
    ),
    (
        "variant-without-floor",
        "torch.toml",
        'name = "cu132"',
        'name = "cu135"',
        ["torch.toml", "variant cu135", "no driver floor"],
    ),
    (
        "cuda-without-mvc-floor",
        "cuda.toml",
        'mvc_min_windows = "528.33"\nsource = "CUDA 13.2 U2 release notes, Table 3 (12.4 GA)',
        'source = "CUDA 13.2 U2 release notes, Table 3 (12.4 GA)',
        ["cuda.toml", "12.4", "driver floors"],
    ),
    (
        "bad-driver-version",
        "cuda.toml",
        'driver_min_linux = "550.54.14"',
        'driver_min_linux = "550.x"',
        ["cuda.toml", "12.4", "driver_min_linux = '550.x'", "550.54.15"],
    ),
    (
        "bad-cc",
        "torch.toml",
        '"8.6", "9.0"]',
        '"8.6", "sm_90"]',
        ["torch.toml", "variant", "sass has 'sm_90'", "expected: 8.6"],
    ),
    (
        "bad-platform",
        "torch.toml",
        'platforms = ["linux-x86_64", "windows-x86_64"]',
        'platforms = ["linux", "windows-x86_64"]',
        ["torch.toml", "'linux'", "platform"],
    ),
    (
        "unknown-release-ref",
        "torch.toml",
        'releases = ["2.0.0", "2.0.1"]',
        'releases = ["2.0.0", "2.0.9"]',
        ["torch.toml", "2.0.9", "no [[release]] entry"],
    ),
    (
        "tf-bad-state",
        "tensorflow.toml",
        'and_cuda = "broken"',
        'and_cuda = "maybe"',
        ["tensorflow.toml", "release 2.15.0", "and_cuda"],
    ),
    (
        "tf-unknown-cuda",
        "tensorflow.toml",
        'cuda = "11.0"',
        'cuda = "10.1"',
        ["tensorflow.toml", "release 2.4.0", "10.1"],
    ),
    (
        "gpu-overlap",
        "gpus.toml",
        'cc_max = "5.3"',
        'cc_max = "6.1"',
        ["gpus.toml", "arch Pascal", "overlaps Maxwell"],
    ),
    (
        "toml-syntax",
        "gpus.toml",
        '[[arch]]\nname = "Fermi"',
        '[[arch]\nname = "Fermi"',
        ["gpus.toml", "not valid TOML"],
    ),
    (
        "top-level-key",
        "tensorflow.toml",
        "[[release]]",
        "oops = 1\n[[release]]",
        ["tensorflow.toml", "top level", "oops"],
    ),
]


@pytest.mark.parametrize("name,old,new,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_manifest_names_file_and_entry(bad_dir, name, old, new, words) -> None:
    _edit(bad_dir, name, old, new)
    with pytest.raises(NktenvError) as info:
        load()
    err = info.value
    assert err.code == "invalid-manifest" and err.exit_code == ExitCode.BAD_DATA
    assert "\n" not in err.message
    for word in words:
        assert word in err.message, (word, err.message)


def test_missing_file(bad_dir) -> None:
    (bad_dir / "gpus.toml").unlink()
    with pytest.raises(NktenvError) as info:
        load()
    assert info.value.code == "manifest-not-found" and "gpus.toml" in info.value.message


def test_load_is_cached_per_folder(bad_dir) -> None:
    first = load()
    assert load() is first
    assert first.folder == str(bad_dir)


def test_cudnn_library_facts(m) -> None:
    assert [c.major for c in m.cudnn] == [9, 8] and all(c.source for c in m.cudnn)
    nine, eight = m.cudnn_major(9), m.cudnn_major(8)
    assert m.cudnn_major(7) is None
    assert (nine.main(False), nine.main(True)) == ("libcudnn.so.9", "cudnn64_9.dll")
    # cuDNN 9 API overview: graph, the engine libraries and the legacy ops/cnn/adv libraries.
    assert nine.sublibraries(False) == tuple(
        f"libcudnn_{p}.so.9"
        for p in ("graph", "engines_precompiled", "engines_runtime_compiled", "heuristic", "ops", "cnn", "adv")
    )
    assert nine.sublibraries(True) == tuple(n.replace("libcudnn_", "cudnn_").replace(".so.9", "64_9.dll")
                                            for n in nine.sublibraries(False))
    # zlibwapi.dll: needed on Windows from cuDNN 8.3.0 until cuDNN 9.
    assert eight.zlibwapi_from == "8.3" and nine.zlibwapi_from is None
    assert [eight.needs_zlibwapi(v) for v in ("8.2.4", "8.3.0", "8.9.7", "9.1.0", None)] == [
        False, True, True, False, False
    ]
    assert not nine.needs_zlibwapi("9.3.0")


def test_torch_companions_from_2_14(m) -> None:
    rel = {r.version: r for r in m.torch}
    assert rel["2.14.0"].torchvision == "0.29.0" and rel["2.14.1"].torchvision == "0.29.1"
    assert rel["2.15.0"].torchvision is None  # pairing not established
    # torchaudio 2.11.0 serves torch >= 2.11 but has no stable cu132 build: no single pin per release.
    assert rel["2.11.0"].torchaudio == "2.11.0"
    assert all(r.torchaudio is None for r in m.torch if manifest.version_tuple(r.version) >= (2, 12))


def test_xpu_wheels_after_2_13(m) -> None:
    for version in ("2.13.0", "2.14.0", "2.14.1"):
        xpu = m.torch_release(version).variant("xpu")
        assert xpu is not None and set(xpu.platforms) == {"linux-x86_64", "windows-x86_64"}, version
        assert xpu.index_url == "https://download.pytorch.org/whl/xpu"
    assert m.torch_release("2.15.0").variant("xpu") is None  # not established


def test_planner_pins_the_paired_torchvision(m) -> None:
    from nktenv.facts import from_dict
    from nktenv.plan import PlanRequest, make_plan

    facts = from_dict({
        "schema": "nktenv.facts/1",
        "os": {"system": "linux", "arch": "x86_64"},
        "python": {"version": "3.12.4"},
        "driver": {"version": "580.95.05"},
        "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6"}],
    })
    for version, vision in (("2.14.0", "torchvision==0.29.0"), ("2.14.1", "torchvision==0.29.1"), ("2.15.0", "torchvision")):
        plan = make_plan(facts, m, PlanRequest(torch=version))
        assert plan.torch is not None and plan.torch.requirements == (f"torch=={version}", vision), version


def test_tensorflow_macos_wheels(m) -> None:
    # Apple silicon: tensorflow-macos up to 2.12, tensorflow from 2.13; Intel Macs: wheels end at 2.16.
    assert m.tf_release("2.12").macos_arm64_package == "tensorflow-macos"
    assert m.tf_release("2.13").macos_arm64_package == "tensorflow"
    assert m.tf_release("2.16").macos_x86_64 and not m.tf_release("2.17").macos_x86_64
    assert [r.version for r in m.tensorflow if not r.macos_x86_64][-1] == "2.17.0"
