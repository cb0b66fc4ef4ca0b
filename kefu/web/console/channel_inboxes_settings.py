"""Console settings: the Telegram bots, Messenger pages, X accounts and phone lines (administrators only).

Reads only; kefu/web/static/channel_inboxes.js adds and changes inboxes through `/api/v1/channel-inboxes`,
so the page shares the API's validation, admin check, provider configuration and audit records.
Credentials are shown as "set" or "not set": their values never reach the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from kefu.channels.inboxes import inbox_out, list_channel_inboxes
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.phone.twilio import public_url
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.storage.envelope import DecryptionFailed, Keyring
from kefu.trust.keys import keyring_from_settings
from kefu.web.console.channels_settings import require_admin_page
from kefu.web.console.context import Console, ConsoleDep
from kefu.web.console.inbox import channel_label
from kefu.web.console.settings import SETTINGS_PATH, sections
from kefu.web.deps import DbSession, SettingsDep

router = APIRouter()

CHANNEL_INBOXES_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/channel-inboxes"
API_PATH: Final = "/api/v1/channel-inboxes"
# The order the page shows the channels and their forms in.
CHANNELS: Final = (ChannelKind.TELEGRAM, ChannelKind.MESSENGER, ChannelKind.X, ChannelKind.PHONE)
# The credentials each channel's adapter reads (docs/channels/*.md); others an inbox holds are listed too.
SECRETS: Final[dict[ChannelKind, tuple[str, ...]]] = {
    ChannelKind.TELEGRAM: ("bot_token", "webhook_secret"),
    ChannelKind.MESSENGER: ("page_access_token", "app_secret", "verify_token"),
    ChannelKind.X: ("consumer_secret", "access_token"),
    ChannelKind.PHONE: ("auth_token",),
}


@dataclass(frozen=True)
class Endpoint:
    """A URL the admin pastes into the provider's console."""

    label: str
    url: str


@dataclass(frozen=True)
class InboxRow:
    """One inbox as the page shows it: its API representation and what the page derives from it."""

    item: dict[str, Any]
    channel_label: str
    mode: str
    endpoints: list[Endpoint]
    # (name, set?) for each credential; None when the sealed credentials cannot be opened (key gone).
    secrets: list[tuple[str, bool]] | None
    published: bool | None  # phone lines: listed as an official channel?


def telegram_mode(config: dict[str, Any]) -> str:
    """ "webhook" (the default) or "polling", as the Telegram adapter reads it."""
    return "polling" if config.get("mode") == "polling" else "webhook"


def endpoints(console: Console, base_url: str, inbox: Inbox) -> list[Endpoint]:
    """The URLs the provider must call for `inbox` (none for a polling Telegram bot)."""
    t = console.page.t
    channel = ChannelKind(inbox.channel)
    path = f"/channels/{channel.value}/{inbox.id}"
    if channel == ChannelKind.TELEGRAM:
        if telegram_mode(dict(inbox.config or {})) == "polling":
            return []
        return [
            Endpoint(
                t.gettext("Webhook URL (set by Kefu when saved)"), public_url(base_url, f"{path}/webhook")
            )
        ]
    if channel == ChannelKind.PHONE:
        return [
            Endpoint(t.gettext("A call comes in (HTTP POST)"), public_url(base_url, f"{path}/voice")),
            Endpoint(t.gettext("Call status changes (optional)"), public_url(base_url, f"{path}/status")),
        ]
    return [Endpoint(t.gettext("Callback URL"), public_url(base_url, f"{path}/webhook"))]


def mode_label(console: Console, inbox: Inbox) -> str:
    t = console.page.t
    channel = ChannelKind(inbox.channel)
    if channel == ChannelKind.TELEGRAM:
        if telegram_mode(dict(inbox.config or {})) == "polling":
            return t.gettext("Polling (the worker fetches updates)")
        return t.gettext("Webhook")
    if channel == ChannelKind.PHONE:
        return t.gettext("Twilio voice webhook")
    return t.gettext("Webhook")


def _row(
    console: Console, keyring: Keyring, base_url: str, inbox: Inbox, published_phones: set[str]
) -> InboxRow:
    channel = ChannelKind(inbox.channel)
    try:
        item = inbox_out(inbox, keyring).model_dump(mode="json")
        names = set(item["secret_names"])
        expected = SECRETS.get(channel, ())
        known = [(name, name in names) for name in expected]
        secrets: list[tuple[str, bool]] | None = known + [
            (name, True) for name in sorted(names - set(expected))
        ]
    except DecryptionFailed:
        item = {
            "id": str(inbox.id),
            "channel": channel.value,
            "name": inbox.name,
            "address": inbox.address,
            "team_id": str(inbox.team_id) if inbox.team_id else None,
            "is_active": inbox.is_active,
            "config": dict(inbox.config or {}),
            "secret_names": [],
        }
        secrets = None
    return InboxRow(
        item=item,
        channel_label=channel_label(console, channel),
        mode=mode_label(console, inbox),
        endpoints=endpoints(console, base_url, inbox),
        secrets=secrets,
        published=inbox.address in published_phones if channel == ChannelKind.PHONE else None,
    )


@router.get(CHANNEL_INBOXES_SETTINGS_PATH)
async def channel_inboxes_settings(
    console: ConsoleDep, session: DbSession, settings: SettingsDep
) -> Response:
    """Administrators: every social and phone inbox, its provider URLs and which credentials are set."""
    require_admin_page(console)
    keyring = keyring_from_settings(settings)
    teams = list(await session.scalars(select(Team).order_by(Team.name, Team.id)))
    published = set(
        await session.scalars(
            select(OfficialChannel.value).where(
                OfficialChannel.kind == OfficialKind.PHONE, OfficialChannel.published_on_contact_page
            )
        )
    )
    rows = [
        _row(console, keyring, settings.base_url, inbox, published)
        for inbox in await list_channel_inboxes(session)
    ]
    return console.render(
        "console/settings/channel_inboxes.html",
        sections=sections(console, "channel-inboxes"),
        current="channel-inboxes",
        rows=rows,
        teams=teams,
        team_names={str(team.id): team.name for team in teams},
        channels=[(channel.value, channel_label(console, channel)) for channel in CHANNELS],
        api=API_PATH,
        settings_path=SETTINGS_PATH,
    )
