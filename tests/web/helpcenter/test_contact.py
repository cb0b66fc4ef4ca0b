"""The public "Contact us" page: channels with live facts in both locales, safety advice, hostile labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest

from kefu.channels.actions import do_create_channel
from kefu.channels.contact import forget_live_chat_status
from kefu.channels.demo import load_demo_channels
from kefu.channels.heatmap import forget_heatmaps
from kefu.channels.models import OfficialKind
from kefu.channels.schemas import ChannelIn
from kefu.core.clock import FrozenClock, set_clock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.routing.models import Presence
from kefu.runtime import Runtime
from tests.channels.helpers import default_schedule, seed, set_online
from tests.factories import make_agent, make_team
from tests.web.helpcenter.conftest import MAX_PAGE_BYTES, page_tags

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
LOCALES = ["en", "zh-CN"]
EVERY_DAY = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
TUESDAY_10_LOCAL = datetime(2025, 3, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai and Hong Kong
SATURDAY_10_LOCAL = datetime(2025, 3, 15, 2, 0, tzinfo=UTC)
LABOUR_DAY_10_LOCAL = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)  # a public holiday in CN and HK


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(TUESDAY_10_LOCAL)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


def _move(clock: FrozenClock, to: datetime) -> None:
    clock.advance(to - clock.now())
    forget_live_chat_status()
    forget_heatmaps()


def assert_contact_page(response: httpx.Response) -> None:
    """Public, cacheable, small, CSP-clean; links local or https/mailto/tel only."""
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert "set-cookie" not in response.headers
    assert len(response.content) < MAX_PAGE_BYTES
    for tag, attrs in page_tags(response):
        assert tag not in ("style", "iframe", "object", "embed", "base"), tag
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in ("src", "href", "action"):
            url = attrs.get(name)
            if url is None:
                continue
            assert url.startswith(("/", "#", "https://", "mailto:", "tel:")), (tag, url)
            assert not url.startswith("//"), (tag, url)
    assert "<script>" not in re.sub(r'<script src="/static/[^"]+" defer></script>', "", response.text)


def _state(html: str, number: str) -> str:
    """The opening sentence of the phone line showing `number`."""
    match = re.search(
        re.escape(number) + r'</a></p>\s*<p class="hc-state"[^>]*>.*?<strong>(.*?)</strong>', html, re.S
    )
    assert match, number
    return unescape(match.group(1))


async def _demo(runtime: Runtime, *, funds_hours: bool = True) -> None:
    """The demo registry; default hours every day 08–22 (Shanghai), the funds team an HK office."""
    maker = runtime.sessionmaker
    await make_team(maker, "General")  # slug "general"
    funds = await make_team(maker, "Funds")
    await default_schedule(maker, hours=EVERY_DAY, holiday_country="CN")
    if funds_hours:
        await default_schedule(
            maker, timezone="Asia/Hong_Kong", hours=OFFICE, holiday_country="HK", team_id=funds
        )
    async with transaction(maker) as session:
        await load_demo_channels(session)


@pytest.mark.parametrize("locale", LOCALES)
async def test_with_nothing_configured_the_page_still_helps(
    client: httpx.AsyncClient, clock: FrozenClock, locale: str
) -> None:
    page = await client.get(f"/hc/{locale}/contact")
    assert_contact_page(page)
    html = page.text
    assert f'<html lang="{locale}">' in html
    assert page.headers["content-language"] == locale
    assert f'href="/hc/{locale}/verify"' in html
    assert f'href="/hc/{locale}/callback"' in html
    assert f'href="/hc/{locale}/requests/new"' in html
    assert 'class="hc-safety-box"' in html
    assert "<caption" in html
    assert html.count('<th scope="row">') == 7
    assert html.count('<th scope="col">') == 25
    assert "data-quiet" not in html.split('class="hm-legend"')[0]
    assert 'data-state="closed"' in html  # chat: nobody online
    if locale == "en":
        assert "Offline — leave a message and we reply by email" in html
        assert "No email address is published yet" in html
        assert "No phone line is published yet." in html
        assert "Kefu support will never ask for your password, 2FA codes, private keys or seed phrase" in html
        assert "Check whether a link, email, number or account is really ours" in html
    else:
        assert "联系我们" in html  # already in the catalog


@pytest.mark.parametrize("locale", LOCALES)
async def test_channels_and_phone_hours_on_a_weekday(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, locale: str
) -> None:
    await _demo(runtime)
    page = await client.get(f"/hc/{locale}/contact")
    assert_contact_page(page)
    html = page.text
    assert 'href="mailto:support@kefu.localhost"' in html
    assert 'href="mailto:security@kefu.localhost"' in html
    assert 'href="https://t.me/kefusupport"' in html
    assert 'href="https://x.com/kefusupport"' in html
    assert 'href="https://www.facebook.com/kefusupport"' in html
    assert 'href="https://kefu.localhost/"' in html
    assert 'href="tel:+6561234567"' in html
    assert "+65 6123 4567" in html
    assert 'href="tel:+85221234567"' in html
    assert 'href="tel:+442079460000"' in html
    if locale == "en":
        assert "Singapore hotline" in html
        assert "· Singapore</span>" in html
        assert "· United Kingdom</span>" in html
        assert _state(html, "+65 6123 4567") == "Open now · closes 22:00"
        assert _state(html, "+852 2123 4567") == "Open now · closes 18:00"
        assert "Mon–Fri" in html
        assert "Every day" not in html
        assert "China Time (UTC+08:00)" in html
        assert "Hong Kong" in html
    else:
        assert "新加坡热线" in html
        assert "· 新加坡</span>" in html
        assert "· 英国</span>" in html
        assert "22:00" in _state(html, "+65 6123 4567")
        assert "周一–周五" in html
        assert "中国时间 (UTC+08:00)" in html
    assert html.count('data-state="open"') == 3  # three phone lines; chat is offline


@pytest.mark.parametrize("locale", LOCALES)
async def test_closed_lines_say_when_they_open_across_a_weekend(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, locale: str
) -> None:
    await _demo(runtime)
    _move(clock, SATURDAY_10_LOCAL)
    page = await client.get(f"/hc/{locale}/contact")
    assert_contact_page(page)
    hk = _state(page.text, "+852 2123 4567")
    sg = _state(page.text, "+65 6123 4567")
    if locale == "en":
        assert hk == "Closed · opens Monday 09:00"
        assert sg == "Open now · closes 22:00"
    else:
        assert "星期一 09:00" in hk
        assert "22:00" in sg
    assert 'data-when="2025-03-17T09:00:00+08:00"' in page.text


@pytest.mark.parametrize("locale", LOCALES)
async def test_closed_for_a_public_holiday_names_it(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, locale: str
) -> None:
    await _demo(runtime)
    _move(clock, LABOUR_DAY_10_LOCAL)
    page = await client.get(f"/hc/{locale}/contact")
    assert_contact_page(page)
    hk = _state(page.text, "+852 2123 4567")
    sg = _state(page.text, "+65 6123 4567")
    if locale == "en":
        assert hk == "Closed for Labour Day · opens Friday 09:00"
        assert sg == "Closed for Labor Day · opens Saturday 08:00"
    else:
        assert "劳动节" in hk
        assert "星期五 09:00" in hk
        assert "劳动节" in sg
        assert "星期六 08:00" in sg


async def test_a_company_closed_day_is_named_by_its_exception(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_team(runtime.sessionmaker, "General")
    await default_schedule(runtime.sessionmaker, hours=OFFICE, closed=(("2025-03-11", "Team offsite <b>"),))
    async with transaction(runtime.sessionmaker) as session:
        await do_create_channel(
            session, None, ChannelIn(kind=OfficialKind.PHONE, value="+6561234567", label="SG")
        )
    page = await client.get("/hc/en/contact")
    assert_contact_page(page)
    assert _state(page.text, "+65 6123 4567") == "Closed for Team offsite <b> · opens Wednesday 09:00"
    assert "Team offsite &lt;b&gt;" in page.text


async def test_live_chat_online_with_an_estimate_then_offline(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    agent = await make_agent(runtime.sessionmaker, "li@example.com")
    await set_online(runtime.sessionmaker, agent.id)
    now = clock.now()
    await seed(
        runtime.sessionmaker,
        [
            {
                "created_at": now - timedelta(minutes=40),
                "answered_after": timedelta(minutes=m),
                "channel": ChannelKind.CHAT,
            }
            for m in (3, 5, 7)
        ],
    )
    online = await client.get("/hc/en/contact")
    assert_contact_page(online)
    chat = online.text.split('data-channel="chat"')[1].split("</section>")[0]
    assert 'data-state="open"' in chat
    assert "Online" in chat
    assert "Estimated wait: about 5 minutes" in chat
    assert "data-live-chat" in chat

    await set_online(runtime.sessionmaker, agent.id, Presence.OFFLINE)
    forget_live_chat_status()
    offline = await client.get("/hc/en/contact")
    chat = offline.text.split('data-channel="chat"')[1].split("</section>")[0]
    assert 'data-state="closed"' in chat
    assert "Offline — leave a message and we reply by email" in chat
    assert "Estimated wait" not in chat


async def test_the_heat_map_marks_the_quiet_hours(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await default_schedule(runtime.sessionmaker, hours=OFFICE, holiday_country=None)
    monday = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    rows = []
    for day in range(5):
        for hour in range(-1, 8):  # 09:00–17:00 local
            busy = 1 if (day, hour) in {(1, 0), (2, 3)} else 3
            rows += [
                {"created_at": monday + timedelta(days=day, hours=hour, minutes=5 + n)} for n in range(busy)
            ]
    await seed(runtime.sessionmaker, rows)
    page = await client.get("/hc/en/contact")
    assert_contact_page(page)
    table = page.text.split('<table class="hm">')[1].split("</table>")[0]
    assert table.count("data-quiet") == 5
    assert 'title="Tuesday 10:00–11:00 · about 0.1 conversations a week' in table
    quiet_list = page.text.split('class="hc-quiet-list"')[1].split("</ul>")[0]
    assert "Tuesday 10:00–11:00" in quiet_list
    assert "Wednesday 13:00–14:00" in quiet_list
    assert quiet_list.count("<li>") == 5
    assert table.count("data-closed") == 7 * 24 - 5 * 9
    zh = await client.get("/hc/zh-CN/contact")
    assert "星期二 10:00–11:00" in zh.text


@pytest.mark.parametrize("locale", LOCALES)
async def test_hostile_labels_and_hidden_channels(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, locale: str
) -> None:
    async with transaction(runtime.sessionmaker) as session:
        await do_create_channel(
            session,
            None,
            ChannelIn(
                kind=OfficialKind.EMAIL,
                value="support@kefu.localhost",
                label=HOSTILE,
                label_zh="客服" + HOSTILE,
            ),
        )
        await do_create_channel(
            session, None, ChannelIn(kind=OfficialKind.PHONE, value="+6561234567", label=HOSTILE, region="SG")
        )
        await do_create_channel(
            session,
            None,
            ChannelIn(
                kind=OfficialKind.EMAIL, value="hidden@kefu.localhost", published_on_contact_page=False
            ),
        )
        await do_create_channel(session, None, ChannelIn(kind=OfficialKind.X, value="@KefuSupport"))
    page = await client.get(f"/hc/{locale}/contact")
    assert_contact_page(page)
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert ("客服&lt;script&gt;" in page.text) == (locale == "zh-CN")
    assert "hidden@kefu.localhost" not in page.text
    assert '<span class="hc-channel-label">X</span>' in page.text  # no label: the kind's name


async def test_a_long_registry_keeps_the_page_small(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await default_schedule(runtime.sessionmaker)
    async with transaction(runtime.sessionmaker) as session:
        for n in range(60):
            await do_create_channel(
                session,
                None,
                ChannelIn(kind=OfficialKind.PHONE, value=f"+44 20 7946 {n:04d}", label="x" * 100),
            )
            await do_create_channel(
                session,
                None,
                ChannelIn(kind=OfficialKind.EMAIL, value=f"s{n}@kefu.localhost", label="y" * 100),
            )
    page = await client.get("/hc/en/contact")
    assert_contact_page(page)
    assert page.text.count('href="tel:') == 20
    assert page.text.count('href="mailto:') == 20


@pytest.mark.parametrize("path", ["/hc/fr/contact", "/hc/%3Cscript%3E/contact"])
async def test_unknown_locales_are_the_help_center_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "<script>" not in response.text.replace('<script src="/static/', "")
