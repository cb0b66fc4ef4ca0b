"""The transactional outbox: durable work written in the same transaction as the change causing it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.clock import utcnow
from kefu.db.base import Base, IdMixin

NAME_MAX = 100
DEDUPE_KEY_MAX = 255
ERROR_MAX = 2000


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class OutboxJob(IdMixin, Base):
    """One unit of work; `attempts` counts claims, so a crashed run still uses up an attempt."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_status_run_at", "status", "run_at"),)

    name: Mapped[str] = mapped_column(String(NAME_MAX))
    payload: Mapped[dict[str, Any]]
    # Unique forever (not only while pending): a redelivered webhook must not run twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(DEDUPE_KEY_MAX), unique=True)
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus,
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [s.value for s in statuses],
        ),
        default=JobStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
