"""Conversation vocabulary and the status machine: new → open → pending ↔ on_hold → solved → closed."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    ON_HOLD = "on_hold"  # waiting on a third party (e.g. the exchange's wallet team)
    SOLVED = "solved"
    CLOSED = "closed"  # final: a later customer message starts a follow-up conversation


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Category(StrEnum):
    ACCOUNT_ACCESS = "account_access"
    KYC = "kyc"
    TRADING = "trading"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    SECURITY = "security"
    GENERAL = "general"
    CALLBACK = "callback"  # the customer asks to be phoned back (help-center form)


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class MessageKind(StrEnum):
    REPLY = "reply"
    NOTE = "note"  # internal: never reaches the customer
    EVENT = "event"  # status/assignment changes shown in the timeline


_ACTIVE = {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED}
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset(_ACTIVE | {Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def can_transition(current: Status, target: Status) -> bool:
    """Whether the status machine allows current → target (staying put is always allowed)."""
    return current == target or target in ALLOWED_TRANSITIONS[current]
