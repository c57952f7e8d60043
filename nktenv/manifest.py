"""Load and validate the version manifests (`manifests/*.toml`) into frozen dataclasses.

The manifests are data: CUDA driver floors, PyTorch releases and the wheels each one published,
TensorFlow releases, and NVIDIA GPU architecture generations. Every entry names its source.
Loading is strict: an unknown key, a malformed version or a CUDA variant without a driver floor
is an `invalid-manifest` error that names the file and the entry.

The folder is the `nktenv.manifests` package data; `NKTENV_MANIFESTS_DIR` points elsewhere
(a lab mirror's refreshed copy, or a test's temporary folder).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from nktenv.errors import ExitCode, NktenvError
from nktenv.i18n import _

ENV_DIR = "NKTENV_MANIFESTS_DIR"
FILES = ("cuda.toml", "torch.toml", "tensorflow.toml", "gpus.toml", "gpu-ids.toml")
GPU_VENDORS = ("nvidia", "amd", "intel")
PLATFORMS = (
    "linux-x86_64",
    "linux-aarch64",
    "windows-x86_64",
    "windows-arm64",
    "macos-arm64",
    "macos-x86_64",
)
TF_GPU_PLATFORMS = ("linux", "wsl", "windows-native")
AND_CUDA_STATES = ("absent", "broken", "ok")
MACOS_TF_PACKAGES = ("tensorflow", "tensorflow-macos")
OPEN_MODULE_STATES = ("required", "supported", "unsupported")
DEFAULT_INDEX_PATTERN = "https://download.pytorch.org/whl/{variant}"

_VERSION = re.compile(r"^\d+(\.\d+)*$")
# PEP 440 forms the projects publish: 2.15.0.post1, 2.22.0rc0 (and the dotted 2.22.0.rc0), 2.16.0.dev1.
_RELEASE = re.compile(r"^\d+\.\d+\.\d+([.](post|rc|dev)\d+|(a|b|rc)\d+)?$")
_PRERELEASE = re.compile(r"(a|b|rc|dev)\d+$")
_GFX = re.compile(r"^gfx[0-9a-f]{3,4}$")
_OCLOC = re.compile(r"^[a-z][a-z0-9]*(-[a-z])?$")
_MAJOR_MINOR = re.compile(r"^\d+\.\d+$")
_CC = re.compile(r"^\d+\.\d+$")
_CUDA_VARIANT = re.compile(r"^cu(\d+)(\d)$")
_VARIANT = re.compile(r"^(cpu|xpu|cu\d{3}|rocm\d+(\.\d+){1,2})$")


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CudaRelease:
    """One CUDA minor line and the drivers it needs.

    `driver_min_*` is the driver bundled with the toolkit (release notes Table 3); `mvc_min_*` is
    the floor under minor-version compatibility (Table 2), which is what pip wheels need.
    """

    version: str
    driver_min_linux: str | None
    driver_min_windows: str | None
    mvc_min_linux: str
    mvc_min_windows: str
    source: str


@dataclass(frozen=True)
class CudnnMajor:
    """What one cuDNN major version is made of, for the doctor's library checks.

    `sublibraries_*` are the files the main library loads lazily by name; `zlibwapi_from` is the
    first version of this major that needs zlibwapi.dll on Windows (None: never needed).
    """

    major: int
    main_linux: str
    main_windows: str
    sublibraries_linux: tuple[str, ...]
    sublibraries_windows: tuple[str, ...]
    zlibwapi_from: str | None
    source: str

    def main(self, windows: bool) -> str:
        return self.main_windows if windows else self.main_linux

    def sublibraries(self, windows: bool) -> tuple[str, ...]:
        return self.sublibraries_windows if windows else self.sublibraries_linux

    def needs_zlibwapi(self, version: str | None) -> bool:
        """True when this cuDNN version (of this major) needs zlibwapi.dll on Windows."""
        v = version_tuple(version or "")
        if not v or v[0] != self.major or self.zlibwapi_from is None:
            return False
        return v[:2] >= version_tuple(self.zlibwapi_from)[:2]


@dataclass(frozen=True)
class TorchVariant:
    """One published build flavour of a release (`cpu`, `cu126`, `rocm6.2`, `xpu`)."""

    name: str
    cuda: str | None
    platforms: tuple[str, ...]
    sass: tuple[str, ...]
    ptx: tuple[str, ...]
    sass_windows: tuple[str, ...] | None
    ptx_windows: tuple[str, ...] | None
    index_url: str
    source: str
    sass_aarch64: tuple[str, ...] | None = None
    ptx_aarch64: tuple[str, ...] | None = None
    archs_known: bool = True
    # ROCm only: the gfx targets the wheels carry (torch.cuda.get_arch_list()); None where not established.
    gpu_targets: tuple[str, ...] | None = None
    # Where the Windows wheels carry fewer targets (XPU: no pvc on Windows); None: the same as gpu_targets.
    gpu_targets_windows: tuple[str, ...] | None = None

    def targets_for(self, platform: str) -> tuple[str, ...] | None:
        """The GPU targets of the wheels for `platform` ("linux-x86_64", "windows-x86_64", ...)."""
        if platform.startswith("windows") and self.gpu_targets_windows is not None:
            return self.gpu_targets_windows
        return self.gpu_targets

    def archs(self, os: str, arch: str = "x86_64") -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(SASS targets, PTX targets) of the wheels for `os` ("linux", "windows", "wsl" or a
        platform such as "linux-aarch64")."""
        system, _, plat_arch = os.partition("-")
        arch = plat_arch or arch
        if system == "windows" and self.sass_windows is not None:
            return self.sass_windows, self.ptx_windows if self.ptx_windows is not None else self.ptx
        if system in ("linux", "wsl") and arch == "aarch64" and self.sass_aarch64 is not None:
            return self.sass_aarch64, self.ptx_aarch64 if self.ptx_aarch64 is not None else self.ptx
        if system == "windows" and self.ptx_windows is not None:
            return self.sass, self.ptx_windows
        return self.sass, self.ptx

    @property
    def is_cuda(self) -> bool:
        return self.cuda is not None


@dataclass(frozen=True)
class TorchRelease:
    version: str
    python: str
    torchvision: str | None
    torchaudio: str | None
    variants: tuple[TorchVariant, ...]
    source: str
    date: str | None = None
    pypi_default: str | None = None
    # Pythons with wheels built against a pre-release interpreter or marked experimental: never offered.
    python_preview: tuple[str, ...] = ()

    @property
    def is_prerelease(self) -> bool:
        return is_prerelease(self.version)

    def variant(self, name: str) -> TorchVariant | None:
        return next((v for v in self.variants if v.name == name), None)

    def variants_for(self, platform: str) -> tuple[TorchVariant, ...]:
        return tuple(v for v in self.variants if platform in v.platforms)

    def supports_python(self, version: str) -> bool:
        return python_in(version, self.python)


@dataclass(frozen=True)
class TfRelease:
    version: str
    python: str
    cuda: str | None
    cudnn: str | None
    gpu_platforms: tuple[str, ...]
    min_cc: str | None
    and_cuda: str
    glibc_min: str | None
    source: str
    and_cuda_python: str | None = None  # where `[and-cuda]` installs, when narrower than `python`
    macos_arm64_package: str = "tensorflow"  # the PyPI package for Apple silicon (tensorflow-macos up to 2.12)
    macos_x86_64: bool = True  # whether Intel-Mac wheels exist (2.16 was the last)

    def supports_python(self, version: str) -> bool:
        return python_in(version, self.python)

    @property
    def is_prerelease(self) -> bool:
        return is_prerelease(self.version)

    def and_cuda_for(self, python: str | None) -> str:
        """The `[and-cuda]` state for a target Python (a pin may lack wheels for some Pythons)."""
        if (
            self.and_cuda == "ok"
            and python
            and self.and_cuda_python
            and not python_in(python, self.and_cuda_python)
        ):
            return "broken"
        return self.and_cuda


@dataclass(frozen=True)
class GpuArch:
    name: str
    cc_min: str
    cc_max: str
    last_driver_branch: str | None
    last_cuda: str | None
    open_module: str
    source: str
    products: str | None = None

    def contains(self, cc: tuple[int, int]) -> bool:
        return cc_tuple(self.cc_min) <= cc <= cc_tuple(self.cc_max)


@dataclass(frozen=True)
class GpuId:
    """One row of gpu-ids.toml: an exact PCI id, a chip, or a name pattern, and the architecture."""

    kind: str  # device | chip | name
    vendor: str  # nvidia | amd | intel
    key: str  # "10de:2b85", "GB202", or a regular expression
    value: str  # compute capability ("12.0") or target ("gfx1100", "dg2")
    source: str
    name: str | None = None


@dataclass(frozen=True)
class Manifests:
    cuda: tuple[CudaRelease, ...]
    torch: tuple[TorchRelease, ...]  # newest first
    tensorflow: tuple[TfRelease, ...]  # newest first
    gpu_archs: tuple[GpuArch, ...]
    folder: str = ""
    index_pattern: str = DEFAULT_INDEX_PATTERN
    _by_cuda: Mapping[str, CudaRelease] = field(default_factory=dict, repr=False, compare=False)
    cudnn: tuple[CudnnMajor, ...] = ()  # newest major first
    gpu_ids: tuple[GpuId, ...] = ()  # gpu-ids.toml, in file order (chips longest first)

    def cudnn_major(self, major: int | None) -> CudnnMajor | None:
        """The cuDNN major's library facts; None when the manifests do not describe it."""
        return next((c for c in self.cudnn if c.major == major), None)

    def cuda_release(self, version: str) -> CudaRelease | None:
        """The CUDA line of `version` ("12.4" or "12.4.1")."""
        return self._by_cuda.get(major_minor(version) or "")

    def torch_release(self, version: str) -> TorchRelease | None:
        """A torch release; a local tag ("2.1.0+cu118") is ignored."""
        base = version.split("+", 1)[0].strip()
        return next((r for r in self.torch if r.version == base), None)

    def tf_release(self, version: str) -> TfRelease | None:
        """A TensorFlow release: exact ("2.15.0.post1"), else the newest of a line ("2.15", "2.16.0")."""
        base = version.strip()
        exact = next((r for r in self.tensorflow if r.version == base), None)
        if exact:
            return exact
        key = major_minor(base)
        if key is None:
            return None
        line = [r for r in self.tensorflow if major_minor(r.version) == key]
        return next((r for r in line if not r.is_prerelease), line[0] if line else None)

    def gpu_arch(self, cc: tuple[int, int]) -> GpuArch | None:
        return next((a for a in self.gpu_archs if a.contains(cc)), None)


# --- pure helpers ----------------------------------------------------------------------------


def version_tuple(text: str) -> tuple[int, ...]:
    """'550.54.15' -> (550, 54, 15); '2.15.0.post1' -> (2, 15, 0, 1). Non-numeric parts are dropped."""
    return tuple(int(p) for p in re.findall(r"\d+", text or ""))


def is_prerelease(version: str) -> bool:
    """True for a release candidate, alpha, beta or dev release ('2.22.0rc0'); the planner never picks one unasked."""
    return bool(_PRERELEASE.search(version.strip()))


def release_key(version: str) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """Sort key: '2.22.0rc0' < '2.22.0' < '2.22.0.post1' (version_tuple alone puts rc0 above the final)."""
    m = re.match(r"^(\d+(?:\.\d+)*)(.*)$", version.strip())
    base, rest = (m.group(1), m.group(2)) if m else ("", version)
    return version_tuple(base), 0 if is_prerelease(version) else 1, version_tuple(rest)


def major_minor(version: str | None) -> str | None:
    parts = version_tuple(version or "")
    if len(parts) < 2:
        return None
    return f"{parts[0]}.{parts[1]}"


def cc_tuple(text: str) -> tuple[int, int]:
    """A validated compute capability '8.6' -> (8, 6) (facts.parse_cc is the lenient one for probed text)."""
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def driver_satisfies(driver_version: str, floor: str) -> bool:
    """True when the driver is at or above the floor, compared field by field ('580' == '580.0')."""
    have = list(version_tuple(driver_version))
    need = list(version_tuple(floor))
    width = max(len(have), len(need))
    have += [0] * (width - len(have))
    need += [0] * (width - len(need))
    return have >= need


def build_covers(cc: tuple[int, int], sass: Iterable[str], ptx: Iterable[str]) -> bool:
    """Whether a build runs natively on a GPU of compute capability `cc`.

    SASS for X.y runs on X.z with z >= y (same major); PTX for X.Y is JIT-compiled for any cc >= X.Y.
    """
    for target in sass:
        major, minor = cc_tuple(target)
        if major == cc[0] and minor <= cc[1]:
            return True
    return any(cc_tuple(target) <= cc for target in ptx)


_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|<|>)\s*(\d+(?:\.\d+)*)\s*$")
_OPS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}


def _clauses(spec: str) -> list[tuple[str, tuple[int, ...]]] | None:
    """'>=3.9,<3.13' -> [('>=', (3, 9)), ('<', (3, 13))]; None when it is not that simple form.

    Manifests only need comparison clauses, so this stays a small parser instead of importing
    packaging on every `nktenv plan`."""
    out = []
    for clause in spec.split(","):
        m = _CLAUSE.match(clause)
        if not m:
            return None
        out.append((m.group(1), version_tuple(m.group(2))))
    return out


def python_in(version: str, spec: str) -> bool:
    """Whether Python `version` ("3.10" or "3.10.13") satisfies the specifier (">=3.9,<3.13")."""
    parts = version_tuple(version)[:2]
    clauses = _clauses(spec)
    if len(parts) < 2 or clauses is None:
        return False
    for op, bound in clauses:
        width = max(len(parts), len(bound))
        a = parts + (0,) * (width - len(parts))
        b = bound + (0,) * (width - len(bound))
        if not _OPS[op](a, b):
            return False
    return True


def driver_floor(
    cuda_version: str, os: str, mvc: bool = True, manifests: Manifests | None = None
) -> str | None:
    """The minimum driver for a CUDA version on "linux" or "windows" (WSL uses "windows").

    `mvc=True` gives the minor-version-compatibility floor that pip wheels need; False gives the
    driver bundled with the toolkit (None where NVIDIA publishes none)."""
    release = (manifests or load()).cuda_release(cuda_version)
    if release is None:
        return None
    windows = os in ("windows", "wsl")
    if mvc:
        return release.mvc_min_windows if windows else release.mvc_min_linux
    return release.driver_min_windows if windows else release.driver_min_linux


def variant_cuda(name: str) -> str | None:
    """'cu126' -> '12.6', 'cu118' -> '11.8'; None for cpu/rocm/xpu."""
    m = _CUDA_VARIANT.match(name)
    return f"{m.group(1)}.{m.group(2)}" if m else None


# --- loading ---------------------------------------------------------------------------------


def manifests_dir() -> Path:
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    from importlib.resources import files

    return Path(str(files("nktenv.manifests")))


def load() -> Manifests:
    """The manifests, parsed and validated once per folder."""
    return _load_cached(str(manifests_dir()))


@lru_cache(maxsize=8)
def _load_cached(folder: str) -> Manifests:
    return load_dir(Path(folder))


def clear_cache() -> None:
    _load_cached.cache_clear()


def _bad(file: str, entry: str, problem: str) -> NktenvError:
    """`problem` is already a translated sentence."""
    return NktenvError(
        "invalid-manifest",
        _("{file}: {entry}: {problem}").format(file=file, entry=entry, problem=problem),
        hint=_("Fix that entry; `nktenv manifests check` validates the whole folder."),
        exit_code=ExitCode.BAD_DATA,
    )


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def _read(folder: Path, name: str) -> dict[str, Any]:
    tomllib = _toml()
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NktenvError(
            "manifest-not-found",
            _("Manifest file not found: {path}").format(path=path),
            exit_code=ExitCode.BAD_DATA,
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NktenvError(
            "invalid-manifest",
            _("Cannot read {path}: {error}").format(path=path, error=exc),
            exit_code=ExitCode.BAD_DATA,
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad(name, _("(whole file)"), _("not valid TOML: {error}").format(error=exc)) from None


class _Entry:
    """Strict access to one TOML table: unknown keys and wrong types raise invalid-manifest."""

    def __init__(self, file: str, label: str, data: Any, allowed: Iterable[str]) -> None:
        self.file, self.label = file, label
        if not isinstance(data, dict):
            raise _bad(file, label, _("must be a table"))
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise _bad(file, label, _("unknown key '{key}'").format(key=unknown[0]))
        self.data = data

    def bad(self, problem: str) -> NktenvError:
        return _bad(self.file, self.label, problem)

    def text(
        self,
        key: str,
        *,
        required: bool = True,
        check: Callable[[str], bool] | None = None,
        example: str = "",
    ) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.bad(_("missing key '{key}'").format(key=key))
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.bad(_("{key} must be a non-empty string").format(key=key))
        if check is not None and not check(value):
            raise self.bad(
                _("{key} = '{value}' is not valid (expected: {example})").format(
                    key=key, value=value, example=example
                )
            )
        return value

    def texts(
        self,
        key: str,
        *,
        required: bool = True,
        check: Callable[[str], bool] | None = None,
        example: str = "",
    ) -> tuple[str, ...] | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.bad(_("missing key '{key}'").format(key=key))
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.bad(_("{key} must be a list of strings").format(key=key))
        for item in value:
            if check is not None and not check(item):
                raise self.bad(
                    _("{key} has '{value}', which is not valid (expected: {example})").format(
                        key=key, value=item, example=example
                    )
                )
        return tuple(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.bad(_("{key} must be true or false").format(key=key))
        return value


def _is_version(v: str) -> bool:
    return bool(_VERSION.match(v))


def _is_release(v: str) -> bool:
    return bool(_RELEASE.match(v))


def _is_cc(v: str) -> bool:
    return bool(_CC.match(v))


def _is_spec(v: str) -> bool:
    return bool(v.strip()) and _clauses(v) is not None


def _is_platform(v: str) -> bool:
    return v in PLATFORMS


def _table_list(file: str, doc: dict[str, Any], key: str) -> list[Any]:
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise _bad(file, key, _("must be an array of tables ([[{key}]])").format(key=key))
    return items


def _top(file: str, doc: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(doc) - set(allowed))
    if unknown:
        raise _bad(file, _("(top level)"), _("unknown key '{key}'").format(key=unknown[0]))


def load_dir(folder: Path) -> Manifests:
    """Parse and validate every manifest file in `folder`."""
    cuda_doc = _read(folder, "cuda.toml")
    cuda = _load_cuda(cuda_doc)
    cudnn = _load_cudnn(cuda_doc)
    by_cuda = {c.version: c for c in cuda}
    pattern, torch = _load_torch(_read(folder, "torch.toml"), by_cuda)
    tensorflow = _load_tf(_read(folder, "tensorflow.toml"), by_cuda)
    archs = _load_gpus(_read(folder, "gpus.toml"))
    # Optional: a mirror refreshed by an older nktenv has no gpu-ids.toml; derivation is then off.
    gpu_ids = _load_gpu_ids(_read(folder, "gpu-ids.toml")) if (folder / "gpu-ids.toml").is_file() else ()
    return Manifests(
        cuda=cuda,
        torch=torch,
        tensorflow=tensorflow,
        gpu_archs=archs,
        folder=str(folder),
        index_pattern=pattern,
        _by_cuda=by_cuda,
        cudnn=cudnn,
        gpu_ids=gpu_ids,
    )


def _load_cuda(doc: dict[str, Any]) -> tuple[CudaRelease, ...]:
    file = "cuda.toml"
    _top(file, doc, ("cuda", "cudnn"))
    out: list[CudaRelease] = []
    seen: set[str] = set()
    for i, raw in enumerate(_table_list(file, doc, "cuda")):
        label = f"cuda[{i}] {raw.get('version', '?') if isinstance(raw, dict) else '?'}"
        e = _Entry(
            file,
            label,
            raw,
            (
                "version",
                "driver_min_linux",
                "driver_min_windows",
                "mvc_min_linux",
                "mvc_min_windows",
                "source",
            ),
        )
        version = e.text("version", check=lambda v: bool(re.match(r"^\d+\.\d+$", v)), example="12.6")
        assert version is not None
        if version in seen:
            raise e.bad(_("duplicate CUDA version {version}").format(version=version))
        seen.add(version)
        mvc_linux = e.text("mvc_min_linux", required=False, check=_is_version, example="550.54.15")
        mvc_windows = e.text("mvc_min_windows", required=False, check=_is_version, example="550.54.15")
        if not mvc_linux or not mvc_windows:
            raise e.bad(_("a CUDA version needs both driver floors (mvc_min_linux and mvc_min_windows)"))
        out.append(
            CudaRelease(
                version=version,
                driver_min_linux=e.text(
                    "driver_min_linux", required=False, check=_is_version, example="550.54.15"
                ),
                driver_min_windows=e.text(
                    "driver_min_windows", required=False, check=_is_version, example="550.54.15"
                ),
                mvc_min_linux=mvc_linux,
                mvc_min_windows=mvc_windows,
                source=e.text("source") or "",
            )
        )
    return tuple(sorted(out, key=lambda c: version_tuple(c.version), reverse=True))


def _load_cudnn(doc: dict[str, Any]) -> tuple[CudnnMajor, ...]:
    file = "cuda.toml"
    out: list[CudnnMajor] = []
    for i, raw in enumerate(_table_list(file, doc, "cudnn")):
        label = f"cudnn[{i}] {raw.get('major', '?') if isinstance(raw, dict) else '?'}"
        e = _Entry(
            file,
            label,
            raw,
            (
                "major",
                "main_linux",
                "main_windows",
                "sublibraries_linux",
                "sublibraries_windows",
                "zlibwapi_from",
                "source",
            ),
        )
        major_text = e.text("major", check=lambda v: v.isdigit(), example="9")
        assert major_text is not None
        major = int(major_text)
        if any(c.major == major for c in out):
            raise e.bad(_("duplicate cuDNN major {major}").format(major=major))
        zlib = e.text("zlibwapi_from", required=False, check=_is_version, example="8.3")
        if zlib is not None and version_tuple(zlib)[0] != major:
            raise e.bad(
                _("zlibwapi_from = '{value}' is not a cuDNN {major} version").format(value=zlib, major=major)
            )
        out.append(
            CudnnMajor(
                major=major,
                main_linux=e.text("main_linux") or "",
                main_windows=e.text("main_windows") or "",
                sublibraries_linux=e.texts("sublibraries_linux", required=False) or (),
                sublibraries_windows=e.texts("sublibraries_windows", required=False) or (),
                zlibwapi_from=zlib,
                source=e.text("source") or "",
            )
        )
    return tuple(sorted(out, key=lambda c: c.major, reverse=True))


_VARIANT_KEYS = (
    "name",
    "releases",
    "platforms",
    "sass",
    "ptx",
    "sass_windows",
    "ptx_windows",
    "sass_aarch64",
    "ptx_aarch64",
    "archs_known",
    "gpu_targets",
    "gpu_targets_windows",
    "index_url",
    "source",
)
_RELEASE_KEYS = (
    "version",
    "date",
    "python",
    "python_preview",
    "torchvision",
    "torchaudio",
    "pypi_default",
    "source",
)


def _load_torch(
    doc: dict[str, Any], by_cuda: Mapping[str, CudaRelease]
) -> tuple[str, tuple[TorchRelease, ...]]:
    file = "torch.toml"
    _top(file, doc, ("index_url", "release", "variant"))
    pattern = doc.get("index_url", DEFAULT_INDEX_PATTERN)
    if not isinstance(pattern, str) or "{variant}" not in pattern:
        raise _bad(
            file, "index_url", _("must be a string containing {placeholder}").format(placeholder="{variant}")
        )

    releases: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for i, raw in enumerate(_table_list(file, doc, "release")):
        label = f"release {raw.get('version', f'#{i}') if isinstance(raw, dict) else f'#{i}'}"
        e = _Entry(file, label, raw, _RELEASE_KEYS)
        version = e.text("version", check=_is_release, example="2.5.1")
        assert version is not None
        if version in releases:
            raise e.bad(_("duplicate release {version}").format(version=version))
        releases[version] = {
            "version": version,
            "date": e.text(
                "date",
                required=False,
                check=lambda v: bool(re.match(r"^\d{4}-\d{2}(-\d{2})?$", v)),
                example="2024-10-29",
            ),
            "python": e.text("python", check=_is_spec, example=">=3.9,<3.13"),
            "torchvision": e.text("torchvision", required=False, check=_is_release, example="1.2.3"),
            "torchaudio": e.text("torchaudio", required=False, check=_is_release, example="1.2.3"),
            "pypi_default": e.text(
                "pypi_default",
                required=False,
                check=lambda v: bool(_VARIANT.match(v)),
                example="cpu, cu126, rocm6.2, xpu",
            ),
            "python_preview": _python_preview(e),
            "source": e.text("source"),
            "variants": [],
        }
        order.append(version)

    for i, raw in enumerate(_table_list(file, doc, "variant")):
        name_hint = raw.get("name", f"#{i}") if isinstance(raw, dict) else f"#{i}"
        e = _Entry(file, f"variant {name_hint}", raw, _VARIANT_KEYS)
        name = e.text("name", check=lambda v: bool(_VARIANT.match(v)), example="cpu, cu126, rocm6.2, xpu")
        assert name is not None
        cuda = variant_cuda(name)
        if cuda is not None and cuda not in by_cuda:
            raise e.bad(
                _("variant {name} has no driver floor: CUDA {cuda} is not in cuda.toml").format(
                    name=name, cuda=cuda
                )
            )
        targets = e.texts("releases", check=_is_release, example="2.5.1") or ()
        if not targets:
            raise e.bad(_("releases must list at least one release"))
        e.label = f"variant {name} ({targets[0]}{'…' + targets[-1] if len(targets) > 1 else ''})"
        platforms = e.texts("platforms", check=_is_platform, example=", ".join(PLATFORMS)) or ()
        if not platforms:
            raise e.bad(_("platforms must list at least one platform"))
        archs_known = e.flag("archs_known", True)
        sass = e.texts("sass", required=cuda is not None and archs_known, check=_is_cc, example="8.6") or ()
        ptx = e.texts("ptx", required=False, check=_is_cc, example="8.6") or ()
        if cuda is None and (sass or ptx):
            raise e.bad(_("only CUDA variants carry sass/ptx lists"))
        _check_overrides(e, platforms)
        # ROCm: gfx targets; XPU: the Intel GPU families (ocloc names: dg2, bmg, pvc) PyTorch validates.
        target_ok = (lambda v: bool(_OCLOC.match(v))) if name == "xpu" else (lambda v: bool(_GFX.match(v)))
        gpu_targets = e.texts("gpu_targets", required=False, check=target_ok,
                              example="dg2" if name == "xpu" else "gfx90a")
        if gpu_targets is not None and not (name.startswith("rocm") or name == "xpu"):
            raise e.bad(_("only ROCm and XPU variants carry gpu_targets"))
        targets_windows = e.texts("gpu_targets_windows", required=False, check=target_ok, example="dg2")
        if targets_windows is not None and (gpu_targets is None or not set(targets_windows) <= set(gpu_targets)):
            raise e.bad(_("gpu_targets_windows must be a subset of gpu_targets"))
        url = e.text("index_url", required=False) or pattern.format(variant=name)
        variant = TorchVariant(
            name=name,
            cuda=cuda,
            platforms=platforms,
            sass=sass,
            ptx=ptx,
            sass_windows=e.texts("sass_windows", required=False, check=_is_cc, example="8.6"),
            ptx_windows=e.texts("ptx_windows", required=False, check=_is_cc, example="8.6"),
            sass_aarch64=e.texts("sass_aarch64", required=False, check=_is_cc, example="8.6"),
            ptx_aarch64=e.texts("ptx_aarch64", required=False, check=_is_cc, example="8.6"),
            archs_known=archs_known,
            gpu_targets=gpu_targets,
            gpu_targets_windows=targets_windows,
            index_url=url,
            source=e.text("source") or "",
        )
        for version in targets:
            rel = releases.get(version)
            if rel is None:
                raise e.bad(_("release {version} has no [[release]] entry").format(version=version))
            if any(v.name == name for v in rel["variants"]):
                raise e.bad(
                    _("release {version} lists variant {name} twice").format(version=version, name=name)
                )
            rel["variants"].append(variant)

    out: list[TorchRelease] = []
    for version in order:
        rel = releases[version]
        if not rel["variants"]:
            raise _bad(file, f"release {version}", _("no [[variant]] lists this release"))
        rel["variants"] = tuple(sorted(rel["variants"], key=_variant_rank, reverse=True))
        out.append(TorchRelease(**rel))
    return pattern, tuple(sorted(out, key=lambda r: release_key(r.version), reverse=True))


def _python_preview(e: _Entry) -> tuple[str, ...]:
    """Preview Pythons must be X.Y and outside the release's offered range (else they would be offered)."""
    preview = e.texts("python_preview", required=False, check=lambda v: bool(_MAJOR_MINOR.match(v)), example="3.15") or ()
    spec = e.data.get("python")
    for version in preview:
        if isinstance(spec, str) and python_in(version, spec):
            raise e.bad(
                _("python_preview lists {version}, which python = '{spec}' already offers").format(
                    version=version, spec=spec
                )
            )
    return preview


def _check_overrides(e: _Entry, platforms: tuple[str, ...]) -> None:
    """A per-platform GPU-code override needs that platform in the entry (else it is dead data)."""
    for keys, platform in (
        (("sass_windows", "ptx_windows"), "windows-x86_64"),
        (("sass_aarch64", "ptx_aarch64"), "linux-aarch64"),
    ):
        for key in keys:
            if key in e.data and platform not in platforms:
                raise e.bad(
                    _("{key} is set but platforms does not list {platform}").format(key=key, platform=platform)
                )


def _variant_rank(v: TorchVariant) -> tuple[int, tuple[int, ...]]:
    """Sort key: CUDA variants newest first, then the others."""
    if v.cuda:
        return (2, version_tuple(v.cuda))
    return (1 if v.name != "cpu" else 0, version_tuple(v.name))


def _load_tf(doc: dict[str, Any], by_cuda: Mapping[str, CudaRelease]) -> tuple[TfRelease, ...]:
    file = "tensorflow.toml"
    _top(file, doc, ("release",))
    out: list[TfRelease] = []
    seen: set[str] = set()
    for i, raw in enumerate(_table_list(file, doc, "release")):
        label = f"release {raw.get('version', f'#{i}') if isinstance(raw, dict) else f'#{i}'}"
        e = _Entry(
            file,
            label,
            raw,
            (
                "version",
                "python",
                "cuda",
                "cudnn",
                "gpu_platforms",
                "min_cc",
                "and_cuda",
                "and_cuda_python",
                "glibc_min",
                "macos_arm64_package",
                "macos_x86_64",
                "source",
            ),
        )
        version = e.text("version", check=_is_release, example="2.5.1")
        assert version is not None
        if version in seen:
            raise e.bad(_("duplicate release {version}").format(version=version))
        seen.add(version)
        cuda = e.text(
            "cuda", required=False, check=lambda v: bool(re.match(r"^\d+\.\d+$", v)), example="12.6"
        )
        if cuda is not None and cuda not in by_cuda:
            raise e.bad(_("CUDA {cuda} has no driver floor in cuda.toml").format(cuda=cuda))
        gpu_platforms = (
            e.texts(
                "gpu_platforms", check=lambda v: v in TF_GPU_PLATFORMS, example=", ".join(TF_GPU_PLATFORMS)
            )
            or ()
        )
        if gpu_platforms and cuda is None:
            raise e.bad(_("a release with GPU platforms needs its CUDA version"))
        and_cuda = e.text(
            "and_cuda", check=lambda v: v in AND_CUDA_STATES, example=", ".join(AND_CUDA_STATES)
        )
        out.append(
            TfRelease(
                version=version,
                python=e.text("python", check=_is_spec, example=">=3.9,<3.13") or "",
                cuda=cuda,
                cudnn=e.text("cudnn", required=False, check=_is_version, example="1.2.3"),
                gpu_platforms=gpu_platforms,
                min_cc=e.text("min_cc", required=False, check=_is_cc, example="8.6"),
                and_cuda=and_cuda or "absent",
                glibc_min=e.text("glibc_min", required=False, check=_is_version, example="1.2.3"),
                source=e.text("source") or "",
                and_cuda_python=e.text(
                    "and_cuda_python", required=False, check=_is_spec, example=">=3.9,<3.11"
                ),
                macos_arm64_package=e.text(
                    "macos_arm64_package",
                    required=False,
                    check=lambda v: v in MACOS_TF_PACKAGES,
                    example=", ".join(MACOS_TF_PACKAGES),
                )
                or "tensorflow",
                macos_x86_64=e.flag("macos_x86_64", True),
            )
        )
    return tuple(sorted(out, key=lambda r: release_key(r.version), reverse=True))


def _load_gpus(doc: dict[str, Any]) -> tuple[GpuArch, ...]:
    file = "gpus.toml"
    _top(file, doc, ("arch",))
    out: list[GpuArch] = []
    for i, raw in enumerate(_table_list(file, doc, "arch")):
        label = f"arch {raw.get('name', f'#{i}') if isinstance(raw, dict) else f'#{i}'}"
        e = _Entry(
            file,
            label,
            raw,
            (
                "name",
                "cc_min",
                "cc_max",
                "last_driver_branch",
                "last_cuda",
                "open_module",
                "products",
                "source",
            ),
        )
        cc_min = e.text("cc_min", check=_is_cc, example="8.6") or "0.0"
        cc_max = e.text("cc_max", check=_is_cc, example="8.6") or "0.0"
        if cc_tuple(cc_min) > cc_tuple(cc_max):
            raise e.bad(_("cc_min {low} is above cc_max {high}").format(low=cc_min, high=cc_max))
        arch = GpuArch(
            name=e.text("name") or "",
            cc_min=cc_min,
            cc_max=cc_max,
            last_driver_branch=e.text(
                "last_driver_branch", required=False, check=lambda v: v.isdigit(), example="470"
            ),
            last_cuda=e.text(
                "last_cuda", required=False, check=lambda v: bool(re.match(r"^\d+\.\d+$", v)), example="12.6"
            ),
            open_module=e.text(
                "open_module", check=lambda v: v in OPEN_MODULE_STATES, example=", ".join(OPEN_MODULE_STATES)
            )
            or "",
            products=e.text("products", required=False),
            source=e.text("source") or "",
        )
        for other in out:
            if cc_tuple(arch.cc_min) <= cc_tuple(other.cc_max) and cc_tuple(other.cc_min) <= cc_tuple(
                arch.cc_max
            ):
                raise e.bad(_("compute capability range overlaps {other}").format(other=other.name))
        out.append(arch)
    return tuple(sorted(out, key=lambda a: cc_tuple(a.cc_min)))


_GPU_ID = re.compile(r"^(10de|1002|8086):[0-9a-f]{4}$")
_GPU_ID_TABLES = {
    "nvidia_chip": ("chip", "nvidia"),
    "nvidia_device": ("device", "nvidia"),
    "nvidia_name": ("name", "nvidia"),
    "amd_device": ("device", "amd"),
    "intel_device": ("device", "intel"),
}


def _load_gpu_ids(doc: dict[str, Any]) -> tuple[GpuId, ...]:
    file = "gpu-ids.toml"
    _top(file, doc, tuple(_GPU_ID_TABLES))
    out: list[GpuId] = []
    for table, (kind, vendor) in _GPU_ID_TABLES.items():
        for i, raw in enumerate(_table_list(file, doc, table)):
            label = f"{table} #{i + 1}"
            if kind == "chip":
                e = _Entry(file, label, raw, ("chips", "cc", "source"))
                cc = e.text("cc", check=_is_cc, example="8.6") or ""
                source = e.text("source") or ""
                for chip in e.texts("chips", check=lambda v: bool(re.match(r"^[A-Z]{2}\d{2,3}[A-Z]?$", v)),
                                    example="GB202") or ():
                    out.append(GpuId("chip", vendor, chip, cc, source))
            elif kind == "name":
                e = _Entry(file, label, raw, ("pattern", "cc", "source"))
                pattern = e.text("pattern") or ""
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise e.bad(_("pattern is not a valid regular expression: {error}").format(error=exc)) from None
                out.append(GpuId("name", vendor, pattern, e.text("cc", check=_is_cc, example="8.6") or "",
                                 e.text("source") or ""))
            else:
                key = "cc" if vendor == "nvidia" else "arch"
                e = _Entry(file, label, raw, ("id", "name", key, "source"))
                prefix = {"nvidia": "10de", "amd": "1002", "intel": "8086"}[vendor]
                pci = e.text("id", check=lambda v, p=prefix: bool(_GPU_ID.match(v)) and v.startswith(p + ":"),
                             example=f"{prefix}:abcd") or ""
                check = _is_cc if vendor == "nvidia" else (lambda v: bool(re.match(r"^[a-z][a-z0-9-]*$", v)))
                value = e.text(key, check=check, example="8.6" if vendor == "nvidia" else "gfx1100") or ""
                out.append(GpuId("device", vendor, pci, value, e.text("source") or "", e.text("name", required=False)))
    chips = sorted((g for g in out if g.kind == "chip"), key=lambda g: -len(g.key))
    return tuple([g for g in out if g.kind != "chip"] + chips)
