"""`nktenv compare`: many machines' benchmark results in one view, and why one is slower than its twin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, List, Optional

import typer

from nktenv.cli._common import JsonOpt
from nktenv.errors import ExitCode, NktenvError

MAX_NOTE_LINES = 20
COMPACT_JSON_CELLS = 2000


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        paths: Annotated[
            Optional[List[Path]],
            typer.Argument(help="Result files (nktenv.bench/1 JSON) or folders of them, e.g. the lab's shared folder "
                                "(default: this machine's own `nktenv bench` store, bench.sqlite3 in nktenv's data folder).",
                           show_default=False),
        ] = None,
        store: Annotated[
            Optional[List[Path]],
            typer.Option("--store", metavar="<path>", help="A SQLite results store (repeatable). It is copied, never opened in place.",
                         show_default=False),
        ] = None,
        baseline: Annotated[
            Optional[str],
            typer.Option("--baseline", metavar="<machine>", help="Machine name to compare against (default: the fleet median).",
                         show_default=False),
        ] = None,
        margin: Annotated[
            float,
            typer.Option("--margin", metavar="<fraction>", help="Flag a machine this much slower than its same-device peers (0.15 = 15%)."),
        ] = 0.15,
        html: Annotated[
            Optional[Path],
            typer.Option("--html", help="Write a self-contained HTML report (tables and charts) to this file.",
                         show_default=False),
        ] = None,
        csv_out: Annotated[
            Optional[Path],
            typer.Option("--csv", help="Write one CSV line per machine and workload to this file.", show_default=False),
        ] = None,
        history: Annotated[
            bool,
            typer.Option("--history", help="Each machine against its own past: throughput per workload over time and "
                                           "drops beyond noise with what changed. Name a machine after it to see one "
                                           "(nktenv compare --history lab-pc-02)."),
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Compare benchmark results across machines: throughput, speedup, versions and outliers with causes."""
        from nktenv.compare.analyze import UnknownBaseline
        from nktenv.compare.analyze import compare as run_compare
        from nktenv.compare.io import InputMissing, load_results
        from nktenv.i18n import _
        from nktenv.output import emit_json, err_console
        from nktenv.wording import join_list

        inputs = list(paths or [])
        stores = list(store or [])
        machine = None
        if history:
            # `--history lab-pc-02`: the one argument that is not a path names the machine
            # (a missing "results/" stays a missing path)
            missing = [p for p in inputs if not p.exists() and not any(sep in str(p) for sep in "/\\")]
            if len(missing) == 1:
                machine = str(missing[0])
                inputs.remove(missing[0])
        if not inputs and not stores:
            stores = [_own_store()]
        if not 0.0 < margin < 1.0:
            raise NktenvError("bad-margin", _("--margin must be between 0 and 1 (0.15 means 15%), not {value}.").format(value=margin))
        for out in (html, csv_out):
            if out is not None:
                _refuse_writing_into_inputs(out, inputs + stores)

        err = err_console()
        try:
            with err.status(_("Reading results…"), spinner="dots"):
                loaded = load_results(inputs, stores)
        except InputMissing as exc:
            raise NktenvError("input-not-found", _("{path} does not exist.").format(path=exc.path)) from None

        if history:
            _history(loaded, machine, html, json_out)
            return
        try:
            cmp = run_compare(loaded.results, baseline=baseline, margin=margin)
        except UnknownBaseline as exc:
            raise NktenvError(
                "unknown-baseline", _("No results from a machine named {name}.").format(name=exc.name),
                hint=_("Machines in these results: {names}").format(names=join_list(exc.known) or "-"),
            ) from None

        _print_notes(loaded.notes)
        if not loaded.results:
            raise NktenvError(
                "no-results",
                _("No usable benchmark results among {count} file(s).").format(count=loaded.files_seen),
                hint=_("Results come from `nktenv bench --json`."),
                exit_code=ExitCode.BAD_DATA,
            )

        written: dict[str, str] = {}
        if html is not None:
            from nktenv.compare.render import to_html

            from nktenv.compare.history import history as run_history

            page = to_html(cmp, loaded.notes, history=run_history(loaded.results))
            written["html"] = str(_write(html, page.encode("utf-8")))
        if csv_out is not None:
            from nktenv.compare.render import to_csv

            # utf-8-sig: Excel on Japanese Windows reads a BOM-less file as cp932 and garbles names.
            written["csv"] = str(_write(csv_out, to_csv(cmp).encode("utf-8-sig")))

        if json_out:
            doc: dict[str, Any] = {"schema": "nktenv.compare/1", "ok": True}
            doc.update(cmp.to_dict())
            doc["notes"] = [n.to_dict() for n in loaded.notes]
            doc["inputs"] = {"files_seen": loaded.files_seen, "results": len(loaded.results)}
            doc["outputs"] = written
            if len(cmp.cells) > COMPACT_JSON_CELLS:
                # json's indenting encoder is pure Python (10x slower); a fleet this size is read by programs
                import json
                import sys

                sys.stdout.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
            else:
                emit_json(doc)
            _print_outliers(cmp, err)
        else:
            from nktenv.output import out_console

            console = out_console()
            _print_table(cmp, console)
            _print_outliers(cmp, console)
        for kind, path in written.items():
            err.print(_("Wrote the {kind} report to {path}").format(kind=kind.upper(), path=path), markup=False)


def _history(loaded: Any, machine: str | None, html: Path | None, json_out: bool) -> None:
    from nktenv.compare.history import UnknownMachine, history
    from nktenv.i18n import _
    from nktenv.output import emit_json, err_console, out_console
    from nktenv.wording import join_list

    _print_notes(loaded.notes)
    if not loaded.results:
        raise NktenvError("no-results", _("No usable benchmark results among {count} file(s).").format(count=loaded.files_seen),
                          hint=_("Results come from `nktenv bench --json`."), exit_code=ExitCode.BAD_DATA)
    try:
        h = history(loaded.results, machine)
    except UnknownMachine as exc:
        raise NktenvError("unknown-machine", _("No results from a machine named {name}.").format(name=exc.name),
                          hint=_("Machines in these results: {names}").format(names=join_list(exc.known) or "-")) from None
    written = {}
    if html is not None:
        from nktenv.compare.render import history_html

        written["html"] = str(_write(html, history_html(h, loaded.notes).encode("utf-8")))
    if json_out:
        emit_json({"schema": "nktenv.compare-history/1", "ok": True, **h.to_dict(),
                   "notes": [n.to_dict() for n in loaded.notes], "outputs": written})
    else:
        from nktenv.compare.terminal import print_history

        print_history(h, out_console())
    for kind, path in written.items():
        err_console().print(_("Wrote the {kind} report to {path}").format(kind=kind.upper(), path=path), markup=False)


def _own_store(platform: str | None = None) -> Path:
    """Nothing named: this machine's own history, in the store `nktenv bench` writes by default."""
    from nktenv.bench.store import default_path
    from nktenv.i18n import _

    path = default_path()
    if not path.is_file():
        raise NktenvError("no-input", _("No results on this machine yet ({path} does not exist); name result files, a folder or --store.").format(
            path=path), hint=_("Run `nktenv bench` first, or for example: nktenv compare {folder}").format(folder=example_folder(platform)))
    return path


def example_folder(platform: str | None = None) -> str:
    """A lab's shared results folder as it is written on this OS (a UNC share on Windows, a mount elsewhere)."""
    import sys

    if (platform or sys.platform) == "win32":
        return "\\\\labserver\\share\\results"
    return "/mnt/labshare/results"


def _refuse_writing_into_inputs(out: Path, inputs: list[Path]) -> None:
    from nktenv.i18n import _

    target = out.resolve()
    for given in inputs:
        src = given.resolve()
        if target == src or (src.is_dir() and src in target.parents):
            raise NktenvError(
                "output-in-inputs",
                _("{path} is inside the inputs; compare never writes into them.").format(path=out),
                hint=_("Write the report somewhere else, e.g. your home folder."),
            )


def _write(path: Path, data: bytes) -> Path:
    from nktenv.fsutil import write_bytes_atomic
    from nktenv.i18n import _

    try:
        return write_bytes_atomic(path, data)
    except OSError as exc:
        raise NktenvError("cannot-write", _("Cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc),
                          exit_code=ExitCode.BAD_DATA) from None


def _print_notes(notes: Any) -> None:
    from nktenv.compare.texts import note_text
    from nktenv.i18n import _
    from nktenv.output import err_console

    err = err_console()
    for note in notes[:MAX_NOTE_LINES]:
        err.print(note_text(note), markup=False, highlight=False, soft_wrap=True)
    if len(notes) > MAX_NOTE_LINES:
        err.print(_("… and {count} more skipped input(s); --json lists them all.").format(count=len(notes) - MAX_NOTE_LINES),
                  markup=False)


def _print_outliers(cmp: Any, console: Any) -> None:
    from nktenv.compare.terminal import print_outliers

    print_outliers(cmp, console)


def _print_table(cmp: Any, console: Any) -> None:
    from nktenv.compare.terminal import print_tables

    print_tables(cmp, console)
