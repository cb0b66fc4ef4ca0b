"""Console settings: the support mailboxes Kefu accepts mail for (administrators only).

Reads only; kefu/web/static/mailboxes.js adds, edits and removes console mailboxes through
`/api/v1/mailboxes`, so the page shares the API's validation, admin check, audit and cache invalidation.
Addresses from `KEFU_SUPPORT_ADDRESSES` and the SMTP listener's address are shown read-only.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from kefu.inboxes.mailbox_actions import list_configured_mailboxes, list_mailboxes
from kefu.inboxes.models import Team
from kefu.inboxes.schemas import ADDRESS_INPUT_MAX, NAME_MAX
from kefu.mail.smtp_server import listen_address
from kefu.web.console.channels_settings import require_admin_page
from kefu.web.console.context import ConsoleDep
from kefu.web.console.settings import SETTINGS_PATH, sections
from kefu.web.deps import DbSession, SettingsDep

router = APIRouter()

MAILBOXES_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/mailboxes"


def listener(value: str) -> tuple[str | None, bool]:
    """(`host:port` of the SMTP listener or None when off or unusable, whether it is loopback-only)."""
    try:
        found = listen_address(value)
    except ValueError:
        return None, False
    if found is None:
        return None, False
    host, port = found
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return shown, loopback


@router.get(MAILBOXES_SETTINGS_PATH)
async def mailboxes_settings(console: ConsoleDep, session: DbSession, settings: SettingsDep) -> Response:
    """Administrators: console mailboxes (editable), configured addresses and the SMTP listener."""
    require_admin_page(console)
    teams = list(await session.scalars(select(Team).order_by(Team.name, Team.id)))
    smtp, loopback = listener(settings.smtp_listen)
    return console.render(
        "console/mailboxes.html",
        sections=sections(console, "mailboxes"),
        current="mailboxes",
        mailboxes=[row.model_dump(mode="json") for row in await list_mailboxes(session)],
        configured=await list_configured_mailboxes(session, settings),
        team_names={str(team.id): team.name for team in teams},
        teams=teams,
        smtp_listen=smtp,
        smtp_loopback=loopback,
        name_max=NAME_MAX,
        address_max=ADDRESS_INPUT_MAX,
    )
