"""Reads of incidents and maintenance (filled in by the incidents work)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Banner:
    """The notice the help center shows on every page while an incident or maintenance is current."""

    title: str
    status: str  # investigating | identified | monitoring | scheduled | in_progress
    url: str  # the incident's page on the status page
    severity: str  # minor | major | critical | maintenance


async def get_banner(session: AsyncSession, locale: str) -> Banner | None:
    """The most important current incident or maintenance for the help-center banner, if any."""
    del session, locale
    return None
