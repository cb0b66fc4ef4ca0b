"""Server-side SVG charts of a ReportTable: grouped and stacked bars, lines over dates, a weekday×hour map.

Pure functions returning markup, built from the blocks in kefu.reports.svg. Every piece of text
(labels come from data: team names, article titles, search terms) is escaped (html.escape); there
is no script, no style element and no `style` attribute (the console's CSP forbids them), only
presentation attributes and classes styled by kefu/web/static/reports.css. The viewBox is fixed so
a chart scales to a phone; each bar, point and cell carries a `<title>` (the browser's tooltip) and
the root has role="img" and an aria-label. Colours are the Okabe–Ito palette (distinguishable with
every common colour-vision deficiency) and a single-hue sequential ramp for the heat map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Final

from kefu.i18n import N_, Translator
from kefu.reports.humanize import TextLabel, as_number, format_value
from kefu.reports.svg import (
    LEFT,
    PALETTE,
    PLOT_HEIGHT,
    RIGHT,
    WIDTH,
    coord,
    empty_panel,
    legend,
    markup,
    short,
    svg_open,
    value_axis,
    x_labels,
    y_axis,
)
from kefu.reports.types import Chart, ChartKind, Column, ReportTable

# ColorBrewer "Blues": lightness alone carries the value, so it reads in greyscale too.
HEAT: Final = ("#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
HEAT_EMPTY: Final = "#eeeeee"  # no figure at all
HEAT_ZERO: Final = "#f7fbff"
HEAT_LABEL_EXTRA: Final = 28  # more room on the left: weekday names are wider than numbers
NO_DATA: Final = N_("No data for these filters.")


@dataclass(frozen=True)
class _Frame:
    """What every x/y chart shares: resolved columns, translated names, the reader's formatters."""

    table: ReportTable
    chart: Chart
    x: Column
    series: tuple[Column, ...]
    names: tuple[str, ...]
    t: Translator
    text_label: TextLabel | None

    def x_text(self, value: object) -> str:
        return format_value(self.x, value, self.t, self.text_label)

    def tip(self, x_value: object, index: int, value: object) -> str:
        column = self.series[index]
        shown = format_value(column, value, self.t, self.text_label)
        return f"{self.x_text(x_value)} · {self.names[index]}: {shown}"


def _bars(frame: _Frame, label: str, *, stacked: bool) -> str:
    rows = frame.table.rows
    x_index = _column_index(frame.table, frame.x.key)
    indexes = [_column_index(frame.table, c.key) for c in frame.series]
    if stacked:
        totals = [sum(max(0.0, as_number(row[i]) or 0.0) for i in indexes) for row in rows]
        axis = value_axis(totals, frame.series[0].kind)
    else:
        numbers = [n for row in rows for i in indexes if (n := as_number(row[i])) is not None]
        axis = value_axis(numbers, frame.series[0].kind)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(indexes))]
    parts, top = legend(frame.names, colours)
    parts += y_axis(axis, top, frame.t)
    plot = WIDTH - LEFT - RIGHT
    slot = plot / max(1, len(rows))
    group = slot * 0.8
    bar = group if stacked else group / len(indexes)
    zero = axis.y(0.0, top, PLOT_HEIGHT)
    parts.append('<g class="chart-bars">')
    for position, row in enumerate(rows):
        left = LEFT + position * slot + (slot - group) / 2
        base = 0.0
        for s, i in enumerate(indexes):
            number = as_number(row[i])
            if number is None:
                continue
            if stacked:
                number = max(0.0, number)
                if number == 0:
                    continue  # nothing to see; a year of channels stays light (the table has the 0)
                y0, y1 = axis.y(base, top, PLOT_HEIGHT), axis.y(base + number, top, PLOT_HEIGHT)
                base += number
                x = left
            else:
                y0, y1 = zero, axis.y(number, top, PLOT_HEIGHT)
                x = left + s * bar
            y, h = min(y0, y1), abs(y0 - y1)
            parts.append(
                f'<rect x="{coord(x)}" y="{coord(y)}" width="{coord(max(bar - 1, 0.5))}" height="{coord(h)}" '
                f'fill="{colours[s]}"><title>{escape(frame.tip(row[x_index], s, row[i]))}</title></rect>'
            )
    parts.append("</g>")
    parts.append(
        f'<line class="chart-baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{coord(zero)}" y2="{coord(zero)}" stroke="#59636e"/>'
    )
    labels = [(LEFT + (p + 0.5) * slot, frame.x_text(row[x_index])) for p, row in enumerate(rows)]
    under, bottom = x_labels(labels, top, slot, fit=all(isinstance(row[x_index], date) for row in rows))
    return markup([*svg_open(top + PLOT_HEIGHT + bottom, label, frame.chart.kind), *parts, *under, "</svg>"])


def _line(frame: _Frame, label: str) -> str:
    rows = frame.table.rows
    x_index = _column_index(frame.table, frame.x.key)
    indexes = [_column_index(frame.table, c.key) for c in frame.series]
    numbers = [n for row in rows for i in indexes if (n := as_number(row[i])) is not None]
    axis = value_axis(numbers, frame.series[0].kind)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(indexes))]
    parts, top = legend(frame.names, colours)
    plot = WIDTH - LEFT - RIGHT
    # Dates sit at their day (gaps stay gaps); anything else is evenly spaced in row order.
    xs_raw = [row[x_index] for row in rows]
    if xs_raw and all(isinstance(v, date) for v in xs_raw):
        ordinals = [v.toordinal() for v in xs_raw if isinstance(v, date)]
        first, last = min(ordinals), max(ordinals)
        span = max(1, last - first)
        xs = [LEFT + plot * (o - first) / span for o in ordinals]
    else:
        span = max(1, len(rows) - 1)
        xs = [LEFT + plot * p / span for p in range(len(rows))]
    if len(rows) == 1:
        xs = [LEFT + plot / 2]
    parts += y_axis(axis, top, frame.t)
    for s, i in enumerate(indexes):
        path: list[str] = []
        points: list[str] = []
        pen_down = False
        for x, row in zip(xs, rows, strict=True):
            number = as_number(row[i])
            if number is None:
                pen_down = False  # a missing day breaks the line rather than inventing a value
                continue
            y = axis.y(number, top, PLOT_HEIGHT)
            path.append(f"{'L' if pen_down else 'M'}{coord(x)} {coord(y)}")
            pen_down = True
            points.append(
                f'<circle cx="{coord(x)}" cy="{coord(y)}" r="2.5"><title>'
                f"{escape(frame.tip(row[x_index], s, row[i]))}</title></circle>"
            )
        parts.append(
            f'<g class="chart-series" fill="{colours[s]}"><path d="{"".join(path)}" fill="none" '
            f'stroke="{colours[s]}" stroke-width="2" stroke-linejoin="round"/>{"".join(points)}</g>'
        )
    labels = [(x, frame.x_text(row[x_index])) for x, row in zip(xs, rows, strict=True)]
    under, bottom = x_labels(labels, top, plot / max(1, len(rows) - 1), fit=True)
    return markup([*svg_open(top + PLOT_HEIGHT + bottom, label, frame.chart.kind), *parts, *under, "</svg>"])


def _distinct(values: Sequence[object]) -> list[object]:
    """Distinct values, sorted when they are all numbers (hours, weekdays), else first-seen order."""
    seen = list(dict.fromkeys(values))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in seen):
        return sorted(seen, key=lambda v: v if isinstance(v, int) else 0)
    return seen


def _heatmap(
    table: ReportTable, chart: Chart, label: str, t: Translator, text_label: TextLabel | None
) -> str:
    x_col = _column(table, chart.x)
    y_col, v_col = _column(table, chart.series[0]), _column(table, chart.series[1])
    xi, yi, vi = (_column_index(table, c.key) for c in (x_col, y_col, v_col))
    xs, ys = _distinct([row[xi] for row in table.rows]), _distinct([row[yi] for row in table.rows])
    if len(ys) > len(xs):  # the longer dimension (hours, not weekdays) runs along the wide side
        x_col, y_col, xi, yi, xs, ys = y_col, x_col, yi, xi, ys, xs
    cells = {(row[xi], row[yi]): row[vi] for row in table.rows}
    numbers = [n for v in cells.values() if (n := as_number(v)) is not None]
    hi = max(numbers, default=0.0)
    top = 12.0
    left = LEFT + HEAT_LABEL_EXTRA  # weekday names ("Wednesday") are wider than axis numbers
    cell_w = (WIDTH - left - RIGHT) / len(xs)
    cell_h = min(32.0, PLOT_HEIGHT / len(ys))
    grid_h = cell_h * len(ys)
    height = top + grid_h + 40 + 36
    parts = svg_open(height, label, chart.kind)
    parts.append('<g class="chart-cells" stroke="#ffffff">')
    for r, y_value in enumerate(ys):
        y_text = format_value(y_col, y_value, t, text_label)
        for c, x_value in enumerate(xs):
            value = cells.get((x_value, y_value))
            number = as_number(value)
            if number is None or hi <= 0:
                colour = HEAT_EMPTY
            else:
                colour = HEAT[min(len(HEAT) - 1, int(number / hi * len(HEAT)))] if number > 0 else HEAT_ZERO
            x_text = format_value(x_col, x_value, t, text_label)
            tip = f"{y_text} {x_text} · {t.gettext(v_col.label)}: {format_value(v_col, value, t, text_label)}"
            parts.append(
                f'<rect x="{coord(left + c * cell_w)}" y="{coord(top + r * cell_h)}" width="{coord(cell_w)}" '
                f'height="{coord(cell_h)}" fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
    parts.append('</g><g class="chart-axis" fill="#59636e">')
    for r, y_value in enumerate(ys):
        y = top + (r + 0.5) * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{coord(y)}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(short(format_value(y_col, y_value, t, text_label)))}</text>"
        )
    step = max(1, math.ceil(len(xs) * 36 / (WIDTH - left - RIGHT)))
    for c, x_value in list(enumerate(xs))[::step]:
        x = left + (c + 0.5) * cell_w
        parts.append(
            f'<text x="{coord(x)}" y="{coord(top + grid_h + 16)}" text-anchor="middle">'
            f"{escape(short(format_value(x_col, x_value, t, text_label)))}</text>"
        )
    parts.append("</g>")
    parts += _heat_legend(top + grid_h + 36, hi, v_col, t, text_label)
    parts.append("</svg>")
    return markup(parts)


def _heat_legend(
    y: float, hi: float, column: Column, t: Translator, text_label: TextLabel | None
) -> list[str]:
    parts = ['<g class="chart-legend">']
    zero = escape(format_value(column, 0, t))
    parts.append(f'<text x="{LEFT - 6}" y="{coord(y + 10)}" text-anchor="end">{zero}</text>')
    for i, colour in enumerate(HEAT):
        parts.append(f'<rect x="{LEFT + i * 24}" y="{coord(y)}" width="24" height="12" fill="{colour}"/>')
    top_label = format_value(column, hi, t, text_label)
    parts.append(f'<text x="{LEFT + len(HEAT) * 24 + 6}" y="{coord(y + 10)}">{escape(top_label)}</text>')
    parts.append("</g>")
    return parts


def _column(table: ReportTable, key: str) -> Column:
    for column in table.columns:
        if column.key == key:
            return column
    raise ValueError(f"report {table.key} has no column {key!r}")


def _column_index(table: ReportTable, key: str) -> int:
    return [c.key for c in table.columns].index(key)


def has_data(table: ReportTable) -> bool:
    """True when the chart would draw at least one figure."""
    chart = table.chart
    if chart is None or not table.rows or not chart.series:
        return False
    keys = chart.series[1:] if chart.kind == ChartKind.HEATMAP else chart.series
    indexes = [_column_index(table, key) for key in keys]
    return any(as_number(row[i]) is not None for row in table.rows for i in indexes)


def render_chart(table: ReportTable, t: Translator, text_label: TextLabel | None = None) -> str:
    """The table's chart as inline SVG markup in the reader's language; a "no data" panel when empty.

    Precondition: `table.chart` is set and names columns of the table (ValueError otherwise).
    """
    chart = table.chart
    if chart is None:
        raise ValueError(f"report {table.key} has no chart")
    label = t.gettext(table.title)
    if chart.kind == ChartKind.HEATMAP:
        if len(chart.series) != 2:
            raise ValueError("a heat map names two series: the y column and the value column")
        for key in (chart.x, *chart.series):
            _column(table, key)
        if not has_data(table):
            return empty_panel(label, t.gettext(NO_DATA))
        return _heatmap(table, chart, label, t, text_label)
    if not chart.series:  # e.g. volume by channel when no channel had a conversation
        return empty_panel(label, t.gettext(NO_DATA))
    series = tuple(_column(table, key) for key in chart.series)
    frame = _Frame(
        table,
        chart,
        _column(table, chart.x),
        series,
        tuple(t.gettext(c.label) for c in series),
        t,
        text_label,
    )
    if not has_data(table):
        return empty_panel(label, t.gettext(NO_DATA))
    if chart.kind == ChartKind.LINE:
        return _line(frame, label)
    return _bars(frame, label, stacked=chart.kind == ChartKind.STACKED_BAR)
