"""Console settings: the registry of official channels (administrators only).

Reads only; kefu/web/static/channels.js adds and removes entries through `/api/v1/official-channels`,
so the page shares the API's validation (canonical values), admin check and audit records.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from kefu.auth.roles import Scope
from kefu.channels.contact import region_name
from kefu.channels.models import OfficialKind
from kefu.channels.schemas import LABEL_MAX, POSITION_MAX, ChannelOut
from kefu.channels.service import list_channels
from kefu.inboxes.models import Team
from kefu.web.console.context import Console, ConsoleDep, ConsoleNotFound
from kefu.web.console.settings import SETTINGS_PATH, sections
from kefu.web.deps import DbSession

router = APIRouter()

CHANNELS_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/channels"


def require_admin_page(console: Console) -> None:
    """Admin-only pages are a 404 page for everyone else (never a 403 that confirms them)."""
    if not (console.actor.is_admin and console.actor.has_scope(Scope.ADMIN)):
        raise ConsoleNotFound("settings page not found")


def kind_labels(console: Console) -> dict[str, str]:
    """Each kind as the form offers it."""
    t = console.page.t
    return {
        OfficialKind.DOMAIN.value: t.gettext("Website domain"),
        OfficialKind.EMAIL.value: t.gettext("Email address"),
        OfficialKind.PHONE.value: t.gettext("Phone number"),
        OfficialKind.TELEGRAM.value: "Telegram",
        OfficialKind.X.value: "X (Twitter)",
        OfficialKind.FACEBOOK.value: "Facebook",
    }


@router.get(CHANNELS_SETTINGS_PATH)
async def channels_settings(console: ConsoleDep, session: DbSession) -> Response:
    """Administrators: every official channel, whether the contact page shows it, and the add form."""
    require_admin_page(console)
    rows = [ChannelOut.of(row) for row in await list_channels(session)]
    teams = list(await session.scalars(select(Team).order_by(Team.name, Team.id)))
    locale = console.page.locale
    return console.render(
        "console/channels.html",
        sections=sections(console, "channels"),
        current="channels",
        channels=[row.model_dump(mode="json") for row in rows],
        region_names={row.region: region_name(row.region, locale) for row in rows if row.region},
        team_names={str(team.id): team.name for team in teams},
        teams=teams,
        kinds=kind_labels(console),
        label_max=LABEL_MAX,
        position_max=POSITION_MAX,
    )
