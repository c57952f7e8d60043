"""`nktenv plan`: choose PyTorch / TensorFlow builds for this machine or a facts snapshot."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from nktenv.cli._common import FactsOpt, JsonOpt
from nktenv.errors import ExitCode, NktenvError

if TYPE_CHECKING:
    from nktenv.plan import FrameworkPlan, Plan


def _display_arg(arg: str) -> str:
    """Quote an argument for display so it pastes into bash, PowerShell and cmd alike."""
    if arg and not re.search(r"[\s\[\]<>|&;()*?'\"^%$`]", arg):
        return arg
    return '"' + arg.replace('"', '\\"') + '"'


def pip_command_text(plan: FrameworkPlan, python: str = "python") -> str:
    return " ".join(_display_arg(a) for a in plan.pip_command(python))


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        json_: JsonOpt = False,
        facts_file: FactsOpt = None,
        torch: Annotated[
            str, typer.Option("--torch", metavar="<version>", help="PyTorch release: latest, none, or a version such as 2.5.1.")
        ] = "latest",
        tensorflow: Annotated[
            str,
            typer.Option("--tensorflow", metavar="<version>", help="TensorFlow release: none, latest, or a version such as 2.15."),
        ] = "none",
        variant: Annotated[
            Optional[str],
            typer.Option(
                "--variant",
                metavar="<name>",
                help="PyTorch build: auto, cpu, cu126, cu130, rocm6.2, xpu ... (default: NKTENV_TORCH_BACKEND, else auto).",
                show_default=False,
            ),
        ] = None,
        python: Annotated[
            Optional[str],
            typer.Option(
                "--python",
                metavar="<X.Y>",
                help="Target Python version X.Y (default: the probed interpreter's).",
                show_default=False,
            ),
        ] = None,
        no_cpu_fallback: Annotated[
            bool,
            typer.Option(
                "--no-cpu-fallback", help="Fail instead of planning a CPU build when no GPU build qualifies."
            ),
        ] = False,
    ) -> None:
        """Pick the PyTorch and TensorFlow builds for this machine's driver and GPUs, and say why."""
        from nktenv.i18n import _
        from nktenv.manifest import load as load_manifests
        from nktenv.output import emit_json
        from nktenv.plan import PlanRequest, make_plan, torch_backend

        if python is not None and not re.fullmatch(r"\d+\.\d+(\.\d+)?", python.strip()):
            raise NktenvError(
                "bad-python-version",
                _("--python takes a version such as 3.10, not '{value}'.").format(value=python),
                hint=_(
                    "To plan for an interpreter, run `nktenv detect --python PATH --json > facts.json` and pass --facts facts.json."
                ),
                exit_code=ExitCode.USAGE,
            )
        for name, value, allowed in (
            ("--torch", torch, ("latest", "none")),
            ("--tensorflow", tensorflow, ("latest", "none")),
        ):
            if value.strip().lower() not in allowed and not re.fullmatch(
                r"\d+(\.\d+){0,2}([.]post\d+)?(\+[\w.]+)?", value.strip()
            ):
                raise NktenvError(
                    "bad-version",
                    _("{option} takes latest, none or a version such as 2.5.1, not '{value}'.").format(
                        option=name, value=value
                    ),
                    exit_code=ExitCode.USAGE,
                )
        import os

        chosen, from_env = torch_backend(variant, os.environ)
        facts = _facts(facts_file)
        manifests = load_manifests()
        request = PlanRequest(
            torch=torch,
            tensorflow=tensorflow,
            variant=chosen,
            python=python,
            cpu_fallback=not no_cpu_fallback,
            variant_from_env=from_env,
        )
        result = make_plan(facts, manifests, request)
        if json_:
            emit_json(result.to_dict())
        else:
            _render(result)
        if not result.ok:
            report_unmet(result)
            raise typer.Exit(int(ExitCode.FINDINGS))


def _facts(path):  # type: ignore[no-untyped-def]
    from nktenv import facts as facts_mod

    if path is not None:
        return facts_mod.load_file(str(path))
    from nktenv.i18n import _
    from nktenv.output import err_console
    from nktenv.probes import detect, open_seam

    with err_console().status(_("Probing the machine..."), spinner="dots"):
        return detect(open_seam(), frameworks=False)


def _render(result: Plan) -> None:
    from nktenv.i18n import _
    from nktenv.output import out_console
    from nktenv.wording import join_sentences

    con = out_console()
    for label, fw in (("PyTorch", result.torch), ("TensorFlow", result.tensorflow)):
        if fw is None:
            continue
        build = _("{label} {version} ({kind})").format(
            label=label,
            version=fw.version,
            kind=_("GPU build, {variant}").format(variant=fw.variant) if fw.gpu else _("CPU build"),
        )
        con.print(build, style="bold", markup=False, highlight=False)
        con.print("  " + pip_command_text(fw), markup=False, highlight=False, soft_wrap=True)
        if fw.reasons:
            con.print("  " + join_sentences(fw.reasons), markup=False, highlight=False, soft_wrap=True)
        con.print()
    styles = {"warning": "yellow", "info": "cyan"}
    for f in result.findings:
        if f.severity == "error":
            continue  # why the request cannot be met goes to stderr, see report_unmet
        template = {"warning": _("warning: {title}")}.get(f.severity, _("info: {title}"))
        line = template.format(title=f.title)
        piped = not con.is_terminal  # one line per sentence in a file or a paste, never cut at 80 columns
        con.print(line, style=styles.get(f.severity), markup=False, highlight=False, soft_wrap=piped)
        if f.fix:
            con.print("  " + _("fix: {fix}").format(fix=f.fix), markup=False, highlight=False, soft_wrap=piped)


def unmet_errors(result: Plan) -> list[tuple[str, str | None]]:
    """(message, hint) for each cause that keeps the plan from being met: one `error:` line each."""
    from nktenv.i18n import _

    causes = [(f.title, f.fix) for f in result.findings if f.severity == "error"]
    return causes or [(_("The request cannot be met on this machine."), None)]


def report_unmet(result: Plan) -> None:
    from nktenv.output import error_line

    for message, hint in unmet_errors(result):
        error_line(message, hint)
