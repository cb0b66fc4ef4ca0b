"""Who is calling. Every access gate takes an Actor; the web layer builds it from a session or token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from kefu.auth.roles import ALL_SCOPES, Role, Scope


@dataclass(frozen=True)
class AgentActor:
    """A signed-in staff member (browser session) or a script using the agent's API token."""

    agent_id: uuid.UUID
    role: Role
    team_ids: frozenset[uuid.UUID] = frozenset()
    scopes: frozenset[Scope] = ALL_SCOPES
    via_token: bool = False
    session_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_supervisor_or_admin(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    def has_scope(self, scope: Scope) -> bool:
        """Tokens are limited to their scopes; an admin scope implies every other scope."""
        return scope in self.scopes or Scope.ADMIN in self.scopes


@dataclass(frozen=True)
class CustomerActor:
    """A customer proven to own `contact_id` (signed widget identity, magic link, channel)."""

    contact_id: uuid.UUID
    # Set when the customer only proved they started one conversation (an unverified email on a
    # request form): they may follow that conversation, not every conversation of the contact.
    conversation_id: uuid.UUID | None = None
    identity_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)


Actor = AgentActor | CustomerActor
