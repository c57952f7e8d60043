"""CSV and a self-contained HTML report (inline CSS and SVG: no script, no network, no fonts).

Both are pure: a `Comparison` (plus the skip notes) in, text out. Writing is the caller's job.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from html import escape
from typing import Sequence

from nktenv import __version__
from nktenv.compare.analyze import Cell, Comparison, SweepSeries, Workload
from nktenv.compare.io import Note
from nktenv.compare.texts import cause_text, note_text, outlier_text, pct, status_text, version_fields_text, workload_label
from nktenv.i18n import _, current_language

CSV_COLUMNS = (
    "machine", "device", "device_model", "framework", "model", "pipeline", "device_kind", "batch_size",
    "status", "samples_per_s", "q1", "q3", "epoch_s", "speedup_vs_cpu", "fraction_of_limit", "relative",
    "noisy", "threads", "framework_version", "driver", "cuda", "version_differs", "outlier", "likely_causes",
    "runs", "created_at", "result_id", "source",
)


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}" if abs(value) < 1e-3 else f"{round(value, digits)}"


def to_csv(cmp: Comparison) -> str:
    """One line per (machine, workload): the long form a spreadsheet pivots easily."""
    causes = {(o.machine, o.workload): ";".join(c.code for c in o.causes) for o in cmp.outliers}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180, what Excel expects
    writer.writerow(CSV_COLUMNS)
    for c in cmp.cells:
        w = c.workload
        writer.writerow([
            c.machine, c.device, c.device_model or "", w.framework, w.model, w.pipeline, w.device_kind,
            "" if w.batch_size is None else w.batch_size, c.status, _num(c.samples_per_s, 2), _num(c.q1, 2),
            _num(c.q3, 2), _num(c.epoch_s), _num(c.speedup, 3), _num(c.fraction_of_limit), _num(c.relative),
            "yes" if c.noisy else "no", "" if c.threads is None else c.threads,
            c.versions.get("framework") or "", c.versions.get("driver") or "", c.versions.get("cuda") or "",
            ";".join(c.version_differs), "yes" if c.outlier else "no", causes.get((c.machine, w), ""),
            c.runs, c.created_at, c.result_id, c.source,
        ])
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- SVG

_OK, _SLOW, _BASE, _REF = "#4e79a7", "#e15759", "#59a14f", "#555"
_PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


def fmt(value: float | None) -> str:
    """Compact human number: 52000 -> 52.0k, 0.96 -> 0.96."""
    if value is None:
        return "-"  # not an en dash: a Japanese Windows console (cp932) has none
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.2f}M"
    if a >= 1e4:
        return f"{value / 1e3:.1f}k"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def bar_chart(kind: str, title: str, bars: Sequence[tuple[str, float, str]], unit: str,
              reference: float | None = None, reference_label: str = "") -> str:
    """Horizontal bars, one per machine: (label, value, colour)."""
    row_h, left, width, right = 22, 190, 620, 70
    height = 34 + row_h * len(bars) + 10
    top = max([b[1] for b in bars] + [reference or 0.0]) or 1.0
    scale = (width - left - right) / top
    parts = [f'<svg class="chart" data-chart="{escape(kind)}" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="16" class="ct">{escape(title)}</text>']
    for i, (label, value, colour) in enumerate(bars):
        y = 30 + i * row_h
        w = max(1.0, value * scale)
        parts.append(f'<g class="bar" data-machine="{escape(label)}" data-value="{value:.6g}">'
                     f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label[:30])}</text>'
                     f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>'
                     f'<text x="{left + w + 4:.1f}" y="{y + 14}">{escape(fmt(value))}{escape(unit)}</text></g>')
    if reference:
        x = left + reference * scale
        parts.append(f'<line x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="{height - 6}" stroke="{_REF}" stroke-dasharray="4 3"/>'
                     f'<text x="{x + 3:.1f}" y="{height - 2}" class="small">{escape(reference_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, sweep: SweepSeries) -> str:
    """Throughput against batch size (log-log), one line per machine."""
    width, height, left, bottom, top_m, right = 620, 300, 70, 40, 28, 150
    xs = [b for _m, pts in sweep.series for b, _s in pts]
    ys = [s for _m, pts in sweep.series for _b, s in pts if s > 0]
    if not xs or not ys:
        return ""
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.log10(min(ys)), math.log10(max(ys))
    lx1, ly1 = (lx1 if lx1 > lx0 else lx0 + 1), (ly1 if ly1 > ly0 else ly0 + 1)

    def px(b: float) -> float:
        return left + (math.log10(b) - lx0) / (lx1 - lx0) * (width - left - right)

    def py(s: float) -> float:
        return height - bottom - (math.log10(s) - ly0) / (ly1 - ly0) * (height - bottom - top_m)

    parts = [f'<svg class="chart" data-chart="sweep" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>{escape(title)}</title><text x="4" y="16" class="ct">{escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{height - bottom}" stroke="#999"/>']
    for b in sorted(set(xs)):
        parts.append(f'<text x="{px(b):.1f}" y="{height - bottom + 14}" text-anchor="middle" class="small">{b}</text>')
    for s in (min(ys), max(ys)):
        parts.append(f'<text x="{left - 4}" y="{py(s) + 4:.1f}" text-anchor="end" class="small">{escape(fmt(s))}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 6}" text-anchor="middle" class="small">'
                 f'{escape(_("batch size"))}</text>')
    for i, (machine, pts) in enumerate(sweep.series):
        colour = _PALETTE[i % len(_PALETTE)]
        path = " ".join(f"{px(b):.1f},{py(s):.1f}" for b, s in pts if s > 0)
        parts.append(f'<g class="series" data-machine="{escape(machine)}">'
                     f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
                     + "".join(f'<circle cx="{px(b):.1f}" cy="{py(s):.1f}" r="3" fill="{colour}"/>' for b, s in pts if s > 0)
                     + f'<text x="{width - right + 8}" y="{top_m + 14 * i + 10}" fill="{colour}">{escape(machine[:22])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Meiryo",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
tr.outlier td{background:#fdecea}tr.baseline td{background:#eef7ec}.mark{color:#b3261e;font-weight:bold}
.notes li,.outliers li{margin:3px 0}.small{font-size:10px;fill:#555}.ct{font-weight:bold;font-size:13px}
svg.chart{display:block;margin:8px 0 20px;font-size:11px}.muted{color:#666}
"""


def _cell_row(c: Cell, baseline: str | None) -> str:
    classes = ["cell"] + (["outlier"] if c.outlier else []) + (["baseline"] if baseline and c.machine == baseline else [])
    iqr = "" if c.q1 is None or c.q3 is None else f" ({fmt(c.q1)}–{fmt(c.q3)})"
    versions = " / ".join(f"{v}" for v in (c.versions.get("framework"), c.versions.get("driver"), c.versions.get("cuda")) if v)
    mark = f' <span class="mark" title="{escape(_("version differs from the reference"))}">†</span>' if c.version_differs else ""
    status = "" if c.status == "ok" else f' <span class="mark">{escape(status_text(c.status))}</span>'
    noisy = f' <span class="muted">({escape(_("noisy"))})</span>' if c.noisy else ""
    return (f'<tr class="{" ".join(classes)}" data-machine="{escape(c.machine)}">'
            f"<td>{escape(c.machine)}</td><td>{escape(c.device_model or c.device)}</td>"
            f'<td class="n">{escape(fmt(c.samples_per_s))}{escape(iqr)}{status}{noisy}</td>'
            f'<td class="n">{escape(fmt(c.epoch_s))}</td>'
            f'<td class="n">{"-" if c.speedup is None else escape(fmt(c.speedup)) + "×"}</td>'
            f'<td class="n">{"-" if c.fraction_of_limit is None else escape(pct(c.fraction_of_limit))}</td>'
            f'<td class="n">{"-" if c.relative is None else escape(f"{c.relative:.2f}")}</td>'
            f"<td>{escape(versions)}{mark}</td></tr>")


def to_html(cmp: Comparison, notes: Sequence[Note] = (), *, generated_at: datetime | None = None) -> str:
    """The whole report as one HTML document."""
    now = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    ref = (_("relative to {machine}").format(machine=cmp.baseline) if cmp.baseline
           else _("relative to the fleet median"))
    h: list[str] = [
        f'<!DOCTYPE html><html lang="{escape(current_language())}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(_('nktenv benchmark comparison'))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(_('nktenv benchmark comparison'))}</h1>",
        f'<p class="muted">{escape(_("{machines} machine(s), {workloads} workload(s), generated {when} by nktenv {version}; {reference}; outlier margin {margin}.").format(machines=len(cmp.machines), workloads=len(cmp.workloads), when=now, version=__version__, reference=ref, margin=pct(cmp.margin)))}</p>',
    ]
    # Outliers first: the question people open the report for.
    h.append(f'<h2 id="outliers">{escape(_("Outliers"))}</h2>')
    if cmp.outliers:
        h.append('<ul class="outliers">')
        for o in cmp.outliers:
            extra = "".join(f"<li>{escape(cause_text(c))}</li>" for c in o.causes[1:])
            h.append(f'<li data-machine="{escape(o.machine)}">{escape(outlier_text(o))}'
                     + (f"<ul>{extra}</ul>" if extra else "") + "</li>")
        h.append("</ul>")
    else:
        h.append(f"<p>{escape(_('No machine is slower than its peers with the same device by more than the margin.'))}</p>")

    h.append(f'<h2 id="machines">{escape(_("Machines"))}</h2><table class="machines"><thead><tr>')
    for head in (_("Machine"), _("OS"), _("CPU"), _("Threads"), _("GPUs"), _("Driver"), _("CUDA"), "torch",
                 "tensorflow", _("Runs"), _("Latest run")):
        h.append(f"<th>{escape(head)}</th>")
    h.append("</tr></thead><tbody>")
    for m in cmp.machines:
        sw = m.software
        cells = (m.name, m.os, m.cpu_model, m.cpu_threads, ", ".join(m.gpus), sw.get("driver"), sw.get("cuda"),
                 sw.get("torch"), sw.get("tensorflow"), m.runs, m.latest)
        h.append(f'<tr class="machine" data-machine="{escape(m.name)}">'
                 + "".join(f"<td>{escape('-' if v is None or v == '' else str(v))}</td>" for v in cells) + "</tr>")
    h.append("</tbody></table>")

    h.append(f'<h2 id="workloads">{escape(_("Throughput by workload"))}</h2>')
    h.append(f'<p class="muted">{escape(_("† marks a driver, framework or CUDA version that differs from the reference; compare those numbers with care."))}</p>')
    for w in cmp.workloads:
        h.append(_workload_section(cmp, w))

    speed = [(c.machine, c.speedup, c.workload) for c in cmp.cells if c.speedup is not None]
    if speed:
        h.append(f'<h2 id="speedup">{escape(_("Speedup of the GPU over the CPU"))}</h2>')
        slow = {(o.machine, o.workload) for o in cmp.outliers}
        for w in cmp.workloads:
            bars = [(m, s, _SLOW if (m, w) in slow else _OK) for m, s, ww in speed if ww == w]
            if bars:
                h.append(bar_chart("speedup", _("Speedup over the CPU: {workload}").format(workload=workload_label(w)),
                                   bars, "×"))
    if cmp.sweeps:
        h.append(f'<h2 id="sweeps">{escape(_("Throughput against batch size"))}</h2>')
        for s in cmp.sweeps:
            title = _("Samples/s against batch size: {framework} {model}, {pipeline} pipeline, {device_kind}").format(
                framework=s.framework, model=s.model.upper(), pipeline=s.pipeline, device_kind=s.device_kind.upper())
            h.append(line_chart(title, s))
    h.append(f'<h2 id="notes">{escape(_("Skipped inputs"))}</h2>')
    if notes:
        h.append('<ul class="notes">' + "".join(f"<li>{escape(note_text(n))}</li>" for n in notes) + "</ul>")
    else:
        h.append(f"<p>{escape(_('Every input was read.'))}</p>")
    h.append("</body></html>\n")
    return "\n".join(h)


def _workload_section(cmp: Comparison, w: Workload) -> str:
    cells = cmp.cells_of(w)
    mixed = cmp.mixed_versions.get(w.key, ())
    out = [f'<section class="workload" data-workload="{escape(w.key)}"><h3>{escape(workload_label(w))}</h3>']
    if mixed:
        out.append(f'<p class="mark">{escape(_("Versions differ across machines here: {fields}.").format(fields=version_fields_text(mixed)))}</p>')
    out.append("<table><thead><tr>")
    for head in (_("Machine"), _("Device"), _("Samples/s (IQR)"), _("Epoch s"), _("Speedup vs CPU"),
                 _("% of limit"), _("Relative"), _("Versions (framework / driver / CUDA)")):
        out.append(f"<th>{escape(head)}</th>")
    out.append("</tr></thead><tbody>")
    out.extend(_cell_row(c, cmp.baseline) for c in cells)
    out.append("</tbody></table>")
    bars = [(c.machine, c.samples_per_s, _SLOW if c.outlier else (_BASE if c.machine == cmp.baseline else _OK))
            for c in cells if c.samples_per_s is not None]
    if bars:
        if cmp.baseline:
            ref = next((c.samples_per_s for c in cells if c.machine == cmp.baseline), None)
            ref_label = _("baseline")
        else:
            vals = sorted(b[1] for b in bars)
            ref = (vals[(len(vals) - 1) // 2] + vals[len(vals) // 2]) / 2
            ref_label = _("median")
        out.append(bar_chart("throughput", _("Samples/s per machine: {workload}").format(workload=workload_label(w)),
                             bars, "", ref, ref_label))  # type: ignore[arg-type]
    out.append("</section>")
    return "".join(out)
