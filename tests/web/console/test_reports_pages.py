"""Report dashboards in the console: who may open them, filters, chart + table + CSV from one table."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.i18n import get_translator
from kefu.reports.refresh import do_refresh_reports
from kefu.reports.service import REPORT_CATALOG
from kefu.runtime import Runtime
from kefu.search.service import do_log_search_miss
from kefu.web.console import reports as report_pages
from tests.factories import PASSWORD, make_agent, make_customer, make_team, open_conversation
from tests.web.console.conftest import assert_console_page, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret

INDEX = "/console/reports"
PAGE = "/console/reports/volume"


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, with the report pages mounted even before the lead wires them into the console."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    if not any(getattr(route, "path", "") == INDEX for route in app.routes):
        app.include_router(report_pages.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kefu.test") as c:
        yield c


async def signed_in_supervisor(
    browser: httpx.AsyncClient, runtime: Runtime, *, teams: tuple[uuid.UUID, ...] = ()
) -> None:
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=teams)
    await sign_in(browser, "boss@example.com")


async def signed_in_admin(browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    """An admin with a second factor (admins cannot work without one)."""
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    signed = await sign_in(browser, "root@example.com")
    assert signed.headers["location"] == "/login/enroll"
    started = await post_form(browser, "/login/enroll", {"action": "start"})
    secret = setup_secret(started)
    confirmed = await post_form(
        browser,
        "/login/enroll",
        {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD},
    )
    assert confirmed.status_code == 303, confirmed.text


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def test_signed_out_browsers_are_sent_to_sign_in(browser: httpx.AsyncClient) -> None:
    for path in [INDEX, PAGE, f"{PAGE}.csv", f"{PAGE}?start=2026-01-01"]:
        response = await browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


async def test_agents_get_the_console_404(browser: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    await sign_in(browser, "li@example.com")
    inbox = await browser.get("/console")
    assert inbox.status_code == 200
    assert 'href="/console/reports"' not in inbox.text
    for path in [INDEX, PAGE, f"{PAGE}.csv", "/console/reports/nope", f"{PAGE}?start=bad"]:
        response = await browser.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Download CSV" not in response.text


async def test_supervisors_see_every_report(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await signed_in_supervisor(browser, runtime)
    inbox = await browser.get("/console")
    assert 'href="/console/reports"' in inbox.text
    index = await browser.get(INDEX)
    assert index.status_code == 200
    assert_console_page(index)
    assert "/static/reports.css" in index.text
    for key, _title, _description in REPORT_CATALOG:
        assert f'href="/console/reports/{key.value}"' in index.text
        page = await browser.get(f"/console/reports/{key.value}")
        assert page.status_code == 200, (key, page.text)
        assert_console_page(page)
        assert f'href="/console/reports/{key.value}.csv?' in page.text
        download = await browser.get(f"/console/reports/{key.value}.csv")
        assert download.status_code == 200, key
        assert download.headers["content-type"] == "text/csv; charset=utf-8"
        assert download.headers["content-disposition"].startswith(f'attachment; filename="kefu-{key.value}-')
        assert download.headers["x-content-type-options"] == "nosniff"
        assert read_csv(download)[0]


async def test_admins_see_the_reports(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await signed_in_admin(browser, runtime, clock)
    index = await browser.get(INDEX)
    assert index.status_code == 200
    page = await browser.get(f"{PAGE}?start=2025-02-01&end=2025-02-28&tz=Asia/Shanghai")
    assert page.status_code == 200
    assert 'value="2025-02-01"' in page.text
    assert 'value="Asia/Shanghai"' in page.text


async def test_unknown_reports_are_404(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await signed_in_supervisor(browser, runtime)
    for path in [
        "/console/reports/nope",
        "/console/reports/nope.csv",
        "/console/reports/VOLUME",
        "/console/reports/%3Cscript%3E",
    ]:
        response = await browser.get(path)
        assert response.status_code == 404, path
        assert "<script>" not in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=yesterday", "The start date is not a date"),
        ("end=2026-13-01", "The end date is not a date"),
        ("start=2026-01-01T00:00:00", "The start date is not a date"),
        ("start=0001-01-01&end=0001-01-02", "The start date is not a date"),
        ("end=9999-12-31", "The end date is not a date"),
        ("start=2025-03-01&end=2025-02-01", "The end date is before the start date"),
        ("start=2020-01-01&end=2025-01-01", "A report covers at most 731 days"),
        ("tz=Mars/Olympus", "Unknown time zone"),
        ("tz=../../etc/passwd", "Unknown time zone"),
        ("tz=" + "A" * 300, "Unknown time zone"),
        ("team=not-a-uuid", "Unknown team"),
        (f"team={uuid.UUID('6f1c2b7e-0d4a-4c55-9e3b-2a8f7c1d9e10')}", "Unknown team"),
        ("channel=pigeon", "Unknown channel"),
        ("category=<script>", "Unknown category"),
        ("channel=" + "&channel=".join(["email"] * 30), "Too many or too long filter values"),
    ],
)
async def test_malformed_filters_are_400_with_a_message(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, query: str, message: str
) -> None:
    await signed_in_supervisor(browser, runtime)
    for path in [PAGE, f"{PAGE}.csv"]:
        response = await browser.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert message in response.text
        assert 'role="alert"' in response.text
        assert "<script>" not in response.text
        assert_console_page(response)


async def test_filters_are_kept_in_presets_and_the_csv_link(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    wallet = await make_team(runtime.sessionmaker, "Wallet <b>")
    hidden = await make_team(runtime.sessionmaker, "Hidden", private=True)
    await signed_in_supervisor(browser, runtime)
    query = f"start=2025-02-01&end=2025-02-10&tz=Asia/Shanghai&team={wallet}&channel=email&category=kyc"
    page = await browser.get(f"{PAGE}?{query}")
    assert page.status_code == 200, page.text
    assert "Wallet &lt;b&gt;" in page.text
    assert f'<option value="{wallet}" selected>' in page.text
    assert f'<option value="{hidden}"' in page.text  # supervisors see private teams
    assert f"team={wallet}" in page.text
    # Presets end today (the frozen clock: 2025-03-01 in Shanghai) and keep the other filters.
    assert "start=2025-02-23&amp;end=2025-03-01" in page.text
    assert "start=2025-01-31&amp;end=2025-03-01" in page.text
    csv_link = f"/console/reports/volume.csv?{query.replace('&', '&amp;').replace('/', '%2F')}"
    assert csv_link in page.text
    # Defaults: the last 30 days in the organisation's zone (UTC without a default schedule).
    plain = await browser.get(PAGE)
    assert 'value="2025-01-31"' in plain.text
    assert 'value="2025-03-01"' in plain.text
    assert 'value="UTC"' in plain.text


_ROW_RE = re.compile(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", re.S)
_CELL_RE = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def table_rows(page: httpx.Response) -> list[list[str]]:
    """The dashboard's table as the reader sees it."""
    return [
        [unescape(head), *(unescape(cell) for cell in _CELL_RE.findall(rest))]
        for head, rest in _ROW_RE.findall(page.text)
    ]


async def test_figures_from_real_conversations_in_page_and_csv(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    wallet = await make_team(runtime.sessionmaker, "Wallet <script>")
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR, teams=(wallet,))
    for category in ["kyc", "kyc", "deposit"]:
        await open_conversation(
            browser, boss, category=category, team_id=str(wallet), subject="=HYPERLINK(1)"
        )
    async with transaction(runtime.sessionmaker) as session:
        assert await do_refresh_reports(session, clock.now() + timedelta(minutes=5)) == 3
    await sign_in(browser, "boss@example.com")
    query = "start=2025-03-01&end=2025-03-01&tz=UTC"

    page = await browser.get(f"/console/reports/volume-by-category?{query}")
    assert page.status_code == 200, page.text
    assert_console_page(page)
    rows = table_rows(page)
    assert ["Identity verification", "2", "66.7 %"] in rows
    assert ["Deposit", "1", "33.3 %"] in rows
    assert "<svg" in page.text
    assert "Identity verification · Conversations: 2" in page.text

    download = await browser.get(f"/console/reports/volume-by-category.csv?{query}")
    assert download.status_code == 200
    assert (
        'filename="kefu-volume-by-category-2025-03-01-2025-03-01.csv"'
        in download.headers["content-disposition"]
    )
    parsed = read_csv(download)
    assert parsed[0] == ["Category", "Conversations", "Share (%)"]
    # One CSV row per table row, the same figures (the CSV keeps two decimals of a percent).
    assert len(parsed) == 1 + len(rows)
    from_csv = sorted((name, count, round(float(share), 1)) for name, count, share in parsed[1:])
    from_page = sorted((name, count, float(share.removesuffix(" %"))) for name, count, share in rows)
    assert from_csv == from_page

    # Filters reach the query: another team's figures are zero, a category filter narrows.
    other = await make_team(runtime.sessionmaker, "Other")
    empty = await browser.get(f"/console/reports/volume-by-category?{query}&team={other}")
    assert empty.status_code == 200
    assert ["Identity verification", "2", "66.7 %"] not in table_rows(empty)
    by_team = await browser.get(f"/console/reports/volume-by-team?{query}&category=kyc")
    assert by_team.status_code == 200
    assert "Wallet &lt;script&gt;" in by_team.text
    assert "<script>" not in by_team.text.split("<body", 1)[1].replace('<script src="/static/', "")
    assert ["Wallet <script>", "2", "100 %"] in table_rows(by_team)
    team_csv = read_csv(await browser.get(f"/console/reports/volume-by-team.csv?{query}&category=kyc"))
    assert ["Wallet <script>", "2", "100"] in team_csv

    # The heat map and the day-by-day volume chart draw the same conversations.
    heat = await browser.get(f"/console/reports/hour-of-week?{query}")
    assert heat.status_code == 200
    assert "Saturday 09:00 · Conversations: 3" in heat.text  # 2025-03-01 was a Saturday
    volume = await browser.get(f"/console/reports/volume?{query}")
    assert volume.status_code == 200
    assert [row for row in table_rows(volume) if row[0] == "2025-03-01"] == [["2025-03-01", "3", "3"]]
    shanghai = await browser.get(
        "/console/reports/hour-of-week?start=2025-03-01&end=2025-03-01&tz=Asia/Shanghai"
    )
    assert "Saturday 17:00 · Conversations: 3" in shanghai.text


async def test_hostile_search_terms_stay_text_in_page_chart_and_csv(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    attacks = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", " -2+3", "<script>alert(1)</script>"]
    async with transaction(runtime.sessionmaker) as session:
        for text in attacks:
            await do_log_search_miss(session, "en", text)
    await signed_in_supervisor(browser, runtime)
    query = "start=2025-03-01&end=2025-03-01"
    page = await browser.get(f"/console/reports/searches?{query}")
    assert page.status_code == 200
    assert_console_page(page)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert len(table_rows(page)) == len(attacks)
    parsed = read_csv(await browser.get(f"/console/reports/searches.csv?{query}"))
    assert parsed[0][:3] == ["Search", "Language", "Searches"]
    cells = sorted(row[0] for row in parsed[1:])
    assert len(cells) == len(attacks)
    for cell in cells:
        if "script" not in cell:
            assert cell.startswith("'"), cell
    assert all(row[2] == "1" for row in parsed[1:])


async def test_pages_speak_chinese(browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    await signed_in_supervisor(browser, runtime)
    page = await browser.get(f"{PAGE}?lang=zh-CN")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert page.headers["content-language"] == "zh-CN"
    download = await browser.get(f"{PAGE}.csv?lang=zh-CN")
    assert download.status_code == 200
    assert read_csv(download)[0][0] == get_translator("zh-CN").gettext("Date")


async def test_response_times_read_in_clock_units(
    browser: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    customer = await make_customer(runtime.sessionmaker, runtime.settings, "ada@example.com")
    created = await open_conversation(browser, customer)
    clock.advance(timedelta(minutes=65))
    reply = await browser.post(
        f"/api/v1/conversations/{created['id']}/messages", json={"body": "Found it"}, headers=boss.headers
    )
    assert reply.status_code == 201, reply.text
    async with transaction(runtime.sessionmaker) as session:
        await do_refresh_reports(session, clock.now() + timedelta(minutes=5))
    await sign_in(browser, "boss@example.com")
    query = "start=2025-03-01&end=2025-03-01"
    page = await browser.get(f"/console/reports/response-times?{query}")
    assert page.status_code == 200
    first = table_rows(page)[0]
    assert first[0] == "First response"
    assert first[1] == "1"
    # Percentiles come from histograms (a few % off): about an hour, in hours and minutes.
    assert re.fullmatch(r"1 h \d\d min", first[2]), first
    assert "—" in table_rows(page)[-1]  # nothing resolved yet
    parsed = read_csv(await browser.get(f"/console/reports/response-times.csv?{query}"))
    assert parsed[0][:4] == ["Measure", "Count", "Median (seconds)", "Median"]
    assert parsed[1][0] == "First response"
    assert 3600 <= int(parsed[1][2]) < 7200
    assert parsed[1][3] == first[2]
