"""The `nktenv.facts/1` snapshot: frozen dataclasses, load, validate, dump.

The contract is `nktenv/schemas/facts-v1.schema.json` (a copy of the project's fixed contract):
keys may be added, never renamed or dropped. Every object here keeps the keys it does not know in
`extra`, so a snapshot written by a newer nktenv round-trips unchanged. Unknown values are None.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any, Mapping, TypeVar

from nktenv.errors import ExitCode, NktenvError

SCHEMA_ID = "nktenv.facts/1"
_N = TypeVar("_N", bound="_Node")


@dataclass(frozen=True)
class _Node:
    """Base: a frozen record that keeps unknown keys in `extra`."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            out[f.name] = _dump(getattr(self, f.name))
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    @classmethod
    def from_dict(cls: type[_N], data: Mapping[str, Any]) -> _N:
        hints = _hints(cls)
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in hints and key != "extra":
                known[key] = _load(hints[key], value)
            else:
                extra[key] = value
        return cls(extra=extra, **known)


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dump(value: Any) -> Any:
    if isinstance(value, _Node):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _load(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        non_none = [a for a in args if a is not type(None)]
        return _load(non_none[0], value) if len(non_none) == 1 else value
    if origin is tuple and args:
        return tuple(_load(args[0], v) for v in value)
    if isinstance(tp, type) and issubclass(tp, _Node):
        return tp.from_dict(value)
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return dict(value)
    return value


@dataclass(frozen=True)
class OsFacts(_Node):
    system: str = "linux"  # linux | windows | darwin
    release: str | None = None
    distro: str | None = None
    arch: str | None = None  # x86_64 | aarch64
    wsl: bool | None = None
    container: bool | None = None
    glibc: str | None = None
    secure_boot: bool | None = None
    id: str | None = None  # os-release ID: ubuntu | debian | rhel | ...
    version_id: str | None = None  # os-release VERSION_ID: 22.04
    version_codename: str | None = None  # VERSION_CODENAME, else UBUNTU_CODENAME: jammy
    wsl_version: int | None = None  # 1 | 2 inside WSL (only WSL 2 has GPU support), else None
    tegra: bool | None = None  # NVIDIA Jetson / Tegra (L4T): no desktop driver branch applies
    l4t_release: str | None = None  # Jetson Linux (L4T) release, e.g. 36.4.3


@dataclass(frozen=True)
class PythonFacts(_Node):
    version: str | None = None
    executable: str | None = None
    implementation: str | None = None
    kind: str | None = None  # system | venv | conda | store | pyenv | uv | unknown


@dataclass(frozen=True)
class CpuFacts(_Node):
    model: str | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None


@dataclass(frozen=True)
class MemoryFacts(_Node):
    total_bytes: int | None = None


@dataclass(frozen=True)
class KernelModule(_Node):
    loaded: bool | None = None
    version: str | None = None
    flavor: str | None = None  # proprietary | open


@dataclass(frozen=True)
class DriverFacts(_Node):
    version: str | None = None
    cuda_version: str | None = None  # the driver's CUDA ceiling, NOT an installed toolkit
    source: str | None = None
    kernel_module: KernelModule | None = None
    userspace_version: str | None = None
    nouveau_loaded: bool | None = None
    nvidia_uvm_loaded: bool | None = None
    device_nodes: bool | None = None
    errors: tuple[str, ...] = ()
    kernel_log: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pcie(_Node):
    gen_current: int | None = None
    gen_max: int | None = None
    width_current: int | None = None
    width_max: int | None = None


@dataclass(frozen=True)
class GpuProcess(_Node):
    pid: int | None = None
    name: str | None = None
    used_memory_bytes: int | None = None
    type: str | None = None  # C (compute) | G (graphics) | C+G, as nvidia-smi prints it


@dataclass(frozen=True)
class MigDevice(_Node):
    index: int | None = None
    uuid: str | None = None
    name: str | None = None
    memory_total_bytes: int | None = None


@dataclass(frozen=True)
class Gpu(_Node):
    index: int | None = None
    vendor: str | None = None
    name: str | None = None
    uuid: str | None = None
    compute_capability: str | None = None
    arch: str | None = None
    memory_total_bytes: int | None = None
    pci_bus_id: str | None = None
    pcie: Pcie | None = None
    driver_model: str | None = None  # Windows only: WDDM | TCC | MCDM
    compute_mode: str | None = None  # Default | Exclusive_Process | Prohibited
    mig_mode: str | None = None  # enabled | disabled; None where MIG is unsupported or unknown
    mig_devices: tuple[MigDevice, ...] = ()
    processes: tuple[GpuProcess, ...] | None = None  # None: not looked; () looked, none running

    @property
    def cc(self) -> tuple[int, int] | None:
        """Compute capability as (major, minor), or None."""
        return parse_cc(self.compute_capability)


@dataclass(frozen=True)
class CudaToolkit(_Node):
    version: str | None = None
    root: str | None = None
    nvcc: str | None = None
    source: str | None = None
    nvcc_version: str | None = None  # version.json cuda_nvcc
    driver_version: str | None = None  # version.json nvidia_driver: the driver bundled with the toolkit


@dataclass(frozen=True)
class Cudnn(_Node):
    version: str | None = None
    location: str | None = None
    source: str | None = None  # header | library | pip | conda | framework


@dataclass(frozen=True)
class WindowsFacts(_Node):
    long_paths_enabled: bool | None = None
    vc_runtime_version: str | None = None
    dlls_on_path: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Framework(_Node):
    version: str | None = None
    package: str | None = None
    cuda: str | None = None
    cudnn: str | None = None
    is_cuda_build: bool | None = None
    cuda_available: bool | None = None
    device_count: int | None = None
    arch_list: tuple[str, ...] = ()
    kernel_ok: bool | None = None
    error: str | None = None
    log: str | None = None
    packages: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Frameworks(_Node):
    torch: Framework | None = None
    tensorflow: Framework | None = None


@dataclass(frozen=True)
class LogText(_Node):
    text: str = ""
    source: str | None = None


@dataclass(frozen=True)
class Facts(_Node):
    """One machine, as probed. The root of `nktenv.facts/1`."""

    schema: str = SCHEMA_ID
    os: OsFacts = field(default_factory=OsFacts)
    captured_at: str | None = None
    host: Mapping[str, Any] | None = None
    python: PythonFacts | None = None
    cpu: CpuFacts | None = None
    memory: MemoryFacts | None = None
    driver: DriverFacts | None = None
    gpus: tuple[Gpu, ...] = ()
    cuda_toolkits: tuple[CudaToolkit, ...] = ()
    cudnn: tuple[Cudnn, ...] = ()
    env: Mapping[str, str | None] | None = None
    windows: WindowsFacts | None = None
    frameworks: Frameworks | None = None
    logs: tuple[LogText, ...] = ()

    def getenv(self, name: str) -> str | None:
        """A recorded environment variable (None when unset or unknown)."""
        return (self.env or {}).get(name)

    def with_logs(self, *logs: LogText) -> Facts:
        return dataclasses.replace(self, logs=self.logs + tuple(logs))


def parse_cc(text: str | None) -> tuple[int, int] | None:
    """'8.6' -> (8, 6); anything unparsable -> None."""
    if not text:
        return None
    try:
        major, _, minor = str(text).partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        return None


def cuda_version_from_int(value: int | None) -> str | None:
    """CUDA's integer encoding (NVML, cudaDriverGetVersion, driver error messages): 12040 -> '12.4'."""
    if not value:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


# --- validation ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The facts JSON Schema shipped with nktenv."""
    text = files("nktenv.schemas").joinpath("facts-v1.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list, tuple),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def _validate(value: Any, node: Mapping[str, Any], root: Mapping[str, Any], where: str) -> str | None:
    """Return the first problem as 'path: reason', or None. Covers the keywords the contract uses."""
    from nktenv.i18n import _
    from nktenv.wording import join_alternatives, join_list

    if "$ref" in node:
        ref = node["$ref"].removeprefix("#/").split("/")
        target: Any = root
        for part in ref:
            target = target[part]
        return _validate(value, target, root, where)
    if "const" in node and value != node["const"]:
        return _("{field}: must be {expected}, got {value}").format(
            field=where, expected=repr(node["const"]), value=repr(value))
    if "enum" in node and value not in node["enum"]:
        allowed = join_list("null" if v is None else str(v) for v in node["enum"])
        return _("{field}: {value} is not one of {allowed}").format(field=where, value=repr(value), allowed=allowed)
    if "type" in node:
        names = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if not any(_type_ok(value, n) for n in names):
            return _("{field}: expected {types}, got {actual}").format(
                field=where, types=join_alternatives(names), actual=type(value).__name__)
    if isinstance(value, dict):
        for key in node.get("required", []):
            if key not in value:
                return _("{field}: required key is missing").format(field=f"{where}.{key}")
        props = node.get("properties", {})
        for key, sub in value.items():
            if key in props:
                problem = _validate(sub, props[key], root, f"{where}.{key}")
            elif isinstance(node.get("additionalProperties"), dict):
                problem = _validate(sub, node["additionalProperties"], root, f"{where}.{key}")
            else:
                problem = None
            if problem:
                return problem
    if isinstance(value, (list, tuple)) and "items" in node:
        for i, item in enumerate(value):
            problem = _validate(item, node["items"], root, f"{where}[{i}]")
            if problem:
                return problem
    return None


def validate(data: Any) -> str | None:
    """First problem in a facts document as 'path: reason', or None when it is valid."""
    s = schema()
    return _validate(data, s, s, "facts")


def from_dict(data: Any, *, origin: str = "facts") -> Facts:
    """Validate and load a facts document; raise NktenvError naming the first bad field."""
    problem = validate(data)
    if problem:
        from nktenv.i18n import _

        raise NktenvError(
            "invalid-facts",
            _("{origin} is not a valid {schema} document: {problem}").format(
                origin=origin, schema=SCHEMA_ID, problem=problem),
            exit_code=ExitCode.BAD_DATA,
        )
    return Facts.from_dict(data)


def load_file(path: str) -> Facts:
    """Read `--facts FILE`. Every failure is an NktenvError with one clear line."""
    from nktenv.i18n import _

    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise NktenvError("facts-not-found", _("facts file not found: {path}").format(path=path), exit_code=ExitCode.BAD_DATA) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NktenvError("facts-unreadable", _("cannot read facts file {path}: {error}").format(path=path, error=exc), exit_code=ExitCode.BAD_DATA) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NktenvError(
            "facts-not-json",
            _("{path} is not JSON: {error} at line {line} column {column}").format(
                path=path, error=exc.msg, line=exc.lineno, column=exc.colno),
            exit_code=ExitCode.BAD_DATA,
        ) from None
    return from_dict(facts_of_document(data, path), origin=path)


# Documents that carry a facts snapshot inside them, by schema: where it is.
_CARRIERS = {"nktenv.doctor/1": "facts", "nktenv.setup-record/1": "facts"}


def facts_of_document(data: Any, path: str) -> Any:
    """The facts snapshot in a JSON document: itself, or the one a doctor report or setup record holds.

    Any other nktenv document (a bench result, a plan, an error) is named for what it is.
    """
    from nktenv.i18n import _

    if not isinstance(data, dict):
        raise NktenvError("not-facts", _("{path} is not a facts snapshot: it holds a JSON {kind}, not an object.").format(
            path=path, kind=type(data).__name__), hint=_("Make one with: nktenv detect --json > facts.json"),
            exit_code=ExitCode.BAD_DATA)
    schema = data.get("schema")
    if schema == SCHEMA_ID or (schema is None and "os" in data):
        return data
    inner = data.get(_CARRIERS.get(str(schema), ""))
    if isinstance(inner, dict):
        return inner
    hint = _("Make one with: nktenv detect --json > facts.json")
    if schema in _CARRIERS:
        message = _("{path} is an {schema} document without the facts it usually carries.")
    elif isinstance(schema, str) and schema == "nktenv.error/1":
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        raise NktenvError("not-facts", _("{path} is an nktenv error report ({message}), not a facts snapshot.").format(
            path=path, message=error.get("message") or "?"), hint=hint, exit_code=ExitCode.BAD_DATA)
    elif isinstance(schema, str) and schema.startswith("nktenv.bench/"):
        message = _("{path}: this is an {schema} result, not a facts snapshot.")
    elif isinstance(schema, str) and schema.startswith("nktenv."):
        message = _("{path}: this is an {schema} document, not a facts snapshot.")
    else:
        message = _("{path} is not an nktenv document (no \"schema\": \"{facts}\"), so not a facts snapshot.")
    raise NktenvError("not-facts", message.format(path=path, schema=schema, facts=SCHEMA_ID), hint=hint,
                      exit_code=ExitCode.BAD_DATA)


def dumps(facts: Facts) -> str:
    return json.dumps(facts.to_dict(), indent=2, ensure_ascii=False, sort_keys=False)
