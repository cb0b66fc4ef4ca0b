"""SVG building blocks for the report charts: layout, value axes with round ticks, legends, labels.

Every helper returns markup built from numbers, fixed names and `html.escape()`d text (quotes too),
so the pieces join into safe SVG (kefu.reports.charts). No script, no style attribute: the console's
CSP forbids both; colours are presentation attributes, the rest is styled by
kefu/web/static/reports.css.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

from kefu.i18n import Translator
from kefu.reports.humanize import format_duration_tick, format_number, format_percent
from kefu.reports.types import ColumnKind

WIDTH: Final = 720
PLOT_HEIGHT: Final = 240
LEFT: Final = 72
RIGHT: Final = 16
SLANT_SINE: Final = 0.574  # sin(35°): how far a slanted label reaches down
SLANT_COSINE: Final = 0.819  # cos(35°): how far it reaches left
LINE_HEIGHT: Final = 15
MAX_SLANTED_LABELS: Final = 40
CHAR_WIDTH: Final = 7.0  # a generous average advance of a 12px label: lay out without measuring
LEGEND_ROW: Final = 20
MAX_X_LABELS: Final = 12
MAX_LABEL_CHARS: Final = 18
PALETTE: Final = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
_DURATION_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
_DURATION_STEPS_LONG: Final = (43200, 86400, 172800, 432000, 604800, 1209600, 2592000)


@dataclass(frozen=True)
class Axis:
    """The value axis: ticks from lo to hi (hi > lo) and how a tick reads."""

    lo: float
    hi: float
    ticks: tuple[float, ...]
    kind: ColumnKind

    def y(self, value: float, top: float, height: float) -> float:
        """The SVG y of `value` in a plot `height` tall starting at `top`."""
        return top + height * (1 - (value - self.lo) / (self.hi - self.lo))


def nice_step(span: float, kind: ColumnKind, *, target: int = 5) -> float:
    """A round tick step giving about `target` intervals over `span` (1-2-5, or clock units)."""
    span = max(span, 1e-9)
    if kind == ColumnKind.DURATION:
        for seconds in (*_DURATION_STEPS, *_DURATION_STEPS_LONG):
            if span / seconds <= target:
                return float(seconds)
        days = span / 86400 / target
        return 86400.0 * _round_125(days)
    step = _round_125(span / target)
    if kind == ColumnKind.INT:
        step = max(step, 1.0)
    return step


def _round_125(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return 10.0 * magnitude  # pragma: no cover - the loop always returns


def value_axis(values: Sequence[float], kind: ColumnKind) -> Axis:
    """Ticks covering `values` and zero; percents always show 0–100 %."""
    lo = min(0.0, *values) if values else 0.0
    hi = max(0.0, *values) if values else 0.0
    if kind == ColumnKind.PERCENT:
        hi = max(hi, 1.0)
    if hi <= lo:
        hi = lo + (1.0 if kind != ColumnKind.DURATION else 60.0)
    step = nice_step(hi - lo, kind)
    start = math.floor(lo / step) * step
    end = math.ceil(hi / step) * step
    count = round((end - start) / step)
    ticks = tuple(start + i * step for i in range(count + 1))
    return Axis(start, end, ticks, kind)


def tick_label(value: float, kind: ColumnKind, t: Translator) -> str:
    if kind == ColumnKind.DURATION:
        return format_duration_tick(value, t)
    if kind == ColumnKind.PERCENT:
        return format_percent(value, t)
    return format_number(round(value, 6))


def short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """`text` cut to `limit` characters with an ellipsis (the full text stays in a tooltip)."""
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def coord(value: float) -> str:
    """A coordinate: one decimal is plenty at this size and keeps a year of points small."""
    return f"{value:.1f}".removesuffix(".0")


def markup(parts: list[str]) -> str:
    """The fragments as one SVG document (each was built from numbers, fixed names, escaped text)."""
    return "".join(parts)


def svg_open(height: float, label: str, kind: str) -> list[str]:
    text = escape(label)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart report-chart-{escape(kind)}" '
        f'viewBox="0 0 {WIDTH} {coord(height)}" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{text}" font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{text}</title>",
    ]


def empty_panel(label: str, message: str) -> str:
    height = 120
    parts = svg_open(height, f"{label}: {message}", "empty")
    parts.append(
        f'<rect class="chart-frame" x="1" y="1" width="{WIDTH - 2}" height="{height - 2}" '
        'fill="none" stroke="#d0d7de" rx="6"/>'
    )
    parts.append(
        f'<text class="chart-empty" x="{WIDTH // 2}" y="{height // 2}" text-anchor="middle" '
        f'dominant-baseline="middle" fill="#59636e" font-size="16">{escape(message)}</text>'
    )
    parts.append("</svg>")
    return markup(parts)


def legend(names: Sequence[str], colours: Sequence[str]) -> tuple[list[str], float]:
    """Swatches and names laid out in rows from the left; returns the markup and its height."""
    parts = ['<g class="chart-legend">']
    x, row = float(LEFT), 0
    for name, colour in zip(names, colours, strict=True):
        text = short(name)
        width = 18 + len(text) * CHAR_WIDTH + 16
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = float(LEFT), row + 1
        y = 8 + row * LEGEND_ROW
        parts.append(
            f'<rect x="{coord(x)}" y="{y}" width="12" height="12" rx="2" fill="{colour}"/>'
            f'<text x="{coord(x + 18)}" y="{y + 10}"><title>{escape(name)}</title>{escape(text)}</text>'
        )
        x += width
    parts.append("</g>")
    return parts, 8 + (row + 1) * LEGEND_ROW + 8


def y_axis(axis: Axis, top: float, t: Translator) -> list[str]:
    parts = ['<g class="chart-axis chart-y">']
    for tick in axis.ticks:
        y = coord(axis.y(tick, top, PLOT_HEIGHT))
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#e5e8eb"/>'
            f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" fill="#59636e">'
            f"{escape(tick_label(tick, axis.kind, t))}</text>"
        )
    parts.append("</g>")
    return parts


def x_labels(
    labels: Sequence[tuple[float, str]], top: float, slot: float, *, fit: bool = False
) -> tuple[list[str], float]:
    """Labels under the plot and the height they need: every n-th when crowded; slanted when long,
    or (`fit`) spaced out instead."""
    longest = max((len(short(text)) for _, text in labels), default=0)
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    if fit:  # dates: fewer labels read better than slanted ones
        step = max(step, math.ceil((longest * CHAR_WIDTH + 12) / max(slot, 1e-9)))
    slant = longest * CHAR_WIDTH > slot * step - 4
    if slant:  # slanted labels only need a line's height between them
        step = max(1, math.ceil(LINE_HEIGHT / max(slot, 1e-9)), math.ceil(len(labels) / MAX_SLANTED_LABELS))
    y = top + PLOT_HEIGHT + 16
    parts = ['<g class="chart-axis chart-x" fill="#59636e">']
    for x, text in labels[::step]:
        if slant:
            # A slanted label ends under its bar and runs down-left: keep it inside the picture.
            label = escape(short(text, min(MAX_LABEL_CHARS, int((x - 4) / (CHAR_WIDTH * SLANT_COSINE)))))
            parts.append(
                f'<text x="{coord(x)}" y="{coord(y)}" text-anchor="end" '
                f'transform="rotate(-35 {coord(x)} {coord(y)})">{label}</text>'
            )
        else:
            half = len(short(text)) * CHAR_WIDTH / 2
            anchor = "end" if x + half > WIDTH else "start" if x - half < 0 else "middle"
            parts.append(
                f'<text x="{coord(x)}" y="{coord(y)}" text-anchor="{anchor}">{escape(short(text))}</text>'
            )
    parts.append("</g>")
    bottom = 16 + longest * CHAR_WIDTH * SLANT_SINE + 12 if slant else 32.0
    return parts, bottom
