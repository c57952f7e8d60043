"""`nktenv setup`: probe, plan, show, confirm, build atomically, verify, remember."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from nktenv.cli._common import JsonOpt
from nktenv.errors import ExitCode, NktenvError

if TYPE_CHECKING:
    from rich.console import Console

    from nktenv.setup.apply import SetupRequest
    from nktenv.setup.verify import Verification

SCHEMA = "nktenv.setup/1"


def register(app: typer.Typer) -> None:
    @app.command("setup")
    def setup(
        venv: Annotated[Optional[Path], typer.Option("--venv", help="Folder of the environment to make (default: .venv here).", show_default=False)] = None,
        python: Annotated[Optional[str], typer.Option("--python", metavar="<path|X.Y>", help="Base interpreter: a path to python, or a version such as 3.11.", show_default=False)] = None,
        torch: Annotated[str, typer.Option("--torch", metavar="<version>", help="PyTorch version, latest, or none.")] = "latest",
        tensorflow: Annotated[str, typer.Option("--tensorflow", metavar="<version>", help="TensorFlow version, latest, or none.")] = "none",
        variant: Annotated[Optional[str], typer.Option("--variant", metavar="<name>", help="Build variant (cu126, cpu, ...) or auto (default: NKTENV_TORCH_BACKEND, else auto).", show_default=False)] = None,
        installer: Annotated[str, typer.Option("--installer", metavar="<uv|pip|auto>", help="uv, pip, or auto (uv when available).")] = "auto",
        index_url: Annotated[Optional[str], typer.Option("--index-url", metavar="<url>", help="Package index to use instead of the plan's (a lab mirror).", show_default=False)] = None,
        extra_index_url: Annotated[Optional[list[str]], typer.Option("--extra-index-url", metavar="<url>", help="Additional package index (repeatable).", show_default=False)] = None,
        find_links: Annotated[Optional[list[str]], typer.Option("--find-links", metavar="<dir|url>", help="Folder or URL of wheels to use too (repeatable).", show_default=False)] = None,
        wheelhouse: Annotated[Optional[str], typer.Option("--wheelhouse", metavar="<dir|url>", help="Install only from a wheelhouse made by nktenv wheelhouse build; no index is contacted.", show_default=False)] = None,
        without: Annotated[Optional[list[str]], typer.Option("--without", metavar="<package>", help="Leave a planned companion package out, e.g. torchaudio (repeatable).", show_default=False)] = None,
        allow_insecure_index: Annotated[bool, typer.Option("--allow-insecure-index", help="Accept an http:// index that is not on this machine.")] = False,
        from_lock: Annotated[Optional[Path], typer.Option("--from-lock", help="Replay a lock written by an earlier setup (.nktenv/lock.json).", show_default=False)] = None,
        allow_cpu: Annotated[bool, typer.Option("--allow-cpu", help="Install the CPU build when no GPU build fits a machine that has an NVIDIA GPU (refused otherwise).")] = False,
        no_index: Annotated[bool, typer.Option("--no-index", help="Install only from the --find-links folders, without any package index (offline).")] = False,
        force: Annotated[bool, typer.Option("--force", help="Rebuild even when the environment is already correct.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and the exact commands, change nothing.")] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
        no_bench: Annotated[bool, typer.Option("--no-bench", help="Skip the quick benchmark at the end.")] = False,
        list_: Annotated[bool, typer.Option("--list", help="List the environments nktenv has made and exit.")] = False,
        json_: JsonOpt = False,
    ) -> None:
        """Make a verified PyTorch/TensorFlow environment from the plan for this machine."""
        from nktenv.output import emit_json, human_console

        out = human_console(json_)
        if list_:
            _list(out, json_)
            return
        doc, code = _run(
            out,
            venv=venv, python=python, torch=torch, tensorflow=tensorflow, variant=variant, installer=installer,
            index_url=index_url, extra_index_url=extra_index_url or [], find_links=find_links or [],
            without=without or [], allow_insecure_index=allow_insecure_index, from_lock=from_lock, force=force, dry_run=dry_run, yes=yes,
            no_bench=no_bench, json_mode=json_, allow_cpu=allow_cpu, no_index=no_index, wheelhouse=wheelhouse,
        )
        if json_:
            emit_json(doc)
        if code != ExitCode.OK:
            raise typer.Exit(int(code))


def _list(out: Console, json_mode: bool) -> None:
    from nktenv.i18n import _
    from nktenv.output import emit_json
    from nktenv.setup import registry

    envs = registry.environments()
    if json_mode:
        emit_json({"schema": "nktenv.environments/1", "ok": True,
                   "environments": [dict(e.to_dict(), exists=e.exists) for e in envs]})
        return
    if not envs:
        out.print(_("No environments made by nktenv yet."))
        return
    from nktenv.wording import join_list

    # One block per environment: the path is what people copy, so it stands whole on its own line.
    out.print(_("Environments made by nktenv (last one is the default for doctor and bench):"))
    for e in envs:
        out.print("  " + (e.path if e.exists else _("{path} (deleted)").format(path=e.path)), markup=False, soft_wrap=True)
        frameworks = [f"torch {e.torch}" + (f" ({e.variant})" if e.variant else "") if e.torch else None,
                      f"tensorflow {e.tensorflow}" if e.tensorflow else None]
        details = [_("Python {version}").format(version=e.python_version) if e.python_version else None,
                   *frameworks, e.installer,
                   _("updated {when}").format(when=e.updated_at[:16].replace("T", " ")) if e.updated_at else None]
        out.print("      " + join_list(d for d in details if d), markup=False)


def has_nvidia_gpu(facts: Any) -> bool:
    """The machine has an NVIDIA GPU, even one CUDA cannot use now (no driver, NVML hanging)."""
    if any(getattr(g, "vendor", None) in (None, "nvidia") and (g.name or g.compute_capability)
           for g in getattr(facts, "gpus", None) or ()):
        return True
    driver = getattr(facts, "driver", None)
    module = getattr(driver, "kernel_module", None) if driver is not None else None
    # A loaded nvidia.ko with a version: the driver only binds to a GPU that is there.
    return bool(getattr(driver, "version", None) or getattr(module, "version", None))


def _refuse_cpu_fallback(err: Console, plan: Any) -> None:
    """A CPU build planned because no GPU build fits, on a machine with an NVIDIA GPU: refuse, say why."""
    from nktenv.i18n import _
    from nktenv.wording import join_sentences

    cpu = [(label, fw) for label, fw in (("torch", plan.torch), ("TensorFlow", plan.tensorflow)) if fw is not None and not fw.gpu]
    for _label, fw in cpu:
        if fw.reasons:
            err.print("  " + join_sentences(fw.reasons), markup=False, soft_wrap=True)
    unlock = [f.title for f in plan.findings if f.code == "driver_upgrade_unlocks"]
    unlock += list(dict.fromkeys(f.fix for f in plan.findings if f.code == "cpu_fallback" and f.fix))
    frameworks = " / ".join(label for label, _fw in cpu)
    raise NktenvError(
        "gpu-build-unavailable",
        _("No GPU build of {frameworks} fits this machine, although it has an NVIDIA GPU; setup does not install the CPU build in its place.").format(
            frameworks=frameworks),
        hint=join_sentences([*unlock, _("To install the CPU build anyway, run the same command with --allow-cpu.")]),
        exit_code=ExitCode.FINDINGS,
    )


def _plan_spec(interpreter: Any, *, torch: str, tensorflow: str, variant: str | None,
               allow_cpu: bool = False) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Probe and plan; returns (spec, facts dict, plan dict). Raises when the plan cannot be met."""
    from nktenv.i18n import _

    try:
        from nktenv import manifest
        from nktenv.plan import PlanRequest, make_plan
        from nktenv.probes import detect, open_seam
    except ImportError as exc:
        raise NktenvError(
            "planner-unavailable",
            _("Planning is not available in this nktenv build ({reason}).").format(reason=exc),
            hint=_("Use --from-lock FILE to replay a lock instead."),
            exit_code=ExitCode.USAGE,
        ) from None
    from nktenv.setup.spec import spec_from_plan

    err = _err()
    with err.status(_("Probing this machine…")):
        facts = detect(open_seam(), python=interpreter.path, frameworks=False)
    import os

    from nktenv.plan import torch_backend

    chosen, from_env = torch_backend(variant, os.environ)
    plan = make_plan(facts, manifest.load(), PlanRequest(
        torch=torch, tensorflow=tensorflow, variant=chosen, python=interpreter.version, cpu_fallback=True,
        variant_from_env=from_env))
    plan_doc = plan.to_dict()
    nvidia = has_nvidia_gpu(facts)
    if not plan.ok:
        from nktenv.cli.plan import unmet_errors
        from nktenv.output import error_line

        _render_findings(err, [f for f in plan.findings if f.severity != "error"])
        _render_driver(err, facts, plan.findings)
        # One error line per cause (the plan's own words), never a second line restating it.
        *others, (message, hint) = unmet_errors(plan)
        for other, other_hint in others:
            error_line(other, other_hint)
        raise NktenvError("plan-not-met", message,
                          hint=hint or _("Run nktenv plan for the details, or change --torch/--tensorflow/--variant."),
                          exit_code=ExitCode.FINDINGS)
    # Without an NVIDIA GPU the CPU build is simply the right build, not a fallback worth a warning.
    shown = [f for f in plan.findings if nvidia or f.code != "cpu_fallback"]
    if shown:
        _render_findings(err, shown)
    fallback = any(fw is not None and not fw.gpu for fw in (plan.torch, plan.tensorflow))
    if nvidia and fallback and not allow_cpu and chosen != "cpu":
        _render_driver(err, facts, plan.findings)
        _refuse_cpu_fallback(err, plan)
    if getattr(plan, "separate_venvs", False) and plan.torch is not None and plan.tensorflow is not None:
        raise NktenvError(
            "separate-venvs",
            _("PyTorch and TensorFlow need different CUDA libraries here and must go into separate environments."),
            hint=_("Run setup twice: --venv DIR1 --tensorflow none, then --venv DIR2 --torch none --tensorflow {version}.").format(
                version=plan.tensorflow.version),
            exit_code=ExitCode.USAGE,
        )
    spec = spec_from_plan(plan)
    if not spec.requirements:
        raise NktenvError("nothing-to-install", _("Nothing to install: both --torch and --tensorflow are none."),
                          exit_code=ExitCode.USAGE)
    return spec, facts.to_dict(), plan_doc


def _can_ask() -> bool:
    return sys.stdin.isatty()


def _interrupted(line: str) -> NoReturn:
    """Ctrl-C inside setup: one line that says what state the machine is in, exit 130."""
    from nktenv.cli._common import interrupted_document, json_requested
    from nktenv.output import emit_json

    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    if json_requested():
        emit_json(interrupted_document(line))
    raise typer.Exit(int(ExitCode.INTERRUPTED))


def _err() -> Console:
    from nktenv.output import err_console

    return err_console()


def _render_findings(con: Console, findings: Any) -> None:
    from nktenv.i18n import _

    for f in findings or ():
        severity = getattr(f, "severity", "info")
        template = {"error": _("[error] {title}"), "warning": _("[warning] {title}")}.get(severity, _("[info] {title}"))
        con.print(template.format(title=_(getattr(f, "title", str(f)))), markup=False, soft_wrap=not con.is_terminal)
        fix = getattr(f, "fix", None)
        if fix:
            con.print("    " + _("fix: {fix}").format(fix=_(fix)), markup=False, soft_wrap=not con.is_terminal)


def _render_driver(con: Console, facts: Any, findings: Any) -> None:
    from nktenv.i18n import _
    from nktenv.setup.driver import instructions, needs_driver_change

    need = needs_driver_change(findings or ())
    if need is None:
        return
    os_facts = getattr(facts, "os", None)
    con.print(_("The NVIDIA driver must change; nktenv never installs drivers. Do this yourself:"))
    for line in instructions(getattr(os_facts, "system", sys.platform), wsl=bool(getattr(os_facts, "wsl", False)),
                             min_driver=need or None, distro=getattr(os_facts, "distro", None)):
        con.print("  - " + line, markup=False)


class _Progress:
    """Rich progress on stderr: one line per step; the installer's latest download/install line."""

    def __init__(self, con: Console, log_path: Path) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=con, transient=False)
        self.task: Any = None
        self.base = ""
        self.con = con
        self.log_path = log_path

    def __enter__(self) -> _Progress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self.progress.stop()

    def _finish(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=self.base, completed=1, total=1)

    def step(self, name: str, text: str) -> None:
        from nktenv.i18n import _

        if name == "venv":  # only a real build writes a log
            self.progress.console.print(_("Full installer log: {path}").format(path=self.log_path), markup=False, soft_wrap=True)
        self._finish()
        self.base = text
        self.task = self.progress.add_task(text, total=None)

    def line(self, text: str) -> None:
        from nktenv.setup.progress import interesting

        shown = interesting(text)
        if shown and self.task is not None:
            self.progress.update(self.task, description=f"{self.base} — {shown}")


def _run(out: Console, *, venv: Path | None, python: str | None, torch: str, tensorflow: str, variant: str,
         installer: str, index_url: str | None, extra_index_url: list[str], find_links: list[str],
         without: list[str], allow_insecure_index: bool, from_lock: Path | None, force: bool, dry_run: bool, yes: bool,
         no_bench: bool, json_mode: bool, allow_cpu: bool = False, no_index: bool = False,
         wheelhouse: str | None = None) -> tuple[dict[str, Any], ExitCode]:
    from nktenv.i18n import _
    from nktenv.setup import interpreters
    from nktenv.setup.apply import SetupRequest, VerificationFailed, apply, check_target, load_lock_file, new_log_path, planned_commands
    from nktenv.setup.backends import find_uv, resolve_backend
    from nktenv.setup.spec import absolute_links, check_sources

    err = _err()
    target = Path(os.path.abspath(venv if venv is not None else Path(".venv")))
    check_target(target)  # refuse a foreign folder before any slow work
    backend, backend_source = resolve_backend(installer)
    facts_doc: dict[str, Any] | None = None
    plan_doc: dict[str, Any] | None = None
    if from_lock is not None:
        spec, lock_python = load_lock_file(from_lock)
        interpreter = interpreters.find(python or (".".join(lock_python.split(".")[:2]) if lock_python else None), uv=find_uv())
        if lock_python and interpreter.minor != ".".join(lock_python.split(".")[:2]):
            err.print(_("warning: the lock was made with Python {locked}, this environment uses {used}").format(
                locked=lock_python, used=interpreter.version), markup=False)
        origin = "lock"
    else:
        interpreter = interpreters.find(python, uv=find_uv())
        spec, facts_doc, plan_doc = _plan_spec(interpreter, torch=torch, tensorflow=tensorflow, variant=variant,
                                               allow_cpu=allow_cpu)
        origin = "plan"
    if wheelhouse:  # before anything is made: a missing file leaves nothing behind
        from nktenv.wheelhouse import setup_spec, this_platform

        spec = setup_spec(spec, wheelhouse, python=interpreter.minor, platform=this_platform(facts_doc))
    spec = spec.without(without).with_sources(index_url=index_url, extra_index_urls=extra_index_url,
                                              find_links=absolute_links(find_links))
    if no_index:
        if not spec.find_links:
            raise NktenvError("no-index-without-links", _("--no-index needs a wheel folder: give it with --find-links DIR."),
                              exit_code=ExitCode.USAGE)
        from dataclasses import replace

        spec = replace(spec, no_index=True, index_url=None, extra_index_urls=())
    check_sources(spec, allow_insecure=allow_insecure_index)
    request = SetupRequest(venv=target, interpreter=interpreter, spec=spec, backend=backend, force=force,
                           facts=facts_doc, plan=plan_doc, origin=origin)
    commands = planned_commands(request)
    base_doc: dict[str, Any] = {
        "schema": SCHEMA, "venv": str(target), "interpreter": {"path": interpreter.path, "version": interpreter.version},
        "installer": {"name": backend.name, "source": backend_source}, "origin": origin,
        "spec": spec.to_dict(), "plan": plan_doc, "commands": commands,
    }
    _show(out, request, commands, backend_source)
    if dry_run:
        out.print(_("Dry run: nothing was changed."))
        return {**base_doc, "ok": True, "dry_run": True, "status": "planned"}, ExitCode.OK
    if not yes:
        if json_mode or not _can_ask():
            raise NktenvError("confirmation-needed", _("Setup changes this machine; pass --yes to go ahead without a question."),
                              exit_code=ExitCode.USAGE)
        try:
            go = typer.confirm(_("Create this environment?"), default=True, err=True)
        except (typer.Abort, KeyboardInterrupt):  # Ctrl-C (or end of input) at the question
            _interrupted(_("Cancelled; nothing was changed."))
        if not go:
            raise NktenvError("cancelled", _("Cancelled; nothing was changed."), exit_code=ExitCode.FINDINGS)
    log_path = new_log_path(target)
    try:
        with _Progress(err, log_path) as progress:
            result = apply(request, reporter=progress, log_path=log_path)
    except KeyboardInterrupt:  # apply has removed its staging folder and left --venv as it was
        _interrupted(_("interrupted; nothing was left behind: {path} is as it was before.").format(path=target))
    except VerificationFailed as exc:
        findings = _doctor_on_evidence(facts_doc, exc.verification)
        _render_findings(err, findings)
        doc = {**base_doc, "ok": False, "status": "failed", "log": str(exc.log_path),
               "error": {"code": exc.code, "message": exc.message, "hint": exc.hint},
               "verification": exc.verification.to_dict(), "probe": exc.verification.probe,
               "findings": [f.to_dict() for f in findings]}
        from nktenv.output import error_line

        error_line(exc.message, exc.hint)
        return doc, ExitCode.FINDINGS
    except NktenvError as exc:
        if exc.code != "no-network":
            raise
        keep = [*(["--venv", str(venv)] if venv is not None else []), *(["--python", python] if python else []),
                *(["--installer", installer] if installer != "auto" else []),
                *(a for name in without for a in ("--without", name)),
                *(["--from-lock", str(from_lock)] if from_lock is not None else [])]
        raise _offline_error(exc, spec, interpreter.version, log_path, keep=keep, from_lock=from_lock is not None) from None
    doc = {**base_doc, **result.to_dict(), "ok": True, "installer": {"name": result.installer, "source": backend_source}}
    if result.status == "unchanged":
        out.print(_("{path} is already set up as planned; nothing to do (use --force to rebuild).").format(path=target), markup=False)
    else:
        assert result.verification is not None
        for check in result.verification.checks:
            line = _("  ok   {check}: {detail}") if check.ok else _("  FAIL {check}: {detail}")
            out.print(line.format(check=check.name, detail=check.detail), markup=False)
        out.print(_("Environment ready: {path}").format(path=target), markup=False)
    out.print(_("Activate it with: {command}").format(command=_activate_hint(target)), markup=False)
    doc["bench"] = None if no_bench else _quick_bench(err, result, spec.frameworks)
    if doc["bench"] is not None and doc["bench"].get("interrupted"):
        # The environment was built and verified; only its proof is missing, and one command gives it.
        finish = ["nktenv", "bench", "--quick", *(["--venv", str(target)] if venv is not None else [])]
        from nktenv.setup.process import format_command

        err.print(_("interrupted"), markup=False)
        err.print(_("The environment {path} was built and verified and stays; only the quick benchmark was cut short.").format(
            path=target), markup=False, soft_wrap=True)
        err.print(_("To finish, run: {command}").format(command=format_command(finish)), markup=False, soft_wrap=True)
        doc.update(ok=False, interrupted=True, finish=finish)
        return doc, ExitCode.INTERRUPTED
    if doc["bench"] is not None and doc["bench"].get("ok") is False:
        from nktenv.output import error_line

        doc["ok"] = False
        if result.verification is not None:
            doc["findings"] = [f.to_dict() for f in _doctor_on_evidence(facts_doc, result.verification)]
            _render_findings(err, _doctor_on_evidence(facts_doc, result.verification))
        error_line(_("The environment is installed, but the quick benchmark failed: this machine is not set up yet."),
                   _("Run nktenv doctor, then nktenv bench --quick to check again."))
        return doc, ExitCode.FINDINGS
    return doc, ExitCode.OK


def _offline_error(exc: NktenvError, spec: Any, python_version: str, log_path: Path, *, keep: list[str],
                   from_lock: bool) -> NktenvError:
    """The index was out of reach: name the host, what the wheel folders lack, and the command that works offline."""
    from nktenv.i18n import _
    from nktenv.setup import offline
    from nktenv.setup.process import format_command
    from nktenv.wording import join_alternatives, join_sentences

    hosts = list(getattr(exc, "hosts", None) or [])
    log = _("The full log is {path}.").format(path=log_path)
    host = join_alternatives(hosts) if hosts else _("the package index")
    if not spec.find_links:
        hint = _("Check the network or proxy to {host}, or put the wheels in a folder and run the same command with --find-links DIR --no-index.").format(host=host)
        return NktenvError(exc.code, exc.message, hint=join_sentences([hint, log]), exit_code=exc.exit_code)
    folders = offline.report(spec.requirements, spec.find_links, python_version)
    if from_lock:
        command = ["nktenv", "setup", *keep, *(a for link in spec.find_links for a in ("--find-links", link)), "--no-index"] \
            if folders.complete else None
    else:
        frameworks = [f for f in spec.frameworks if f in ("torch", "tensorflow")]
        companions = [offline.canonical(r) for r in spec.requirements if offline.canonical(r) not in frameworks]
        command = offline.offline_command(folders, frameworks=frameworks, companions=companions,
                                          find_links=spec.find_links, keep=keep)
    parts = [_("{missing}.").format(missing=m) for m in folders.missing] or [_("The wheel folder holds every requirement.")]
    if command:  # last, so it can be copied as it stands
        parts += [log, _("With what is on disk: {command}").format(command=format_command(command))]
    else:
        parts += [_("Put the missing wheels in the folder (pip download on a machine with network), or check the network or proxy to {host}.").format(host=host), log]
    return NktenvError(exc.code, exc.message, hint=join_sentences(parts), exit_code=exc.exit_code)


def _activate_hint(target: Path) -> str:
    from nktenv.setup.process import format_command

    if sys.platform == "win32":
        return format_command([str(target / "Scripts" / "activate")])
    return "source " + format_command([str(target / "bin" / "activate")])


def _show(out: Console, request: SetupRequest, commands: list[list[str]], backend_source: str) -> None:
    from nktenv.i18n import _
    from nktenv.setup.process import format_command

    spec = request.spec
    out.print(_("Environment: {path}").format(path=request.venv), markup=False)
    out.print(_("Python: {version} ({path})").format(version=request.interpreter.version, path=request.interpreter.path), markup=False)
    for name, version in spec.versions.items():
        out.print(_("{framework}: {version}").format(framework=name, version=version or "?"), markup=False)
    out.print(_("GPU expected: {answer}").format(answer=_("yes") if spec.gpu else _("no (CPU build)")), markup=False)
    installer = {
        "option": _("Installer: {name} (chosen with --installer)"),
        "env": _("Installer: {name} (set by NKTENV_INSTALLER)"),
    }.get(backend_source, _("Installer: {name} (chosen automatically)"))
    out.print(installer.format(name=request.backend.name), markup=False)
    out.print(_("Commands:"), markup=False)
    for argv in commands:
        out.print("  " + format_command(argv), markup=False, soft_wrap=True)


def _doctor_on_evidence(facts_doc: dict[str, Any] | None, verification: Verification) -> list[Any]:
    """Run doctor on the facts plus what the new venv's check reported; [] when doctor is unavailable."""
    try:
        from nktenv import manifest
        from nktenv.doctor import diagnose
        from nktenv.facts import Facts
    except ImportError:
        return []
    data = dict(facts_doc or {})
    frameworks = dict(data.get("frameworks") or {})
    for name, entry in (verification.frameworks or {}).items():
        if isinstance(entry, dict):
            frameworks[name] = {k: v for k, v in entry.items() if k not in ("traceback", "devices", "kernel_error")}
    data["frameworks"] = frameworks
    # What the failed checks printed is evidence too (e.g. torchvision's "operator ... does not exist").
    data["logs"] = [*(data.get("logs") or []),
                    *({"text": c.detail, "source": "verification"} for c in verification.failures if c.detail)]
    try:
        return list(diagnose(Facts.from_dict(data), manifest.load()))
    except Exception:  # doctor is advice on top of the failure already reported; never mask it
        return []


def _quick_bench(err: Console, result: Any, frameworks: tuple[str, ...]) -> dict[str, Any] | None:
    """`nktenv bench --quick` in the new environment; None when skipped (nothing to run, or no bench)."""
    if not frameworks or result.status == "unchanged":
        return None  # a no-op stays a no-op: the environment was proven when it was made
    try:
        from nktenv.bench import run_quick
    except ImportError:
        return None
    from nktenv.i18n import _

    try:
        from nktenv.bench.render import BenchProgress

        err.print(_("Running the quick benchmark in the new environment…"), markup=False)
        with BenchProgress(err) as progress:  # the same bars as `nktenv bench`: steps and time left
            bench = run_quick(result.python, frameworks=frameworks, on_event=progress.on_event)
    except KeyboardInterrupt:
        bench = None
    if bench is None or bench.interrupted:
        # Not stored: a run cut short proves nothing, and `nktenv bench --quick` stores the whole one.
        return {"ok": False, "passed": None, "interrupted": True, "verdicts": [], "id": None, "stored_in": None}
    verdicts = bench.verdicts
    for v in verdicts:
        err.print(f"  {v.get('framework', '?')}: {v.get('text', '')}", markup=False)
    # No verdict (no GPU) still needs the CPU half to have run: a framework that cannot train is not set up.
    trained = any(r.get("status") == "ok" for r in bench.document.get("rows", []))
    summary = {"ok": bench.passed is not False and not bench.interrupted and trained, "passed": bench.passed,
               "interrupted": bench.interrupted, "verdicts": verdicts, "id": bench.document.get("id"),
               "stored_in": None}
    # Stored like any `nktenv bench` run, so `nktenv compare` sees the machine's first proof.
    from nktenv.bench import store as bench_store

    try:
        summary["stored_in"] = str(bench_store.save(bench.document))
    except Exception as exc:  # sqlite3.Error, OSError, an incomplete document: the verdict still stands
        err.print(_("warning: could not store the result in {path}: {error}").format(
            path=bench_store.default_path(), error=f"{type(exc).__name__}: {exc}"), markup=False)
    return summary
