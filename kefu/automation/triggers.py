"""Placeholder replaced by the triggers work (see kefu.conversations.pipeline)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.pipeline import ConversationChange


async def process_change(session: AsyncSession, change: ConversationChange) -> None:
    """Apply trigger rules to `change` (none yet)."""
