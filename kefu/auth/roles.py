"""Agent roles and API token scopes."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    KYC_REVIEWER = "kyc_reviewer"


# Roles that may not work without a second factor (SECURITY.md: admins and KYC reviewers).
ROLES_REQUIRING_2FA = frozenset({Role.ADMIN, Role.KYC_REVIEWER})


class Scope(StrEnum):
    """What an API token may do; a session carries every scope its role allows."""

    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


def allowed_scopes(role: Role) -> frozenset[Scope]:
    """The scopes an agent of `role` may hold, in a session or an API token (only admins get ADMIN)."""
    if role == Role.ADMIN:
        return ALL_SCOPES
    return ALL_SCOPES - {Scope.ADMIN}
