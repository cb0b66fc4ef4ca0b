"""Reading privacy requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.privacy.models import PrivacyRequest, RequestKind


async def list_privacy_requests(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID | None = None,
    kind: RequestKind | None = None,
    limit: int = 50,
) -> Sequence[PrivacyRequest]:
    """Requests matching the filters, newest first."""
    query = select(PrivacyRequest)
    if contact_id is not None:
        query = query.where(PrivacyRequest.contact_id == contact_id)
    if kind is not None:
        query = query.where(PrivacyRequest.kind == kind)
    query = query.order_by(PrivacyRequest.created_at.desc(), PrivacyRequest.id.desc()).limit(
        max(1, min(limit, 500))
    )
    return (await session.scalars(query)).all()
