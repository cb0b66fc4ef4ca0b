"""Rating a solved conversation."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput
from kefu.ratings.models import SatisfactionRating

MAX_COMMENT_CHARS: Final = 1000
# A customer may change their mind for a while; after that the figure is history.
CHANGE_WINDOW: Final = timedelta(days=7)


async def do_rate(session: AsyncSession, conversation: Conversation, score: int, comment: str = "") -> bool:
    """Record (or change) the customer's rating; returns True when it was new.

    Only solved or closed conversations are rated. The caller has checked that the actor is the
    conversation's customer.
    """
    if not 1 <= score <= 5:
        raise InvalidInput("a rating is 1 to 5", fields={"score": "1 to 5"})
    comment = "".join(c for c in comment.strip() if c.isprintable() or c == "\n")[:MAX_COMMENT_CHARS]
    if conversation.status not in (Status.SOLVED, Status.CLOSED):
        raise Conflict("only a solved conversation can be rated")
    now = utcnow()
    existing = await session.get(SatisfactionRating, conversation.id, with_for_update=True)
    if existing is not None:
        if now - existing.created_at > CHANGE_WINDOW:
            raise Conflict("this rating can no longer be changed")
        existing.score, existing.comment, existing.updated_at = score, comment, now
        return False
    session.add(
        SatisfactionRating(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            agent_id=conversation.assignee_id,
            team_id=conversation.team_id,
            channel=str(conversation.channel),
            score=score,
            comment=comment,
            created_at=now,
            updated_at=now,
        )
    )
    return True
