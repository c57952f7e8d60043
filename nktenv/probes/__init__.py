"""Probes: the only code that reads the machine, always through a `Seam`.

Public API: `detect(seam) -> Facts`, `open_seam(record=, replay=)`, `resolve_interpreter(python, venv)`,
`redact(facts)`. Every probe is total: a failure becomes null plus the verbatim error text.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from nktenv.errors import ExitCode, NktenvError

if TYPE_CHECKING:
    from nktenv.facts import Facts
    from nktenv.probes.seam import Seam

__all__ = ["detect", "open_seam", "resolve_interpreter", "redact", "ENV_VARS"]

# Variables that change what CUDA, cuDNN or Python load; always listed (null = unset).
ENV_VARS = (
    "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "CUDA_DEVICE_ORDER",
    "LD_LIBRARY_PATH", "PATH", "CUDA_PATH", "CUDA_HOME", "CUDA_ROOT", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
    "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LD_PRELOAD", "TF_CPP_MIN_LOG_LEVEL", "XLA_FLAGS",
    "CUDA_MODULE_LOADING", "PYTORCH_CUDA_ALLOC_CONF", "WSL_DISTRO_NAME",
    # ROCm: the target the runtime pretends the GPU is, and which GPUs it shows.
    "HSA_OVERRIDE_GFX_VERSION", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
)
_ENV_PREFIXES = ("CUDA_PATH_V", "NKTENV_OVERRIDE_")


def _env_map(ctx: Any) -> dict[str, str | None]:
    out: dict[str, str | None] = {name: ctx.getenv(name) for name in ENV_VARS}
    for key in sorted(ctx.env):
        if key.upper().startswith(_ENV_PREFIXES):
            out[key.upper() if ctx.windows else key] = ctx.env[key]
    return out


def detect(seam: Seam, *, python: str | None = None, frameworks: bool = True,
           framework_timeout: float | None = None, overrides: Mapping[str, str] | None = None) -> Facts:
    """Probe the machine behind `seam` into a facts snapshot. Never raises for machine trouble.

    `overrides` (NKTENV_OVERRIDE_* variables) win over the seam's environment: a replay takes the
    overrides of the person replaying, a live probe finds them in its own environment anyway.
    """
    from nktenv.probes import frameworks as fw_probe
    from nktenv.probes._ctx import Ctx

    env = dict(seam.environ)
    for key, value in (overrides or {}).items():
        if key.startswith("NKTENV_OVERRIDE_"):
            env[key] = value
    check_overrides(env)
    ctx = Ctx(seam=seam, plat={}, env=env)  # plat is filled in below; the children need only the seam
    timeout = framework_timeout or fw_probe.FRAMEWORK_TIMEOUT_S
    # The slow parts are child processes (NVML, the interpreter, each framework): they run in the
    # background while the files are read. The framework check (an import of torch: seconds) is the
    # longest, so with the interpreter known it starts before anything else is asked or imported.
    with ThreadPoolExecutor(max_workers=4) as pool:
        info_future: Future[Any] | None = None
        fw_future: Future[Any] | None = None

        def start_children(target: str) -> None:
            nonlocal info_future, fw_future
            if frameworks:
                # Not after the interpreter query: a framework that is not installed answers null in
                # a blink, and the import of one that is starts early.
                fw_future = pool.submit(fw_probe.probe_frameworks, ctx, target, None, timeout)
            info_future = pool.submit(fw_probe.interpreter_info, ctx, target)

        if python:
            start_children(python)
        nvml_future = pool.submit(_nvml, seam)
        try:
            plat = dict(seam.platform())
        except Exception as exc:  # noqa: BLE001
            plat = {"error": f"{type(exc).__name__}: {exc}"}
        ctx.plat.update(plat)
        if not python and plat.get("executable"):
            start_children(plat["executable"])

        from nktenv.facts import Facts
        from nktenv.probes import cuda as cuda_probe
        from nktenv.probes import cudnn as cudnn_probe
        from nktenv.probes import nvidia, system
        from nktenv.probes import windows as win_probe

        os_facts = ctx.guard("os", lambda: system.probe_os(ctx), None)
        if os_facts is None:
            from nktenv.facts import OsFacts

            os_facts = OsFacts(system=ctx.system)
        ctx.cache["wsl"] = os_facts.wsl
        from nktenv.probes import gpus_other

        other_future = pool.submit(ctx.guard, "gpus_other", lambda: gpus_other.probe_other_gpus(ctx), ([], {}))
        info, info_error = (None, "no interpreter to probe")
        if info_future is not None:
            info, info_error = ctx.guard("python", info_future.result, (None, None))
        packages = dict((info or {}).get("packages") or {}) if info and "packages" in info else None

        if info is None and python is None and plat.get("executable"):
            # Our own interpreter is still described by the seam's platform facts.
            info = {k: plat.get(k) for k in ("executable", "prefix", "base_prefix", "python_version",
                                             "python_implementation")}
        python_facts = ctx.guard("python", lambda: system.probe_python(ctx, info, info_error), None)

        nvml_data = nvml_future.result()
        driver, gpus = ctx.guard("driver", lambda: nvidia.probe_driver(ctx, nvml_data), (None, []))
        other, other_info = other_future.result()
        gpus = gpus_other.merge(gpus, other, other_info)
        driver, gpus = ctx.guard("overrides", lambda: nvidia.apply_overrides(ctx, driver, gpus), (driver, gpus))
        gpus = ctx.guard("gpu_arch", lambda: _derive_arch(gpus), gpus)
        toolkits = ctx.guard("cuda", lambda: cuda_probe.probe_cuda(ctx), [])
        fw = ctx.guard("frameworks", fw_future.result, None) if fw_future is not None else None
    fw_dicts = {}
    if fw is not None:
        fw_dicts = {n: (f.to_dict() if f else None) for n, f in (("torch", fw.torch), ("tensorflow", fw.tensorflow))}
    cudnn = ctx.guard("cudnn", lambda: cudnn_probe.probe_cudnn(ctx, toolkits, packages or {}, fw_dicts), [])
    win = ctx.guard("windows", lambda: win_probe.probe_windows(ctx), None)
    from nktenv.probes import conda as conda_probe
    from nktenv.probes import runtimes

    win = ctx.guard("vc_runtime", lambda: runtimes.add_vc_runtime_files(ctx, win, python_facts), win)
    win = ctx.guard("toolkit_bin_dlls", lambda: runtimes.add_toolkit_bin_dlls(ctx, win, toolkits), win)
    python_facts = ctx.guard("conda_meta", lambda: conda_probe.add_conda_packages(ctx, python_facts), python_facts)

    extra: dict[str, Any] = {}
    if other_info.get("errors"):
        extra["gpu_probe_errors"] = other_info["errors"]
    if other_info.get("rocm_access"):
        extra["rocm_access"] = other_info["rocm_access"]
    if ctx.cache.get("cuda_missing_roots"):
        extra["cuda_paths_missing"] = ctx.cache["cuda_missing_roots"]
    if ctx.errors:
        extra["probe_errors"] = dict(ctx.errors)
    recorded_at = getattr(seam, "created_at", None)
    if recorded_at is not None:
        extra["recording"] = {"dir": str(getattr(seam, "dir", "")), "created_at": recorded_at}
    return Facts(
        os=os_facts,
        captured_at=recorded_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        host={"hostname": plat.get("node") or None},
        python=python_facts,
        cpu=ctx.guard("cpu", lambda: system.probe_cpu(ctx), None),
        memory=ctx.guard("memory", lambda: system.probe_memory(ctx), None),
        driver=driver,
        gpus=tuple(gpus),
        cuda_toolkits=tuple(toolkits),
        cudnn=tuple(cudnn),
        env=_env_map(ctx),
        windows=win,
        frameworks=fw,
        extra=extra,
    )


def check_overrides(env: Mapping[str, str]) -> None:
    """Refuse an NKTENV_OVERRIDE_GPUS that cannot be read, before anything is probed.

    Raises:
        NktenvError: "bad-override" (usage), naming the item and what is wrong with it.
    """
    from nktenv.i18n import _
    from nktenv.probes.nvidia import OverrideError, parse_override_gpus

    value = env.get("NKTENV_OVERRIDE_GPUS")
    if value is None:
        return
    try:
        parse_override_gpus(value)
    except OverrideError as exc:
        why = {
            "vendor": _("cannot tell whose GPU it is"),
            "arch": _("the part after the last ':' is no GPU architecture"),
            "mismatch": _("the vendor, the name and the architecture do not agree"),
        }[exc.why]
        raise NktenvError(
            "bad-override",
            _("NKTENV_OVERRIDE_GPUS: cannot read '{item}': {why}.").format(item=exc.item, why=why),
            hint=_("Write each GPU as VENDOR:ARCH or NAME:ARCH, e.g. nvidia:8.6, amd:gfx1100, 'NVIDIA GeForce RTX 4090:8.9'."),
            exit_code=ExitCode.USAGE,
        ) from None


def _derive_arch(gpus: Any) -> list[Any]:
    """GPUs whose driver gave no architecture get one from manifests/gpu-ids.toml (marked derived_arch)."""
    from nktenv.gpuarch import with_derived_arch
    from nktenv.manifest import load

    return list(with_derived_arch(gpus, load()))


def _nvml(seam: Seam) -> dict[str, Any]:
    try:
        return dict(seam.nvml())
    except Exception as exc:  # noqa: BLE001 - a probe never raises
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}


def open_seam(record: Path | None = None, replay: Path | None = None) -> Seam:
    """The real machine, the real machine while recording into `record`, or the recording `replay`."""
    from nktenv.i18n import _
    from nktenv.probes.seam import RECORDING_FORMAT, RealSeam, RecordingSeam, ReplayError, ReplaySeam

    if record is not None and replay is not None:
        raise NktenvError("usage", _("--record and --replay cannot be used together."), exit_code=ExitCode.USAGE)
    if replay is not None:
        try:
            return ReplaySeam(Path(replay))
        except ReplayError as exc:
            if exc.kind == "missing":
                message = _("{path} not found: not a recording made by `nktenv detect --record`.")
            elif exc.kind == "unreadable":
                message = _("Cannot read {path}: {error}")
            else:
                message = _("{path} is not a {format} recording.")
            raise NktenvError(
                "recording-unreadable",
                message.format(path=str(exc.path), error=exc.detail, format=RECORDING_FORMAT),
                exit_code=ExitCode.BAD_DATA,
            ) from None
    if record is not None:
        record = Path(record)
        if record.exists() and (not record.is_dir() or any(record.iterdir())):
            raise NktenvError(
                "record-dir-not-empty",
                _("{path} already exists and is not an empty folder.").format(path=str(record)),
                hint=_("Choose a new folder for the recording."),
                exit_code=ExitCode.USAGE,
            )
        try:
            return RecordingSeam(RealSeam(), record)
        except OSError as exc:
            raise NktenvError("record-dir-unwritable",
                              _("Cannot write the recording to {path}: {error}").format(path=str(record), error=exc),
                              exit_code=ExitCode.BAD_DATA) from None
    return RealSeam()


def resolve_interpreter(python: Path | None, venv: Path | None) -> str | None:
    """`--python PATH` or `--venv DIR` -> the interpreter to probe; None means nktenv's own.

    Raises:
        NktenvError: "interpreter-not-found" (exit 3) when the file or the venv's python is missing.
    """
    from nktenv.i18n import _

    if python is not None and venv is not None:
        raise NktenvError("usage", _("--python and --venv cannot be used together."), exit_code=ExitCode.USAGE)
    if python is not None:
        if not Path(python).is_file():
            raise NktenvError("interpreter-not-found",
                              _("Python interpreter not found: {path}").format(path=str(python)),
                              exit_code=ExitCode.NO_ENVIRONMENT)
        return str(python)
    if venv is not None:
        root = Path(venv)
        for candidate in (root / "Scripts" / "python.exe", root / "bin" / "python", root / "bin" / "python3"):
            if candidate.is_file():
                return str(candidate)
        raise NktenvError(
            "interpreter-not-found",
            _("No Python interpreter in {path} (looked for Scripts\\python.exe and bin/python).").format(path=str(venv)),
            hint=_("Create it with `python -m venv DIR`, or pass --python."),
            exit_code=ExitCode.NO_ENVIRONMENT,
        )
    return None


_USER_DIR = re.compile(r"(?i)(?P<pre>[A-Za-z]:[\\/]+Users[\\/]+|/home/|/Users/)(?P<name>[^\\/:;\"'\s]+)")
_UUID = re.compile(r"(?i)\b(GPU|MIG)-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\b")
_KEEP = {"public", "default", "all users", "shared", "<user>"}


def _scrub(value: Any, hostname: str | None) -> Any:
    if isinstance(value, str):
        out = _USER_DIR.sub(lambda m: m.group("pre") + ("<user>" if m.group("name").lower() not in _KEEP
                                                         else m.group("name")), value)
        out = _UUID.sub(lambda m: f"{m.group(1)}-<redacted>", out)
        if hostname and len(hostname) >= 3:
            out = out.replace(hostname, "<host>")
        return out
    if isinstance(value, dict):
        return {k: _scrub(v, hostname) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, hostname) for v in value]
    return value


def redact(facts: Facts) -> Facts:
    """A copy safe to paste in a chat: no hostname, no GPU UUIDs, user folders shown as <user>."""
    from nktenv.facts import Facts

    data = facts.to_dict()
    hostname = (data.get("host") or {}).get("hostname")
    data["host"] = {"hostname": None}
    for gpu in data.get("gpus") or []:
        gpu["uuid"] = None
    data = _scrub(data, hostname)
    data["redacted"] = True
    return Facts.from_dict(data)
