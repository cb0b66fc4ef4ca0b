"""reports

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kefu.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of kefu.reports.models' column lists (a migration never imports live models).
_INT_COUNTERS = (
    "created",
    *(f"created_h{hour:02d}" for hour in range(24)),
    "first_responses",
    "next_responses",
    "resolved",
    "sla_first_met",
    "sla_first_breached",
    "sla_resolution_met",
    "sla_resolution_breached",
    "sla_next_met",
    "sla_next_missed",
    "ratings",
    "rating_sum",
    "rating_satisfied",
    "bot_conversations",
    "bot_answered",
    "bot_deflected",
    "bot_handed_over",
    "replies",
)
_FLOAT_COUNTERS = ("first_response_seconds", "next_response_seconds", "resolution_seconds")


def _when() -> kefu.db.base.UTCDateTime:
    return kefu.db.base.UTCDateTime(timezone=True)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _dimensions() -> list[sa.Column[object]]:
    return [
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
    ]


def _period_index(table: str) -> None:
    op.create_index(f"ix_{table}_grain_period", table, ["grain", "period_start"], unique=False)


def upgrade() -> None:
    op.create_table(
        "report_conversation_facts",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("created_hour", _when(), nullable=False),
        sa.Column("first_response_at", _when(), nullable=True),
        sa.Column("first_response_hour", _when(), nullable=True),
        sa.Column("first_response_seconds", sa.Float(), nullable=True),
        sa.Column("solved_at", _when(), nullable=True),
        sa.Column("solved_hour", _when(), nullable=True),
        sa.Column("resolution_seconds", sa.Float(), nullable=True),
        sa.Column("sla_first", sa.String(length=10), nullable=True),
        sa.Column("sla_resolution", sa.String(length=10), nullable=True),
        sa.Column("sla_next_met", sa.Integer(), nullable=False),
        sa.Column("sla_next_missed", sa.Integer(), nullable=False),
        sa.Column("rating_score", sa.SmallInteger(), nullable=True),
        sa.Column("rating_agent_id", sa.Uuid(), nullable=True),
        sa.Column("rated_hour", _when(), nullable=True),
        sa.Column("bot_answered", sa.Boolean(), nullable=False),
        sa.Column("bot_deflected", sa.Boolean(), nullable=False),
        sa.Column("bot_handed_over", sa.Boolean(), nullable=False),
        sa.Column("computed_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_report_conversation_facts")),
    )
    for name in ("created_hour", "first_response_hour", "solved_hour", "rated_hour"):
        op.create_index(
            op.f(f"ix_report_conversation_facts_{name}"), "report_conversation_facts", [name], unique=False
        )
    op.create_table(
        "report_reply_facts",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("replied_at", _when(), nullable=False),
        sa.Column("replied_hour", _when(), nullable=False),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name=op.f("pk_report_reply_facts")),
    )
    op.create_index(
        op.f("ix_report_reply_facts_replied_hour"), "report_reply_facts", ["replied_hour"], unique=False
    )
    op.create_table(
        "report_rollups",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("period_start", _when(), nullable=False),
        *_dimensions(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _INT_COUNTERS),
        *(sa.Column(name, sa.Float(), nullable=False) for name in _FLOAT_COUNTERS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_rollups")),
    )
    _period_index("report_rollups")
    op.create_table(
        "report_histograms",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("period_start", _when(), nullable=False),
        *_dimensions(),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_histograms")),
    )
    _period_index("report_histograms")
    op.create_table(
        "report_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", _when(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_state")),
    )


def downgrade() -> None:
    op.drop_table("report_state")
    op.drop_index("ix_report_histograms_grain_period", table_name="report_histograms")
    op.drop_table("report_histograms")
    op.drop_index("ix_report_rollups_grain_period", table_name="report_rollups")
    op.drop_table("report_rollups")
    op.drop_index(op.f("ix_report_reply_facts_replied_hour"), table_name="report_reply_facts")
    op.drop_table("report_reply_facts")
    for name in ("rated_hour", "solved_hour", "first_response_hour", "created_hour"):
        op.drop_index(op.f(f"ix_report_conversation_facts_{name}"), table_name="report_conversation_facts")
    op.drop_table("report_conversation_facts")
