"""`nktenv compare` in a terminal: one table per workload, then one line per slow machine."""

from __future__ import annotations

from typing import Any

from nktenv.i18n import _
from nktenv.termtable import column_widths, print_table, print_text, wrap_header

def short_device(cell: Any) -> str:
    if cell.workload.device_kind == "cpu":
        return _("CPU, {threads} threads").format(threads="?" if cell.threads is None else cell.threads)
    name = cell.device_model or cell.device
    for prefix in ("NVIDIA ", "GeForce "):
        name = name.replace(prefix, "")
    return name


def print_tables(cmp: Any, console: Any) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from nktenv.compare.render import fmt
    from nktenv.compare.texts import limit_text, reference_header, reference_text, status_text, version_fields_text, workload_label

    ref = reference_header(cmp.baseline)
    print_text(console, reference_text(cmp.baseline, cmp.margin))
    for w in cmp.workloads:
        gpu = w.device_kind == "gpu"
        fields = ("framework", "driver", "cuda") if gpu else ("framework",)
        cells = list(cmp.cells_of(w))
        # The versions most machines (or the baseline) run go under the table; a machine that runs
        # others is marked † and listed there, so the table fits an 80-column console.
        reference = next((c.versions for c in cells if not c.version_differs), cells[0].versions if cells else {})
        title = workload_label(w)
        mixed = cmp.mixed_versions.get(w.key, ())
        if mixed:
            title += "  " + _("(versions differ: {fields})").format(fields=version_fields_text(mixed))
        print_text(console, title, "bold")
        heads = [(_("Machine"), False), (_("Device"), False), (_("Samples/s"), True), (_("Epoch s"), True)]
        if gpu:
            heads += [(_("Speedup"), True), (_("% of limit"), True)]
        heads += [(ref, True), (_("Flags"), False)]
        rows: list[tuple[list[str], bool]] = []
        others: list[str] = []
        for c in cells:
            flags = []
            if c.outlier:
                flags.append(_("SLOW"))
            if c.version_differs:
                flags.append("†")
                others.append(_("† {machine} runs {versions} ({fields} differ)").format(
                    machine=c.machine, versions=" / ".join(c.versions.get(f) or "-" for f in fields),
                    fields=version_fields_text(c.version_differs)))
            if c.noisy:
                flags.append(_("noisy"))
            if c.status != "ok":
                flags.append(status_text(c.status))
            values = [c.machine, short_device(c), fmt(c.samples_per_s), fmt(c.epoch_s)]
            if gpu:
                # "-" for a missing value, as in fmt(): cp932 consoles have no en dash.
                values += ["-" if c.speedup is None else fmt(c.speedup) + "×", limit_text(c.fraction_of_limit)]
            values += ["-" if c.relative is None else f"{c.relative:.2f}", " ".join(flags)]
            rows.append((values, c.outlier))
        widths = column_widths([h for h, _r in heads], [v for v, _o in rows], console.width)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for (head, right), width in zip(heads, widths):
            # Cells never shrink into "12…"; headers break between words only.
            table.add_column(Text(wrap_header(head, width)), justify="right" if right else "left", overflow="fold",
                             width=width)
        for values, outlier in rows:
            # Machine names and versions are data, not rich markup ("pc [a1b2]" must print as is).
            table.add_row(*(Text(v) for v in values), style="red" if outlier else None)
        print_table(console, table)
        if cells:
            print_text(console, _("Versions ({fields}): {versions}").format(
                fields=version_fields_text(fields), versions=" / ".join(reference.get(f) or "-" for f in fields)))
        for line in others:
            print_text(console, line)


def print_outliers(cmp: Any, console: Any) -> None:
    """One line per slow machine (worst gap, cause, workloads), the affected workloads indented under it."""
    from nktenv.compare.texts import cause_text, detail_text, summary_text

    if not cmp.outliers:
        print_text(console, _("No machine is slower than its peers with the same device by more than the margin."))
        return
    for s in cmp.summaries:
        print_text(console, "! " + summary_text(s))
        for c in s.worst.causes[1:]:
            print_text(console, "    " + _("also: {cause}").format(cause=cause_text(c)))
        if len(s.outliers) > 1:
            for o in s.outliers:
                print_text(console, "    - " + detail_text(o, same_cause=o.causes[0] == s.worst.causes[0]))


HISTORY_RUNS = 6  # the newest runs a terminal table shows; --json and the HTML report have them all


def print_history(h: Any, console: Any) -> None:
    """Per machine, one row per workload and one column per run (newest last); the drops below."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from nktenv.compare.render import fmt
    from nktenv.compare.texts import drop_text, short_workload

    if not h.series:
        print_text(console, _("No measured runs to show."))
        return
    print_text(console, _("↓ a drop beyond noise (judged like a bench verdict: 95% bootstrap interval of the ratio below 1, and below the earlier runs' jitter); ~ a noisy run, shown but not judged."))
    for machine in h.machines:
        series = [s for s in h.series if s.machine == machine]
        runs = sorted({p.created_at for s in series for p in s.points})
        shown = runs[-HISTORY_RUNS:]
        drops = {(s.workload, s.device, d.at.created_at) for s in series for d in s.drops}
        multi = len({s.device for s in series if s.workload.device_kind == "gpu"}) > 1
        print_text(console, _("{machine}: {count} run(s), {first} to {last}").format(
            machine=machine, count=len(runs), first=runs[0][:10], last=runs[-1][:10]), "bold")
        heads = [_("Workload")] + [r[5:10] if r[:4] == shown[-1][:4] else r[:10] for r in shown]
        rows: list[list[str]] = []
        for s in series:
            at = {p.created_at: p for p in s.points}
            label = short_workload(s.workload) + (f" {s.device}" if multi and s.workload.device_kind == "gpu" else "")
            cells = [label]
            for r in shown:
                p = at.get(r)
                if p is None:
                    cells.append("")
                    continue
                mark = "↓" if (s.workload, s.device, r) in drops else ""
                cells.append(("~" if p.noisy else "") + fmt(p.samples_per_s) + mark)
            rows.append(cells)
        widths = column_widths(heads, rows, console.width)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for i, (head, width) in enumerate(zip(heads, widths)):
            table.add_column(Text(wrap_header(head, width)), justify="left" if i == 0 else "right", overflow="fold", width=width)
        for cells in rows:
            table.add_row(*(Text(c) for c in cells), style="red" if any(c.endswith("↓") for c in cells) else None)
        print_table(console, table)
        for d in [d for d in h.drops if d.machine == machine]:
            print_text(console, "! " + drop_text(d))
