"""Trust and safety routes: the redaction preview (agents), identity codes and account actions on a
conversation (agents send codes, the customer enters them), and the customer's anti-phishing code."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.contacts.models import Contact
from kefu.conversations.schemas import refuse_nul
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.integrations.exchange.schemas import AccountAction
from kefu.trust.account_actions import do_account_action
from kefu.trust.anti_phishing import do_set_code, read_code
from kefu.trust.identity import CheckOutcome, do_check_code, do_send_code, pending_challenge, verification_of
from kefu.trust.keys import keyring_from_settings
from kefu.trust.scrubbing import active_redactor
from kefu.web.api.v1.conversations import gate_conversation
from kefu.web.deps import AgentReader, AgentWriter, Customer, DbSession, Reader, RuntimeDep, Writer, client_ip

router = APIRouter(tags=["trust"])

MAX_PREVIEW_CHARACTERS = 100_000


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # As everywhere: NUL is refused, not stripped (PostgreSQL cannot store it).
    _no_nul = field_validator("*", mode="before")(refuse_nul)


class PreviewIn(_Input):
    text: Annotated[str, Field(max_length=MAX_PREVIEW_CHARACTERS)]


class FindingOut(BaseModel):
    kind: str
    start: int  # offsets into the text sent
    end: int
    certain: bool


class PreviewOut(BaseModel):
    text: str
    findings: list[FindingOut]


@router.post("/redaction/preview", response_model=PreviewOut)
async def preview_redaction(body: PreviewIn, actor: AgentReader) -> PreviewOut:
    """Agents and admins: what the detectors would remove from `text` (nothing is stored or logged)."""
    result = active_redactor().redact(body.text)
    return PreviewOut(
        text=result.text,
        findings=[
            FindingOut(kind=str(f.kind), start=f.start, end=f.end, certain=f.certain) for f in result.findings
        ],
    )


class PendingOut(BaseModel):
    destination: str
    expires_at: datetime


class IdentityOut(BaseModel):
    verified: bool
    verified_at: datetime | None = None
    method: str | None = None
    until: datetime | None = None
    pending: PendingOut | None = None


@router.get("/conversations/{conversation}/identity", response_model=IdentityOut)
async def get_identity(
    conversation: str, session: DbSession, actor: Reader, runtime: RuntimeDep
) -> IdentityOut:
    """Agents and the conversation's customer: is this conversation verified, and is a code pending?"""
    row = await gate_conversation(session, actor, conversation)
    verification = await verification_of(session, row, runtime.settings)
    challenge = await pending_challenge(session, row)
    pending = (
        PendingOut(destination=challenge.destination, expires_at=challenge.expires_at) if challenge else None
    )
    if verification is None:
        return IdentityOut(verified=False, pending=pending)
    return IdentityOut(
        verified=True,
        verified_at=verification.at,
        method=str(verification.method),
        until=verification.until,
        pending=pending,
    )


@router.post("/conversations/{conversation}/identity/code", status_code=201, response_model=PendingOut)
async def send_identity_code(
    request: Request, conversation: str, session: DbSession, actor: AgentWriter, runtime: RuntimeDep
) -> PendingOut:
    """Agents: email a one-time code to the customer's registered address (429 when sent too often)."""
    row = await gate_conversation(session, actor, conversation, for_update=True)
    challenge = await do_send_code(session, actor, row, settings=runtime.settings, ip=client_ip(request))
    return PendingOut(destination=challenge.destination, expires_at=challenge.expires_at)


class CodeIn(_Input):
    code: Annotated[str, Field(max_length=64)]


class VerifiedOut(BaseModel):
    verified: Literal[True] = True


@router.post(
    "/conversations/{conversation}/identity/verify",
    response_model=VerifiedOut,
    responses={409: {"description": "no code is pending"}, 422: {"description": "wrong code"}},
)
async def verify_identity(
    request: Request,
    conversation: str,
    body: CodeIn,
    session: DbSession,
    actor: Customer,
    runtime: RuntimeDep,
) -> VerifiedOut:
    """The conversation's customer enters the code they were emailed."""
    row = await gate_conversation(session, actor, conversation, for_update=True)
    result = await do_check_code(
        session, actor, row, body.code, settings=runtime.settings, ip=client_ip(request)
    )
    if result.outcome == CheckOutcome.VERIFIED:
        return VerifiedOut()
    # The failed attempt must count even though this request answers with an error.
    await session.commit()
    if result.outcome == CheckOutcome.NO_CODE:
        raise Conflict("no code is waiting: ask the agent to send a new one")
    raise InvalidInput(
        "that code is not right",
        fields={"code": f"wrong code; {result.attempts_left} attempts left"},
    )


class AccountActionIn(_Input):
    action: AccountAction


class AccountActionOut(BaseModel):
    action: str
    uid: str
    status: str
    changed: bool
    action_id: str


@router.post("/conversations/{conversation}/account-actions", response_model=AccountActionOut)
async def account_action(
    request: Request,
    conversation: str,
    body: AccountActionIn,
    session: DbSession,
    actor: Writer,
    runtime: RuntimeDep,
) -> AccountActionOut:
    """Freeze (the verified customer or an agent) or unlock (agents) the customer's exchange account.

    403 until the conversation is identity-verified; 409 without a linked exchange account."""
    row = await gate_conversation(session, actor, conversation, for_update=True)
    result = await do_account_action(
        session,
        actor,
        row,
        body.action,
        exchange=runtime.exchange,
        settings=runtime.settings,
        ip=client_ip(request),
    )
    return AccountActionOut(
        action=result.action.value,
        uid=result.uid,
        status=result.status.value,
        changed=result.changed,
        action_id=result.action_id,
    )


class AntiPhishingOut(BaseModel):
    code: str | None
    set_at: datetime | None


class AntiPhishingIn(_Input):
    code: Annotated[str, Field(max_length=200)]


async def _contact(session: DbSession, contact_id: object) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("no such customer")
    return contact


@router.get("/customer/anti-phishing-code", response_model=AntiPhishingOut)
async def get_anti_phishing_code(session: DbSession, actor: Customer, runtime: RuntimeDep) -> AntiPhishingOut:
    """Signed-in customers: their code (shown to them only; support's emails and chat show it too)."""
    if actor.conversation_id is not None:
        raise NotFound("sign in to My requests to see your anti-phishing code")
    contact = await _contact(session, actor.contact_id)
    code = read_code(contact, keyring_from_settings(runtime.settings))
    return AntiPhishingOut(code=code, set_at=contact.anti_phishing_code_set_at if code else None)


@router.put("/customer/anti-phishing-code", response_model=AntiPhishingOut)
async def set_anti_phishing_code(
    request: Request, body: AntiPhishingIn, session: DbSession, actor: Customer, runtime: RuntimeDep
) -> AntiPhishingOut:
    """Signed-in customers: set or change their code (4–20 letters, digits, spaces, - or _); emailed."""
    keyring = keyring_from_settings(runtime.settings)
    contact = await do_set_code(
        session, actor, body.code, keyring=keyring, settings=runtime.settings, ip=client_ip(request)
    )
    return AntiPhishingOut(code=read_code(contact, keyring), set_at=contact.anti_phishing_code_set_at)


@router.delete("/customer/anti-phishing-code", response_model=AntiPhishingOut)
async def remove_anti_phishing_code(
    request: Request, session: DbSession, actor: Customer, runtime: RuntimeDep
) -> AntiPhishingOut:
    """Signed-in customers: stop showing a code (emailed, in case it was not them)."""
    await do_set_code(
        session,
        actor,
        None,
        keyring=keyring_from_settings(runtime.settings),
        settings=runtime.settings,
        ip=client_ip(request),
    )
    return AntiPhishingOut(code=None, set_at=None)
