"""Staff accounts, their browser sessions and API tokens, and sign-in throttling counters.

Secrets are never stored in a usable form: sessions and API tokens are kept as sha256 digests of the
value the client holds, passwords as argon2id hashes, TOTP secrets encrypted with the secret key.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.auth.roles import Role
from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin, TimestampMixin

MAX_EMAIL_LENGTH = 320
MAX_USER_AGENT_LENGTH = 255
MAX_IP_LENGTH = 64


def _empty_list() -> list[str]:
    return []


class Agent(IdMixin, TimestampMixin, Base):
    __tablename__ = "agents"
    # Emails are compared lower-cased; the constraint stops a code path that forgets to normalise.
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255), default=None)
    # A secret being enrolled; it replaces the active one only once a code proves the app has it.
    totp_pending_secret_encrypted: Mapped[str | None] = mapped_column(String(255), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Highest TOTP time step accepted so far: a code is never accepted twice (replay protection).
    totp_last_timestep: Mapped[int | None] = mapped_column(BigInteger, default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    languages: Mapped[list[str]] = mapped_column(default=_empty_list)
    capacity: Mapped[int] = mapped_column(default=10)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def totp_enabled(self) -> bool:
        """True once a second factor has been confirmed."""
        return self.totp_enabled_at is not None and self.totp_secret_encrypted is not None


class AgentSession(Base):
    """A browser session; `id` is the sha256 hex digest of the cookie token, never the token itself."""

    __tablename__ = "agent_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(MAX_IP_LENGTH), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(MAX_USER_AGENT_LENGTH), default=None)
    mfa_verified: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiToken(IdMixin, Base):
    """A personal API token; only its sha256 digest and a short display prefix are stored."""

    __tablename__ = "api_tokens"

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=_empty_list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginThrottle(IdMixin, Base):
    """Failed sign-in counter for one key: ``account:<email>`` or ``ip:<address>``."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class CustomerSignInCode(IdMixin, Base):
    """A one-time code and magic link mailed to a customer for "My requests", kept only as digests.

    Rows exist for unknown addresses too (nothing is mailed to them): rate limits and answers must not
    reveal which addresses have requests with us.
    """

    __tablename__ = "customer_sign_in_codes"

    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), index=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None
    )
    # HMAC of the six digits under the secret key: a leaked table does not yield usable codes.
    code_digest: Mapped[str] = mapped_column(String(64))
    link_digest: Mapped[str] = mapped_column(String(64), unique=True)
    ip: Mapped[str | None] = mapped_column(String(MAX_IP_LENGTH), default=None, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class CustomerSession(Base):
    """A customer's signed-in browser (My requests): the row id is the sha256 digest of the cookie."""

    __tablename__ = "customer_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(MAX_IP_LENGTH), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(MAX_USER_AGENT_LENGTH), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
