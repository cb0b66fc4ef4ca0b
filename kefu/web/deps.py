"""Request dependencies: the transaction, the runtime, and who is calling.

Every route declares its caller with one of the `Annotated` aliases at the bottom, so a reader sees
who may call it from the signature alone.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.auth.customer_sessions import resolve_customer_session
from kefu.auth.customer_tokens import CUSTOMER_TOKEN_PREFIX, read_customer_token
from kefu.auth.roles import Scope
from kefu.auth.sessions import resolve_session
from kefu.auth.tokens import resolve_api_token
from kefu.core.errors import NotAuthenticated, PermissionDenied
from kefu.db.uow import independent_transaction, transaction
from kefu.runtime import Runtime
from kefu.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    """The process runtime built at start-up."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    """The settings this app was created with."""
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent (so a 2xx means durable)."""
    writes = request.method not in SAFE_METHODS
    async with transaction(runtime.sessionmaker, writes=writes) as session:
        yield session


# scope="function": commit happens before the response leaves, never after it.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


def session_cookie_name(settings: Settings) -> str:
    """`__Host-` prefixed over https: the cookie cannot be set by a sub-domain or sent over http."""
    return "__Host-kefu_session" if settings.cookies_secure else "kefu_session"


def customer_cookie_name(settings: Settings) -> str:
    """The signed-in customer's cookie (My requests); separate from staff sessions."""
    return "__Host-kefu_customer" if settings.cookies_secure else "kefu_customer"


def csrf_cookie_name(settings: Settings) -> str:
    """Double-submit CSRF cookie (readable by our own scripts, never by other origins)."""
    return "__Host-kefu_csrf" if settings.cookies_secure else "kefu_csrf"


def client_ip(request: Request) -> str:
    """The peer address (uvicorn resolves X-Forwarded-For only for configured trusted proxies)."""
    return request.client.host if request.client else "unknown"


def check_same_origin(request: Request, settings: Settings) -> None:
    """Refuse cross-site state changes: Origin (or Referer) must be our own base URL."""
    expected = urlsplit(settings.base_url)
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return  # non-browser clients send neither; the CSRF token check still applies
    seen = urlsplit(source)
    if (seen.scheme, seen.netloc) != (expected.scheme, expected.netloc):
        raise PermissionDenied("cross-origin request refused")


def check_csrf_token(request: Request, settings: Settings, submitted: str | None) -> None:
    """The submitted token must equal the CSRF cookie (constant-time)."""
    cookie = request.cookies.get(csrf_cookie_name(settings))
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise PermissionDenied("missing or invalid CSRF token")


async def _actor_from_request(request: Request, session: AsyncSession, settings: Settings) -> Actor | None:
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("use 'Authorization: Bearer <token>'")
        if token.startswith(CUSTOMER_TOKEN_PREFIX):
            customer = read_customer_token(settings.secret_key, token)
            if customer is None:
                raise NotAuthenticated("invalid or expired customer token")
            return customer
        agent = await resolve_api_token(session, token)
        if agent is None:
            raise NotAuthenticated("invalid, expired or revoked API token")
        return agent
    cookie = request.cookies.get(session_cookie_name(settings))
    actor: Actor | None = await resolve_session(session, cookie, settings=settings) if cookie else None
    if actor is None and (customer_cookie := request.cookies.get(customer_cookie_name(settings))):
        actor = await resolve_customer_session(session, customer_cookie)
    if actor is not None and request.method not in SAFE_METHODS:
        check_same_origin(request, settings)
        check_csrf_token(request, settings, request.headers.get("x-csrf-token"))
    return actor


async def get_optional_writer(request: Request, session: DbSession) -> Actor | None:
    """Public write routes: anonymous callers, customers, or agents whose token may write."""
    # Settings straight from the runtime rather than through SettingsDep: every dependency layer
    # costs a solve on each call of the hottest write route (POST /conversations).
    settings: Settings = request.app.state.runtime.settings
    actor = await _actor_from_request(request, session, settings)
    if isinstance(actor, AgentActor) and not actor.has_scope(Scope.CONVERSATIONS_WRITE):
        raise PermissionDenied(f"this token lacks the {Scope.CONVERSATIONS_WRITE.value} scope")
    return actor


async def get_actor(request: Request, session: DbSession, settings: SettingsDep) -> Actor:
    """Any authenticated caller: an agent (session or API token) or a customer (customer token)."""
    actor = await _actor_from_request(request, session, settings)
    if actor is None:
        raise NotAuthenticated("sign in or send a bearer token")
    return actor


AnyActor = Annotated[Actor, Depends(get_actor)]


def require_agent(scope: Scope) -> Callable[..., Coroutine[Any, Any, AgentActor]]:
    """A dependency admitting agents whose session or token carries `scope`."""

    async def dependency(actor: Annotated[Actor, Depends(get_actor)]) -> AgentActor:
        if not isinstance(actor, AgentActor):
            raise PermissionDenied("this route is for support staff")
        if not actor.has_scope(scope):
            raise PermissionDenied(f"this token lacks the {scope.value} scope")
        return actor

    return dependency


def require_actor(scope: Scope) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """Customers (limited by the access gates to their own data) or agents carrying `scope`."""

    async def dependency(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        if isinstance(actor, AgentActor) and not actor.has_scope(scope):
            raise PermissionDenied(f"this token lacks the {scope.value} scope")
        return actor

    return dependency


async def require_admin(request: Request, session: DbSession, actor: AnyActor) -> AgentActor:
    """Administrators only (role and, for tokens, the admin scope); refusals are audited."""
    if isinstance(actor, AgentActor) and actor.is_admin and actor.has_scope(Scope.ADMIN):
        return actor
    # The request rolls back on the error, so the refusal is recorded in its own transaction.
    async with independent_transaction(session) as own:
        await record_audit(
            own,
            action="access.denied",
            actor=actor,
            target_type="route",
            target_id=f"{request.method} {request.url.path}"[:100],
            ip=client_ip(request),
        )
    raise PermissionDenied("this route is for administrators")


async def require_supervisor(
    actor: Annotated[AgentActor, Depends(require_agent(Scope.CONVERSATIONS_WRITE))],
) -> AgentActor:
    """Supervisors and administrators (who manage macros, triggers, routing, SLA and schedules)."""
    if not actor.is_supervisor_or_admin:
        raise PermissionDenied("this route is for supervisors")
    return actor


async def require_customer(actor: Annotated[Actor, Depends(get_actor)]) -> CustomerActor:
    """Customers only (their own data, through their customer token)."""
    if not isinstance(actor, CustomerActor):
        raise PermissionDenied("this route is for customers")
    return actor


Reader = Annotated[Actor, Depends(require_actor(Scope.CONVERSATIONS_READ))]
Writer = Annotated[Actor, Depends(require_actor(Scope.CONVERSATIONS_WRITE))]
OptionalWriter = Annotated[Actor | None, Depends(get_optional_writer)]
AgentReader = Annotated[AgentActor, Depends(require_agent(Scope.CONVERSATIONS_READ))]
AgentWriter = Annotated[AgentActor, Depends(require_agent(Scope.CONVERSATIONS_WRITE))]
Admin = Annotated[AgentActor, Depends(require_admin)]
Supervisor = Annotated[AgentActor, Depends(require_supervisor)]
Customer = Annotated[CustomerActor, Depends(require_customer)]
