"""An API client's new conversation in one autocommitted statement, when nothing else would be written.

The general path (`kefu.conversations.create.do_create_conversation` in the request's transaction)
sends BEGIN, the opening statement and COMMIT, and builds the session, the ORM objects and the
pipeline's work around them. For the commonest create, an agent or integration opening a conversation
for a customer Kefu knows, the opening statement is everything that gets written; this path runs
just that statement, committed on its own by the driver (`kefu.db.driver`), and only when:

- the database is PostgreSQL and the caller, an agent or API client, named the customer;
- every handle given is held by one contact (checked by the statement itself: a new customer or a
  new handle takes the general path, which creates them);
- redaction removed nothing (the general path audits what it removed);
- no pipeline processor would act (`kefu.conversations.pipeline.pipeline_is_quiet`): no trigger
  matches, the team is not auto-routed, the SLA clocks predicted for the opening stand, nothing is
  emailed or delivered;
- no transaction listener wants the events (`kefu.events.emit.listeners_want`: no webhook endpoint
  subscribes to them).

When the statement writes nothing (a condition it checks failed, a client_id already used, a
reference collision) the caller takes the general path, which answers a repeated client_id with the
original conversation. The configuration checked here (forms, SLA policies, triggers, routing modes,
webhook endpoints) comes from this process's caches; one that is cold or stale is read (through a
session that writes nothing) or, for webhook endpoints, sends the request down the general path.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from kefu.auth.actors import AgentActor
from kefu.conversations.create import created_event, prepare_opening, set_tags_written
from kefu.conversations.models import Conversation, Message
from kefu.conversations.opening import open_autocommitted
from kefu.conversations.pipeline import ConversationChange, pipeline_is_quiet
from kefu.conversations.schemas import ConversationCreate
from kefu.conversations.timeline import message_events
from kefu.core.ids import new_reference
from kefu.events.emit import listeners_want
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind


@dataclass(frozen=True)
class QuickOpened:
    """A conversation written by `try_quick_open`."""

    # Every column as written; not in any session (the request has none).
    conversation: Conversation
    # `message.created` (staff and customer) and `conversation.created`, as the general path emits
    # them: to publish now, the rows being durable already.
    events: tuple[Event, ...]


async def try_quick_open(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: AgentActor,
    data: ConversationCreate,
) -> QuickOpened | None:
    """Open the conversation an API client asked for if the module's conditions hold; None when
    nothing was written (take the general path). Bad input raises as on the general path."""
    if engine.dialect.name != "postgresql" or data.customer is None:
        return None
    async with sessionmaker() as session:
        opening = await prepare_opening(session, actor, data, channel=ChannelKind.API)
        if opening.redacted:
            return None
        conversation = opening.draft
        conversation.reference = str(opening.values.setdefault("reference", new_reference()))
        set_tags_written(conversation, opening.tags)  # never added to a session: nothing cascades
        first = Message(**opening.first_values)
        set_committed_value(first, "attachments", [])
        opened_with = {table.name: row for table, row in opening.predicted}
        change = ConversationChange(conversation, actor, created=True, message=first, opened_with=opened_with)
        if not await pipeline_is_quiet(session, change):
            return None
    events = (*message_events(conversation, first), created_event(conversation))
    if listeners_want(events):
        return None
    contact_id = await open_autocommitted(
        engine, opening.given, opening.values, opening.first_values, opening.tags, opening.predicted
    )
    if contact_id is None:
        return None
    conversation.contact_id = contact_id
    return QuickOpened(conversation, events)
