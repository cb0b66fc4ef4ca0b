"""Request forms: the fields admins add per category (supervisors) and deflection events (anyone).

Field management is for supervisors and administrators, like the other settings that shape how
requests arrive (triggers, SLA, routing). The deflection endpoint is public and anonymous: the help
center's request page calls it with a random form-session id and nothing personal.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from kefu.conversations.states import Category
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput
from kefu.request_forms.actions import (
    do_create_field,
    do_delete_field,
    do_record_deflection_event,
    do_update_field,
)
from kefu.request_forms.deflection import REPORT_DAYS, count_deflections
from kefu.request_forms.schemas import (
    ArticleDeflectionOut,
    DeflectionIn,
    DeflectionReportOut,
    FieldCreate,
    FieldList,
    FieldOut,
    FieldUpdate,
)
from kefu.request_forms.service import get_field, list_fields
from kefu.web.deps import DbSession, Supervisor

router = APIRouter(prefix="/request-forms", tags=["request forms"])

MAX_REPORT_DAYS = 365


@router.get("/fields", response_model=FieldList)
async def list_form_fields(
    actor: Supervisor, session: DbSession, category: Annotated[Category | None, Query()] = None
) -> FieldList:
    """Supervisors: every added field (active or not), by category and position."""
    del actor
    rows = await list_fields(session, category)
    return FieldList(items=[FieldOut.model_validate(row) for row in rows])


@router.post("/fields", response_model=FieldOut, status_code=201)
async def create_form_field(body: FieldCreate, actor: Supervisor, session: DbSession) -> FieldOut:
    """Supervisors: add a field to a category's request form (409 if the name is taken)."""
    return FieldOut.model_validate(await do_create_field(session, actor, body))


@router.patch("/fields/{field_id}", response_model=FieldOut)
async def update_form_field(
    field_id: uuid.UUID, body: FieldUpdate, actor: Supervisor, session: DbSession
) -> FieldOut:
    """Supervisors: change labels, help, options, order, limits or `active` (name and kind are fixed)."""
    row = await get_field(session, field_id)
    return FieldOut.model_validate(await do_update_field(session, actor, row, body))


@router.delete("/fields/{field_id}", status_code=204)
async def delete_form_field(field_id: uuid.UUID, actor: Supervisor, session: DbSession) -> Response:
    """Supervisors: remove a field; values already stored on conversations stay."""
    await do_delete_field(session, actor, await get_field(session, field_id))
    return Response(status_code=204)


@router.post("/deflection", status_code=204)
async def record_deflection(body: DeflectionIn, session: DbSession) -> Response:
    """Anyone: one request-page event (suggested, opened, submitted); 204 also when it is ignored."""
    await do_record_deflection_event(session, body)
    return Response(status_code=204)


@router.get("/deflection", response_model=DeflectionReportOut)
async def deflection_report(
    actor: Supervisor, session: DbSession, days: Annotated[int, Query()] = REPORT_DAYS
) -> DeflectionReportOut:
    """Supervisors: deflection totals and per-article counts for the last `days` days (1-365)."""
    del actor
    if not 1 <= days <= MAX_REPORT_DAYS:
        raise InvalidInput("days must be between 1 and 365", fields={"days": "1-365"})
    report = await count_deflections(session, now=utcnow(), days=days)
    return DeflectionReportOut(
        days=report.days,
        sessions_with_suggestions=report.sessions_with_suggestions,
        sessions_with_opened_article=report.sessions_with_opened_article,
        submitted_after_opening=report.submitted_after_opening,
        deflections=report.deflections,
        pending=report.pending,
        articles=[ArticleDeflectionOut(**a.__dict__) for a in report.articles],
    )
