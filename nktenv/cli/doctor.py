"""`nktenv doctor`: probe (or read a snapshot), diagnose, and say exactly what to do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Optional

import typer

from nktenv.cli._common import FactsOpt, JsonOpt, PythonOpt, VenvOpt
from nktenv.errors import ExitCode, NktenvError

if TYPE_CHECKING:
    from nktenv.facts import Facts, LogText
    from nktenv.findings import Finding

SCHEMA_ID = "nktenv.doctor/1"
# The framework check imports torch/TensorFlow and runs a kernel; doctor gives it at most this long.
DEFAULT_FRAMEWORK_TIMEOUT_S = 120.0
MAX_LOG_BYTES = 2_000_000

LogOpt = Annotated[
    Optional[List[Path]],
    typer.Option("--log", help="Add a text you hit (pip output, a traceback) to the evidence. Repeatable.",
                 metavar="<file>", show_default=False),
]
ReplayOpt = Annotated[
    Optional[Path],
    typer.Option("--replay", help="Diagnose a recording made with `nktenv detect --record DIR` instead of this machine.",
                 metavar="<dir>", show_default=False),
]
FromOpt = Annotated[
    Optional[List[str]],
    typer.Option("--from", help="Diagnose from pasted tool output (nvidia-smi, collect_env, pip list, a traceback...) "
                 "instead of this machine; - reads stdin. Repeatable.", metavar="<file>", show_default=False),
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Seconds the framework check may take before it is stopped and reported.", min=5.0,
                 metavar="<seconds>"),
]


def read_log(path: Path) -> LogText:
    """One `--log FILE` as evidence; every failure is one clear line (exit 5)."""
    from nktenv.facts import LogText
    from nktenv.i18n import _

    try:
        raw = path.read_bytes()[:MAX_LOG_BYTES]
    except FileNotFoundError:
        raise NktenvError("log-not-found", _("log file not found: {path}").format(path=str(path)),
                          exit_code=ExitCode.BAD_DATA) from None
    except OSError as exc:
        raise NktenvError("log-unreadable", _("cannot read log file {path}: {reason}").format(
            path=str(path), reason=exc.strerror or str(exc)), exit_code=ExitCode.BAD_DATA) from None
    # Logs come from anywhere, decoded as pasted text is (UTF-8 with or without BOM, PowerShell's
    # UTF-16, a Japanese console's cp932) but kept verbatim otherwise: they are evidence.
    from nktenv.paste.decode import decode_bytes

    return LogText(text=decode_bytes(raw), source=path.name)


def _probe(python: Path | None, venv: Path | None, replay: Path | None, timeout: float) -> Facts:
    from nktenv.i18n import _
    from nktenv.output import err_console
    from nktenv.probes import detect, open_seam, resolve_interpreter

    target = resolve_interpreter(python, venv)
    if target is None and replay is None:
        target = _last_setup_python()
    seam = open_seam(replay=replay)
    with err_console().status(_("Probing the machine..."), spinner="dots"):
        return detect(seam, python=target, frameworks=True, framework_timeout=timeout)


def _last_setup_python() -> str | None:
    """The interpreter of the last environment `nktenv setup` made, if any."""
    try:
        from nktenv.setup.registry import last_python
    except ImportError:
        return None
    try:
        return last_python()
    except NktenvError:
        return None


def document(facts: Facts, findings: list[Finding]) -> dict[str, Any]:
    from nktenv.doctor import ok

    return {
        "schema": SCHEMA_ID,
        "ok": ok(findings),
        "facts": facts.to_dict(),
        "findings": [f.to_dict() for f in findings],
    }


_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan"}


def render_findings(findings: list[Finding], summary: str, console: Any) -> None:
    from rich.markup import escape

    from nktenv.i18n import _

    labels = {"error": _("ERROR"), "warning": _("WARNING"), "info": _("INFO")}
    for f in findings:
        console.print()
        # piped (pasted into a chat, saved to a file): one line per title, never cut at 80 columns
        console.print(f"[{_STYLE[f.severity]}]{labels[f.severity]}[/] {escape(f.title)} [dim]({f.code})[/]",
                      soft_wrap=not console.is_terminal)
        for ev in f.evidence:
            console.print("  [dim]" + escape(_("evidence:")) + "[/] " + escape(ev), soft_wrap=True)
        if f.fix:
            console.print("  [bold]" + escape(_("fix:")) + "[/] " + escape(f.fix), soft_wrap=True)
        if f.why:
            console.print("  [dim]" + escape(_("why:")) + " " + escape(f.why) + "[/]", soft_wrap=True)
    console.print()
    console.print("[bold]" + escape(summary) + "[/]", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        json_: JsonOpt = False,
        facts_file: FactsOpt = None,
        log: LogOpt = None,
        python: PythonOpt = None,
        venv: VenvOpt = None,
        replay: ReplayOpt = None,
        timeout: TimeoutOpt = DEFAULT_FRAMEWORK_TIMEOUT_S,
        from_: FromOpt = None,
    ) -> None:
        """Diagnose CUDA, driver, cuDNN and framework problems, with the fix for this machine."""
        from nktenv.cli.detect import render as render_facts
        from nktenv.doctor import diagnose, ok, summary
        from nktenv.facts import load_file
        from nktenv.i18n import _
        from nktenv.manifest import load as load_manifests
        from nktenv.output import emit_json, human_console

        if facts_file is not None and (python is not None or venv is not None or replay is not None):
            raise NktenvError("usage", _("--facts cannot be combined with --python, --venv or --replay"),
                              exit_code=ExitCode.USAGE)
        if from_ and (facts_file is not None or python is not None or venv is not None or replay is not None):
            raise NktenvError("usage", _("--from cannot be combined with --facts, --python, --venv or --replay"),
                              exit_code=ExitCode.USAGE)
        logs = [read_log(p) for p in (log or [])]
        manifests = load_manifests()
        if from_:
            from nktenv.paste import facts_from_pastes, read

            facts = facts_from_pastes([read(p) for p in from_])
        else:
            facts = load_file(str(facts_file)) if facts_file is not None else _probe(python, venv, replay, timeout)
        if logs:
            facts = facts.with_logs(*logs)
        findings = diagnose(facts, manifests)
        verdict = summary(facts, findings)
        console = human_console(json_)
        if json_:
            emit_json(document(facts, findings))
            console.print(verdict, soft_wrap=True, markup=False)
        else:
            render_facts(facts, console)
            render_findings(findings, verdict, console)
        if not ok(findings):
            raise typer.Exit(int(ExitCode.FINDINGS))
