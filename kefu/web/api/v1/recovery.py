"""Recovery case writes: a reviewer claims a case, then approves (unlock) or rejects it.

KYC reviewers only, through their browser session (the console sends the CSRF header): API tokens
never proved a second factor, so kefu.recovery.access refuses them like anyone else (404, audited).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from kefu.recovery.access import access_recovery_case
from kefu.recovery.actions import do_claim_case, do_decide_case
from kefu.recovery.models import RecoveryCase, RecoveryStatus
from kefu.recovery.schemas import DecisionIn
from kefu.web.deps import AgentWriter, DbSession, RuntimeDep, client_ip

router = APIRouter(prefix="/recovery", tags=["recovery"])


class RecoveryCaseOut(BaseModel):
    """A case as a reviewer's script sees it (no document bytes, ever)."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    status: RecoveryStatus
    reviewer_id: uuid.UUID | None
    decision_template: str | None
    decided_at: datetime | None
    unlocked_uid: str | None
    unlock_action_id: str | None
    security_hold_until: datetime | None
    security_hold_reason: str | None
    purge_after: datetime | None
    purged_at: datetime | None


def _out(case: RecoveryCase) -> RecoveryCaseOut:
    return RecoveryCaseOut.model_validate(case, from_attributes=True)


@router.post("/cases/{case_id}/claim", response_model=RecoveryCaseOut)
async def claim_case(
    case_id: uuid.UUID, request: Request, session: DbSession, actor: AgentWriter
) -> RecoveryCaseOut:
    """KYC reviewers: take the case (status in_review); 409 once decided."""
    case = await access_recovery_case(session, actor, case_id, for_update=True, ip=client_ip(request))
    return _out(await do_claim_case(session, actor, case))


@router.post("/cases/{case_id}/decision", response_model=RecoveryCaseOut)
async def decide_case(
    case_id: uuid.UUID,
    decision: DecisionIn,
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    actor: AgentWriter,
) -> RecoveryCaseOut:
    """KYC reviewers: approve (the exchange unlocks the account first) or reject, with a reason template.

    The customer is emailed the reason in their language. An exchange error answers with its status
    (422 refused, 502/503 unavailable) and leaves the case open; 409 once decided.
    """
    case = await access_recovery_case(session, actor, case_id, for_update=True, ip=client_ip(request))
    decided = await do_decide_case(
        session, actor, case, decision, exchange=runtime.exchange, settings=runtime.settings
    )
    return _out(decided)
