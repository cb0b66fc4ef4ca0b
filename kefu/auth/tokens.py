"""Personal API tokens: shown once, stored as sha256, limited to scopes the agent's role allows.

A live token's actor is cached in each process for `TOKEN_CACHE_SECONDS` (it is read on every API
request). Revoking a token, or changing its agent (role, active flag) or the agent's teams, through
any session of the process drops the cache at once and again at commit; other processes notice
within `TOKEN_CACHE_SECONDS`. Expiry is checked on every request, cached or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor, AgentActor
from kefu.auth.login import check_reauth
from kefu.auth.models import Agent, ApiToken
from kefu.auth.roles import Role, Scope, allowed_scopes
from kefu.auth.service import digest, get_agent, get_agent_by_email
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, NotFound, PermissionDenied
from kefu.core.ids import new_token
from kefu.db.base import table_of
from kefu.db.cache import ConfigCache, invalidate_on_change
from kefu.db.engine import write_gate
from kefu.db.uow import after_commit
from kefu.inboxes.models import TeamMember
from kefu.settings import Settings

TOKEN_PREFIX = "kefu_"  # noqa: S105 (a public marker, not a secret)
# "kefu_" plus a few random characters: enough to tell tokens apart in a list, far from guessable.
DISPLAY_PREFIX_LENGTH = 12
MAX_TOKEN_LENGTH = 256
MAX_NAME_LENGTH = 100
MAX_EXPIRY_DAYS = 3650
LAST_USED_RESOLUTION = timedelta(minutes=1)
# The longest a revoked token or a deactivated agent keeps working on another server process.
TOKEN_CACHE_SECONDS: Final = 5.0

# Core statements on the tables (not the ORM classes): no identity map, no ORM compile step.
_TOKENS, _AGENTS, _MEMBERS = table_of(ApiToken), table_of(Agent), table_of(TeamMember)
_LOOKUP = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.agent_id,
        _TOKENS.c.scopes,
        _TOKENS.c.revoked_at,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _AGENTS.c.role,
        _AGENTS.c.is_active,
        _MEMBERS.c.team_id,
    )
    .join(_AGENTS, _AGENTS.c.id == _TOKENS.c.agent_id)
    # One row per team membership (or one with a NULL team): the actor in a single round trip.
    .outerjoin(_MEMBERS, _MEMBERS.c.agent_id == _TOKENS.c.agent_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)
_TOUCH = update(_TOKENS).where(_TOKENS.c.id == bindparam("token_id")).values(last_used_at=bindparam("now"))


@dataclass(slots=True)
class _LiveToken:
    """What a request needs of a token that was live when read (expiry is checked at each use)."""

    token_id: uuid.UUID
    actor: AgentActor
    expires_at: datetime | None
    # When this process last wrote (or read) the token's last-used time.
    last_used_at: datetime | None


# Keyed by the token's digest: the plaintext is never kept. Unknown or dead tokens are not cached.
LIVE_TOKENS: ConfigCache[_LiveToken | None] = ConfigCache(
    "api_tokens", ttl=TOKEN_CACHE_SECONDS, max_keys=4096
)
invalidate_on_change(LIVE_TOKENS, (ApiToken, Agent, TeamMember))


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or not cleaned.isprintable():
        raise InvalidInput(
            f"Name the token in 1 to {MAX_NAME_LENGTH} characters.", fields={"name": "invalid"}
        )
    return cleaned


def _check_request(agent: Agent, scopes: set[Scope], expires_in_days: int | None) -> frozenset[Scope]:
    wanted = frozenset(Scope(s) for s in scopes)
    if not wanted:
        raise InvalidInput("Choose at least one scope.", fields={"scopes": "empty"})
    if not wanted <= allowed_scopes(agent.role):
        raise PermissionDenied("This role does not allow one of these scopes.")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(
            f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days.", fields={"expires_in_days": "range"}
        )
    return wanted


async def _issue(
    session: AsyncSession,
    agent: Agent,
    *,
    name: str,
    scopes: frozenset[Scope],
    expires_in_days: int | None,
    actor: Actor | None,
) -> tuple[ApiToken, str]:
    plaintext = TOKEN_PREFIX + new_token()
    now = utcnow()
    token = ApiToken(
        agent_id=agent.id,
        name=name,
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        token_hash=digest(plaintext),
        scopes=sorted(s.value for s in scopes),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days is not None else None,
    )
    session.add(token)
    await session.flush()
    await record_audit(
        session,
        action="api_token.created",
        actor=actor,
        target_type="api_token",
        target_id=str(token.id),
        details={"owner_id": str(agent.id), "scopes": token.scopes, "expires_in_days": expires_in_days},
    )
    return token, plaintext


async def do_create_api_token(
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    name: str,
    scopes: set[Scope],
    expires_in_days: int | None,
    actor: Actor,
    current_password: str,
    settings: Settings,
) -> tuple[ApiToken, str]:
    """Create a token for the actor itself after re-authentication; returns the row and the plaintext.

    Precondition: `session` holds no uncommitted writes (a wrong password is counted durably).
    """
    if not isinstance(actor, AgentActor) or actor.via_token or actor.agent_id != agent_id:
        raise PermissionDenied("You can only create API tokens for yourself, from a signed-in session.")
    agent = await get_agent(session, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound("Agent not found.")
    wanted = _check_request(agent, scopes, expires_in_days)
    token_name = _clean_name(name)
    await check_reauth(session, agent=agent, password=current_password, settings=settings)
    return await _issue(
        session, agent, name=token_name, scopes=wanted, expires_in_days=expires_in_days, actor=actor
    )


async def do_issue_api_token_as_operator(
    session: AsyncSession, *, agent_email: str, name: str, scopes: set[Scope], expires_in_days: int | None
) -> tuple[ApiToken, str]:
    """Create a token for an agent from the server's command line (a trusted operator; audited as system)."""
    agent = await get_agent_by_email(session, agent_email)
    if agent is None or not agent.is_active:
        raise NotFound("No active agent has this email.")
    wanted = _check_request(agent, scopes, expires_in_days)
    return await _issue(
        session, agent, name=_clean_name(name), scopes=wanted, expires_in_days=expires_in_days, actor=None
    )


async def _touch(bind: object, token_id: uuid.UUID, now: datetime) -> None:
    assert isinstance(bind, AsyncEngine)
    async with write_gate(bind), bind.begin() as conn:
        await conn.execute(_TOUCH, {"token_id": token_id, "now": now})


async def _load_live_token(session: AsyncSession, token_hash: str) -> _LiveToken | None:
    rows = (await (await session.connection()).execute(_LOOKUP, {"token_hash": token_hash})).all()
    if not rows:
        return None
    found = rows[0]
    if found.revoked_at is not None or not found.is_active:
        return None
    role = Role(found.role)
    scopes = frozenset(Scope(s) for s in found.scopes if s in Scope._value2member_map_)
    actor = AgentActor(
        agent_id=found.agent_id,
        role=role,
        team_ids=frozenset(row.team_id for row in rows if row.team_id is not None),
        scopes=scopes & allowed_scopes(role),
        via_token=True,
    )
    return _LiveToken(found.id, actor, found.expires_at, found.last_used_at)


def _expired(live: _LiveToken, now: datetime) -> bool:
    return live.expires_at is not None and live.expires_at <= now


def _touch_due(live: _LiveToken, now: datetime) -> bool:
    """Whether the token's last-used time is due to be written (at most once a minute)."""
    return live.last_used_at is None or now - live.last_used_at >= LAST_USED_RESOLUTION


def _is_live(value: _LiveToken | None) -> bool:
    return value is not None


async def resolve_api_token(session: AsyncSession, token: str) -> AgentActor | None:
    """The actor of a live token (scopes cut to the token's and the role's), or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    token_hash = digest(token)

    # Runs on every API request: one cached lookup, else one Core query (token, agent and teams).
    async def load(s: AsyncSession) -> _LiveToken | None:
        return await _load_live_token(s, token_hash)

    live = await LIVE_TOKENS.get(session, token_hash, load, keep=_is_live)
    now = utcnow()
    if live is None or _expired(live, now):
        return None
    if _touch_due(live, now):
        live.last_used_at = now
        # After the request's own commit and in its own transaction: an early write would hold
        # SQLite's write lock for the whole request (and block the audit of a refusal).
        after_commit(session, partial(_touch, session.bind, live.token_id, now))
    return live.actor


def cached_api_token_actor(token: str) -> AgentActor | None:
    """The actor of a live token as this process already knows it, with no I/O; None when the
    token is not cached as live, has expired, or is due a last-used write (`resolve_api_token`
    decides those, inside a transaction)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    live = LIVE_TOKENS.fresh(digest(token))
    now = utcnow()
    if live is None or _expired(live, now) or _touch_due(live, now):
        return None
    return live.actor


async def list_api_tokens(session: AsyncSession, *, agent_id: uuid.UUID) -> Sequence[ApiToken]:
    """The agent's tokens (revoked ones included), newest first; gate with `access_agent_by_id`."""
    query = select(ApiToken).where(ApiToken.agent_id == agent_id).order_by(ApiToken.created_at.desc())
    return (await session.scalars(query)).all()


async def do_revoke_all_api_tokens(session: AsyncSession, *, agent_id: uuid.UUID) -> int:
    """Revoke every live token of the agent; returns how many."""
    rows = (
        await session.scalars(
            select(ApiToken).where(ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    await session.flush()
    LIVE_TOKENS.invalidate_after_commit(session)
    return len(rows)


async def do_revoke_api_token(session: AsyncSession, *, token_id: uuid.UUID, actor: Actor) -> ApiToken:
    """Revoke a token of the actor's own, or any token for an admin; NotFound otherwise."""
    row = await session.get(ApiToken, token_id)
    is_admin = isinstance(actor, AgentActor) and actor.is_admin and actor.has_scope(Scope.ADMIN)
    if row is None or not isinstance(actor, AgentActor) or (row.agent_id != actor.agent_id and not is_admin):
        raise NotFound("API token not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
        LIVE_TOKENS.invalidate_after_commit(session)
        await record_audit(
            session,
            action="api_token.revoked",
            actor=actor,
            target_type="api_token",
            target_id=str(row.id),
            details={"owner_id": str(row.agent_id)},
        )
    return row
