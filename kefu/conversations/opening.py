"""Opening a conversation in as few round trips as the database allows.

PostgreSQL: the conversation, its first message, its tags and the rows processors predicted for it
(the SLA clocks) in one statement of data-modifying CTEs (and, for a customer whose handles are all
known, the customer lookup too). SQLite has no such CTEs;
there each insert is an in-process call, so three are cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, String, Table, and_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select

from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.core.ids import new_reference
from kefu.db.base import table_of
from kefu.db.driver import fetch_row
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


ExtraRow = tuple[Table, dict[str, object]]


def _row_of(conversation: CTE, table: Table, prefix: str, name: str) -> CTE:
    """An INSERT of one `table` row of the new conversation: every other column from a parameter
    `<prefix><column>`; nothing when the conversation was skipped (it selects from its RETURNING)."""
    own = [c for c in table.columns if c.key != "conversation_id"]
    return (
        insert(table)
        .from_select(
            [*(c.key for c in own), "conversation_id"],
            select(*(bindparam(f"{prefix}{c.key}", type_=c.type) for c in own), conversation.c.id),
        )
        .cte(name)
    )


def _opening_statement(*, known_customer: bool, with_tags: bool, extra: Sequence[Table] = ()) -> Select[Any]:
    """PostgreSQL: the conversation, its first message and its tags in one round trip.

    Data-modifying CTEs; the message and tags select from the conversation's RETURNING, so when the
    conversation is skipped (a reference or client_id conflict) nothing else is written.
    Parameters: `c_<column>` and `m_<column>` for every column, `tags`. Returns the new id (no row
    when skipped); with `known_customer`, the holder CTE supplies `contact_id` and the one row
    returned is (holder or NULL, new id or NULL): no holder, nothing written. `extra`: tables that
    get one row of the new conversation each (parameters `x<i>_<column>`), like the first message.
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
    message = _row_of(conversation, _MESSAGES, "m_", "first_message")
    if holder is not None:
        statement = select(
            select(holder.c.contact_id).scalar_subquery(), select(conversation.c.id).scalar_subquery()
        )
    else:
        statement = select(conversation.c.id)
    statement = statement.add_cte(message)
    for index, table in enumerate(extra):
        statement = statement.add_cte(_row_of(conversation, table, f"x{index}_", f"extra_{index}"))
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


# Built once per shape (customer known or not, tags or not, which extra tables): hot paths reuse
# compiled statements.
_STATEMENTS: dict[tuple[bool, bool, tuple[str, ...]], Select[Any]] = {}


def _statement(known_customer: bool, with_tags: bool, extra: Sequence[ExtraRow]) -> Select[Any]:
    key = (known_customer, with_tags, tuple(table.name for table, _ in extra))
    statement = _STATEMENTS.get(key)
    if statement is None:
        tables = [table for table, _ in extra]
        statement = _opening_statement(known_customer=known_customer, with_tags=with_tags, extra=tables)
        _STATEMENTS[key] = statement
    return statement


def _pg_params(
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
    extra: Sequence[ExtraRow],
) -> dict[str, object]:
    params = {f"c_{key}": value for key, value in conversation.items()}
    params.update({f"m_{key}": value for key, value in message.items()})
    if tags:
        params["tags"] = list(tags)
    for index, (_table, values) in enumerate(extra):
        params.update({f"x{index}_{k}": v for k, v in values.items() if k != "conversation_id"})
    return params


def _known_customer_call(
    given: Sequence[Identity],
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
    extra: Sequence[ExtraRow],
) -> tuple[Select[Any], dict[str, object]]:
    """The statement and parameters of `open_for_known_customer` (`conversation` holds its reference)."""
    params = _pg_params({k: v for k, v in conversation.items() if k != "contact_id"}, message, tags, extra)
    params["id_kinds"] = [str(kind) for kind, _ in given]
    params["id_values"] = [value for _, value in given]
    return _statement(True, bool(tags), extra), params


async def open_for_known_customer(
    conn: AsyncConnection,
    given: Sequence[Identity],
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
    extra: Sequence[ExtraRow] = (),
) -> tuple[uuid.UUID | None, bool]:
    """PostgreSQL, one round trip: (the holder of every given handle or None, whether rows were written).

    Nothing is written without a holder (a new handle: `_resolve_identities` creates or completes
    the contact) or on a reference or client_id conflict.
    """
    conversation["reference"] = new_reference()
    statement, params = _known_customer_call(given, conversation, message, tags, extra)
    holder, conversation_id = (await conn.execute(statement, params)).one()
    return holder, conversation_id is not None


async def open_autocommitted(
    engine: AsyncEngine,
    given: Sequence[Identity],
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
    extra: Sequence[ExtraRow] = (),
) -> uuid.UUID | None:
    """PostgreSQL: `open_for_known_customer` as one statement committed on its own, run by the driver
    (`kefu.db.driver`, outside any transaction), with the reference `conversation` holds. The
    customer's id when the rows were written; None when nothing was (a handle nobody holds, or a
    reference or client_id conflict)."""
    statement, params = _known_customer_call(given, conversation, message, tags, extra)
    row = await fetch_row(engine, statement, params)
    if row is None or row[1] is None or row[0] is None:
        return None
    return uuid.UUID(int=row[0].int)  # the driver's UUID subclass, as the ORM would have it


async def write_opening(
    conn: AsyncConnection,
    conversation: dict[str, object],
    message: dict[str, object],
    tags: Sequence[str],
    extra: Sequence[ExtraRow] = (),
) -> bool:
    """Insert the conversation row, its tags, first message and `extra` rows; False (nothing written)
    on a conflict."""
    if conn.dialect.name == "postgresql":
        statement = _statement(False, bool(tags), extra)
        params = _pg_params(conversation, message, tags, extra)
        return (await conn.execute(statement, params)).scalar() is not None
    # SQLite (no data-modifying CTEs): a round trip is an in-process call, so three are cheap.
    inserted = insert_or_ignore_table(conn, _CONVERSATIONS, returning=("id",))
    if (await conn.execute(inserted, conversation)).scalar() is None:
        return False
    if tags:
        await conn.execute(_INSERT_TAGS, [{"conversation_id": conversation["id"], "tag": t} for t in tags])
    await conn.execute(_INSERT_MESSAGE, message)
    for table, values in extra:
        await conn.execute(insert(table), {**values, "conversation_id": conversation["id"]})
    return True
