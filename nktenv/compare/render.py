"""CSV and a self-contained HTML report (inline CSS and SVG: no script, no network, no fonts).

Both are pure: a `Comparison` (plus the skip notes) in, text out. Writing is the caller's job.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from html import escape
from typing import Any, Sequence

from nktenv import __version__
from nktenv.compare.analyze import Cell, Comparison, SweepSeries, Workload
from nktenv.compare.io import Note
from nktenv.compare.history import History
from nktenv.compare.texts import (cause_text, detail_text, drop_text, limit_text, note_text, pct, reference_text, status_text,
                                  summary_text, version_fields_text, workload_label)
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


def nice_top(value: float) -> float:
    """The axis end: the value rounded up to 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


Legend = Sequence[tuple[str, str, str]]  # (kind "box" | "tick" | "line" | "ring", colour, text)


def _legend(items: Legend, x: float, y: float) -> str:
    parts = ['<g class="legend">']
    for kind, colour, text in items:
        if kind == "box":
            parts.append(f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="12" height="10" fill="{colour}"/>')
        elif kind == "tick":
            parts.append(f'<line x1="{x + 6:.0f}" y1="{y - 11:.0f}" x2="{x + 6:.0f}" y2="{y + 2:.0f}" stroke="{colour}" stroke-width="2"/>')
        elif kind == "ring":
            parts.append(f'<circle cx="{x + 6:.0f}" cy="{y - 4:.0f}" r="5" fill="none" stroke="{colour}" stroke-width="2"/>')
        else:
            parts.append(f'<line x1="{x:.0f}" y1="{y - 4:.0f}" x2="{x + 12:.0f}" y2="{y - 4:.0f}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text class="legend-item" x="{x + 16:.0f}" y="{y:.0f}">{escape(text)}</text>')
        y += 15  # one entry a line: a long (or Japanese) entry never runs off the chart
    parts.append("</g>")
    return "".join(parts)


def bar_chart(kind: str, title: str, bars: Sequence[tuple[str, float, str, float | None]], unit: str,
              axis_label: str, legend: Legend) -> str:
    """Horizontal bars from 0, one per machine: (label, value, colour, reference tick or None); a legend below."""
    row_h, left, width, right = 22, 190, 620, 70
    plot_h = row_h * len(bars)
    height = 34 + plot_h + 44 + 15 * len(legend)
    top = nice_top(max([b[1] for b in bars] + [b[3] or 0.0 for b in bars]))
    scale = (width - left - right) / top
    axis_y = 30 + plot_h + 4
    parts = [f'<svg class="chart" data-chart="{escape(kind)}" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="16" class="ct">{escape(title)}</text>']
    for i, (label, value, colour, ref) in enumerate(bars):
        y = 30 + i * row_h
        w = max(1.0, value * scale)
        tick = "" if ref is None else (
            f'<line class="ref" data-ref="{ref:.6g}" x1="{left + ref * scale:.1f}" y1="{y}" x2="{left + ref * scale:.1f}" '
            f'y2="{y + row_h - 2}" stroke="{_REF}" stroke-width="2"/>')
        parts.append(f'<g class="bar" data-machine="{escape(label)}" data-value="{value:.6g}" data-colour="{colour}">'
                     f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label[:30])}</text>'
                     f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>'
                     f'<text x="{left + w + 4:.1f}" y="{y + 14}">{escape(fmt(value))}{escape(unit)}</text>{tick}</g>')
    # the value axis, from 0
    parts.append(f'<g class="axis" data-axis="x" data-min="0" data-max="{top:.6g}">'
                 f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#999"/>')
    for k in range(5):
        v = top * k / 4
        x = left + v * scale
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="#999"/>'
                     f'<text class="small tick" x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle">{escape(fmt(v) if v else "0")}</text>')
    parts.append(f'<text class="small axis-label" x="{(left + width - right) / 2:.0f}" y="{axis_y + 28}" text-anchor="middle">'
                 f'{escape(axis_label)}</text></g>')
    parts.append(_legend(legend, left, axis_y + 46))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, sweep: SweepSeries) -> str:
    """Throughput against batch size (log-log), one line per machine, ticks labelled on both axes."""
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
        parts.append(f'<line x1="{px(b):.1f}" y1="{height - bottom}" x2="{px(b):.1f}" y2="{height - bottom + 4}" stroke="#999"/>'
                     f'<text x="{px(b):.1f}" y="{height - bottom + 14}" text-anchor="middle" class="small tick" data-axis="x">{b}</text>')
    lo, hi = min(ys), max(ys)
    for s in sorted({lo, hi} | {lo * (hi / lo) ** (k / 4) for k in range(1, 4)}):
        parts.append(f'<line x1="{left - 4}" y1="{py(s):.1f}" x2="{left}" y2="{py(s):.1f}" stroke="#999"/>'
                     f'<text x="{left - 6}" y="{py(s) + 4:.1f}" text-anchor="end" class="small tick" data-axis="y">{escape(fmt(s))}</text>')
    parts.append(f'<text class="small axis-label" x="{(left + width - right) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
                 f'{escape(_("batch size (log scale)"))}</text>'
                 f'<text class="small axis-label" x="12" y="{(top_m + height - bottom) / 2:.0f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {(top_m + height - bottom) / 2:.0f})">{escape(_("samples/s (log scale)"))}</text>')
    parts.append(f'<g class="legend"><text class="small" x="{width - right + 8}" y="{top_m - 4}">{escape(_("Machine"))}</text>')
    for i, (machine, _pts) in enumerate(sweep.series):
        colour = _PALETTE[i % len(_PALETTE)]
        y = top_m + 14 * i + 10
        parts.append(f'<line x1="{width - right + 8}" y1="{y - 4}" x2="{width - right + 20}" y2="{y - 4}" stroke="{colour}" stroke-width="2"/>'
                     f'<text class="legend-item" x="{width - right + 24}" y="{y}">{escape(machine[:20])}</text>')
    parts.append("</g>")
    for i, (machine, pts) in enumerate(sweep.series):
        colour = _PALETTE[i % len(_PALETTE)]
        path = " ".join(f"{px(b):.1f},{py(s):.1f}" for b, s in pts if s > 0)
        parts.append(f'<g class="series" data-machine="{escape(machine)}">'
                     f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
                     + "".join(f'<circle cx="{px(b):.1f}" cy="{py(s):.1f}" r="3" fill="{colour}"/>' for b, s in pts if s > 0)
                     + "</g>")
    parts.append("</svg>")
    return "".join(parts)


def history_chart(title: str, series: Sequence[Any]) -> str:
    """Throughput over time (one line per machine and device, linear from 0); drops ringed in red."""
    width, height, left, bottom, top_m, right = 620, max(260, 28 + 14 * len(series) + 70), 70, 46, 28, 150
    dates = sorted({p.created_at for s in series for p in s.points})
    if len(dates) < 2:
        return ""
    top = nice_top(max(p.samples_per_s for s in series for p in s.points))

    def px(d: str) -> float:
        return left + dates.index(d) / (len(dates) - 1) * (width - left - right)

    def py(v: float) -> float:
        return height - bottom - v / top * (height - bottom - top_m)

    parts = [f'<svg class="chart" data-chart="history" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>{escape(title)}</title><text x="4" y="16" class="ct">{escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{height - bottom}" stroke="#999"/>']
    for d in dates:
        parts.append(f'<text x="{px(d):.1f}" y="{height - bottom + 14}" text-anchor="middle" class="small tick" data-axis="x">{escape(d[5:10])}</text>')
    for k in range(5):
        v = top * k / 4
        parts.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end" class="small tick" data-axis="y">{escape(fmt(v) if v else "0")}</text>'
                     f'<line x1="{left - 4}" y1="{py(v):.1f}" x2="{left}" y2="{py(v):.1f}" stroke="#999"/>')
    parts.append(f'<text class="small axis-label" x="{(left + width - right) / 2:.0f}" y="{height - 20}" text-anchor="middle">'
                 f'{escape(_("run date ({first} to {last})").format(first=dates[0][:10], last=dates[-1][:10]))}</text>'
                 f'<text class="small axis-label" x="12" y="{(top_m + height - bottom) / 2:.0f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {(top_m + height - bottom) / 2:.0f})">{escape(_("samples/s"))}</text>')
    parts.append(f'<g class="legend"><text class="small" x="{width - right + 8}" y="{top_m - 4}">{escape(_("Machine"))}</text>')
    for i, s in enumerate(series):
        colour = _PALETTE[i % len(_PALETTE)]
        y = top_m + 14 * i + 10
        parts.append(f'<line x1="{width - right + 8}" y1="{y - 4}" x2="{width - right + 20}" y2="{y - 4}" stroke="{colour}" stroke-width="2"/>'
                     f'<text class="legend-item" x="{width - right + 24}" y="{y}">{escape(s.machine[:20])}</text>')
    y = top_m + 14 * len(series) + 14
    parts.append(f'<circle cx="{width - right + 14}" cy="{y - 4}" r="5" fill="none" stroke="{_SLOW}" stroke-width="2"/>'
                 f'<text class="legend-item" x="{width - right + 24}" y="{y}">{escape(_("drop beyond noise"))}</text></g>')
    for i, s in enumerate(series):
        colour = _PALETTE[i % len(_PALETTE)]
        drops = {d.at.created_at for d in s.drops}
        path = " ".join(f"{px(p.created_at):.1f},{py(p.samples_per_s):.1f}" for p in s.points)
        parts.append(f'<g class="series" data-machine="{escape(s.machine)}">'
                     f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
                     + "".join(f'<circle cx="{px(p.created_at):.1f}" cy="{py(p.samples_per_s):.1f}" r="3" fill="{colour}"/>'
                               + (f'<circle class="drop" cx="{px(p.created_at):.1f}" cy="{py(p.samples_per_s):.1f}" r="7" fill="none" '
                                  f'stroke="{_SLOW}" stroke-width="2"/>' if p.created_at in drops else "")
                               for p in s.points) + "</g>")
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Meiryo",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4;word-break:keep-all;overflow-wrap:normal}
td.rel{white-space:nowrap}tr.outlier td{background:#fdecea}tr.baseline td{background:#eef7ec}.mark{color:#b3261e;font-weight:bold}
.notes li,.outliers li,details.summary li{margin:3px 0}details.summary{margin:4px 0}details.summary>summary{cursor:pointer}
.legend-item{font-size:11px;fill:#333}.small{font-size:10px;fill:#555}.ct{font-weight:bold;font-size:13px}
svg.chart{display:block;margin:8px 0 20px;font-size:11px}.muted{color:#666}
"""


def _device_text(c: Cell) -> str:
    if c.workload.device_kind == "cpu":  # the thread count is often the cause of a slow CPU row
        return _("{cpu}, {threads} threads").format(cpu=c.device_model or c.device, threads="?" if c.threads is None else c.threads)
    return c.device_model or c.device


def _th(head: str) -> str:
    """A header cell that breaks only between words: Japanese has no spaces, so a break is offered after "/"
    (and th's keep-all stops the browser from splitting サンプル or エポック)."""
    return f"<th>{escape(head).replace('/', '/<wbr>')}</th>"


def _cell_row(c: Cell, baseline: str | None) -> str:
    classes = ["cell"] + (["outlier"] if c.outlier else []) + (["baseline"] if baseline and c.machine == baseline else [])
    iqr = "" if c.q1 is None or c.q3 is None else f" ({fmt(c.q1)}–{fmt(c.q3)})"
    versions = " / ".join(f"{v}" for v in (c.versions.get("framework"), c.versions.get("driver"), c.versions.get("cuda")) if v)
    mark = f' <span class="mark" title="{escape(_("version differs from the reference"))}">†</span>' if c.version_differs else ""
    status = "" if c.status == "ok" else f' <span class="mark">{escape(status_text(c.status))}</span>'
    noisy = f' <span class="muted">({escape(_("noisy"))})</span>' if c.noisy else ""
    flag = f' <span class="mark flag">{escape(_("SLOW"))}</span>' if c.outlier else ""
    limit = escape(limit_text(c.fraction_of_limit))
    if c.limit_unreliable:
        limit = f'<span class="mark" title="{escape(_("above 100% of the limit: the limit was measured under another load than the row, so this share is unreliable"))}">{limit}</span>'
    return (f'<tr class="{" ".join(classes)}" data-machine="{escape(c.machine)}">'
            f"<td>{escape(c.machine)}</td><td>{escape(_device_text(c))}</td>"
            f'<td class="n">{escape(fmt(c.samples_per_s))}{escape(iqr)}{status}{noisy}</td>'
            f'<td class="n">{escape(fmt(c.epoch_s))}</td>'
            f'<td class="n">{"-" if c.speedup is None else escape(fmt(c.speedup)) + "×"}</td>'
            f'<td class="n limit">{limit}</td>'
            f'<td class="n rel">{"-" if c.relative is None else escape(f"{c.relative:.2f}")}{flag}</td>'
            f"<td>{escape(versions)}{mark}</td></tr>")


def _head(title: str, generated_at: datetime | None) -> list[str]:
    return [
        f'<!DOCTYPE html><html lang="{escape(current_language())}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]


def _notes(notes: Sequence[Note]) -> list[str]:
    out = [f'<h2 id="notes">{escape(_("Skipped inputs"))}</h2>']
    if notes:
        out.append('<ul class="notes">' + "".join(f"<li>{escape(note_text(n))}</li>" for n in notes) + "</ul>")
    else:
        out.append(f"<p>{escape(_('Every input was read.'))}</p>")
    return out


def to_html(cmp: Comparison, notes: Sequence[Note] = (), *, generated_at: datetime | None = None,
            history: History | None = None) -> str:
    """The whole report as one HTML document."""
    now = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    ref = (_("relative to {machine}").format(machine=cmp.baseline) if cmp.baseline
           else _("relative to the median of the same-device peers"))
    h = _head(_("nktenv benchmark comparison"), generated_at)
    h.append(f'<p class="muted">{escape(_("{machines} machine(s), {workloads} workload(s), generated {when} by nktenv {version}; {reference}; outlier margin {margin}.").format(machines=len(cmp.machines), workloads=len(cmp.workloads), when=now, version=__version__, reference=ref, margin=pct(cmp.margin)))}</p>')
    # One line per slow machine first: the question people open the report for; details fold under it.
    h.append(f'<h2 id="outliers">{escape(_("Outliers"))}</h2>')
    if cmp.outliers:
        h.append('<div class="summaries">')
        for sm in cmp.summaries:
            items = [f"<li>{escape(_('also: {cause}').format(cause=cause_text(c)))}</li>" for c in sm.worst.causes[1:]]
            items += [f'<li class="detail">{escape(detail_text(o, same_cause=o.causes[0] == sm.worst.causes[0]))}</li>'
                      for o in sm.outliers]
            h.append(f'<details class="summary" data-machine="{escape(sm.machine)}"><summary>{escape(summary_text(sm))}</summary>'
                     f'<ul>{"".join(items)}</ul></details>')
        h.append("</div>")
    else:
        h.append(f"<p>{escape(_('No machine is slower than its peers with the same device by more than the margin.'))}</p>")
    if history is not None and history.drops:
        h.append(f'<h2 id="history-drops">{escape(_("Slower than their own past"))}</h2><ul class="drops">')
        h.extend(f'<li data-machine="{escape(d.machine)}">{escape(drop_text(d))}</li>' for d in history.drops)
        h.append("</ul>")

    h.append(f'<h2 id="machines">{escape(_("Machines"))}</h2><table class="machines"><thead><tr>')
    for head in (_("Machine"), _("OS"), _("CPU"), _("Threads"), _("GPUs"), _("Driver"), _("CUDA"), "torch",
                 "tensorflow", _("Runs"), _("Latest run")):
        h.append(_th(head))
    h.append("</tr></thead><tbody>")
    for m in cmp.machines:
        sw = m.software
        cells = (m.name, m.os, m.cpu_model, m.cpu_threads, ", ".join(m.gpus), sw.get("driver"), sw.get("cuda"),
                 sw.get("torch"), sw.get("tensorflow"), m.runs, m.latest)
        h.append(f'<tr class="machine" data-machine="{escape(m.name)}">'
                 + "".join(f"<td>{escape('-' if v is None or v == '' else str(v))}</td>" for v in cells) + "</tr>")
    h.append("</tbody></table>")

    h.append(f'<h2 id="workloads">{escape(_("Throughput by workload"))}</h2>')
    h.append(f'<p class="muted">{escape(reference_text(cmp.baseline, cmp.margin))} '
             f'{escape(_("† marks a driver, framework or CUDA version that differs from the reference; compare those numbers with care."))}</p>')
    for w in cmp.workloads:
        h.append(_workload_section(cmp, w))

    speed = [(c.machine, c.speedup, c.workload) for c in cmp.cells if c.speedup is not None]
    if speed:
        h.append(f'<h2 id="speedup">{escape(_("Speedup of the GPU over the CPU"))}</h2>')
        h.append(f'<p class="muted">{escape(_("A high speedup can mean a slow CPU as much as a fast GPU; slowness is judged in the tables above, not here."))}</p>')
        for w in cmp.workloads:
            # one neutral colour: red means slow everywhere in the report, and a speedup is not a speed
            bars = [(m, sp, _OK, None) for m, sp, ww in speed if ww == w]
            if bars:
                h.append(bar_chart("speedup", _("Speedup over the CPU: {workload}").format(workload=workload_label(w)),
                                   bars, "×", _("times the CPU's samples/s (0 = none)"),
                                   [("box", _OK, _("GPU samples/s divided by the same machine's CPU samples/s"))]))
    if cmp.sweeps:
        h.append(f'<h2 id="sweeps">{escape(_("Throughput against batch size"))}</h2>')
        for sw in cmp.sweeps:
            title = _("Samples/s against batch size: {framework} {model}, {pipeline} pipeline, {device_kind}").format(
                framework=sw.framework, model=sw.model.upper(), pipeline=sw.pipeline, device_kind=sw.device_kind.upper())
            h.append(line_chart(title, sw))
    if history is not None:
        h.extend(_history_section(history))
    h.extend(_notes(notes))
    h.append("</body></html>\n")
    return "\n".join(h)


def _history_section(history: History) -> list[str]:
    series = [s for s in history.series if len(s.points) >= 2]
    if not series:
        return []
    out = [f'<h2 id="history">{escape(_("Each machine against its own past"))}</h2>',
           f'<p class="muted">{escape(_("A drop is judged like a bench verdict: the 95% bootstrap interval of the ratio to the earlier runs lies below 1, and the run is slower than the earlier runs were among themselves. Noisy runs are shown, never judged."))}</p>']
    by_w: dict[Any, list[Any]] = {}
    for s in series:
        by_w.setdefault(s.workload, []).append(s)
    for w, group in by_w.items():
        out.append(f'<section class="history" data-workload="{escape(w.key)}">')
        out.append(history_chart(_("Samples/s over time: {workload}").format(workload=workload_label(w)), group))
        for s in group:
            for d in s.drops:
                out.append(f'<p class="mark drop" data-machine="{escape(d.machine)}">{escape(drop_text(d))}</p>')
        out.append("</section>")
    return out


def history_html(history: History, notes: Sequence[Note] = (), *, generated_at: datetime | None = None) -> str:
    """`compare --history --html`: the drops, then one chart per workload."""
    h = _head(_("nktenv benchmark history"), generated_at)
    if history.drops:
        h.append('<ul class="drops">' + "".join(f'<li data-machine="{escape(d.machine)}">{escape(drop_text(d))}</li>'
                                                for d in history.drops) + "</ul>")
    else:
        none = _("No run is slower than its machine's earlier runs beyond noise.")
        h.append(f"<p>{escape(none)}</p>")
    h.extend(_history_section(history))
    h.extend(_notes(notes))
    h.append("</body></html>\n")
    return "\n".join(h)


def _workload_section(cmp: Comparison, w: Workload) -> str:
    cells = cmp.cells_of(w)
    mixed = cmp.mixed_versions.get(w.key, ())
    out = [f'<section class="workload" data-workload="{escape(w.key)}"><h3>{escape(workload_label(w))}</h3>']
    if mixed:
        out.append(f'<p class="mark">{escape(_("Versions differ across machines here: {fields}.").format(fields=version_fields_text(mixed)))}</p>')
    out.append("<table><thead><tr>")
    rel_head = _("vs {machine}").format(machine=cmp.baseline) if cmp.baseline else _("vs same-device peers")
    for head in (_("Machine"), _("Device"), _("Samples/s (IQR)"), _("Epoch s"), _("Speedup vs CPU"),
                 _("% of limit"), rel_head, _("Versions (framework / driver / CUDA)")):
        out.append(_th(head))
    out.append("</tr></thead><tbody>")
    out.extend(_cell_row(c, cmp.baseline) for c in cells)
    out.append("</tbody></table>")
    bars = []
    for c in cells:
        if c.samples_per_s is None:
            continue
        colour = _SLOW if c.outlier else (_BASE if c.machine == cmp.baseline else _OK)
        ref = None if c.relative is None else c.samples_per_s / c.relative
        bars.append((c.machine, c.samples_per_s, colour, ref))
    if bars:
        legend: list[tuple[str, str, str]] = [("box", _SLOW, _("SLOW: more than {margin} below the reference").format(margin=pct(cmp.margin))),
                                             ("box", _OK, _("within the margin, or no reference"))]
        if cmp.baseline:
            legend += [("box", _BASE, _("baseline")), ("tick", _REF, _("reference: {machine}").format(machine=cmp.baseline))]
        else:
            legend.append(("tick", _REF, _("reference: median of the same-device peers")))
        out.append(bar_chart("throughput", _("Samples/s per machine: {workload}").format(workload=workload_label(w)),
                             bars, "", _("samples/s (axis from 0)"), legend))
    out.append("</section>")
    return "".join(out)
