"""CSV of a ReportTable: the rows the console shows, for spreadsheets, with formula injection neutralised.

Format (docs/reports-console.md):
* UTF-8 with a byte-order mark, so Excel opens Chinese text correctly; CRLF line ends (RFC 4180).
* The header row holds the columns' labels in the reader's language.
* Numbers we produce stay numbers: counts and decimals as plain digits ("1234", "4.25"), percents
  as 0–100 with up to two decimals under a "(%)" header, dates as ISO "2026-11-24".
* A duration becomes two columns: whole seconds under "<label> (seconds)" for sums and sorting, then
  the human reading ("1 h 05 min") under "<label>".
* A missing figure is an empty cell.
* Text (team names, article titles, search terms: anyone may have typed them) is neutralised: a cell
  whose first character, or first after leading whitespace, is =, +, -, @, a tab or a carriage
  return (or their full-width forms) gets a leading apostrophe, so no spreadsheet runs it as a formula.
  A non-number found in a numeric column is treated as text.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from kefu.i18n import N_, Translator
from kefu.reports.humanize import NUMERIC_KINDS, TextLabel, as_number, format_duration, format_value
from kefu.reports.types import Column, ColumnKind, ReportFilters, ReportTable

BOM: Final = "\ufeff"
MEDIA_TYPE: Final = "text/csv; charset=utf-8"
# OWASP "CSV injection" triggers, plus the full-width forms some spreadsheets also accept.
FORMULA_TRIGGERS: Final = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_SECONDS_HEADER = N_("%(label)s (seconds)")
_PERCENT_HEADER = N_("%(label)s (%%)")


def neutralise(cell: str) -> str:
    """`cell` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if not cell:
        return cell
    if cell[0] in FORMULA_TRIGGERS or cell.lstrip(" \n\u00a0\u3000")[:1] in FORMULA_TRIGGERS:
        return "'" + cell
    return cell


def _number(value: float, kind: ColumnKind) -> str:
    if kind == ColumnKind.PERCENT:
        value = round(value * 100, 2)
    elif kind == ColumnKind.DURATION:
        value = round(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def header(table: ReportTable, t: Translator) -> list[str]:
    """The header row: translated labels, a duration's seconds column before its human one."""
    names: list[str] = []
    for column in table.columns:
        label = t.gettext(column.label)
        if column.kind == ColumnKind.DURATION:
            names.append(t.gettext(_SECONDS_HEADER, label=label))
        if column.kind == ColumnKind.PERCENT:
            label = t.gettext(_PERCENT_HEADER, label=label)
        names.append(label)
    return [neutralise(name) for name in names]


def _cells(column: Column, value: object, t: Translator, text_label: TextLabel | None) -> list[str]:
    number = as_number(value)
    if column.kind == ColumnKind.DURATION:
        if number is None:
            return ["", ""] if value is None or isinstance(value, float) else ["", neutralise(str(value))]
        return [_number(number, column.kind), format_duration(number, t)]
    if value is None:
        return [""]
    if column.kind in NUMERIC_KINDS:
        if number is not None:
            return [_number(number, column.kind)]
        if isinstance(value, float):
            return [""]  # NaN or infinite
    return [neutralise(format_value(column, value, t, text_label))]


def table_rows(table: ReportTable, t: Translator, text_label: TextLabel | None = None) -> list[list[str]]:
    """Header and rows as the CSV holds them (cells already neutralised)."""
    rows = [header(table, t)]
    for row in table.rows:
        cells: list[str] = []
        for column, value in zip(table.columns, row, strict=True):
            cells += _cells(column, value, t, text_label)
        rows.append(cells)
    return rows


def export_csv(table: ReportTable, t: Translator, text_label: TextLabel | None = None) -> bytes:
    """The table as a UTF-8 (with BOM) CSV file in the reader's language."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(table_rows(table, t, text_label))
    return out.getvalue().encode("utf-8")


def file_name(table: ReportTable, filters: ReportFilters) -> str:
    """`kefu-<report>-<start>-<end>.csv` (the key is a fixed ASCII slug)."""
    return f"kefu-{table.key.value}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
