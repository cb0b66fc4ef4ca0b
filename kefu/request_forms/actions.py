"""Changes: admins add, change and remove form fields; the request page records deflection events.

Actions never commit. Field changes are audited and drop the cached field lists after commit.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.conversations.forms import built_in_fields
from kefu.conversations.states import Category
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput
from kefu.core.ids import new_id
from kefu.db.upsert import insert_or_ignore
from kefu.kb.models import Article, ArticleStatus
from kefu.request_forms.models import DeflectionEvent, DeflectionKind, FieldKind, RequestFormField
from kefu.request_forms.schemas import DeflectionIn, FieldCreate, FieldUpdate
from kefu.request_forms.service import ACTIVE_FIELDS, count_fields

MAX_FIELDS_PER_CATEGORY: Final = 30
# A form session is one page view; more events than this are someone scripting the endpoint.
MAX_EVENTS_PER_SESSION: Final = 60
DEFLECTION_LOCALES: Final = ("en", "zh-CN")
_TEXT_KINDS: Final = (FieldKind.TEXT, FieldKind.TEXTAREA)
# Names a pydantic model uses itself: a field named like them would shadow the model's API.
_MODEL_ATTRIBUTES: Final = frozenset(dir(BaseModel))


def check_field_name(category: Category, name: str) -> None:
    """InvalidInput when `name` is a built-in field of `category` or reserved by the form machinery."""
    if name in built_in_fields(category):
        raise InvalidInput(
            "the category's form already has a field with this name",
            fields={"name": "clashes with a built-in field of this category"},
        )
    if name.startswith("model_") or name in _MODEL_ATTRIBUTES:
        raise InvalidInput("this name is reserved", fields={"name": "reserved name"})


def _check_settings(kind: FieldKind, values: dict[str, Any]) -> None:
    """The combination of settings must make sense for the field's kind."""
    if not (values.get("label_en") or values.get("label_zh")):
        raise InvalidInput("give the field a label", fields={"label_en": "a label in English or Chinese"})
    choices: list[dict[str, Any]] = values.get("choices") or []
    if kind == FieldKind.SELECT:
        seen = [c["value"] for c in choices]
        if not seen:
            raise InvalidInput("a select needs options", fields={"choices": "at least one option"})
        if len(set(seen)) != len(seen):
            raise InvalidInput("option values must differ", fields={"choices": "duplicate value"})
    elif choices:
        raise InvalidInput("only a select has options", fields={"choices": "only for kind select"})
    if values.get("max_length") is not None and kind not in _TEXT_KINDS:
        raise InvalidInput(
            "only text fields have a maximum length", fields={"max_length": "only for text and textarea"}
        )


def _settings(data: FieldCreate | FieldUpdate) -> dict[str, Any]:
    """The settings the caller gave; null means "unchanged", except `max_length` (null: no limit)."""
    given = data.model_dump(exclude_unset=True, exclude={"category", "name", "kind"})
    if data.choices is not None:
        given["choices"] = [choice.model_dump() for choice in data.choices]  # every key, defaults too
    return {k: v for k, v in given.items() if v is not None or k == "max_length"}


def _audit_details(row: RequestFormField) -> dict[str, Any]:
    return {"category": row.category, "field_name": row.name, "kind": row.kind, "active": row.active}


async def do_create_field(session: AsyncSession, actor: AgentActor, data: FieldCreate) -> RequestFormField:
    """Add a field to a category's form (supervisors); applies to the next requests."""
    check_field_name(data.category, data.name)
    values = {
        "label_en": "",
        "label_zh": "",
        "help_en": "",
        "help_zh": "",
        "required": False,
        "max_length": None,
        "choices": [],
        "position": 0,
        "active": True,
    } | _settings(data)
    _check_settings(data.kind, values)
    taken = await session.scalar(
        select(RequestFormField.id).where(
            RequestFormField.category == data.category.value, RequestFormField.name == data.name
        )
    )
    if taken is not None:
        raise Conflict("the category already has a field with this name")
    if await count_fields(session, data.category) >= MAX_FIELDS_PER_CATEGORY:
        raise InvalidInput(
            f"a category has at most {MAX_FIELDS_PER_CATEGORY} added fields",
            fields={"category": "too many fields"},
        )
    row = RequestFormField(
        id=new_id(), category=data.category.value, name=data.name, kind=data.kind, **values
    )
    session.add(row)
    await session.flush()
    await record_audit(
        session, action="request_forms.field_created", actor=actor, target_type="request_form_field",
        target_id=str(row.id), details=_audit_details(row),
    )  # fmt: skip
    ACTIVE_FIELDS.invalidate_after_commit(session)
    return row


async def do_update_field(
    session: AsyncSession, actor: AgentActor, row: RequestFormField, changes: FieldUpdate
) -> RequestFormField:
    """Change a field's labels, help, options, order, limits or whether it is shown.

    Deactivating hides the field from the form and refuses it in new requests; values already
    stored on conversations stay as they are.
    """
    given = _settings(changes)
    current = {
        "label_en": row.label_en,
        "label_zh": row.label_zh,
        "max_length": row.max_length,
        "choices": row.choices,
    }
    _check_settings(FieldKind(row.kind), current | given)
    for key, value in given.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    await session.flush()
    await record_audit(
        session, action="request_forms.field_updated", actor=actor, target_type="request_form_field",
        target_id=str(row.id), details=_audit_details(row) | {"changed": sorted(given)},
    )  # fmt: skip
    ACTIVE_FIELDS.invalidate_after_commit(session)
    return row


async def do_delete_field(session: AsyncSession, actor: AgentActor, row: RequestFormField) -> None:
    """Remove a field definition; values stored on conversations stay (shown under the raw name)."""
    details = _audit_details(row)
    target = str(row.id)
    await session.delete(row)
    await session.flush()
    await record_audit(
        session, action="request_forms.field_deleted", actor=actor, target_type="request_form_field",
        target_id=target, details=details,
    )  # fmt: skip
    ACTIVE_FIELDS.invalidate_after_commit(session)


async def _session_has(
    session: AsyncSession, event: DeflectionIn, kind: DeflectionKind | None, **where: Any
) -> int:
    query = (
        select(func.count()).select_from(DeflectionEvent).where(DeflectionEvent.session_id == event.session)
    )
    if kind is not None:
        query = query.where(DeflectionEvent.kind == kind)
    for column, value in where.items():
        query = query.where(getattr(DeflectionEvent, column) == value)
    return int(await session.scalar(query) or 0)


async def do_record_deflection_event(session: AsyncSession, event: DeflectionIn) -> bool:
    """Store one form-session event; False when it is ignored (unknown article, repeat, flood).

    InvalidInput for an unknown locale; Conflict for an article opened that was never suggested in
    the session (the page only reports clicks on its own suggestions).
    """
    if event.locale not in DEFLECTION_LOCALES:
        raise InvalidInput("unknown locale", fields={"locale": "must be en or zh-CN"})
    article_id = None
    if event.article is not None:
        article_id = await session.scalar(
            select(Article.id).where(
                Article.locale == event.locale,
                Article.slug == event.article,
                Article.status == ArticleStatus.PUBLISHED,
            )
        )
        if article_id is None:
            return False
    recorded = await _session_has(session, event, None)
    if recorded >= MAX_EVENTS_PER_SESSION:
        return False
    if event.kind == DeflectionKind.OPENED and not await _session_has(
        session, event, DeflectionKind.SUGGESTED, article_id=article_id
    ):
        raise Conflict("this article was not suggested in this form session")
    if event.kind == DeflectionKind.SUBMITTED and not recorded:
        return False  # nothing was suggested: the session has nothing to count
    values = {
        "id": new_id(),
        "session_id": event.session,
        "kind": event.kind.value,
        "article_id": article_id,
        "locale": event.locale,
        "created_at": utcnow(),
    }
    statement = insert_or_ignore(session, DeflectionEvent, returning=("id",))
    inserted = (await session.execute(statement, values)).scalar()
    return inserted is not None
