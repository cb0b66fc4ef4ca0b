"""Reports at scale: every dashboard's time with 1,000,000 conversations on PostgreSQL.

Creates its own database (dropped afterwards), seeds a year of conversations with SQL
`generate_series` (teams, agents, channels, categories, first responses, solves, ratings, bot
outcomes; facts seeded in SQL the way kefu.reports.facts derives them, business hours = always
open), then:

1. derives the facts of a sample of conversations from their messages through the real code
   (`kefu.reports.facts.refresh_facts`) and reports the rate;
2. builds every hourly/daily/monthly rollup through the real code (`rebuild_rollups`, what
   `kefu reports rebuild --rollups-only` runs) and reports the time;
3. times `run_report` for every dashboard: 30-day and 365-day ranges, without and with a team
   filter, in Asia/Shanghai, `--iterations` times each (p50 and p99).

Prints a markdown table for docs/reports.md.

    .venv/bin/python bench/reports.py [--conversations 1000000] [--iterations 20] [--sample 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import os

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.db.engine import create_engine, create_sessionmaker
from kefu.db.uow import transaction
from kefu.registry import load_models
from kefu.reports.facts import refresh_facts
from kefu.reports.models import report_state
from kefu.reports.refresh import do_refresh_reports, do_roll_up_stale_months, rebuild_rollups
from kefu.reports.service import run_report
from kefu.reports.types import ReportFilters, ReportKey

ADMIN_URL: Final = os.environ.get(
    "KEFU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
END: Final = datetime(2026, 11, 1, tzinfo=UTC)  # the seeded year ends here
DAYS: Final = 365
TEAMS: Final = 4
AGENTS: Final = 40
CHANNELS: Final = ("email", "chat", "telegram", "web", "messenger", "x")
CATEGORIES: Final = (
    "account_access",
    "kyc",
    "trading",
    "deposit",
    "withdrawal",
    "security",
    "general",
    "callback",
)


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


async def admin(statement: str) -> None:
    engine = create_engine(ADMIN_URL)
    try:
        async with engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text(statement))
    finally:
        await engine.dispose()


SEED: Final = [
    "SET TIME ZONE 'UTC'",
    "SELECT setseed(0.42)",
    f"""INSERT INTO teams (id, name, slug, is_private, created_at, updated_at)
        SELECT gen_random_uuid(), 'Team ' || n, 'team-' || n, false, now(), now()
        FROM generate_series(1, {TEAMS}) n""",
    f"""INSERT INTO agents (id, email, name, role, password_hash, is_active, languages, capacity,
                           totp_last_timestep, created_at, updated_at)
        SELECT gen_random_uuid(), 'agent' || n || '@bench.test', 'Agent ' || n, 'agent', 'x', true, '[]', 10,
               NULL, now(), now()
        FROM generate_series(1, {AGENTS}) n""",
    """INSERT INTO contacts (id, name, locale, created_at, updated_at)
        SELECT gen_random_uuid(), 'Customer ' || n, 'en', now(), now() FROM generate_series(1, 1000) n""",
    # One row of random draws per conversation.
    """CREATE UNLOGGED TABLE seed AS
        SELECT n, :end - make_interval(secs => (:days * 86400.0) * n / :total) AS created,
               random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6
        FROM generate_series(1, :total) n""",
    f"""INSERT INTO conversations (id, reference, contact_id, channel, subject, status, priority, category,
                                  form_fields, locale, team_id, assignee_id, last_seq, last_activity_at,
                                  first_response_at, solved_at, created_at, updated_at)
        SELECT gen_random_uuid(), 'B' || s.n, c.ids[1 + s.n % 1000],
               ({_array(CHANNELS)})[1 + floor(s.r1 * s.r1 * 6)::int],
               '', CASE WHEN s.r4 < 0.03 THEN 'open' WHEN s.r4 < 0.05 THEN 'pending'
                        WHEN s.r4 < 0.06 THEN 'new' ELSE 'solved' END,
               'normal', ({_array(CATEGORIES)})[1 + floor(s.r2 * 8)::int], '{{}}', 'en',
               CASE WHEN s.r3 < 0.2 THEN NULL ELSE t.ids[1 + floor(s.r3 * {TEAMS})::int % {TEAMS}] END,
               CASE WHEN s.r4 < 0.06 THEN NULL ELSE a.ids[1 + floor(s.r5 * {AGENTS})::int % {AGENTS}] END,
               4, s.created,
               CASE WHEN s.r4 < 0.06 THEN NULL
                    ELSE s.created + make_interval(secs => 30 + exp(s.r5 * 9)) END,
               CASE WHEN s.r4 < 0.06 THEN NULL
                    ELSE s.created + make_interval(secs => 600 + exp(s.r6 * 12)) END,
               s.created, s.created
        FROM seed s,
             (SELECT array_agg(id ORDER BY name) ids FROM contacts) c,
             (SELECT array_agg(id ORDER BY name) ids FROM teams) t,
             (SELECT array_agg(id ORDER BY name) ids FROM agents) a""",
    """INSERT INTO report_conversation_facts (conversation_id, team_id, channel, category, assignee_id,
            status, created_at, created_hour, first_response_at, first_response_hour, first_response_seconds,
            solved_at, solved_hour, resolution_seconds, sla_first, sla_resolution, sla_next_met,
            sla_next_missed, rating_score, rating_agent_id, rated_hour, bot_answered, bot_deflected,
            bot_handed_over, computed_at)
        SELECT id, team_id, channel, category, assignee_id, status, created_at,
               date_trunc('hour', created_at),
               first_response_at, date_trunc('hour', first_response_at),
               extract(epoch FROM first_response_at - created_at),
               solved_at, date_trunc('hour', solved_at), extract(epoch FROM solved_at - created_at),
               CASE WHEN first_response_at IS NULL THEN NULL
                    WHEN first_response_at - created_at < interval '1 hour' THEN 'met' ELSE 'breached' END,
               CASE WHEN solved_at IS NULL THEN NULL
                    WHEN solved_at - created_at < interval '1 day' THEN 'met' ELSE 'breached' END,
               abs(hashtext(reference || 'n')) % 2, 0,
               CASE WHEN solved_at IS NOT NULL AND hashtext(reference) % 4 = 0
                    THEN 1 + abs(hashtext(reference)) % 5 END,
               CASE WHEN solved_at IS NOT NULL AND hashtext(reference) % 4 = 0 THEN assignee_id END,
               CASE WHEN solved_at IS NOT NULL AND hashtext(reference) % 4 = 0
                    THEN date_trunc('hour', solved_at + interval '2 hours') END,
               channel = 'chat', channel = 'chat' AND abs(hashtext(reference)) % 3 = 0,
               channel = 'chat' AND abs(hashtext(reference)) % 3 = 1, now()
        FROM conversations""",
    """INSERT INTO report_reply_facts (conversation_id, seq, agent_id, team_id, channel, category, replied_at,
                                      replied_hour, is_first, wait_seconds)
        SELECT conversation_id, 2, assignee_id, team_id, channel, category, first_response_at,
               first_response_hour, true, first_response_seconds
        FROM report_conversation_facts WHERE first_response_at IS NOT NULL""",
    """INSERT INTO report_reply_facts (conversation_id, seq, agent_id, team_id, channel, category, replied_at,
                                      replied_hour, is_first, wait_seconds)
        SELECT conversation_id, 4, assignee_id, team_id, channel, category,
               first_response_at + interval '1 hour',
               date_trunc('hour', first_response_at + interval '1 hour'),
               false, 60 + abs(hashtext(conversation_id::text)) % 7200
        FROM report_conversation_facts WHERE first_response_at IS NOT NULL AND sla_next_met = 1""",
    """INSERT INTO kb_articles (id, slug, locale, title, body, category, tags, status, helpful_yes,
                               helpful_no, views, revision, created_at, updated_at)
        SELECT gen_random_uuid(), 'article-' || n, 'en', 'Article ' || n, 'x', 'general', '[]',
               'published', 0, 0, 0, 1, now(), now()
        FROM generate_series(1, 300) n""",
    """INSERT INTO kb_votes (id, article_id, voter, helpful, created_at)
        SELECT gen_random_uuid(), a.ids[1 + n % 300], 'v' || n, n % 3 > 0,
               :end - make_interval(secs => (:days * 86400.0) * n / 100000)
        FROM generate_series(1, 100000) n, (SELECT array_agg(id) ids FROM kb_articles) a""",
    """INSERT INTO search_misses (id, locale, query, created_at)
        SELECT gen_random_uuid(), 'en', 'query ' || (n % 5000),
               :end - make_interval(secs => (:days * 86400.0) * n / 100000)
        FROM generate_series(1, 100000) n""",
]

SAMPLE_MESSAGES: Final = """
    INSERT INTO messages (id, conversation_id, seq, kind, author_kind, author_agent_id, author_contact_id,
                          body, data, channel, created_at)
    SELECT gen_random_uuid(), c.id, m.seq, 'reply', m.author,
           CASE WHEN m.author = 'agent' THEN c.assignee_id END, NULL, 'x', '{}', c.channel,
           CASE m.seq WHEN 1 THEN c.created_at WHEN 2 THEN c.first_response_at
                      WHEN 3 THEN c.first_response_at + interval '30 minutes'
                      ELSE c.first_response_at + interval '1 hour' END
    FROM (SELECT * FROM conversations WHERE first_response_at IS NOT NULL
          ORDER BY created_at DESC LIMIT :sample) c,
         (VALUES (1, 'customer'), (2, 'agent'), (3, 'customer'), (4, 'agent')) m(seq, author)
"""


async def seed(engine: AsyncEngine, total: int, sample: int) -> list[uuid.UUID]:
    # Literals, not parameters: PostgreSQL cannot infer the types of parameters in this arithmetic.
    values = {":end": f"'{END.isoformat()}'::timestamptz", ":days": str(DAYS), ":total": str(total)}
    async with engine.begin() as conn:
        for statement in SEED:
            for name, value in values.items():
                statement = statement.replace(name, value)
            await conn.execute(text(statement))
        await conn.execute(text(SAMPLE_MESSAGES.replace(":sample", str(sample))))
        await conn.execute(text("DROP TABLE seed"))
        ids = list((await conn.execute(text("SELECT DISTINCT conversation_id FROM messages"))).scalars())
    async with engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
    return ids


async def time_report(
    maker: async_sessionmaker[AsyncSession], key: ReportKey, filters: ReportFilters, iterations: int
) -> tuple[float, float]:
    times = []
    async with maker() as session:
        await run_report(session, key, filters)  # warm-up (plans, caches)
        for _ in range(iterations):
            started = time.perf_counter()
            await run_report(session, key, filters)
            times.append((time.perf_counter() - started) * 1000)
            await session.rollback()
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times), p99


async def main(total: int, iterations: int, sample: int) -> None:
    name = f"kefu_bench_reports_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(load_models().create_all)
        started = time.perf_counter()
        ids = await seed(engine, total, sample)
        print(f"seeded {total:,} conversations in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        maker = create_sessionmaker(engine)

        started = time.perf_counter()
        async with transaction(maker) as session:
            await refresh_facts(session, ids)
        facts_s = time.perf_counter() - started
        started = time.perf_counter()
        await rebuild_rollups(maker, END - timedelta(days=DAYS + 1), END + timedelta(days=30))
        rollup_s = time.perf_counter() - started
        # The periodic job with nothing new: what every minute costs (its scans of the source tables).
        async with transaction(maker) as session:
            for source in ("conversations", "ratings", "bot"):
                await session.execute(insert(report_state).values(name=source, value=END))
        idle = []
        for minute in range(1, 6):
            async with transaction(maker) as session:
                started = time.perf_counter()
                await do_refresh_reports(session, END + timedelta(minutes=minute))
                idle.append((time.perf_counter() - started) * 1000)
        # And with 200 conversations of the last days changed (their facts, hours and days).
        busy = []
        for minute in range(6, 9):
            async with transaction(maker) as session:
                await session.execute(
                    text(
                        "UPDATE conversations SET last_activity_at = :at, updated_at = :at"
                        " WHERE id = ANY(:ids)"
                    ),
                    {"at": END + timedelta(minutes=minute), "ids": ids[:200]},
                )
            async with transaction(maker) as session:
                started = time.perf_counter()
                await do_refresh_reports(session, END + timedelta(minutes=minute, seconds=30))
                busy.append((time.perf_counter() - started) * 1000)
        # The 10-minute job that brings the month rows the refreshes left stale up to date.
        async with transaction(maker) as session:
            started = time.perf_counter()
            stale = await do_roll_up_stale_months(session)
            months_ms = (time.perf_counter() - started) * 1000
        async with engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
            counts = {
                table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in (
                    "report_conversation_facts",
                    "report_reply_facts",
                    "report_rollups",
                    "report_histograms",
                )
            }
            team = (await conn.execute(text("SELECT id FROM teams ORDER BY name LIMIT 1"))).scalar_one()

        last = (END - timedelta(days=1)).date()
        ranges = {"30 d": last - timedelta(days=29), "365 d": last - timedelta(days=364)}
        print(
            f"\n{total:,} conversations; facts: {counts['report_conversation_facts']:,} conversations, "
            f"{counts['report_reply_facts']:,} replies; rollups: {counts['report_rollups']:,} rows, "
            f"histograms: {counts['report_histograms']:,} rows.\n"
        )
        print(
            f"- facts from messages (real code, {len(ids):,} conversations): {facts_s:.1f} s "
            f"({len(ids) / facts_s:,.0f} conversations/s)"
        )
        print(f"- rollups of the whole year (real code, `rebuild_rollups`): {rollup_s:.0f} s")
        print(f"- periodic refresh with nothing new (scans only): p50 {statistics.median(idle):.0f} ms")
        print(
            f"- periodic refresh after 200 recent conversations changed: p50 {statistics.median(busy):.0f} ms"
        )
        print(f"- month rollups left stale by those refreshes ({stale} months): {months_ms:.0f} ms\n")
        print("| Dashboard | 30 d | 365 d | 30 d, one team | 365 d, one team |")
        print("|---|---|---|---|---|")
        for key in ReportKey:
            cells = []
            for teams in ((), (team,)):
                for start in ranges.values():
                    filters = ReportFilters(start, last, "Asia/Shanghai", team_ids=teams)
                    p50, p99 = await time_report(maker, key, filters, iterations)
                    cells.append(f"{p50:.1f} / {p99:.1f}")
            print(f"| {key.value} | " + " | ".join(cells) + " |", flush=True)
        print("\nTimes in ms, p50 / p99 (time zone Asia/Shanghai).")
    finally:
        await engine.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.iterations, args.sample))
