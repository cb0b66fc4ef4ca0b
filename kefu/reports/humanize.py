"""How report figures read: durations in human units, percents, counts, dates and missing values.

The table, the chart tooltips and the CSV's human columns all format through here, so a figure reads
the same wherever it appears. Strings go through the reader's `Translator` ("1 h 05 min" /
"1 小时 05 分").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Final

from kefu.i18n import N_, Translator
from kefu.reports.types import Column, ColumnKind

MISSING: Final = "—"
NUMERIC_KINDS: Final = frozenset({ColumnKind.INT, ColumnKind.FLOAT, ColumnKind.PERCENT, ColumnKind.DURATION})
_MINUTE: Final = 60
_HOUR: Final = 3600
_DAY: Final = 86400

# A special reading of a cell (a channel's name, a weekday for 0..6), or None to format it by its
# column's kind. The web layer supplies one; other text is translated only in `translate` columns.
TextLabel = Callable[[Column, object], str | None]

# Marked here so extraction finds them; formatted with Translator.gettext below.
_SECONDS = N_("%(seconds)d s")
_MINUTES = N_("%(minutes)d min")
_HOURS_MINUTES = N_("%(hours)d h %(minutes)02d min")
_DAYS_HOURS = N_("%(days)d d %(hours)02d h")
_HOURS = N_("%(hours)d h")
_DAYS = N_("%(days)d d")
_PERCENT = N_("%(percent)s %%")


def as_number(value: object) -> float | None:
    """`value` as a finite float, or None (missing, not a number, NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_duration(seconds: float, t: Translator) -> str:
    """Seconds as people read them: "45 s", "12 min", "1 h 05 min", "2 d 03 h" (rounded)."""
    if not math.isfinite(seconds):
        return MISSING
    sign = "-" if seconds < 0 else ""
    span = abs(seconds)
    if round(span) < _MINUTE:
        return sign + t.gettext(_SECONDS, seconds=round(span))
    minutes = round(span / _MINUTE)
    if minutes < _HOUR // _MINUTE:
        return sign + t.gettext(_MINUTES, minutes=minutes)
    if minutes < _DAY // _MINUTE:
        hours, minutes = divmod(minutes, 60)
        return sign + t.gettext(_HOURS_MINUTES, hours=hours, minutes=minutes)
    days, hours = divmod(round(span / _HOUR), 24)
    return sign + t.gettext(_DAYS_HOURS, days=days, hours=hours)


def format_duration_tick(seconds: float, t: Translator) -> str:
    """A short axis label for a tick placed on a whole unit ("30 min", "2 h", "1 d")."""
    whole = round(seconds)
    if whole == 0:
        return "0"
    if whole % _DAY == 0:
        return t.gettext(_DAYS, days=whole // _DAY)
    if whole % _HOUR == 0:
        return t.gettext(_HOURS, hours=whole // _HOUR)
    if whole % _MINUTE == 0:
        return t.gettext(_MINUTES, minutes=whole // _MINUTE)
    return t.gettext(_SECONDS, seconds=whole)


def format_number(value: float, *, decimals: int = 2) -> str:
    """A count with thousands separators; a fraction with at most `decimals` places, no trailing 0."""
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text or "0"


def format_percent(fraction: float, t: Translator) -> str:
    """A fraction 0..1 as a percentage with one decimal ("97.5 %", "100 %")."""
    return t.gettext(_PERCENT, percent=format_number(round(fraction * 100, 1), decimals=1))


def format_value(column: Column, value: object, t: Translator, text_label: TextLabel | None = None) -> str:
    """One cell as the table shows it; None (and NaN) is "—"."""
    if value is None:
        return MISSING
    special = text_label(column, value) if text_label is not None else None
    if special is not None:
        return special
    number = as_number(value)
    if column.kind in NUMERIC_KINDS and number is not None:
        if column.kind == ColumnKind.DURATION:
            return format_duration(number, t)
        if column.kind == ColumnKind.PERCENT:
            return format_percent(number, t)
        return format_number(number)
    if column.kind in NUMERIC_KINDS and isinstance(value, float):
        return MISSING  # NaN or infinite
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        # Message ids (a measure's name) read in the reader's language; data (names, search terms)
        # is shown as typed.
        return t.gettext(value) if value and column.translate else value
    return str(value)
