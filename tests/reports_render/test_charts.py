"""Server-side SVG charts: well-formed, escaped, accessible, every kind, empty data, fast enough."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from kefu.i18n import get_translator
from kefu.reports.charts import HEAT, has_data, render_chart
from kefu.reports.svg import PALETTE, nice_step, value_axis
from kefu.reports.types import Chart, ChartKind, Column, ColumnKind, ReportTable
from tests.reports_render.tables import HOSTILE, hour_of_week, response_times, sla, stacked, volume_by_day

SVG = "{http://www.w3.org/2000/svg}"
EN = get_translator("en")
ZH = get_translator("zh-CN")


def parse(markup: str) -> ET.Element:
    """The chart as an XML tree (it must be well-formed on its own)."""
    return ET.fromstring(markup)  # noqa: S314 - our own output, no DTD or entities


def tag_names(root: ET.Element) -> set[str]:
    return {element.tag.removeprefix(SVG) for element in root.iter()}


def titles(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}title")]


def assert_safe(root: ET.Element) -> None:
    """No script, no foreign content, no event handler or style attribute anywhere."""
    assert tag_names(root) <= {"svg", "title", "g", "rect", "line", "text", "path", "circle"}
    for element in root.iter():
        assert not [name for name in element.attrib if name.lower().startswith("on")]
        assert "style" not in element.attrib
        assert "href" not in "".join(element.attrib)


@pytest.mark.parametrize(
    "table",
    [volume_by_day(40), response_times(), sla(), stacked(), hour_of_week()],
    ids=lambda t: t.key.value,
)
def test_every_kind_is_an_accessible_scalable_image(table: ReportTable) -> None:
    root = parse(render_chart(table, EN))
    assert_safe(root)
    assert root.get("role") == "img"
    assert root.get("aria-label") == table.title
    assert root.get("viewBox", "").startswith("0 0 720 ")
    assert "width" not in root.attrib  # the stylesheet sizes it; the viewBox keeps its shape
    assert root[0].tag == f"{SVG}title"
    # One tooltip per drawn figure, besides the chart's own title.
    assert len(titles(root)) > len(table.rows) // 2


def test_bars_have_one_titled_rect_per_value_and_a_legend() -> None:
    root = parse(render_chart(response_times(), EN))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 5  # 3 teams × 2 series, one missing
    tips = [b.findtext(f"{SVG}title") for b in bars]
    assert "Wallet · Median: 1 h 05 min" in tips
    assert "Trading · p90: 1 h 30 min" in tips
    fills = {b.get("fill") for b in bars}
    assert fills == {PALETTE[0], PALETTE[1]}
    legend = "".join(root.itertext())
    assert "Median" in legend
    assert "p90" in legend
    # Duration axis ticks read in clock units.
    assert {"0", "1 h", "2 h"} <= {t.text for t in root.iter(f"{SVG}text")}


def test_percent_axis_runs_to_100_percent() -> None:
    root = parse(render_chart(sla(), EN))
    ticks = {t.text for t in root.iter(f"{SVG}text")}
    assert {"0 %", "100 %"} <= ticks
    assert "First response · Met: 97.5 %" in titles(root)


def test_stacked_bars_stack_and_skip_zero_and_missing() -> None:
    root = parse(render_chart(stacked(), EN))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 4  # a zero draws nothing, a missing value neither
    kyc = [b for b in bars if (b.findtext(f"{SVG}title") or "").startswith("kyc")]
    assert len(kyc) == 2
    assert float(kyc[0].get("y", 0)) > float(kyc[1].get("y", 0))  # the second sits on the first


def test_line_over_a_year_of_days_is_fast_and_breaks_at_gaps() -> None:
    table = volume_by_day(365)
    started = time.perf_counter()
    markup = render_chart(table, EN)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    root = parse(markup)
    paths = [p.get("d", "") for p in root.iter(f"{SVG}path")]
    assert len(paths) == 2
    assert paths[0].count("M") == 1
    assert paths[1].count("M") == 13  # a missing value every 30 days restarts the line
    assert len(list(root.iter(f"{SVG}circle"))) == 365 + 365 - 13
    assert "2026-01-02 · Email: 1" in titles(root)
    x_labels = [t for t in root.iter(f"{SVG}text") if (t.text or "").startswith("2026-")]
    assert 4 <= len(x_labels) <= 12


def test_heat_map_cells_and_scale() -> None:
    root = parse(render_chart(hour_of_week(), EN))
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(cells) == 7 * 24
    assert {c.get("fill") for c in cells} >= {HEAT[-1]}
    assert "1 3 · Conversations: 3" in titles(root)


def test_heat_map_uses_the_given_labels() -> None:
    def label(column: Column, value: object) -> str | None:
        return f"<day {value}>" if column.key in ("weekday", "hour") else None

    markup = render_chart(hour_of_week([(9, 0, 5)]), EN, label)
    root = parse(markup)
    assert "<day 0> <day 9> · Conversations: 5" in titles(root)
    assert "&lt;day 0&gt;" in markup


@pytest.mark.parametrize(
    "table",
    [
        replace(volume_by_day(3), rows=[]),
        replace(response_times(), rows=[("Wallet", None, None)]),
        sla([]),
        hour_of_week([]),
        hour_of_week([(1, 1, None)]),
        replace(volume_by_day(3), chart=Chart(ChartKind.STACKED_BAR, "day", ())),
    ],
    ids=["line", "bar-all-missing", "percent", "heatmap", "heatmap-missing", "no-series"],
)
def test_empty_data_says_so(table: ReportTable) -> None:
    assert not has_data(table)
    for t, message in [(EN, "No data for these filters."), (ZH, ZH.gettext("No data for these filters."))]:
        root = parse(render_chart(table, t))
        assert_safe(root)
        assert message in "".join(root.itertext())
        assert root.get("role") == "img"
        assert message in (root.get("aria-label") or "")


@pytest.mark.parametrize(
    "table",
    [
        volume_by_day(10, label=HOSTILE),
        response_times(team=HOSTILE),
        stacked(label=HOSTILE),
        sla([(HOSTILE, 0.5)]),
        hour_of_week([(HOSTILE, HOSTILE, 3)]),
    ],
    ids=["line", "bar", "stacked", "percent", "heatmap"],
)
def test_hostile_labels_stay_text(table: ReportTable) -> None:
    hostile_title = replace(table, title=HOSTILE)
    markup = render_chart(hostile_title, EN)
    assert "<script" not in markup
    assert "<img" not in markup
    root = parse(markup)
    assert_safe(root)
    assert root.get("aria-label") == HOSTILE
    # The full text survives in a tooltip, even where the visible label is shortened.
    assert any(HOSTILE in text for text in titles(root))


def test_a_chart_naming_a_missing_column_is_a_programming_error() -> None:
    table = replace(sla(), chart=Chart(ChartKind.BAR, "target", ("nope",)))
    with pytest.raises(ValueError, match="no column"):
        render_chart(table, EN)
    with pytest.raises(ValueError, match="has no chart"):
        render_chart(replace(sla(), chart=None), EN)
    heat = replace(hour_of_week(), chart=Chart(ChartKind.HEATMAP, "hour", ("weekday",)))
    with pytest.raises(ValueError, match="two series"):
        render_chart(heat, EN)


def test_nice_ticks() -> None:
    assert nice_step(10, ColumnKind.INT) == 2
    assert nice_step(3, ColumnKind.INT) == 1
    assert nice_step(0.9, ColumnKind.FLOAT) == 0.2
    assert nice_step(7200, ColumnKind.DURATION) == 1800
    assert nice_step(86400 * 40, ColumnKind.DURATION) == 86400 * 14
    axis = value_axis([3, 17], ColumnKind.INT)
    assert axis.ticks == (0, 5, 10, 15, 20)
    assert value_axis([], ColumnKind.PERCENT).ticks[-1] == 1.0
    assert value_axis([0, 0], ColumnKind.DURATION).hi == 60
    negative = value_axis([-3, 4], ColumnKind.INT)
    assert negative.lo < 0 < negative.hi


def test_chinese_units() -> None:
    root = parse(render_chart(response_times(), ZH))
    assert ZH.gettext("%(hours)d h %(minutes)02d min", hours=1, minutes=5) in "".join(titles(root))


def test_heat_map_puts_the_longer_dimension_across() -> None:
    table = hour_of_week([(d, h, d + h) for d in range(7) for h in range(24)])
    # The data layer's shape: x = weekday, y = hour.
    table = replace(
        table,
        columns=(table.columns[1], table.columns[0], table.columns[2]),
        chart=Chart(ChartKind.HEATMAP, "weekday", ("hour", "conversations")),
    )

    def label(column: Column, value: object) -> str | None:
        if column.key == "weekday":
            return ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][int(str(value))]
        return f"{value:02d}:00" if column.key == "hour" and isinstance(value, int) else None

    root = parse(render_chart(table, EN, label))
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len({c.get("x") for c in cells}) == 24
    assert len({c.get("y") for c in cells}) == 7
    assert "Tue 09:00 · Conversations: 10" in titles(root)
