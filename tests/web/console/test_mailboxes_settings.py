"""The support-mailboxes settings page: administrators see console mailboxes, configured addresses and
the SMTP listener; nobody else sees the page."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock, utcnow
from kefu.core.ids import new_reference
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.web.console.mailboxes_settings import listener
from tests.factories import PASSWORD, make_agent, make_team
from tests.web.console.conftest import assert_console_page, clock, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret

__all__ = ["clock"]

PAGE = "/console/settings/mailboxes"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Two addresses from settings (one routed to a team that exists, one to a team that does not)."""
    return settings.model_copy(
        update={
            "support_addresses": "help@kefu.test=funds, vip@kefu.test=nobody, Shared@Kefu.Test",
            "smtp_listen": "127.0.0.1:2525",
        }
    )


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


async def test_admins_see_mailboxes_configured_addresses_and_the_listener(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    funds = await make_team(runtime.sessionmaker, "Funds")
    async with transaction(runtime.sessionmaker) as session:
        support = Inbox(name=HOSTILE, channel=ChannelKind.EMAIL, address="support@kefu.test", team_id=funds)
        shared = Inbox(name="Shared", channel=ChannelKind.EMAIL, address="shared@kefu.test", team_id=funds)
        old = Inbox(name="Old desk", channel=ChannelKind.EMAIL, address="old@kefu.test", is_active=False)
        widget = Inbox(name="Help center widget", channel=ChannelKind.WEB, address="help-center")
        contact = Contact(name="Alice")
        session.add_all([support, shared, old, widget, contact])
        await session.flush()
        for age in (timedelta(hours=2), timedelta(days=3), timedelta(days=30)):
            session.add(
                Conversation(
                    reference=new_reference(),
                    contact_id=contact.id,
                    inbox_id=support.id,
                    channel=ChannelKind.EMAIL,
                    created_at=utcnow() - age,
                )
            )
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert_console_page(page)
    html = page.text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Help center widget" not in html
    # Console mailboxes: address, team, active, conversations of the last seven days, edit controls.
    assert f'data-mailbox-id="{support.id}"' in html
    assert f'data-mailbox-id="{old.id}" data-address="old@kefu.test" class="inactive"' in html
    assert f'<option value="{funds}" selected>Funds</option>' in html
    assert '<td class="number">2</td>' in html
    assert f'data-mailbox-save="{support.id}"' in html
    assert f'data-mailbox-delete="{support.id}"' in html
    # Addresses from KEFU_SUPPORT_ADDRESSES: read-only, marked, with their team.
    assert html.count('class="from-settings"') == 3
    assert "from settings" in html
    assert "unknown team “nobody”" in html
    assert "the console mailbox with this address takes precedence" in html  # shared@ is both
    assert "Change it in KEFU_SUPPORT_ADDRESSES" in html
    # The listener, with how to reach it.
    assert '<code translate="no">127.0.0.1:2525</code>' in html
    assert "Point your domain's MX at a mail server on this machine" in unescape(html)
    # The add form and its script.
    assert 'id="mailbox-form"' in html
    assert 'data-api="/api/v1/mailboxes"' in html
    assert "/static/mailboxes.js" in html
    assert "/static/kefu_api.js" in html
    assert f'<option value="{funds}">Funds</option>' in html


async def test_an_empty_page_explains_itself(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"support_addresses": "", "smtp_listen": ""})
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "No support mailboxes yet" in page.text
    assert "The SMTP listener is off" in page.text
    assert "Create a team first" in page.text
    assert 'name="address"' not in page.text


async def test_a_public_listener_gets_the_mx_explanation(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"smtp_listen": "0.0.0.0:25"})
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert '<code translate="no">0.0.0.0:25</code>' in page.text
    assert "Point your domain's MX record, or your mail server's forwarding, at this address" in unescape(
        page.text
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:2525", ("127.0.0.1:2525", True)),
        ("[::1]:2525", ("[::1]:2525", True)),
        ("localhost:25", ("localhost:25", True)),
        ("mx.example.com:25", ("mx.example.com:25", False)),
        ("", (None, False)),
        ("not an address", (None, False)),
    ],
)
def test_the_listener_address_is_shown_as_configured(value: str, expected: tuple[str | None, bool]) -> None:
    assert listener(value) == expected


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
        assert "Support mailboxes" not in refused.text
        assert "127.0.0.1:2525" not in refused.text
        client.cookies.clear()
