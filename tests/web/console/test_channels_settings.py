"""The official-channels settings page: administrators see the registry and the form; nobody else does."""

from __future__ import annotations

import httpx

from kefu.auth.roles import Role
from kefu.channels.actions import do_create_channel
from kefu.channels.models import OfficialKind
from kefu.channels.schemas import ChannelIn
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from tests.factories import PASSWORD, make_agent, make_team
from tests.web.console.conftest import assert_console_page, clock, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret

__all__ = ["clock"]

PAGE = "/console/settings/channels"
HOSTILE = "<script>alert(1)</script>"


async def _signed_in_admin(client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    """An admin signed in through the pages, second factor enrolled (admins cannot work without one)."""
    await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN)
    signed = await sign_in(client, "root@example.com")
    assert signed.headers["location"] == "/login/enroll"
    started = await post_form(client, "/login/enroll", {"action": "start"})
    secret = setup_secret(started)
    confirmed = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD}
    )
    assert confirmed.status_code == 303, confirmed.text


async def test_admins_see_the_registry_and_the_form(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    team = await make_team(runtime.sessionmaker, "Funds")
    async with transaction(runtime.sessionmaker) as session:
        await do_create_channel(
            session,
            None,
            ChannelIn(
                kind=OfficialKind.PHONE,
                value="+852 2123 4567",
                label=HOSTILE,
                label_zh="充提" + HOSTILE,
                team_id=team,
            ),
        )
        await do_create_channel(
            session,
            None,
            ChannelIn(kind=OfficialKind.TELEGRAM, value="t.me/KefuSupport", published_on_contact_page=False),
        )
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert_console_page(page)
    html = page.text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "+85221234567" in html
    assert "+852 2123 4567" in html
    assert "Hong Kong SAR China (HK)" in html
    assert "Funds" in html
    assert "kefusupport" in html
    assert "Hidden" in html
    assert 'id="channel-form"' in html
    assert 'data-api="/api/v1/official-channels"' in html
    assert "/static/channels.js" in html
    assert "/static/kefu_api.js" in html
    for kind in OfficialKind:
        assert f'<option value="{kind.value}">' in html


async def test_an_empty_registry_explains_itself(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "No official channels yet." in page.text


async def test_supervisors_and_agents_get_a_404_and_strangers_sign_in(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    signed_out = await client.get(PAGE)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")
    for email, role in (("boss@example.com", Role.SUPERVISOR), ("li@example.com", Role.AGENT)):
        await make_agent(runtime.sessionmaker, email, role=role)
        await sign_in(client, email)
        refused = await client.get(PAGE)
        assert refused.status_code == 404
        assert "Official channels" not in refused.text
        client.cookies.clear()
