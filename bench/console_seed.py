"""Seeds a PostgreSQL database with a realistic help desk for bench/console.py (COPY, ~1 minute).

100,000 conversations over a year (recent ones mostly open, older ones solved or closed, a tail of
forgotten open ones), 10 messages each on average, 60 agents in 6 teams (one private), 30,000
customers with an email identity (a third also with an exchange uid), SLA rows for open ones.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from kefu.conversations.states import Category, Priority, Status

TEAMS = ("Tier 1", "Payments", "Trading", "KYC", "VIP", "Security")
PRIVATE_TEAM = "Security"
AGENTS_PER_TEAM = 10
CHANNELS = ("email", "chat", "web", "telegram", "messenger", "x", "phone", "api")
CHANNEL_WEIGHTS = (30, 30, 15, 10, 5, 4, 4, 2)
CATEGORY_WEIGHTS = {
    Category.DEPOSIT: 25,
    Category.WITHDRAWAL: 20,
    Category.ACCOUNT_ACCESS: 15,
    Category.TRADING: 12,
    Category.KYC: 12,
    Category.SECURITY: 6,
    Category.GENERAL: 10,
}
_WORD_TEXT = (
    "deposit withdrawal usdt btc eth trc20 erc20 network memo confirmations pending frozen kyc "
    "verification selfie passport order filled cancelled slippage api key login 2fa authenticator "
    "phone email reset password locked address whitelist fee limit arrived missing please help "
    "thanks hello urgent wallet transfer hash explorer support ticket account balance"
)
WORDS = tuple(_WORD_TEXT.split())
SUBJECTS = (
    "Deposit not credited",
    "Withdrawal stuck in review",
    "Cannot log in after phone change",
    "Order filled at a bad price",
    "KYC rejected twice",
    "Suspicious login from another country",
    "Question about fees",
    "Forgot memo on XRP deposit",
)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _status(rng: random.Random, age: timedelta) -> Status:
    if age < timedelta(days=3):
        return rng.choices(
            (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED), (20, 40, 20, 10, 10)
        )[0]
    if age < timedelta(days=14):
        return rng.choices(
            (Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED), (8, 8, 4, 40, 40)
        )[0]
    # A small tail of forgotten open conversations, as every real help desk has.
    return rng.choices((Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED), (1, 1, 8, 90))[0]


async def seed(dsn: str, conversations: int, messages_per: int, *, seed: int = 7) -> None:
    """Fill the (empty, schema-created) database at `dsn` (an asyncpg DSN)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        teams = [(uuid.uuid4(), name) for name in TEAMS]
        await conn.copy_records_to_table(
            "teams",
            columns=["id", "name", "slug", "is_private", "created_at", "updated_at"],
            records=[(i, n, n.lower().replace(" ", "-"), n == PRIVATE_TEAM, now, now) for i, n in teams],
        )
        agents: list[tuple[uuid.UUID, uuid.UUID]] = []
        agent_rows = []
        for team_id, team_name in teams:
            for k in range(AGENTS_PER_TEAM):
                agent_id = uuid.uuid4()
                agents.append((agent_id, team_id))
                email = f"{team_name.lower().replace(' ', '')}{k}@kefu.test"
                agent_rows.append(
                    (agent_id, email, f"{team_name} agent {k}", "agent", "x", True, "[]", 10, now, now)
                )
        supervisor = uuid.uuid4()
        agent_rows.append((supervisor, "boss@kefu.test", "Boss", "supervisor", "x", True, "[]", 10, now, now))
        await conn.copy_records_to_table(
            "agents",
            columns=[
                "id",
                "email",
                "name",
                "role",
                "password_hash",
                "is_active",
                "languages",
                "capacity",
                "created_at",
                "updated_at",
            ],
            records=agent_rows,
        )
        await conn.copy_records_to_table(
            "team_members", columns=["team_id", "agent_id"], records=[(t, a) for a, t in agents]
        )
        contacts = [uuid.uuid4() for _ in range(max(1, conversations * 3 // 10))]
        await conn.copy_records_to_table(
            "contacts",
            columns=["id", "name", "locale", "created_at", "updated_at"],
            records=[
                (c, "" if i % 4 == 0 else f"Customer {i}", "en", now, now) for i, c in enumerate(contacts)
            ],
        )
        identities: list[tuple[Any, ...]] = []
        for i, c in enumerate(contacts):
            identities.append((uuid.uuid4(), c, "email", f"customer{i}@example.com", now))
            if i % 3 == 0:
                identities.append((uuid.uuid4(), c, "exchange_uid", str(20_000_000 + i), now))
        await conn.copy_records_to_table(
            "contact_identities",
            columns=["id", "contact_id", "kind", "value", "verified_at"],
            records=identities,
        )
        await _seed_conversations(conn, rng, now, conversations, messages_per, contacts, agents)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _seed_conversations(
    conn: asyncpg.Connection,
    rng: random.Random,
    now: datetime,
    total: int,
    messages_per: int,
    contacts: list[uuid.UUID],
    agents: list[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    team_ids = sorted({t for _a, t in agents})
    by_team: dict[uuid.UUID, list[uuid.UUID]] = {t: [a for a, at in agents if at == t] for t in team_ids}
    categories, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    references = rng.sample(range(10_000_000, 99_999_999), total)
    # Between 2 and 2×average-2 messages each, nudged so the total is exactly total×average.
    counts = [rng.randint(2, max(2, 2 * messages_per - 2)) for _ in range(total)]
    surplus = sum(counts) - total * messages_per
    for n in range(total):
        step = max(-1, min(1, -surplus))
        if step == 0:
            break
        if counts[n] + step >= 1:
            counts[n] += step
            surplus += step
    conv_columns = [
        "id", "created_at", "updated_at", "reference", "contact_id", "channel", "subject", "status",
        "priority", "category", "form_fields", "locale", "assignee_id", "team_id", "last_seq",
        "last_activity_at", "solved_at", "closed_at",
    ]  # fmt: skip
    msg_columns = [
        "id", "conversation_id", "seq", "kind", "author_kind", "author_agent_id", "author_contact_id",
        "body", "data", "channel", "created_at",
    ]  # fmt: skip
    batch = 10_000
    for start in range(0, total, batch):
        convs: list[tuple[Any, ...]] = []
        msgs: list[tuple[Any, ...]] = []
        slas: list[tuple[Any, ...]] = []
        for n in range(start, min(total, start + batch)):
            conv_id = uuid.uuid4()
            # Skewed to recent: half of the year's conversations fall in the last ~2 months.
            age = timedelta(seconds=min(365 * 86400, rng.expovariate(1 / (80 * 86400))))
            last = now - age
            created = last - timedelta(minutes=rng.randint(5, 3 * 24 * 60))
            status = _status(rng, age)
            team = rng.choice(team_ids) if rng.random() < 0.9 else None
            assigned = status != Status.NEW and team is not None and rng.random() < 0.85
            assignee = rng.choice(by_team[team]) if assigned and team is not None else None
            category = rng.choices(categories, weights)[0]
            channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            contact = rng.choice(contacts)
            form: dict[str, str] = {}
            if category == Category.TRADING:
                form["order_id"] = f"O{n:09d}"
            elif category in (Category.DEPOSIT, Category.WITHDRAWAL):
                form["tx_hash"] = f"0x{uuid.uuid4().hex}{uuid.uuid4().hex}"
            count = counts[n]
            solved = last if status in (Status.SOLVED, Status.CLOSED) else None
            convs.append(
                (conv_id, created, last, f"KF-{references[n]}", contact, channel, rng.choice(SUBJECTS),
                 status.value, rng.choices(list(Priority), (10, 70, 15, 5))[0].value, category.value,
                 json.dumps(form), "en", assignee, team, count, last, solved,
                 last if status == Status.CLOSED else None)
            )  # fmt: skip
            gap = (last - created) / count
            for seq in range(1, count + 1):
                from_agent = seq % 2 == 0 and assignee is not None
                kind = "note" if from_agent and rng.random() < 0.1 else "reply"
                msgs.append(
                    (uuid.uuid4(), conv_id, seq, kind, "agent" if from_agent else "customer",
                     assignee if from_agent else None, None if from_agent else contact,
                     _text(rng, rng.randint(8, 60)), "{}", channel, created + gap * seq)
                )  # fmt: skip
            if status in (Status.NEW, Status.OPEN, Status.ON_HOLD):
                due = now + timedelta(minutes=rng.randint(-240, 24 * 60))
                slas.append((conv_id, due, due if due < now else None, None))
            else:
                # Clocks achieved or paused: the row stays (reports read it), nothing is due.
                slas.append((conv_id, None, None, last if status == Status.PENDING else None))
        await conn.copy_records_to_table("conversations", columns=conv_columns, records=convs)
        await conn.copy_records_to_table("messages", columns=msg_columns, records=msgs)
        columns, filler = await _sla_shape(conn, now)
        await conn.copy_records_to_table(
            "conversation_sla",
            columns=columns,
            records=[
                (*row, *(value if value != "overdue" else row[2] is not None for value in filler))
                for row in slas
            ],
        )


_FILLER = {"jsonb": "{}", "json": "{}", "boolean": False, "integer": 0, "bigint": 0, "character varying": ""}


async def _sla_shape(conn: asyncpg.Connection, now: datetime) -> tuple[list[str], list[Any]]:
    """conversation_sla's columns: ours, then a neutral value for every other NOT NULL one."""
    ours = ["conversation_id", "next_due_at", "breached_at", "paused_at"]
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'conversation_sla' AND is_nullable = 'NO'"
    )
    extra = [(r["column_name"], r["data_type"]) for r in rows if r["column_name"] not in ours]
    values = [
        "overdue" if name == "overdue" else now if kind.startswith("timestamp") else _FILLER[kind]
        for name, kind in extra
    ]
    return ours + [name for name, _kind in extra], values
