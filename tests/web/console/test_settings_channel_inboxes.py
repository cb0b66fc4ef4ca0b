"""The social and phone channels settings page: administrators see every Telegram, Messenger, X and phone
inbox with the URLs to paste at the provider and which credentials are set (never their values); nobody
else sees the page."""

from __future__ import annotations

import re
import uuid
from html import unescape

import httpx

from kefu.auth.roles import Role, Scope
from kefu.channels.credentials import seal_secrets
from kefu.channels.memory import MemoryAdapter
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.runtime import Runtime
from kefu.storage.envelope import Keyring
from tests.factories import PASSWORD, StaffMember, make_agent, make_team
from tests.web.console.conftest import assert_console_page, clock, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret

__all__ = ["clock"]

PAGE = "/console/settings/channel-inboxes"
API = "/api/v1/channel-inboxes"
HOSTILE = "<script>alert(1)</script>"
BOT_TOKEN = "123456:AAH-very-secret-bot-token"
WEBHOOK_SECRET = "webhook-secret-value-0123456789"
AUTH_TOKEN = "twilio-auth-token-never-shown-42"


async def _signed_in_admin(client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> StaffMember:
    """An admin signed in through the pages (second factor enrolled), with an admin API token."""
    admin = await make_agent(runtime.sessionmaker, "root@example.com", role=Role.ADMIN, scopes={Scope.ADMIN})
    signed = await sign_in(client, "root@example.com")
    assert signed.headers["location"] == "/login/enroll"
    started = await post_form(client, "/login/enroll", {"action": "start"})
    secret = setup_secret(started)
    confirmed = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD}
    )
    assert confirmed.status_code == 303, confirmed.text
    return admin


async def _create(client: httpx.AsyncClient, admin: StaffMember, body: dict[str, object]) -> str:
    created = await client.post(API, json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_admins_see_every_inbox_without_any_credential_value(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    telegram = MemoryAdapter(ChannelKind.TELEGRAM)
    runtime.channel_adapters[ChannelKind.TELEGRAM] = telegram
    funds = await make_team(runtime.sessionmaker, "Funds")
    admin = await _signed_in_admin(client, runtime, clock)
    bot = await _create(
        client,
        admin,
        {
            "channel": "telegram",
            "name": HOSTILE,
            "address": "@kefu_support_bot",
            "team_id": str(funds),
            "config": {"mode": "webhook", "brand": "Kefu Exchange"},
            "secrets": {"bot_token": BOT_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        },
    )
    poller = await _create(
        client,
        admin,
        {
            "channel": "telegram",
            "name": "Polling bot",
            "address": "@kefu_polling_bot",
            "config": {"mode": "polling"},
            "secrets": {"bot_token": BOT_TOKEN + "-2"},
        },
    )
    phone = await _create(
        client,
        admin,
        {
            "channel": "phone",
            "name": "Shanghai line",
            "address": "+862161234567",
            "config": {"max_voicemail_seconds": 90, "transcribe": True},
            "secrets": {"auth_token": AUTH_TOKEN},
        },
    )
    async with transaction(runtime.sessionmaker) as session:
        session.add(OfficialChannel(kind=OfficialKind.PHONE, value="+862161234567", label="Shanghai"))
    assert telegram.configured == [bot, poller]

    page = await client.get(PAGE)
    assert page.status_code == 200
    assert_console_page(page)
    html = page.text
    # Credentials: named with their state, never their values.
    for secret in (BOT_TOKEN, WEBHOOK_SECRET, AUTH_TOKEN, "AAH-very-secret"):
        assert secret not in html
    assert html.count('data-secret="bot_token" data-state="set"') == 2
    assert 'data-secret="webhook_secret" data-state="not-set"' in html  # the polling bot has none
    assert 'data-secret="auth_token" data-state="set"' in html
    # Names are text; the team, active state and mode are shown.
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'<tr data-inbox-id="{bot}" data-channel="telegram">' in html
    assert "<td>Funds</td>" in html
    assert "Polling (the worker fetches updates)" in html
    # The URLs to paste at the provider: the webhook bot's, the phone line's two, none for polling.
    base = runtime.settings.base_url.rstrip("/")
    assert f'data-copy="{base}/channels/telegram/{bot}/webhook"' in html
    assert f"/channels/telegram/{poller}/webhook" not in html
    assert f'data-copy="{base}/channels/phone/{phone}/voice"' in html
    assert f'data-copy="{base}/channels/phone/{phone}/status"' in html
    assert "This number is published as an official channel." in html
    # Edit forms carry the (non-secret) settings; secret inputs are write-only and empty.
    assert f'data-url="{API}/{bot}"' in html
    assert 'name="brand" data-part="config" maxlength="60" value="Kefu Exchange"' in html
    assert (
        'name="max_voicemail_seconds" data-part="config" data-type="int" min="10" max="600" value="90"'
        in html
    )
    for secret_input in re.findall(r"<input[^>]*data-part=\"secret\"[^>]*>", html):
        assert 'type="password"' in secret_input
        assert "value=" not in secret_input
    # One create form per channel, and the script that sends them to the API.
    for channel in ("telegram", "messenger", "x", "phone"):
        assert f'id="create-{channel}" data-channel="{channel}" data-api="{API}"' in html
    assert "/static/channel_inboxes.js" in html
    assert "/static/kefu_api.js" in html


async def test_an_unpublished_phone_line_and_an_empty_page_say_so(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    admin = await _signed_in_admin(client, runtime, clock)
    empty = await client.get(PAGE)
    assert "No social or phone inboxes yet" in empty.text
    await _create(
        client,
        admin,
        {
            "channel": "phone",
            "name": "Line",
            "address": "+862161234567",
            "secrets": {"auth_token": AUTH_TOKEN},
        },
    )
    page = await client.get(PAGE)
    assert "This number is not published as an official channel yet." in page.text
    assert AUTH_TOKEN not in page.text


async def test_the_page_changes_an_inbox_through_the_api_with_the_session(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    """What the page's script does: PATCH with the session cookie and the page's CSRF token."""
    admin = await _signed_in_admin(client, runtime, clock)
    inbox = await _create(
        client,
        admin,
        {
            "channel": "x",
            "name": "X support",
            "address": "1400000000000000000",
            "secrets": {"consumer_secret": "consumer-secret-1", "access_token": "access-token-1"},
        },
    )
    page = await client.get(PAGE)
    csrf = re.search(r'<meta name="kefu-csrf" content="([^"]+)"', page.text)
    assert csrf is not None
    headers = {"x-csrf-token": unescape(csrf.group(1))}
    body = {
        "name": "X desk",
        "is_active": False,
        "config": {"announce": True},
        "secrets": {"access_token": "new"},
    }
    assert (await client.patch(f"{API}/{inbox}", json=body)).status_code == 403  # no CSRF header
    changed = await client.patch(f"{API}/{inbox}", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    html = (await client.get(PAGE)).text
    assert "X desk" in html
    assert f'<tr data-inbox-id="{inbox}" data-channel="x" class="inactive">' in html
    assert 'name="announce" data-part="config" checked' in html
    assert "new" not in re.findall(r'value="([^"]*)"', html)
    assert "consumer-secret-1" not in html


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
        assert "Social and phone channels" not in refused.text
        index = await client.get("/console/settings")
        assert index.status_code == 200
        assert f'href="{PAGE}"' not in index.text
        client.cookies.clear()


async def test_the_settings_index_links_the_page_for_admins(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await _signed_in_admin(client, runtime, clock)
    index = await client.get("/console/settings")
    assert f'<a href="{PAGE}">Social and phone channels</a>' in index.text
    page = await client.get(PAGE)
    assert f'href="{PAGE}" data-section="channel-inboxes" aria-current="page"' in page.text


async def test_hostile_paths_and_queries_are_not_errors(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await _signed_in_admin(client, runtime, clock)
    for path in (f"{PAGE}?x=%00", f"{PAGE}/x", f"{PAGE}?lang=zh-CN", f"{PAGE}?lang=%3Cscript%3E"):
        response = await client.get(path)
        assert response.status_code in (200, 400, 404), path


async def test_credentials_sealed_under_a_missing_key_are_reported_not_an_error(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await _signed_in_admin(client, runtime, clock)
    async with transaction(runtime.sessionmaker) as session:
        inbox = Inbox(id=uuid.uuid4(), name="Old bot", channel=ChannelKind.TELEGRAM, address="@old_bot")
        seal_secrets(Keyring.derived("a key this deployment no longer has"), inbox, {"bot_token": BOT_TOKEN})
        session.add(inbox)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "cannot be read: the document key is missing" in page.text
    assert BOT_TOKEN not in page.text
