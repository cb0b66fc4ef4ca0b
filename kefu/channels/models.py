"""Official channels: the domains, addresses, numbers and social handles that really are ours.

Customers are told to trust only these (the contact page lists the published ones; the verify page
checks anything else against them), so values are stored in one canonical form per kind
(kefu.channels.normalize) and are unique per kind.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.base import Base, IdMixin, TimestampMixin


class OfficialKind(StrEnum):
    DOMAIN = "domain"
    EMAIL = "email"
    PHONE = "phone"
    TELEGRAM = "telegram"
    X = "x"
    FACEBOOK = "facebook"


class OfficialChannel(IdMixin, TimestampMixin, Base):
    __tablename__ = "official_channels"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        # The contact page reads the published rows in display order.
        Index("ix_official_channels_published", "published_on_contact_page", "kind", "position"),
    )

    kind: Mapped[OfficialKind] = mapped_column(String(10))
    # Canonical: a lower-case ASCII (punycode) domain, a lower-case address, E.164, a lower-case handle.
    value: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(100), default="")
    label_zh: Mapped[str | None] = mapped_column(String(100), default=None)
    # ISO 3166-1 alpha-2 (phones: where the line is for); pages name it with Babel's territory names.
    region: Mapped[str | None] = mapped_column(String(2), default=None)
    # Whose business hours apply (phones); None means the organisation default schedule.
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    published_on_contact_page: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
