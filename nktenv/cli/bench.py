"""`nktenv bench`: prove the GPU accelerates the lab's own models, measured honestly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from nktenv.cli._common import JsonOpt, PythonOpt, VenvOpt
from nktenv.errors import ExitCode, NktenvError

_DEVICE = re.compile(r"^(cpu|all|cuda:\d+)$")


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    from nktenv.i18n import _
    from nktenv.wording import join_list

    if value not in allowed:
        raise NktenvError("usage", _("{option} must be one of {allowed}, not {value!r}").format(
            option=option, allowed=join_list(allowed), value=value), exit_code=ExitCode.USAGE)
    return value


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        venv: VenvOpt = None,
        python: PythonOpt = None,
        framework: Annotated[str, typer.Option("--framework", metavar="<torch|tensorflow|all>", help="torch, tensorflow or all (default: the frameworks the interpreter has).")] = "all",
        model: Annotated[str, typer.Option("--model", metavar="<mlp|cnn|all>", help="mlp, cnn or all.")] = "all",
        device: Annotated[str, typer.Option("--device", metavar="<cpu|cuda:N|all>", help="cpu, cuda:N or all.")] = "all",
        quick: Annotated[bool, typer.Option("--quick", help="Short run (CPU half < 60 s per framework); no batch-size sweep.")] = False,
        dataset: Annotated[str, typer.Option("--dataset", metavar="<synthetic|real>", help="synthetic (default, no download) or real (CIFAR-10, California Housing).")] = "synthetic",
        data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Folder with the real data sets (or where to download them).")] = None,
        download: Annotated[bool, typer.Option("--download", help="Download the real data sets into --data-dir when missing.")] = False,
        epochs: Annotated[Optional[int], typer.Option("--epochs", metavar="<N>", min=1, help="Also train N epochs with the manual's pipeline; report accuracy and time.")] = None,
        threshold: Annotated[Optional[float], typer.Option("--threshold", metavar="<x>", min=1.0, help="CNN GPU/CPU speedup the CI lower bound must clear (default: 10x for a 2-core CPU, scaled by cores, at least 3x).")] = None,
        threads: Annotated[Optional[int], typer.Option("--threads", metavar="<N>", min=1, help="CPU threads for the CPU runs (default: every core; the count is recorded).")] = None,
        timeout: Annotated[Optional[float], typer.Option("--timeout", metavar="<seconds>", min=1.0, help="Seconds allowed per framework before its run is stopped.")] = None,
        store: Annotated[Optional[Path], typer.Option("--store", help="SQLite results store (default: bench.sqlite3 in nktenv's data folder).")] = None,
        no_store: Annotated[bool, typer.Option("--no-store", help="Do not write the result to the store.")] = False,
        out: Annotated[Optional[Path], typer.Option("--out", help="Also write the result JSON to this file.")] = None,
        plot: Annotated[Optional[Path], typer.Option("--plot", help="PNG of throughput vs batch size (default: next to the store; not in --quick).")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Benchmark the lab's reference MLP and CNN on CPU and GPU: speedup with a confidence interval, % of limit, telemetry."""
        from nktenv.i18n import _

        _choice(framework, ("torch", "tensorflow", "all"), "--framework")
        _choice(model, ("mlp", "cnn", "all"), "--model")
        _choice(dataset, ("synthetic", "real"), "--dataset")
        if not _DEVICE.match(device):
            raise NktenvError("usage", _("--device must be cpu, cuda:N or all, not {value!r}").format(value=device),
                              exit_code=ExitCode.USAGE)
        if dataset == "real" and data_dir is None and download:
            raise NktenvError("usage", _("--download needs --data-dir to know where to put the data"), exit_code=ExitCode.USAGE)

        from nktenv.bench import BenchRequest, run
        from nktenv.bench.runner import default_python, devices_from_option, frameworks_from_option, models_from_option
        from nktenv.probes import resolve_interpreter

        target = resolve_interpreter(python, venv) or default_python()
        request = BenchRequest(
            python=target,
            frameworks=frameworks_from_option(framework),
            models=models_from_option(model),
            devices=devices_from_option(device),
            quick=quick,
            dataset=dataset,
            data_dir=str(data_dir) if data_dir else None,
            download=download,
            epochs=epochs,
            threshold=threshold,
            timeout_s=timeout,
            threads=threads,
        )
        from nktenv.output import emit_json, err_console, human_console
        from nktenv.wording import join_list

        console = human_console(json_out)
        err = err_console()
        err.print(_("Benchmarking with {python}").format(python=target))
        from nktenv.bench.render import BenchProgress

        with BenchProgress(err) as progress:
            result = run(request, on_event=progress.on_event)
        document = result.document
        _refuse_nothing_measured(document, framework, device, target)
        for name in document.get("frameworks_absent") or []:
            err.print(_("{framework} is not installed in this environment; skipped").format(framework=name), markup=False)
        for missing in document.get("gpus_not_visible") or []:
            if missing.get("visible"):
                line = _("{devices} is not visible to {framework}: only {count} GPU(s) are visible; skipped").format(
                    devices=join_list(missing["devices"]), framework=missing["framework"], count=missing["visible"])
            else:
                line = _("No GPU is visible to {framework} in this environment (asked for {devices}); skipped").format(
                    framework=missing["framework"], devices=join_list(missing["devices"]))
            err.print(line, markup=False)

        if not quick and document.get("sweeps"):
            from nktenv.bench.plot import write_sweep_png

            plot_path = plot or _default_dir(store) / f"bench-{document['id'][:8]}.png"
            try:
                write_sweep_png(document["sweeps"], plot_path)
                document["plot"] = str(plot_path)
            except OSError as exc:
                err.print(_("warning: could not write the plot {path}: {error}").format(path=plot_path, error=exc))
        if out is not None:
            _write_json(out, document)
        if not no_store:
            from nktenv.bench import store as bench_store

            try:
                document["stored_in"] = str(bench_store.save(document, store))
            except Exception as exc:  # sqlite3.Error or OSError: the result is still printed
                err.print(_("warning: could not store the result in {path}: {error}").format(
                    path=store or bench_store.default_path(), error=f"{type(exc).__name__}: {exc}"))

        from nktenv.bench.render import render

        render(document, console)
        if not no_store and document.get("stored_in"):
            from nktenv.bench.render import history_line

            line = history_line(document, store)
            if line:
                console.print(line, markup=False, soft_wrap=True)
        if out is not None:
            console.print(_("Result written to {path}").format(path=out), markup=False)
        if json_out:
            emit_json(document)
        if result.interrupted:
            err.print(_("interrupted"), markup=False)
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        ok_rows = [r for r in document["rows"] if r["status"] == "ok"]
        if result.passed is False or not ok_rows:
            raise typer.Exit(int(ExitCode.FINDINGS))


def _refuse_nothing_measured(document: dict[str, Any], framework: str, device: str, python: str) -> None:
    """A framework or GPU that is not there is one error line (exit 3), not a table of failed rows."""
    from nktenv.i18n import _
    from nktenv.wording import join_list

    absent = list(document.get("frameworks_absent") or [])
    no_gpu = list(document.get("gpus_not_visible") or [])
    if framework != "all" and framework in absent:
        raise NktenvError("framework-not-installed", _("{framework} is not installed in the environment of {python}").format(
            framework=framework, python=python), hint=_("Install it with `nktenv setup`, or name another environment with --venv."),
            exit_code=ExitCode.NO_ENVIRONMENT)
    if document.get("rows") or document.get("interrupted"):
        return
    if no_gpu:
        seen = max((m.get("visible") or 0) for m in no_gpu)
        message = (_("{device} is not visible to {frameworks}: only {count} GPU(s) are visible").format(
            device=device, frameworks=join_list([m["framework"] for m in no_gpu]), count=seen) if seen else
            _("No GPU is visible to {frameworks} in this environment (asked for {device})").format(
                frameworks=join_list([m["framework"] for m in no_gpu]), device=device))
        raise NktenvError("no-gpu", message,
            hint=_("`nktenv doctor` says why; `--device cpu` benchmarks the CPU alone."), exit_code=ExitCode.NO_ENVIRONMENT)
    if absent:
        raise NktenvError("no-framework", _("Neither PyTorch nor TensorFlow is installed in the environment of {python}").format(
            python=python), hint=_("Install one with `nktenv setup`, or name another environment with --venv."),
            exit_code=ExitCode.NO_ENVIRONMENT)


def _default_dir(store: Path | None) -> Path:
    if store is not None:
        return store.parent
    from nktenv.bench.store import default_path

    return default_path().parent


def _write_json(path: Path, document: dict[str, Any]) -> None:
    from nktenv.fsutil import write_json_atomic
    from nktenv.i18n import _

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, document)
    except OSError as exc:
        raise NktenvError("out-unwritable", _("cannot write {path}: {error}").format(path=path, error=exc),
                          exit_code=ExitCode.BAD_DATA) from None
