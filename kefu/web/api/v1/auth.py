"""Sign-in, second factor, sessions, password and API tokens for agents."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from kefu.auth.actions import do_change_password
from kefu.auth.actors import AgentActor
from kefu.auth.login import check_login, do_verify_second_factor
from kefu.auth.mfa import do_confirm_totp, do_enroll_totp
from kefu.auth.models import Agent, ApiToken
from kefu.auth.sessions import SessionState, SessionStatus, do_logout, get_session_state
from kefu.auth.tokens import do_create_api_token, do_revoke_api_token, list_api_tokens
from kefu.core.errors import NotAuthenticated, PermissionDenied
from kefu.web.api.v1.auth_schemas import (
    AgentOut,
    CodeIn,
    ConfirmTotpIn,
    EnrollmentOut,
    LoginIn,
    PasswordChangeIn,
    SessionOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
)
from kefu.web.cookies import clear_session_cookies, set_session_cookies
from kefu.web.deps import (
    SAFE_METHODS,
    AnyActor,
    DbSession,
    SettingsDep,
    check_csrf_token,
    check_same_origin,
    client_ip,
    session_cookie_name,
)

router = APIRouter(prefix="/auth", tags=["auth"])


def agent_out(agent: Agent) -> AgentOut:
    """An agent as shown to itself and colleagues."""
    return AgentOut(
        id=agent.id,
        email=agent.email,
        name=agent.name,
        role=agent.role,
        second_factor_enabled=agent.totp_enabled,
    )


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=list(token.scopes),
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


class BrowserSession:
    """A signed-in browser session in any state, including 'second factor still missing'."""

    def __init__(self, token: str, status: SessionStatus) -> None:
        self.token = token
        self.status = status

    @property
    def agent(self) -> Agent:
        assert self.status.agent is not None
        return self.status.agent

    @property
    def session_id(self) -> str:
        assert self.status.agent_session is not None
        return self.status.agent_session.id


async def get_browser_session(request: Request, session: DbSession, settings: SettingsDep) -> BrowserSession:
    """The cookie session, even half-signed-in (for 2FA routes); CSRF-checked for state changes."""
    token = request.cookies.get(session_cookie_name(settings))
    if not token:
        raise NotAuthenticated("sign in first")
    status = await get_session_state(session, token)
    if status.state == SessionState.INVALID:
        raise NotAuthenticated("your session has expired; sign in again")
    if request.method not in SAFE_METHODS:
        check_same_origin(request, settings)
        check_csrf_token(request, settings, request.headers.get("x-csrf-token"))
    return BrowserSession(token, status)


Browser = Annotated[BrowserSession, Depends(get_browser_session)]


async def _signed_in_agent(actor: AnyActor) -> AgentActor:
    if not isinstance(actor, AgentActor) or actor.via_token or actor.session_id is None:
        raise PermissionDenied("this needs a signed-in browser session, not an API token")
    return actor


SignedIn = Annotated[AgentActor, Depends(_signed_in_agent)]


@router.post("/login", response_model=SessionOut)
async def login(
    body: LoginIn, request: Request, response: Response, session: DbSession, settings: SettingsDep
) -> SessionOut:
    """Public. Sign in with email and password; a new session id every time (fixation-proof)."""
    check_same_origin(request, settings)
    result = await check_login(
        session,
        email=body.email,
        password=body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        settings=settings,
    )
    csrf = set_session_cookies(response, settings, result.session_token)
    if result.needs_second_factor:
        state = SessionState.NEEDS_SECOND_FACTOR
    elif result.must_enroll_second_factor:
        state = SessionState.MUST_ENROLL_SECOND_FACTOR
    else:
        state = SessionState.ACTIVE
    return SessionOut(state=state.value, agent=agent_out(result.agent), csrf_token=csrf)


@router.get("/session", response_model=SessionOut)
async def current_session(browser: Browser) -> SessionOut:
    """The signed-in agent (any session state): who am I and what is left to do."""
    return SessionOut(state=browser.status.state.value, agent=agent_out(browser.agent))


@router.post("/second-factor", response_model=SessionOut)
async def verify_second_factor(
    body: CodeIn, response: Response, browser: Browser, session: DbSession, settings: SettingsDep
) -> SessionOut:
    """A half-signed-in session proves its TOTP code (failures count towards the lockout).

    The session id changes here: the half-signed-in one is revoked and new cookies are set.
    """
    _row, token = await do_verify_second_factor(
        session, session_token=browser.token, code=body.code, settings=settings
    )
    csrf = set_session_cookies(response, settings, token)
    return SessionOut(state=SessionState.ACTIVE.value, agent=agent_out(browser.agent), csrf_token=csrf)


@router.post("/second-factor/enrollment", response_model=EnrollmentOut)
async def start_enrollment(browser: Browser, session: DbSession, settings: SettingsDep) -> EnrollmentOut:
    """Signed-in agents (or ones who must enrol) get a new TOTP secret to confirm."""
    if browser.status.state not in (SessionState.ACTIVE, SessionState.MUST_ENROLL_SECOND_FACTOR):
        # A password alone must never be enough to replace an existing second factor.
        raise PermissionDenied("verify your current second factor first")
    enrollment = await do_enroll_totp(session, agent_id=browser.agent.id, settings=settings)
    return EnrollmentOut(secret=enrollment.secret, provisioning_uri=enrollment.provisioning_uri)


@router.post("/second-factor/enrollment/confirm", response_model=SessionOut)
async def confirm_enrollment(
    body: ConfirmTotpIn, request: Request, browser: Browser, session: DbSession, settings: SettingsDep
) -> SessionOut:
    """Confirm the new factor with a code and the password; every other session is signed out."""
    if browser.status.state not in (SessionState.ACTIVE, SessionState.MUST_ENROLL_SECOND_FACTOR):
        raise PermissionDenied("verify your current second factor first")
    agent = await do_confirm_totp(
        session,
        agent_id=browser.agent.id,
        code=body.code,
        password=body.password,
        settings=settings,
        keep_session_id=browser.session_id,
        ip=client_ip(request),
    )
    return SessionOut(state=SessionState.ACTIVE.value, agent=agent_out(agent))


@router.post("/logout", status_code=204, response_class=Response)
async def logout(browser: Browser, session: DbSession, settings: SettingsDep) -> Response:
    """Revoke this session (its open websockets close too) and clear the cookies."""
    await do_logout(session, browser.token)
    response = Response(status_code=204)
    clear_session_cookies(response, settings)
    return response


@router.post("/password", status_code=204, response_class=Response)
async def change_password(
    body: PasswordChangeIn, request: Request, actor: SignedIn, session: DbSession, settings: SettingsDep
) -> Response:
    """Signed-in agents change their own password (re-authenticated); other sessions are revoked."""
    await do_change_password(
        session,
        agent_id=actor.agent_id,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session_id=actor.session_id,
        settings=settings,
        ip=client_ip(request),
    )
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(actor: SignedIn, session: DbSession) -> list[TokenOut]:
    """The signed-in agent's own API tokens (never the secrets)."""
    return [_token_out(t) for t in await list_api_tokens(session, agent_id=actor.agent_id)]


@router.post("/tokens", status_code=201, response_model=TokenCreatedOut)
async def create_token(
    body: TokenCreateIn, actor: SignedIn, session: DbSession, settings: SettingsDep
) -> TokenCreatedOut:
    """Signed-in agents create a scoped token for themselves after re-entering their password."""
    row, plaintext = await do_create_api_token(
        session,
        agent_id=actor.agent_id,
        name=body.name,
        scopes=set(body.scopes),
        expires_in_days=body.expires_in_days,
        actor=actor,
        current_password=body.current_password,
        settings=settings,
    )
    return TokenCreatedOut(**_token_out(row).model_dump(), token=plaintext)


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response)
async def revoke_token(token_id: uuid.UUID, actor: AnyActor, session: DbSession) -> Response:
    """Agents revoke their own tokens (admins any); a token may revoke itself."""
    await do_revoke_api_token(session, token_id=token_id, actor=actor)
    return Response(status_code=204)
