"""Recovery cases in the console: the list, a case, and its identity documents (KYC reviewers only).

Everyone else gets the console's 404 page, and the refusal is audited (kefu.recovery.access). Pages
read only; kefu/web/static/recovery.js claims and decides through `/api/v1/recovery/...`. Documents
are served one by one, decrypted and watermarked with the case, the reviewer and the time, never
cached; every view is an audit event (`recovery.document_viewed`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kefu.auth.models import Agent
from kefu.core.clock import utcnow
from kefu.core.errors import KefuError, NotFound
from kefu.recovery.access import access_recovery_case, access_recovery_document, check_reviewer
from kefu.recovery.documents import open_document, watermarked
from kefu.recovery.models import RecoveryStatus
from kefu.recovery.reasons import (
    HOLD_REASONS,
    TEMPLATES,
    Decision,
    document_labels,
    reason_labels,
    templates_for,
)
from kefu.recovery.service import (
    CaseState,
    get_case_item,
    is_decided,
    list_cases,
    list_documents,
    lookup_account,
)
from kefu.storage.envelope import DecryptionFailed
from kefu.storage.filenames import content_disposition
from kefu.trust.keys import keyring_from_settings
from kefu.web.console.context import Console, ConsoleDep, ConsoleNotFound
from kefu.web.deps import DbSession, RuntimeDep, client_ip

router = APIRouter()
log = structlog.get_logger(__name__)

RECOVERY_PATH: Final = "/console/recovery"
DOCUMENT_HEADERS: Final = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


class DocumentUnreadable(KefuError):
    """The sealed document did not open (its master key is missing from the keyring, or it is damaged)."""

    code = "document_unreadable"
    status = 500


def status_labels(console: Console) -> dict[str, str]:
    """Case states in the reviewer's language."""
    _ = console.page.t.gettext
    return {
        RecoveryStatus.SUBMITTED: _("Submitted"),
        RecoveryStatus.IN_REVIEW: _("In review"),
        RecoveryStatus.APPROVED: _("Approved"),
        RecoveryStatus.REJECTED: _("Rejected"),
    }


async def _reviewer(console: Console, session: DbSession, request: Request, target: str) -> None:
    try:
        await check_reviewer(session, console.actor, target=target, ip=client_ip(request))
    except NotFound:
        raise ConsoleNotFound("recovery page not found") from None


@router.get(RECOVERY_PATH)
async def recovery_cases(
    request: Request,
    console: ConsoleDep,
    session: DbSession,
    state: Annotated[str, Query(max_length=10)] = "open",
) -> Response:
    """KYC reviewers (browser session, 2FA): open cases oldest first, or decided ones, or all."""
    await _reviewer(console, session, request, "recovery_cases")
    chosen: CaseState = state if state in ("open", "decided", "all") else "open"  # type: ignore[assignment]
    items = await list_cases(session, state=chosen)
    t = console.page.t
    return console.render(
        "console/recovery_list.html",
        items=items,
        state=chosen,
        statuses=status_labels(console),
        reasons=reason_labels(t),
        states=[("open", t.gettext("Open")), ("decided", t.gettext("Decided")), ("all", t.gettext("All"))],
    )


@router.get(RECOVERY_PATH + "/{case_id}")
async def recovery_case(
    case_id: uuid.UUID, request: Request, console: ConsoleDep, session: DbSession, runtime: RuntimeDep
) -> Response:
    """KYC reviewers: one case with the exchange account, the documents and the decision forms."""
    try:
        case = await access_recovery_case(session, console.actor, case_id, ip=client_ip(request))
    except NotFound:
        raise ConsoleNotFound("recovery case not found") from None
    item = await get_case_item(session, case)
    t = console.page.t
    template = TEMPLATES.get(case.decision_template or "")
    return console.render(
        "console/recovery_case.html",
        item=item,
        case=case,
        decided=is_decided(case),
        mine=case.reviewer_id == console.actor.agent_id,
        lookup=await lookup_account(runtime.exchange, case),
        documents=await list_documents(session, case.id),
        document_names=document_labels(t),
        statuses=status_labels(console),
        reasons=reason_labels(t),
        approvals=templates_for(Decision.APPROVE),
        rejections=templates_for(Decision.REJECT),
        template=template,
        hold_reason=HOLD_REASONS.get(case.security_hold_reason or ""),
    )


@router.get(RECOVERY_PATH + "/documents/{attachment_id}")
async def recovery_document(
    attachment_id: uuid.UUID, request: Request, console: ConsoleDep, session: DbSession, runtime: RuntimeDep
) -> Response:
    """KYC reviewers: one identity document, watermarked, never cached; each view is audited.

    404 for anyone else or an unknown id, 410 once the document was purged.
    """
    try:
        case, _document, attachment = await access_recovery_document(
            session, console.actor, attachment_id, ip=client_ip(request)
        )
    except NotFound:
        raise ConsoleNotFound("document not found") from None
    settings = runtime.settings
    try:
        data = await open_document(
            runtime.blobs, keyring_from_settings(settings), attachment.blob_key, attachment.id
        )
    except (DecryptionFailed, NotFound) as exc:
        # Never shown to the browser: which key or blob failed is for the operator's log.
        log.error("recovery_document_unreadable", attachment_id=str(attachment.id), error=str(exc))
        raise DocumentUnreadable("this document cannot be opened; ask an administrator") from None
    agent = await session.get(Agent, console.actor.agent_id)
    item = await get_case_item(session, case)
    stamp = f"KYC review - case {item.reference} - {agent.email if agent else console.actor.agent_id}"
    text = f"{stamp} - {utcnow():%Y-%m-%d %H:%M} UTC"
    image, content_type = await watermarked(
        data, attachment.content_type, text, max_pixels=settings.image_max_pixels
    )
    # Inline: a reviewer opening it in a tab views it rather than saving a copy to disk.
    disposition = "inline" + content_disposition(attachment.filename).removeprefix("attachment")
    headers = DOCUMENT_HEADERS | {"content-disposition": disposition}
    return Response(content=image, media_type=content_type, headers=headers)
