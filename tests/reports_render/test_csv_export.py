"""CSV export: BOM and Chinese, numbers stay numbers, durations twice, formulas neutralised."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from kefu.i18n import get_translator
from kefu.reports.csv_export import BOM, export_csv, file_name, neutralise, table_rows
from kefu.reports.types import Column, ColumnKind, ReportFilters, ReportKey, ReportTable
from tests.reports_render.tables import response_times, sla, volume_by_day

EN = get_translator("en")
ZH = get_translator("zh-CN")
ATTACKS = [
    "=1+1",
    "+SUM(A1)",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    '  =HYPERLINK("http://evil.example")',
    "\n=1",
    "\u3000=1",
    "＝1+1",
    "=cmd|' /C calc'!A0",
]


def read(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("cell", ATTACKS)
def test_formula_cells_get_an_apostrophe(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "Wallet", "a=b", "1-2", "客服 = 好", "'quoted", "3"])
def test_ordinary_text_is_untouched(cell: str) -> None:
    assert neutralise(cell) == cell


def test_hostile_text_cells_are_neutralised_but_our_numbers_are_not() -> None:
    columns = (
        Column("name", "Name"),
        Column("count", "Conversations", ColumnKind.INT),
        Column("delta", "Change", ColumnKind.FLOAT),
    )
    rows: list[tuple[object, ...]] = [(attack, -3, -0.25) for attack in ATTACKS]
    rows.append(("=A1", "=SUM(A1)", None))  # text in a numeric column is text
    table = ReportTable(ReportKey.AGENTS, "Agents", columns, rows)
    parsed = read(export_csv(table, EN))
    assert parsed[0] == ["Name", "Conversations", "Change"]
    for attack, row in zip(ATTACKS, parsed[1:], strict=False):
        assert row == ["'" + attack, "-3", "-0.25"]
    assert parsed[-1] == ["'=A1", "'=SUM(A1)", ""]


def test_hostile_header_labels_are_neutralised() -> None:
    table = ReportTable(ReportKey.AGENTS, "Agents", (Column("x", "=evil()"),), [("a",)])
    assert read(export_csv(table, EN))[0] == ["'=evil()"]


def test_durations_percents_dates_and_missing_values() -> None:
    parsed = read(export_csv(response_times(), EN))
    assert parsed[0] == ["Team", "Median (seconds)", "Median", "p90 (seconds)", "p90"]
    assert parsed[1] == ["Wallet", "3900", "1 h 05 min", "7200", "2 h 00 min"]
    assert parsed[2] == ["KYC", "600", "10 min", "", ""]
    assert read(export_csv(sla(), EN))[1:] == [["First response", "97.5"], ["Resolution", "50"]]
    assert read(export_csv(sla(), EN))[0] == ["Target", "Met (%)"]
    days = read(export_csv(volume_by_day(31), EN))
    assert days[0] == ["Day", "Email", "Live chat"]
    assert days[1] == ["2026-01-01", "0", ""]
    assert days[2] == ["2026-01-02", "1", "1"]
    assert len(days) == 32


def test_chinese_header_and_text_with_bom_and_crlf() -> None:
    table = ReportTable(
        ReportKey.VOLUME_BY_TEAM,
        "Volume by team",
        (Column("team", "Team"), Column("time", "Median", ColumnKind.DURATION)),
        [("钱包团队", 3900.0)],
    )
    body = export_csv(table, ZH)
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    parsed = read(body)
    assert parsed[1][0] == "钱包团队"
    assert parsed[1][2] == ZH.gettext("%(hours)d h %(minutes)02d min", hours=1, minutes=5)
    assert parsed[0][0] == ZH.gettext("Team")


def test_rows_match_the_table_one_for_one() -> None:
    table = volume_by_day(10)
    rows = table_rows(table, EN)
    assert len(rows) == 1 + len(table.rows)


def test_file_name() -> None:
    filters = ReportFilters(date(2026, 1, 1), date(2026, 1, 31))
    assert file_name(sla(), filters) == "kefu-sla-2026-01-01-2026-01-31.csv"
