"""Opening a conversation in as few round trips as the database allows.

PostgreSQL: the conversation, its first message and its tags in one statement of data-modifying CTEs
(and, for a customer whose handles are all known, the customer lookup too). SQLite has no such CTEs;
there each insert is an in-process call, so three are cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, String, and_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.core.ids import new_reference
from kefu.db.base import table_of
from kefu.db.upsert import insert_or_ignore_table

Identity = tuple[IdentityKind, str]

_IDENTITIES = table_of(ContactIdentity)
_CONVERSATIONS, _MESSAGES, _TAGS = table_of(Conversation), table_of(Message), table_of(ConversationTag)
_INSERT_MESSAGE = insert(_MESSAGES)
_INSERT_TAGS = insert(_TAGS)


def _holder_cte() -> CTE:
    """PostgreSQL: the holder of the first given handle, when every handle is held (else no row).

    Handles are `id_kinds`/`id_values` in `customer_identities` order; when all are held,
    `resolve_customer` would attach nothing and name this same contact.
    """
    kinds = bindparam("id_kinds", type_=postgresql.ARRAY(String))
    given = (
        func.unnest(kinds, bindparam("id_values", type_=postgresql.ARRAY(String)))
        .table_valued("kind", "value")
        .render_derived("given")
    )
    held = (
        select(_IDENTITIES.c.contact_id, _IDENTITIES.c.kind)
        .join(given, and_(_IDENTITIES.c.kind == given.c.kind, _IDENTITIES.c.value == given.c.value))
        .cte("held")
    )
    # (kind, value) is unique, so as many rows as handles means every handle is held.
    every_held = select(func.count()).select_from(held).scalar_subquery() == func.cardinality(kinds)
    return (
        select(held.c.contact_id)
        .where(every_held)
        .order_by(func.array_position(kinds, held.c.kind))
        .limit(1)
        .cte("holder")
    )


def _opening_statement(*, known_customer: bool, with_tags: bool) -> Select[Any]:
    """PostgreSQL: the conversation, its first message and its tags in one round trip.

    Data-modifying CTEs; the message and tags select from the conversation's RETURNING, so when the
    conversation is skipped (a reference or client_id conflict) nothing else is written.
    Parameters: `c_<column>` and `m_<column>` for every column, `tags`. Returns the new id (no row
    when skipped); with `known_customer`, the holder CTE supplies `contact_id` and the one row
    returned is (holder or NULL, new id or NULL): no holder, nothing written.
    """
    columns = [c for c in _CONVERSATIONS.columns if not (known_customer and c.key == "contact_id")]
    rows = select(*(bindparam(f"c_{c.key}", type_=c.type) for c in columns))
    holder = _holder_cte() if known_customer else None
    names = [c.key for c in columns]
    if holder is not None:
        rows = rows.add_columns(holder.c.contact_id)
        names.append("contact_id")
    conversation = (
        postgresql.insert(_CONVERSATIONS)
        .from_select(names, rows)
        .on_conflict_do_nothing()
        .returning(_CONVERSATIONS.c.id)
        .cte("new_conversation")
    )
    message_columns = [c for c in _MESSAGES.columns if c.key != "conversation_id"]
    message = (
        insert(_MESSAGES)
        .from_select(
            [*(c.key for c in message_columns), "conversation_id"],
            select(*(bindparam(f"m_{c.key}", type_=c.type) for c in message_columns), conversation.c.id),
        )
        .cte("first_message")
    )
    if holder is not None:
        statement = select(
            select(holder.c.contact_id).scalar_subquery(), select(conversation.c.id).scalar_subquery()
        )
    else:
        statement = select(conversation.c.id)
    statement = statement.add_cte(message)
    if with_tags:
        tags = (
            insert(_TAGS)
            .from_select(
                ["conversation_id", "tag"],
                select(conversation.c.id, func.unnest(bindparam("tags", type_=postgresql.ARRAY(String)))),
            )
            .cte("new_tags")
        )
        statement = statement.add_cte(tags)
    return statement


_OPEN_PG = {tags: _opening_statement(known_customer=False, with_tags=tags) for tags in (False, True)}
_OPEN_KNOWN_PG = {tags: _opening_statement(known_customer=True, with_tags=tags) for tags in (False, True)}


def _pg_params(
    conversation: dict[str, object], message: dict[str, object], tags: Sequence[str]
) -> dict[str, object]:
    params = {f"c_{key}": value for key, value in conversation.items()}
    params.update({f"m_{key}": value for key, value in message.items()})
    if tags:
        params["tags"] = list(tags)
    return params


async def open_for_known_customer(
    conn: AsyncConnection,
    given: Sequence[Identity],
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
) -> tuple[uuid.UUID | None, bool]:
    """PostgreSQL, one round trip: (the holder of every given handle or None, whether rows were written).

    Nothing is written without a holder (a new handle: `_resolve_identities` creates or completes
    the contact) or on a reference or client_id conflict.
    """
    conversation["reference"] = new_reference()
    params = _pg_params({k: v for k, v in conversation.items() if k != "contact_id"}, message, tags)
    params["id_kinds"] = [str(kind) for kind, _ in given]
    params["id_values"] = [value for _, value in given]
    holder, conversation_id = (await conn.execute(_OPEN_KNOWN_PG[bool(tags)], params)).one()
    return holder, conversation_id is not None


async def write_opening(
    conn: AsyncConnection,
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
) -> bool:
    """Insert the conversation row, its tags and first message; False (nothing written) on a conflict."""
    if conn.dialect.name == "postgresql":
        statement = _OPEN_PG[bool(tags)]
        return (await conn.execute(statement, _pg_params(conversation, message, tags))).scalar() is not None
    # SQLite (no data-modifying CTEs): a round trip is an in-process call, so three are cheap.
    inserted = insert_or_ignore_table(conn, _CONVERSATIONS, returning=("id",))
    if (await conn.execute(inserted, conversation)).scalar() is None:
        return False
    if tags:
        await conn.execute(_INSERT_TAGS, [{"conversation_id": conversation["id"], "tag": t} for t in tags])
    await conn.execute(_INSERT_MESSAGE, message)
    return True
