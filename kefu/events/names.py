"""Every realtime event name, "noun.verb_past"; clients switch on these strings, so never rename one."""

from __future__ import annotations

from enum import StrEnum


class EventName(StrEnum):
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    MESSAGE_CREATED = "message.created"
    AGENT_SESSIONS_REVOKED = "agent.sessions_revoked"
    AGENT_PRESENCE_CHANGED = "agent.presence_changed"
    # Ephemeral: who is viewing or typing in a conversation (collision notices); never logged.
    CONVERSATION_ACTIVITY = "conversation.activity"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
