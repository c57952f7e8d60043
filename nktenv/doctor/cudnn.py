"""cuDNN rules: the wrong copy loaded, a missing copy, missing sub-libraries, shadowing paths."""

from __future__ import annotations

import ntpath
import posixpath
import re
from typing import TYPE_CHECKING, Iterable

from nktenv.doctor import versions
from nktenv.doctor.context import Ctx, finding, vtuple
from nktenv.facts import Cudnn
from nktenv.findings import Finding
from nktenv.i18n import _
from nktenv.wording import join_list, join_sentences

if TYPE_CHECKING:  # pragma: no cover
    from nktenv.manifest import CudnnMajor

MISMATCH_LINES = (
    r"Loaded runtime CuDNN library: \S+ but source was compiled with|cuDNN version incompatibility|"
    r"Outdated cuDNN installation found|CUDNN_STATUS_VERSION_MISMATCH"
)
RUNTIME_VS_COMPILED = r"Loaded runtime CuDNN library: (\d+(?:\.\d+)*) but source was compiled with: (\d+(?:\.\d+)*)"
CUDNN9_MISSING_LINES = (
    r"libcudnn\.so\.9: cannot open shared object file|Could not load (?:dynamic )?library '?libcudnn\.so\.9\b|"
    r"Could not locate cudnn64_9\.dll|cudnn64_9\.dll(?:'; dlerror:)? not found|"
    r"Unable to load any of \{libcudnn\.so\.9"
)
CUDNN9_SUBLIB_LINES = (
    r"Could not (?:locate|load library) (?:cudnn_\w+64_9\.dll|libcudnn_\w+\.so\.9)|"
    r"Unable to load any of \{libcudnn_\w+\.so|libcudnn_\w+\.so\.9: cannot open shared object file|"
    r"Invalid handle\. Cannot load symbol cudnn"
)
ZLIB_LINES = r"zlibwapi\.dll|Could not load library cudnn_cnn_infer64_8\.dll"


def _mm(text: str | None) -> tuple[int, ...] | None:
    v = vtuple(text)
    return v[:2] if v else None


def _runtime_ok(have: str | None, need: str | None) -> bool | None:
    """cuDNN's rule: same major, equal or higher minor. None when unknown."""
    h, n = _mm(have), _mm(need)
    if not h or not n:
        return None
    if h[0] != n[0]:
        return False
    return len(h) < 2 or len(n) < 2 or h[1] >= n[1]


def _same_major(a: str | None, b: str | None) -> bool:
    ma, mb = _mm(a), _mm(b)
    return bool(ma and mb and ma[0] == mb[0])


def _mismatch_lines(ctx: Ctx) -> list[str]:
    """Mismatch messages, minus any whose own numbers are compatible (a later failure quoted it)."""
    out = []
    for line in ctx.grep(MISMATCH_LINES):
        m = re.search(RUNTIME_VS_COMPILED, line, re.IGNORECASE)
        if m and _runtime_ok(m.group(1), m.group(2)) is True:
            continue
        out.append(line)
    return out


def _loaded_runtime(ctx: Ctx) -> str | None:
    for line in _mismatch_lines(ctx):
        m = re.search(RUNTIME_VS_COMPILED, line, re.IGNORECASE)
        if m:
            return m.group(1)
        m = re.search(r"found runtime version \((\d+), (\d+), (\d+)\)", line)
        if m:
            return ".".join(m.groups())
    return None


def _compiled(ctx: Ctx) -> str | None:
    for line in _mismatch_lines(ctx):
        m = re.search(RUNTIME_VS_COMPILED, line, re.IGNORECASE)
        if m:
            return m.group(2)
        m = re.search(r"compiled\s+against \((\d+), (\d+), (\d+)\)", line)
        if m:
            return ".".join(m.groups())
    return None


def _pip_cudnn(ctx: Ctx) -> tuple[str, str] | None:
    for name, version in ctx.packages.items():
        if name.startswith("nvidia-cudnn-cu"):
            return name, version
    return None


def _tf_cudnn(ctx: Ctx) -> str | None:
    """The cuDNN TensorFlow was built with: its own build info (major only) refined by the manifest's major.minor."""
    fw = ctx.tf
    if fw is None or fw.is_cuda_build is False:
        return None
    own = re.search(r"(?:64_)?(\d+)$", fw.cudnn or "")
    rel = versions.tf_release(ctx)
    manifest = rel.cudnn if rel is not None else None
    if own and manifest and _mm(manifest)[0] != int(own.group(1)):
        return own.group(1)  # the framework's own report wins over the manifest
    return manifest or (own.group(1) if own else None)


def _wanted(ctx: Ctx) -> tuple[str, str] | None:
    """(version the framework needs, who says so): its own message first, then the manifest, then its wheel."""
    compiled = _compiled(ctx)
    if compiled:
        return compiled, _("the framework was compiled with cuDNN {cudnn}").format(cudnn=compiled)
    need = _tf_cudnn(ctx)
    if need is not None:
        return need, _("TensorFlow {version} was built with cuDNN {cudnn}").format(version=ctx.tf.version, cudnn=need)
    pip = _pip_cudnn(ctx)
    if pip:
        return pip[1], f"{pip[0]}=={pip[1]}"
    return None


def cudnn_mismatch(ctx: Ctx) -> Iterable[Finding]:
    real = _mismatch_lines(ctx)
    ev = real + (ctx.grep(r"DNN library initialization failed") if real else [])
    need = _compiled(ctx)
    pip = _pip_cudnn(ctx)
    tf_need = _tf_cudnn(ctx)
    if not real and tf_need and pip and ctx.linux:
        # torch and TensorFlow in one environment: the wheel pins decide which cuDNN loads.
        if _runtime_ok(pip[1], tf_need) is False:
            ev += [f"{pip[0]}=={pip[1]}", _("TensorFlow {version} was built with cuDNN {cudnn}").format(version=ctx.tf.version, cudnn=tf_need)]
            need = tf_need
    if not ev:
        return
    need = need or tf_need
    copies = [f"{c.version or '?'} {c.location or ''} ({c.source or '?'})".strip() for c in ctx.facts.cudnn]
    major = (_mm(need) or (None,))[0]
    cu = _cu_suffix(ctx)
    if need and major:
        fix = _(
            "Make cuDNN {major}.x, {need} or newer, the copy that loads first: {pip} install \"nvidia-cudnn-{cu}>={need},<{next}\" "
            "and remove older copies from the library path (see the other findings). Keep PyTorch and TensorFlow in separate "
            "environments, since each pins its own cuDNN."
        ).format(major=major, need=need, pip=ctx.pip(), cu=cu, next=major + 1)
    else:
        fix = _("Remove the older cuDNN copies from the library path so the framework's own copy loads; keep each framework in its own environment.")
    yield finding(
        "cudnn_mismatch",
        "error",
        _("The cuDNN that loads is not the version the framework was built for"),
        evidence=ev + ([_("cuDNN copies found: {copies}").format(copies="; ".join(copies))] if copies else []),
        fix=fix,
        why=_("cuDNN must have the same major version and an equal or higher minor version than the one the framework was compiled with."),
        needed=need,
    )


def _cu_suffix(ctx: Ctx) -> str:
    for fw in (ctx.tf, ctx.torch):
        if fw is not None and vtuple(fw.cuda):
            return "cu" + str(vtuple(fw.cuda)[0])
    pip = _pip_cudnn(ctx)
    return pip[0].rsplit("-", 1)[1] if pip else "cu12"


def cudnn9_not_found(ctx: Ctx) -> Iterable[Finding]:
    lines = ctx.grep(CUDNN9_MISSING_LINES)
    rel = versions.tf_release(ctx)
    fw = ctx.tf
    inferred = bool(
        ctx.linux and fw is not None and fw.is_cuda_build is not False and fw.cuda_available is False and ctx.has_nvidia
        and rel is not None and rel.cudnn and rel.cudnn.startswith("9.")
        and not any((vtuple(c.version) or (0,))[0] == 9 for c in ctx.facts.cudnn)
        and not _pip_cudnn(ctx)
    )
    if not lines and not inferred:
        return
    ev = list(lines)
    if inferred and rel is not None:
        ev.append(_("TensorFlow {version} needs cuDNN {cudnn}; no cuDNN 9 copy was found").format(version=rel.version, cudnn=rel.cudnn))
    if rel is not None and rel.and_cuda == "ok" and not ctx.native_windows:
        fix = _("Install TensorFlow with its CUDA libraries: {command}").format(command=versions.tf_install_command(ctx, rel))
    else:
        fix = _("Install cuDNN 9 into this environment: {pip} install \"nvidia-cudnn-{cu}>=9,<10\"").format(pip=ctx.pip(), cu=_cu_suffix(ctx))
    yield finding(
        "cudnn9_not_found",
        "error",
        _("cuDNN 9 is needed but cannot be found"),
        evidence=ev,
        fix=fix,
        why=_("The build loads cuDNN 9 by name (libcudnn.so.9 / cudnn64_9.dll); without it GPU convolutions cannot run."),
    )


def _cudnn_facts(ctx: Ctx, major: int) -> CudnnMajor | None:
    return ctx.m.cudnn_major(major) if ctx.m is not None else None


def _missing_parts(copy: Cudnn, wanted: Iterable[str]) -> list[str]:
    """The sub-libraries (cuda.toml [[cudnn]]) that the copy's recorded library list lacks."""
    libs = copy.extra.get("libraries")
    if not isinstance(libs, list) or not libs:
        return []
    names = {str(n).lower() for n in libs}
    return [w for w in wanted if not any(n == w.lower() or n.startswith(w.lower() + ".") for n in names)]


def cudnn9_sublibrary_missing(ctx: Ctx) -> Iterable[Finding]:
    facts = _cudnn_facts(ctx, 9)
    if facts is None:
        return  # the library names are manifest data (cuda.toml [[cudnn]])
    lines = ctx.grep(CUDNN9_SUBLIB_LINES)
    ev = list(lines)
    where = None
    wanted = facts.sublibraries(ctx.native_windows)
    for copy in ctx.facts.cudnn:
        if (vtuple(copy.version) or (0,))[0] != 9:
            continue
        missing = _missing_parts(copy, wanted)
        if missing:
            ev.append(_("{location} lacks {libraries}").format(location=copy.location or "?", libraries=join_list(missing)))
            where = where or copy.location
    if not ev:
        return
    pip = _pip_cudnn(ctx)
    package = f"{pip[0]}=={pip[1]}" if pip else f"nvidia-cudnn-{_cu_suffix(ctx)}>=9,<10"
    folder = "bin" if ctx.native_windows else "lib"
    main = facts.main(ctx.native_windows)
    if where:
        fix = _(
            "Install cuDNN 9 completely: copy every file of the archive's {folder} folder (not only {main}) into {location}, "
            "or use the wheel instead: {pip} install --force-reinstall \"{package}\""
        ).format(folder=folder, main=main, location=where, pip=ctx.pip(), package=package)
    else:
        fix = _(
            "Install cuDNN 9 completely: copy every file of the archive's {folder} folder (not only {main}) into one folder, "
            "or reinstall the wheel: {pip} install --force-reinstall \"{package}\""
        ).format(folder=folder, main=main, pip=ctx.pip(), package=package)
    yield finding(
        "cudnn9_sublibrary_missing",
        "error",
        _("A cuDNN 9 sub-library is missing next to the main cuDNN library"),
        evidence=ev,
        fix=fix,
        why=_("cuDNN 9 loads its graph, engine, ops, cnn and adv libraries lazily by name at the first GPU operation."),
    )


def _dirname(path: str, windows: bool) -> str:
    return (ntpath if windows else posixpath).dirname(path.rstrip("/\\"))


def _norm(path: str, windows: bool) -> str:
    p = path.rstrip("/\\")
    return p.lower().replace("/", "\\") if windows else p


def _shadowing(ctx: Ctx) -> list[tuple[Cudnn, str]]:
    """System cuDNN copies that load before the framework's own and do not satisfy it: (copy, folder)."""
    want = _wanted(ctx)
    if not ctx.linux or want is None:
        return []
    ld = ctx.env("LD_LIBRARY_PATH") or ""
    entries = [_norm(e, False) for e in ld.split(":") if e]
    loaded = _loaded_runtime(ctx)
    conda = _conda_prefix(ctx)
    out = []
    for copy in ctx.facts.cudnn:
        if not copy.location or copy.source in ("framework", "pip", "header", "conda"):
            continue
        if not _same_major(copy.version, want[0]) or _runtime_ok(copy.version, want[0]) is not False:
            continue  # another major has another soname (libcudnn.so.8 vs .9): it cannot shadow
        loc = _norm(copy.location, False)
        folder = next((e for e in entries if loc == e or _dirname(loc, False) == e), None)
        if folder is None and copy.extra.get("origin") == "LD_LIBRARY_PATH":
            folder = next((e for e in entries if loc.startswith(e + "/")), _dirname(loc, False))
        if folder is None and conda and loc.startswith(conda.rstrip("/") + "/") and loaded and _mm(loaded) == _mm(copy.version):
            # The conda interpreter's RPATH finds $CONDA_PREFIX/lib even without LD_LIBRARY_PATH.
            folder = loc if not loc.endswith((".so",)) and ".so." not in loc else _dirname(loc, False)
        if folder is not None:
            out.append((copy, folder))
    return out


def _conda_prefix(ctx: Ctx) -> str | None:
    py = ctx.facts.python
    cp = py.extra.get("conda_prefix") if py is not None else None
    return (cp if isinstance(cp, str) and cp else None) or ctx.env("CONDA_PREFIX")


def _without(value: str, folder: str, sep: str) -> str:
    return sep.join(p for p in value.split(sep) if p and _norm(p, sep == ";") != _norm(folder, sep == ";"))


def _ld_fix(ld: str, folder: str) -> str:
    rest = _without(ld, folder, ":")
    return f'export LD_LIBRARY_PATH="{rest}"' if rest else "unset LD_LIBRARY_PATH"


def cudnn_shadowed(ctx: Ctx) -> Iterable[Finding]:
    conda = _conda_prefix(ctx)
    want = _wanted(ctx)
    ld = ctx.env("LD_LIBRARY_PATH") or ""
    for copy, folder in _shadowing(ctx):
        in_conda = bool(conda and (folder + "/").startswith(conda.rstrip("/") + "/"))
        on_ld = folder in [_norm(e, False) for e in ld.split(":") if e]
        ev = ([f"LD_LIBRARY_PATH={ld}"] if ld else []) + [
            _("cuDNN {version} at {location}").format(version=copy.version, location=copy.location),
            want[1] if want else "",
        ] + _mismatch_lines(ctx)
        if in_conda:
            fix = _("Remove the conda copy so the right cuDNN loads: conda remove --force cudnn cudatoolkit "
                    "(in the environment {conda}).").format(conda=conda)
            if on_ld:
                fix = join_sentences([fix, _("Also take {folder} off LD_LIBRARY_PATH ({command}) and delete the line that adds it from "
                                             "{conda}/etc/conda/activate.d/env_vars.sh.").format(folder=folder, command=_ld_fix(ld, folder), conda=conda)])
            yield finding(
                "cudnn_shadowed_by_conda_lib",
                "error",
                _("An older cuDNN in the conda environment's lib folder is loaded before the framework's own"),
                evidence=ev,
                fix=fix,
                why=_("$CONDA_PREFIX/lib is searched first (through the conda interpreter's RPATH or LD_LIBRARY_PATH), "
                      "so its cuDNN wins over the one the framework needs."),
                folder=folder,
            )
        else:
            yield finding(
                "cudnn_shadowed_by_ld_library_path",
                "error",
                _("LD_LIBRARY_PATH puts an incompatible cuDNN in front of the framework's own"),
                evidence=ev,
                fix=_("Remove {folder} from LD_LIBRARY_PATH for this environment: {command} "
                      "(and delete it from ~/.bashrc or the module file that sets it).").format(folder=folder, command=_ld_fix(ld, folder)),
                why=_("The dynamic loader searches LD_LIBRARY_PATH before the wheel's own libraries."),
                folder=folder,
            )


def cudnn_shadowed_by_path_windows(ctx: Ctx) -> Iterable[Finding]:
    win = ctx.facts.windows
    if not ctx.native_windows or win is None or not win.dlls_on_path:
        return
    want = _wanted(ctx)
    path = ctx.env("PATH") or ""
    for dll, folders in win.dlls_on_path.items():
        if not re.fullmatch(r"cudnn64_\d+\.dll", dll.lower()) or not folders:
            continue
        first = folders[0]
        copy = next(
            (c for c in ctx.facts.cudnn if c.location and _norm(_dirname(c.location, True), True) in (_norm(first, True),)
             or c.location and _norm(c.location, True) == _norm(first, True)),
            None,
        )
        versions_seen = {c.version for c in ctx.facts.cudnn if c.location and any(
            _norm(c.location, True).startswith(_norm(f, True)) for f in folders)}
        bad = (copy is not None and want is not None and _same_major(copy.version, want[0])
               and _runtime_ok(copy.version, want[0]) is False)
        if want is not None and (_mm(want[0]) or (0,))[0] != int(re.search(r"cudnn64_(\d+)", dll.lower()).group(1)):
            continue  # cudnn64_8.dll cannot stand in for cuDNN 9 (or the reverse)
        texts = _mismatch_lines(ctx)
        if not bad and not (texts and len(folders) > 1 and len(versions_seen) > 1):
            continue
        good = next((f for f in folders[1:]), None)
        ev = [f"{dll}: " + " ; ".join(folders)]
        if copy is not None:
            ev.append(_("cuDNN {version} at {location}").format(version=copy.version, location=copy.location))
        if want:
            ev.append(want[1])
        if good:
            fix = _("Remove {folder} from PATH (Settings > System > About > Advanced system settings > Environment Variables), "
                    "or move {good} before it; then open a new terminal.").format(folder=first, good=good)
        else:
            fix = _("Remove {folder} from PATH (Settings > System > About > Advanced system settings > Environment Variables); "
                    "then open a new terminal.").format(folder=first)
        yield finding(
            "cudnn_shadowed_by_path_windows",
            "error",
            _("An incompatible {dll} comes first on PATH").format(dll=dll),
            evidence=ev + texts,
            fix=fix,
            why=_("Windows loads the first {dll} it finds along PATH, whatever its version.").format(dll=dll),
            folder=first,
            path_known=bool(path),
        )


def _needs_zlibwapi(ctx: Ctx, version: str | None) -> bool:
    major = (vtuple(version) or (None,))[0]
    facts = _cudnn_facts(ctx, major) if major is not None else None
    return facts is not None and facts.needs_zlibwapi(version)


def zlibwapi_missing(ctx: Ctx) -> Iterable[Finding]:
    if not ctx.native_windows:
        return
    lines = ctx.grep(ZLIB_LINES)
    win = ctx.facts.windows
    dlls = win.dlls_on_path if win is not None else None
    known_missing = dlls is not None and not dlls.get("zlibwapi.dll")
    # Which versions need zlibwapi.dll is manifest data (cuda.toml [[cudnn]] zlibwapi_from).
    needing = [c for c in ctx.facts.cudnn if c.source != "framework" and _needs_zlibwapi(ctx, c.version)]
    if not lines and not (known_missing and needing):
        return
    if lines and dlls is not None and dlls.get("zlibwapi.dll") and not any("zlibwapi" in line.lower() for line in lines):
        return  # zlibwapi is there; the cudnn_cnn_infer failure has another cause
    target = None
    if dlls:
        mains = [f.main_windows for f in (ctx.m.cudnn if ctx.m is not None else ()) if f.zlibwapi_from]
        target = next((folders[0] for name in mains for folders in [dlls.get(name)] if folders), None)
    lib = next((c.location for c in needing if c.source == "library" and c.location), None)
    if target is None and lib:
        target = ntpath.dirname(lib) if lib.lower().endswith(".dll") else lib
    ev = list(lines) + [_("cuDNN {version} at {location}").format(version=c.version, location=c.location) for c in needing]
    if known_missing:
        ev.append(_("zlibwapi.dll: not in any PATH folder"))
    yield finding(
        "zlibwapi_missing",
        "error" if lines else "warning",
        _("cuDNN 8 on Windows needs zlibwapi.dll, which is missing"),
        evidence=ev,
        fix=_(
            "Download zlib123dllx64.zip (http://www.winimage.com/zLibDll/zlib123dllx64.zip), and copy dll_x64\\zlibwapi.dll into {folder}."
        ).format(folder=target or _("the folder that holds cudnn64_8.dll")),
        why=_("cuDNN 8.3 and newer on Windows depend on zlibwapi.dll, which NVIDIA does not ship with it."),
    )
