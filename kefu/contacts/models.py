"""Customers and the identities that prove who they are on each channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.db.base import Base, IdMixin, TimestampMixin


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    EXCHANGE_UID = "exchange_uid"
    TELEGRAM = "telegram"
    MESSENGER = "messenger"
    X = "x"
    WIDGET = "widget"


class Contact(IdMixin, TimestampMixin, Base):
    __tablename__ = "contacts"

    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # The customer's anti-phishing code, envelope-encrypted (kefu.trust.anti_phishing); shown in every
    # email and chat header from support so a look-alike message without it stands out.
    anti_phishing_code_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    anti_phishing_code_set_at: Mapped[datetime | None] = mapped_column(default=None)
    identities: Mapped[list[ContactIdentity]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", lazy="selectin"
    )


class ContactIdentity(IdMixin, Base):
    """One verified handle of a contact; (kind, value) is unique so a handle never maps to two people."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(String(20))
    # Normalised: lower-cased email, E.164 phone, numeric channel ids.
    value: Mapped[str] = mapped_column(String(320))
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    contact: Mapped[Contact] = relationship(back_populates="identities")
