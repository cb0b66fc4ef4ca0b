"""Presence of agents, their open console connections, and each team's routing settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class RoutingMode(StrEnum):
    MANUAL = "manual"  # nobody is assigned automatically
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class LanguageMatch(StrEnum):
    PREFER = "prefer"  # speakers of the conversation's language first, anyone eligible otherwise
    REQUIRE = "require"  # only speakers; the conversation waits in the queue otherwise
    IGNORE = "ignore"


class AgentPresence(Base):
    """One row per agent who ever connected; no row means offline."""

    __tablename__ = "agent_presence"

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[Presence] = mapped_column(String(10), default=Presence.OFFLINE)
    # Set by the system (last console closed, timeouts) rather than chosen by the agent: only
    # automatic states are undone automatically, an agent's own "away" survives a reconnect.
    auto: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Tie-breaker of least-loaded routing: the longest-idle agent gets the next conversation.
    last_assigned_at: Mapped[datetime | None] = mapped_column(default=None)


class AgentConnection(IdMixin, Base):
    """One open console WebSocket; several per agent (tabs, devices), on any server node."""

    __tablename__ = "agent_connections"

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    node: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Heartbeats move this; a row not seen for a while belongs to a crashed node and is reaped.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TeamRouting(Base):
    """How a team's new conversations find an agent; no row means manual."""

    __tablename__ = "team_routing"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[RoutingMode] = mapped_column(String(20), default=RoutingMode.MANUAL)
    language_match: Mapped[LanguageMatch] = mapped_column(String(10), default=LanguageMatch.PREFER)
    # Round-robin cursor: the next turn goes to the first eligible agent after this one.
    last_assigned_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
