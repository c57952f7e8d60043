"""Human output for `nktenv bench`: one table, the verdicts, telemetry notes (rich, imported lazily)."""

from __future__ import annotations

from typing import Any, Mapping

from nktenv.i18n import _


def progress_text(event: Mapping[str, Any]) -> str:
    fw, stage = event.get("framework"), event.get("stage")
    if stage == "start":
        return _("{framework}: starting").format(framework=fw)
    if stage == "data":
        return _("{framework}: preparing the {model} data").format(framework=fw, model=event.get("model"))
    if stage == "limits":
        return _("{framework}: measuring the ceilings of {device}").format(framework=fw, device=event.get("device"))
    if stage == "row":
        return _("{framework}: timing {model} ({pipeline})").format(framework=fw, model=event.get("model"), pipeline=event.get("pipeline"))
    if stage == "correctness":
        return _("{framework}: checking that {model} learns the same on every device").format(framework=fw, model=event.get("model"))
    if stage == "sweep":
        return _("{framework}: batch-size sweep of {model} on {device}").format(framework=fw, model=event.get("model"), device=event.get("device"))
    if stage == "training":
        return _("{framework}: training {model} on {device} for {epochs} epochs").format(
            framework=fw, model=event.get("model"), device=event.get("device"), epochs=event.get("epochs"))
    return _("{framework}: finishing").format(framework=fw)


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e4:
        return f"{value / 1e3:.0f} k"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k"
    return f"{value:.0f}"


def _skip_text(code: str | None) -> str | None:
    if code == "quick-cpu-compiled":
        return _("--quick runs the compiled pipeline on GPUs only (compiling for the CPU takes longer than the whole quick run)")
    return None


def _spread(sps: Mapping[str, Any]) -> str:
    """The interquartile range as a share of the median: how much the timed blocks disagree."""
    q1, q3, median = sps.get("q1"), sps.get("q3"), sps.get("median")
    if not all(isinstance(v, (int, float)) for v in (q1, q3, median)) or not median:
        return "-"
    return f"{100 * (q3 - q1) / median:.0f}%"


def _limit_unreliable(row: Mapping[str, Any]) -> bool:
    fraction = row.get("fraction_of_limit")
    return bool(row.get("limit_unreliable")) or (isinstance(fraction, (int, float)) and fraction > 1.0)


def _speedup_cell(sp: Mapping[str, Any] | None) -> str:
    return f"{sp['ratio']:.1f}x ({sp['ci_low']:.1f}-{sp['ci_high']:.1f})" if sp else "-"


def _percent(fraction: float | None) -> str:
    if fraction is None:
        return "-"
    return "<1%" if fraction < 0.01 else f"{100 * fraction:.0f}%"


def verdict_text(verdict: Mapping[str, Any]) -> str:
    """The verdict's headline in the current language.

    A measured speedup is re-worded from its numbers, so a result recorded in one language
    reads in another (`nktenv --lang ja` on an English run); other verdicts keep their text.
    """
    from nktenv.bench.result import _fmt_x

    ratio, low, high, threshold = (verdict.get(k) for k in ("ratio", "ci_low", "ci_high", "threshold"))
    if not all(isinstance(x, (int, float)) for x in (ratio, low, high, threshold)):
        return str(verdict.get("text", ""))
    if verdict.get("noisy") and verdict.get("passed") is None:
        return _("GPU accelerates the CNN {ratio}x (95% CI {low}-{high}x), but the timings were noisy: no verdict").format(
            ratio=_fmt_x(ratio), low=_fmt_x(low), high=_fmt_x(high))
    if low >= threshold:
        return _("GPU accelerates the CNN {ratio}x (95% CI {low}-{high}x)").format(
            ratio=_fmt_x(ratio), low=_fmt_x(low), high=_fmt_x(high))
    return _("GPU accelerates the CNN only {ratio}x (95% CI {low}-{high}x), below the {threshold}x threshold").format(
        ratio=_fmt_x(ratio), low=_fmt_x(low), high=_fmt_x(high), threshold=threshold)


def render(document: Mapping[str, Any], console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    rows = document.get("rows", [])
    speedups = {(s["framework"], s["model"], s["pipeline"], s["device"]): s for s in document.get("speedups", [])}
    # Columns that would say nothing are left out, so the table fits an 80-column console.
    many_frameworks = len({r["framework"] for r in rows}) > 1
    columns = ([_("framework")] if many_frameworks else []) + [
        _("model"), _("pipeline"), _("device"), _("samples/s"), _("± IQR"), _("s/epoch"), _("% of limit")]
    if speedups:
        columns.append(_("GPU/CPU (95% CI)"))
    columns.append(_("status"))
    title = _("Training throughput (median of timed blocks)")
    if rows and not many_frameworks:
        title = f"{rows[0]['framework']}: {title}"
    from rich import box
    from rich.text import Text

    from nktenv.termtable import column_widths, print_table, print_text, table_width, wrap_header

    body: list[list[str]] = []
    errors: list[str] = []

    def footnote(text: str) -> int:
        if text not in errors:
            errors.append(text)
        return errors.index(text) + 1

    for row in rows:
        sps = row.get("samples_per_s") or {}
        key = (row["framework"], row["model"], row["pipeline"], row["device"])
        sp = speedups.get(key)
        status = row["status"]
        limit = _percent(row.get("fraction_of_limit"))
        if status == "ok" and _limit_unreliable(row):
            # an impossible share is never printed as "ok"
            limit = f"{limit} [{footnote(_('above 100% of the limit: the limit was measured under another load than the row, so this share is unreliable'))}]"
            status = _("unreliable")
        if status == "ok" and row.get("noisy"):
            status = _("noisy")
        elif status not in ("ok", _("unreliable")) and row.get("error"):
            status = f"{status} [{footnote(_skip_text(row.get('skip_code')) or row['error'])}]"
        cells = [row["framework"]] if many_frameworks else []
        cells += [
            row["model"], row["pipeline"], row["device"],
            _rate(sps.get("median")),
            _spread(sps),
            f"{row['epoch_s']:.2f}" if row.get("epoch_s") else "-",
            limit,
        ]
        if speedups:
            cells.append(_speedup_cell(sp))
        cells.append(status)
        body.append(cells)
    below: list[str] = []
    if speedups and table_width(column_widths(columns, body, console.width)) > console.width:
        # The status column and its [n] markers must stay on screen: the speedups go under the table.
        at = columns.index(_("GPU/CPU (95% CI)"))
        for cells in body:
            if cells[at] != "-":
                below.append(_("GPU/CPU (95% CI) of {row}: {speedup}").format(row=" ".join(cells[:at - 4]), speedup=cells[at]))
            del cells[at]
        del columns[at]
    tables = [(title, columns, body)]
    if many_frameworks and table_width(column_widths(columns, body, console.width)) > console.width:
        # Still too wide: one table per framework, its name in the title instead of a column.
        names = list(dict.fromkeys(cells[0] for cells in body))
        tables = [(f"{name}: {title}", columns[1:], [cells[1:] for cells in body if cells[0] == name]) for name in names]
    for caption, heads, lines in tables:
        widths = column_widths(heads, lines, console.width)
        table = Table(title=caption, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for header, width in zip(heads, widths):
            # Cells never shrink (a number cut to "17…" is worse than none); headers break between words.
            table.add_column(Text(wrap_header(header, width)), width=width, overflow="fold")
        for cells in lines:
            table.add_row(*(Text(c) for c in cells))
        print_table(console, table)
    for line in below:
        print_text(console, line)
    for i, error in enumerate(errors, 1):
        print_text(console, f"[{i}] {error}")
    for check in document.get("correctness", []):
        if check.get("agree") is False and check.get("error"):
            console.print(_("{framework} {model}: the CPU/GPU loss check could not run: {error}").format(
                framework=check["framework"], model=check["model"], error=check["error"]), markup=False)
        elif check.get("agree") is False:
            console.print(_("{framework} {model}: CPU and GPU losses disagree (max relative difference {diff}, tolerance {tol})").format(
                framework=check["framework"], model=check["model"], diff=check.get("max_rel_diff"), tol=check.get("tolerance")))
    for row in document.get("rows", []):
        if row.get("status") == "ok" and row.get("loss_first") is not None and row.get("loss_last") is not None \
                and not row["loss_last"] < row["loss_first"]:
            console.print(_("{framework} {model} {pipeline} on {device}: the loss did not fall ({first:.3f} -> {last:.3f})").format(
                framework=row["framework"], model=row["model"], pipeline=row["pipeline"], device=row["device"],
                first=row["loss_first"], last=row["loss_last"]))
    for training in document.get("trainings", []):
        if training.get("error"):
            console.print(_("{framework} {model} training on {device} failed: {error}").format(**training), markup=False)
            continue
        test = training.get("test") or {}
        metric = (_("test accuracy {value:.1%}").format(value=test["accuracy"]) if "accuracy" in test
                  else _("test MSE {value:.3f}").format(value=test.get("loss", float("nan"))))
        console.print(_("{framework} {model} on {device}: {epochs} epochs in {seconds:.1f} s, {metric}").format(
            framework=training["framework"], model=training["model"], device=training["device"],
            epochs=training["epochs"], seconds=training["train_s"], metric=metric))
    for v in document.get("verdicts", []):
        mark = {True: _("PASS"), False: _("FAIL"), None: _("NO VERDICT")}[v.get("passed")]
        console.print(f"[bold]{escape(v['framework'])}[/bold] {escape(mark)}: {escape(verdict_text(v))}")
        for note in v.get("notes", []):
            console.print(f"  - {note}", markup=False)
    if document.get("plot"):
        console.print(_("Throughput vs batch size: {path}").format(path=document["plot"]))
    if document.get("stored_in"):
        console.print(_("Stored in {path}").format(path=document["stored_in"]))


class BenchProgress:
    """Transient rich progress bars on stderr, one per framework, fed by the check scripts' progress
    events: the step count ("3/12") and an estimate of the time left. `nktenv bench` and setup's
    final benchmark show the same bars."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn(_("left")), TimeRemainingColumn(),
                                 console=console, transient=True)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> BenchProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") != "progress":
            return
        fw = str(event.get("framework"))
        text = progress_text(event)
        total = event.get("total") or None
        if fw not in self.tasks:
            self.tasks[fw] = self.progress.add_task(text, total=total)
        self.progress.update(self.tasks[fw], description=text, completed=event.get("done", 0), total=total)


def history_line(document: Mapping[str, Any], store: Any = None) -> str | None:
    """One line when this run is out of line with this machine's own stored history, else None."""
    from nktenv.bench import store as bench_store
    from nktenv.compare.history import latest_drops
    from nktenv.compare.texts import bench_history_line

    try:
        stored = bench_store.load_all(store)
    except Exception:  # an unreadable store has no history to tell; the run itself stands
        return None
    if not any(d.get("id") == document.get("id") for d in stored):
        stored = [*stored, dict(document)]
    drops = latest_drops(stored, str(document.get("id")))
    return bench_history_line(drops) if drops else None
