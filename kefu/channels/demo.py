"""The demo registry of official channels for Kefu Demo Exchange (fictional: `.localhost` addresses,
libphonenumber's example numbers and the UK's drama range, never a real exchange's contacts)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.actions import do_create_channel
from kefu.channels.models import OfficialKind
from kefu.channels.schemas import ChannelIn
from kefu.channels.service import find_channel
from kefu.inboxes.models import Team

# (kind, value, label, label_zh, team slug whose hours apply to a phone line)
_DEMO: Final[tuple[tuple[OfficialKind, str, str, str, str | None], ...]] = (
    (OfficialKind.DOMAIN, "kefu.localhost", "Website", "官方网站", None),
    (OfficialKind.EMAIL, "support@kefu.localhost", "Support email", "客服邮箱", None),
    (OfficialKind.EMAIL, "security@kefu.localhost", "Security team", "安全团队邮箱", None),
    (OfficialKind.TELEGRAM, "@KefuSupport", "Telegram", "Telegram", None),
    (OfficialKind.X, "@KefuSupport", "X (Twitter)", "X（推特）", None),
    (OfficialKind.FACEBOOK, "KefuSupport", "Facebook", "Facebook", None),
    (OfficialKind.PHONE, "+65 6123 4567", "Singapore hotline", "新加坡热线", "general"),
    (OfficialKind.PHONE, "+852 2123 4567", "Deposits & withdrawals line", "充提专线", "funds"),
    (OfficialKind.PHONE, "+44 20 7946 0000", "UK hotline", "英国热线", "general"),
)


async def load_demo_channels(session: AsyncSession) -> None:
    """Register the demo channels that are missing (idempotent); phones follow the demo teams' hours."""
    slugs = {slug for *_, slug in _DEMO if slug}
    teams = {team.slug: team.id for team in await session.scalars(select(Team).where(Team.slug.in_(slugs)))}
    for position, (kind, raw, label, label_zh, slug) in enumerate(_DEMO):
        data = ChannelIn(
            kind=kind,
            value=raw,
            label=label,
            label_zh=label_zh,
            team_id=teams.get(slug) if slug else None,
            position=position,
        )
        if await find_channel(session, data.kind, data.value) is None:
            await do_create_channel(session, None, data)
