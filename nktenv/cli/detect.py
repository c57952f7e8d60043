"""`nktenv detect`: probe this machine (or a recording) and show the facts."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Optional

import typer

from nktenv.cli._common import JsonOpt, PythonOpt, VenvOpt

if TYPE_CHECKING:
    from nktenv.facts import Facts

RecordOpt = Annotated[
    Optional[Path],
    typer.Option("--record", help="Also save every raw input the probes read into this new folder.", show_default=False),
]
ReplayOpt = Annotated[
    Optional[Path],
    typer.Option("--replay", help="Probe a recording made with --record instead of this machine.", show_default=False),
]
FromOpt = Annotated[
    Optional[List[str]],
    typer.Option("--from", help="Build the facts from pasted tool output (nvidia-smi, collect_env, pip list, a "
                 "traceback...) instead of probing; - reads stdin. Repeatable.", metavar="<file>", show_default=False),
]


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect(
        json_: JsonOpt = False,
        python: PythonOpt = None,
        venv: VenvOpt = None,
        no_frameworks: Annotated[
            bool, typer.Option("--no-frameworks", help="Skip the torch/TensorFlow check (fast).")
        ] = False,
        redact: Annotated[
            bool, typer.Option("--redact", help="Drop hostname, GPU UUIDs and user names (safe to paste in a chat).")
        ] = False,
        record: RecordOpt = None,
        replay: ReplayOpt = None,
        from_: FromOpt = None,
    ) -> None:
        """Probe the machine: OS, Python, NVIDIA driver and GPUs, CUDA, cuDNN, frameworks."""
        from nktenv.i18n import _
        from nktenv.output import emit_json, err_console, human_console

        if from_:
            from nktenv.errors import ExitCode, NktenvError
            from nktenv.paste import facts_from_pastes, read

            if python is not None or venv is not None or record is not None or replay is not None:
                raise NktenvError("usage", _("--from cannot be combined with --python, --venv, --record or --replay"),
                                  exit_code=ExitCode.USAGE)
            pasted = facts_from_pastes([read(p) for p in from_])
            if redact:
                from nktenv.probes import redact as redact_pasted

                pasted = redact_pasted(pasted)
            if json_:
                emit_json(pasted.to_dict())
            else:
                render(pasted, human_console(False))
            return
        from nktenv.probes import detect as run_detect
        from nktenv.probes import open_seam
        from nktenv.probes import redact as redact_facts
        from nktenv.probes import resolve_interpreter

        target = resolve_interpreter(python, venv)
        created = record is not None and not record.exists()
        seam = open_seam(record=record, replay=replay)
        overrides = {k: v for k, v in os.environ.items() if k.startswith("NKTENV_OVERRIDE_")}
        try:
            # Only the framework check is slow enough for a spinner; without it rich stays unloaded
            # in --json mode, which keeps `detect --json --no-frameworks` quick.
            status = err_console().status(_("Checking frameworks inside {python}...").format(
                python=target or sys.executable), spinner="dots") if not no_frameworks else nullcontext()
            with status:
                facts = run_detect(seam, python=target, frameworks=not no_frameworks,
                                   overrides=overrides if replay is not None else None)
        except BaseException:
            # Nothing half-done: an interrupted recording is removed.
            if created and record is not None:
                shutil.rmtree(record, ignore_errors=True)
            raise
        if redact:
            facts = redact_facts(facts)
        if json_:
            emit_json(facts.to_dict())
        else:
            render(facts, human_console(False))
        if record is not None:
            sys.stderr.write(_("Recording saved in {path}").format(path=str(record)) + "\n")


def _yes_no(value: Any) -> str:
    from nktenv.i18n import _

    if value is None:
        return _("unknown")
    return _("yes") if value else _("no")


def _gib(n: int | None) -> str:
    return "" if n is None else f"{n / 1024 ** 3:.1f} GiB"


def render(facts: Facts, console: Any) -> None:
    """A compact table of the facts (people's view; the JSON is the data)."""
    from rich.table import Table

    from nktenv.i18n import _
    from nktenv.wording import join_list

    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    o = facts.os
    os_text = " ".join(x for x in (o.distro or o.system, o.release or "", o.arch or "") if x)
    if o.wsl:
        os_text = _("{os} (WSL)").format(os=os_text)
    if o.container:
        os_text = _("{os} (container)").format(os=os_text)
    t.add_row(_("OS"), os_text)
    if o.secure_boot is not None:
        t.add_row(_("Secure Boot"), _yes_no(o.secure_boot))
    if facts.python:
        p = facts.python
        t.add_row(_("Python"), f"{p.version or '?'} ({p.kind or '?'}) {p.executable or ''}")
    if facts.cpu:
        c = facts.cpu
        t.add_row(_("CPU"), _("{model}, {cores} cores").format(model=c.model or "?", cores=c.logical_cores or "?"))
    if facts.memory and facts.memory.total_bytes:
        t.add_row(_("Memory"), _gib(facts.memory.total_bytes))
    # A snapshot built from pastes lists what no paste spoke of: "unknown", not "none".
    unknown = set((facts.extra.get("pasted") or {}).get("unknown") or ())
    d = facts.driver
    if d is None and "driver" in unknown:
        t.add_row(_("NVIDIA driver"), _("unknown"))
    elif d is None or not d.version:
        t.add_row(_("NVIDIA driver"), _("not found"))
    else:
        t.add_row(_("NVIDIA driver"), _("{version} (from {source})").format(version=d.version or "?",
                                                                             source=d.source or "?"))
        if d.cuda_version:
            t.add_row(_("Driver CUDA"), _("up to {version} (the driver's ceiling, not an installed toolkit)").format(
                version=d.cuda_version))
        km = d.kernel_module
        if km and (km.version or km.flavor):
            t.add_row(_("Kernel module"), f"{km.version or '?'} ({km.flavor or '?'})")
    if d is not None:
        if d.nouveau_loaded:
            t.add_row(_("nouveau"), _("loaded"))
        for err in d.errors:
            t.add_row(_("Driver error"), err.splitlines()[0] if err else "")
    for g in facts.gpus:
        mem = _gib(g.memory_total_bytes)
        t.add_row(_("GPU {index}").format(index=g.index if g.index is not None else "?"),
                  " ".join(x for x in (g.name or "?", f"sm_{g.compute_capability.replace('.', '')}"
                                       if g.compute_capability else (g.arch or ""), mem) if x))
    if not facts.gpus:
        t.add_row(_("GPUs"), _("unknown") if "gpus" in unknown else _("none found"))
    for tk in facts.cuda_toolkits:
        t.add_row(_("CUDA toolkit"), f"{tk.version or '?'}  {tk.root or ''}")
    if not facts.cuda_toolkits:
        t.add_row(_("CUDA toolkit"), _("unknown") if "cuda_toolkits" in unknown else _("none installed"))
    for c in facts.cudnn:
        t.add_row(_("cuDNN"), f"{c.version or '?'}  ({c.source or '?'}) {c.location or ''}")
    if facts.windows:
        w = facts.windows
        t.add_row(_("Long paths"), _yes_no(w.long_paths_enabled))
        t.add_row(_("VC++ runtime"), w.vc_runtime_version or _("not found"))
    fw = facts.frameworks
    if fw is not None:
        for name, f in (("torch", fw.torch), ("tensorflow", fw.tensorflow)):
            if f is None:
                t.add_row(name, _("unknown") if name in (fw.extra.get("not_pasted") or ()) else _("not installed"))
                continue
            if f.error and not f.version:
                t.add_row(name, _("broken: {error}").format(error=f.error.splitlines()[-1]))
                continue
            # Pasted facts may say nothing about the build: unknown is not "CPU-only".
            build = f"CUDA {f.cuda}" if f.cuda else (_("CPU-only build") if f.is_cuda_build is False else "")
            gpu = _("GPU works") if f.kernel_ok else (_("GPU check failed") if f.kernel_ok is False
                                                      else (_("no GPU visible") if f.cuda_available is False else ""))
            t.add_row(name, join_list(x for x in (f.version or "?", build, gpu) if x))
    errors = facts.extra.get("probe_errors") or {}
    for probe, text in errors.items():
        t.add_row(_("Probe failed"), f"{probe}: {text}")
    from nktenv.termtable import print_table

    print_table(console, t)  # piped: no padding to the table width
