"""Hand-built report data: conversations and messages inserted with chosen timestamps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.core.ids import new_reference
from kefu.reports.facts import refresh_facts
from kefu.reports.rollups import recompute_hours
from kefu.reports.types import ReportFilters

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Day 0 is Monday 2 March 2026, UTC."""
    return T0 + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


@dataclass
class Builder:
    session: AsyncSession
    contact_id: uuid.UUID | None = None
    ids: list[uuid.UUID] = field(default_factory=list)

    async def conversation(
        self,
        created: datetime,
        *,
        channel: str = "email",
        category: str = "general",
        team_id: uuid.UUID | None = None,
        assignee_id: uuid.UUID | None = None,
        status: Status = Status.OPEN,
        solved: datetime | None = None,
        replies: tuple[tuple[timedelta, AuthorKind, uuid.UUID | None], ...] = (),
    ) -> Conversation:
        """A conversation opened by the customer's message at `created`, then the given replies."""
        if self.contact_id is None:
            contact = Contact(name="c")
            self.session.add(contact)
            await self.session.flush()
            self.contact_id = contact.id
        conversation = Conversation(
            reference=new_reference(),
            contact_id=self.contact_id,
            channel=channel,
            category=category,
            team_id=team_id,
            assignee_id=assignee_id,
            status=Status.SOLVED if solved else status,
            solved_at=solved,
            created_at=created,
            updated_at=created,
            last_activity_at=created,
            last_seq=len(replies) + 1,
        )
        self.session.add(conversation)
        await self.session.flush()
        messages = ((timedelta(0), AuthorKind.CUSTOMER, None), *replies)
        for seq, (offset, kind, agent_id) in enumerate(messages, start=1):
            self.session.add(
                Message(
                    conversation_id=conversation.id,
                    seq=seq,
                    kind=MessageKind.REPLY,
                    author_kind=kind,
                    author_agent_id=agent_id,
                    channel=channel,
                    created_at=created + offset,
                )
            )
        await self.session.flush()
        self.ids.append(conversation.id)
        return conversation

    async def roll_up(self) -> None:
        """Facts and rollups of every conversation built so far, committed."""
        dirty = await refresh_facts(self.session, self.ids)
        await recompute_hours(self.session, dirty)
        await self.session.commit()


def filters(start: date, end: date, **kwargs: object) -> ReportFilters:
    return ReportFilters(start=start, end=end, **kwargs)  # type: ignore[arg-type]
