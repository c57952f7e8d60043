"""`nktenv wheelhouse build|check`: the wheels every lab machine's plan installs, in one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from nktenv.cli._common import JsonOpt
from nktenv.errors import ExitCode, NktenvError

app = typer.Typer(help="Fetch the wheels every lab machine's plan needs into one folder, once.", no_args_is_help=True)

FactsListOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--facts", metavar="<file|folder>", help="A facts snapshot, a doctor --json result, or a folder of them (repeatable; default: this machine).", show_default=False),
]
TorchOpt = Annotated[str, typer.Option("--torch", metavar="<version>", help="PyTorch version, latest, or none.")]
TfOpt = Annotated[str, typer.Option("--tensorflow", metavar="<version>", help="TensorFlow version, latest, or none.")]
PythonOpt = Annotated[
    Optional[list[str]],
    typer.Option("--python", metavar="<X.Y>", help="Python version to plan for (repeatable; default: each machine's own).", show_default=False),
]


def _machines(facts: list[Path] | None) -> list[tuple[str, Any]]:
    from nktenv.wheelhouse import hostname, load_facts_docs

    if facts:
        return load_facts_docs(facts)
    from nktenv.i18n import _
    from nktenv.output import err_console
    from nktenv.probes import detect, open_seam

    with err_console().status(_("Probing the machine..."), spinner="dots"):
        snapshot = detect(open_seam(), frameworks=False)
    return [(hostname(snapshot) or "this-machine", snapshot)]


def _targets(facts: list[Path] | None, torch: str, tensorflow: str, python: list[str] | None) -> tuple[list[Any], list[str]]:
    import re

    from nktenv.i18n import _
    from nktenv.manifest import load
    from nktenv.wheelhouse import targets_for

    for value in python or ():
        if not re.fullmatch(r"\d+\.\d+", value.strip()):
            raise NktenvError("bad-python-version", _("--python takes a version such as 3.10, not '{value}'.").format(value=value),
                              exit_code=ExitCode.USAGE)
    targets, problems = targets_for(_machines(facts), load(), torch=torch, tensorflow=tensorflow,
                                    pythons=[p.strip() for p in python or ()])
    if not targets:
        raise NktenvError("wheelhouse-no-plans", _("No machine has a plan to fetch wheels for."),
                          hint=problems[0] if problems else None, exit_code=ExitCode.FINDINGS)
    return targets, problems


@app.command("build")
def build(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of the wheelhouse (made if missing).")],
    facts: FactsListOpt = None,
    torch: TorchOpt = "latest",
    tensorflow: TfOpt = "none",
    python: PythonOpt = None,
    mirror: Annotated[
        Optional[list[str]],
        typer.Option("--mirror", metavar="<from=to>", help="Fetch from a mirror: replace the index URL prefix FROM with TO (repeatable).", show_default=False),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Plan every machine given, and fetch exactly the wheels those plans install, each once."""
    from nktenv.i18n import _
    from nktenv.output import emit_json, err_console, human_console
    from nktenv.wheelhouse import build as do_build
    from nktenv.wheelhouse import human_bytes, parse_mirrors

    mirrors = parse_mirrors(mirror or ())
    targets, problems = _targets(facts, torch, tensorflow, python)
    err = err_console()
    out = human_console(json_)
    for line in problems:
        err.print(_("warning: {problem}").format(problem=line), markup=False)
    state = {"files": 0, "bytes": 0}

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "target":
            err.print(_("[{index}/{count}] {label}").format(**data), markup=False)
        elif kind == "file":
            state["files"] += 1
            state["bytes"] += data["bytes"]
            template = _("  fetched {file} ({size}); {files} files, {total} so far") if data["new"] else _(
                "  already here {file} ({size}); {files} files, {total} so far")
            err.print(template.format(file=data["file"], size=human_bytes(data["bytes"]), files=state["files"],
                                      total=human_bytes(state["bytes"])), markup=False, soft_wrap=True)
        elif kind == "downloading":
            err.print(_("  downloading {what}").format(what=data["text"]), markup=False, soft_wrap=True)
        elif kind == "complete" and data.get("cached"):
            err.print(_("  complete already: {files} files, {size}, verified").format(
                files=data["files"], size=human_bytes(data["bytes"])), markup=False)
        elif kind == "removed":
            err.print(_("damaged, fetched again: {file}").format(file=data["file"]), markup=False)
        elif kind == "failed":
            err.print(_("  failed: {reason}").format(reason=data["reason"]), markup=False, soft_wrap=True)

    result = do_build(folder, targets, mirrors=mirrors, on_event=on_event)
    t = result.totals()
    new_bytes = sum(result.files[f]["size"] for f in set(result.fetched) if f in result.files)
    doc = {"schema": "nktenv.wheelhouse-build/1", "ok": not result.problems, "folder": str(folder.resolve()),
           "targets": result.targets, "totals": t, "fetched": sorted(set(result.fetched)),
           "fetched_bytes": new_bytes, "removed": result.removed,
           "problems": [*problems, *result.problems]}
    out.print(_("Wheelhouse {path}: {files} files, {size} for {machines} machines.").format(
        path=folder, files=t["files"], size=human_bytes(t["bytes"]), machines=t["machines"]), markup=False, soft_wrap=True)
    out.print(_("Fetched now: {count} files, {size}.").format(count=len(set(result.fetched)), size=human_bytes(new_bytes)), markup=False)
    out.print(_("Each machine downloading on its own would move {each}; the lab saves {saved}.").format(
        each=human_bytes(t["bytes_if_each_machine_downloads"]), saved=human_bytes(t["bytes_saved"])), markup=False)
    if json_:
        emit_json(doc)
    if result.problems:
        from nktenv.output import error_line

        error_line(result.problems[0], _("Run the same command again: it resumes and fetches only what is missing."))
        raise typer.Exit(int(ExitCode.INSTALL_FAILED))


@app.command("check")
def check(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of the wheelhouse.")],
    facts: FactsListOpt = None,
    torch: TorchOpt = "latest",
    tensorflow: TfOpt = "none",
    python: PythonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Say which machines' plans the wheelhouse covers, and which files are missing."""
    from nktenv.i18n import _
    from nktenv.output import emit_json, human_console
    from nktenv.wheelhouse import coverage, manifest_path

    if not manifest_path(folder).is_file():
        raise NktenvError("wheelhouse-no-manifest", _("{location} is not a wheelhouse: it has no {name}.").format(
            location=folder, name=manifest_path(folder).name), hint=_("Build one with nktenv wheelhouse build DIR."),
            exit_code=ExitCode.USAGE)
    targets, problems = _targets(facts, torch, tensorflow, python)
    rows = coverage(folder, targets)
    out = human_console(json_)
    for line in problems:
        out.print(_("warning: {problem}").format(problem=line), markup=False)
    for row in rows:
        t = row["target"]
        label = _("{machine}, Python {python}, {platform}").format(**t)
        if row["covered"]:
            out.print(_("covered  {label}").format(label=label), markup=False)
        elif not row["planned"]:
            out.print(_("MISSING  {label}: the wheelhouse was not built for this plan ({requirements})").format(
                label=label, requirements=" ".join(t["requirements"])), markup=False, soft_wrap=True)
        else:
            out.print(_("MISSING  {label}: {count} files missing or damaged, first {file}").format(
                label=label, count=len(row["missing"]), file=row["missing"][0]), markup=False, soft_wrap=True)
    ok = all(r["covered"] for r in rows) and not problems
    if json_:
        emit_json({"schema": "nktenv.wheelhouse-check/1", "ok": ok, "folder": str(folder.resolve()), "targets": rows,
                   "problems": problems})
    if not ok:
        raise typer.Exit(int(ExitCode.FINDINGS))
