"""Report tables: per-conversation and per-reply facts, hourly/daily/monthly rollups, watermarks.

Everything here is derived from durable rows of other domains (conversations, messages, SLA clocks,
ratings, bot outcomes) and can be rebuilt at any time with `kefu reports rebuild`. The tables are
Core tables: they are written in bulk and read with aggregates, never as ORM objects.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Uuid,
)

from kefu.db.base import Base, UTCDateTime

# Integer counters of a rollup row; `created_hNN` counts conversations created in UTC hour NN of
# the period (meaningful for hour and day rows: they let a day row serve any whole-hour time zone).
HOUR_COLUMNS: Final = tuple(f"created_h{hour:02d}" for hour in range(24))
INT_COUNTERS: Final = (
    "created",
    *HOUR_COLUMNS,
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
# Business seconds, summed (means come from sum / count).
FLOAT_COUNTERS: Final = ("first_response_seconds", "next_response_seconds", "resolution_seconds")
COUNTERS: Final = INT_COUNTERS + FLOAT_COUNTERS
DIMENSIONS: Final = ("agent_id", "team_id", "channel", "category")

_ID = BigInteger().with_variant(Integer(), "sqlite")


def _dimensions() -> list[Column[object]]:
    return [
        # NULL on the organisation-wide rows; set on the per-agent rows (the Agents report).
        Column("agent_id", Uuid(), nullable=True),
        Column("team_id", Uuid(), nullable=True),
        Column("channel", String(20), nullable=False),
        Column("category", String(30), nullable=False),
    ]


def _period_index(table: str) -> Index:
    # One index for both kinds of rows: the per-agent rows are few (agent × team keys), and the
    # recomputations delete and sum periods of both kinds at once.
    return Index(f"ix_{table}_grain_period", "grain", "period_start")


conversation_facts = Table(
    "report_conversation_facts",
    Base.metadata,
    Column("conversation_id", Uuid(), primary_key=True),
    Column("team_id", Uuid(), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("category", String(30), nullable=False),
    Column("assignee_id", Uuid(), nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_hour", UTCDateTime(), nullable=False, index=True),
    Column("first_response_at", UTCDateTime(), nullable=True),
    Column("first_response_hour", UTCDateTime(), nullable=True, index=True),
    Column("first_response_seconds", Float(), nullable=True),
    Column("solved_at", UTCDateTime(), nullable=True),
    Column("solved_hour", UTCDateTime(), nullable=True, index=True),
    Column("resolution_seconds", Float(), nullable=True),
    # "met" / "breached" once the target's clock ended; NULL: no target, still running or stopped.
    Column("sla_first", String(10), nullable=True),
    Column("sla_resolution", String(10), nullable=True),
    Column("sla_next_met", Integer(), nullable=False, default=0),
    Column("sla_next_missed", Integer(), nullable=False, default=0),
    Column("rating_score", SmallInteger(), nullable=True),
    Column("rating_agent_id", Uuid(), nullable=True),
    Column("rated_hour", UTCDateTime(), nullable=True, index=True),
    Column("bot_answered", Boolean(), nullable=False, default=False),
    Column("bot_deflected", Boolean(), nullable=False, default=False),
    Column("bot_handed_over", Boolean(), nullable=False, default=False),
    Column("computed_at", UTCDateTime(), nullable=False),
)

# One row per agent reply that ended a customer's wait (the first response and every next response).
reply_facts = Table(
    "report_reply_facts",
    Base.metadata,
    Column("conversation_id", Uuid(), primary_key=True),
    Column("seq", Integer(), primary_key=True),
    Column("agent_id", Uuid(), nullable=True),
    Column("team_id", Uuid(), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("category", String(30), nullable=False),
    Column("replied_at", UTCDateTime(), nullable=False),
    Column("replied_hour", UTCDateTime(), nullable=False, index=True),
    Column("is_first", Boolean(), nullable=False),
    Column("wait_seconds", Float(), nullable=False),
)

rollups = Table(
    "report_rollups",
    Base.metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("grain", String(5), nullable=False),  # hour | day | month (UTC)
    Column("period_start", UTCDateTime(), nullable=False),
    *_dimensions(),
    *(Column(name, Integer(), nullable=False, default=0) for name in INT_COUNTERS),
    *(Column(name, Float(), nullable=False, default=0.0) for name in FLOAT_COUNTERS),
    _period_index("report_rollups"),
)

# Merged duration histograms (kefu.reports.histogram): `n` samples of `metric` fell into `bucket`.
histograms = Table(
    "report_histograms",
    Base.metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("grain", String(5), nullable=False),
    Column("period_start", UTCDateTime(), nullable=False),
    *_dimensions(),
    Column("metric", String(20), nullable=False),
    Column("bucket", SmallInteger(), nullable=False),
    Column("n", Integer(), nullable=False),
    _period_index("report_histograms"),
)

# Watermarks of the incremental refresh, and the row that serialises refresh runs ("lock").
report_state = Table(
    "report_state",
    Base.metadata,
    Column("name", String(40), primary_key=True),
    Column("value", UTCDateTime(), nullable=True),
)
