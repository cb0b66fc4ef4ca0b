"""Server time of the agent console's reads on PostgreSQL with 100,000 conversations / 1,000,000 messages.

Seeds a database (`kefu_bench_console` on the server at KEFU_BENCH_POSTGRES, default
postgresql+asyncpg://postgres@127.0.0.1:5432/) once with bench/console_seed.py and reuses it while it
holds the data (`--reseed` rebuilds it). Then calls the domain functions in-process, a fresh session
per iteration, and prints p50/p99 in a markdown table:

- each inbox view's first page of 50 (`kefu.workspace.views.list_view`) and `view_counts`,
  for an agent (one team, outside the private team) and a supervisor;
- a conversation page's data: the access gate, the last 50 messages and the customer panel
  without the exchange.

    .venv/bin/python bench/console.py [--iterations 200] [--reseed] [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.console_seed import PRIVATE_TEAM, seed
from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.conversations.access import access_conversation_by_id
from kefu.conversations.models import Conversation, Message
from kefu.conversations.service import list_messages
from kefu.conversations.states import Category
from kefu.db.base import Base
from kefu.db.engine import create_engine, create_sessionmaker
from kefu.inboxes.models import ChannelKind, Team, TeamMember
from kefu.registry import load_models
from kefu.workspace.counts import view_counts
from kefu.workspace.customer_panel import get_customer_panel
from kefu.workspace.views import OPEN_STATUSES, View, ViewName, list_view, sla_table

SERVER = os.environ.get("KEFU_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
DATABASE = "kefu_bench_console"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def prepare(conversations: int, messages_per: int, reseed: bool) -> str:
    """The bench database URL, seeded unless it already holds `conversations` conversations."""
    admin_url = make_url(SERVER).set(database="postgres")
    url = make_url(SERVER).set(database=DATABASE).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_asyncpg_dsn(admin_url.render_as_string(hide_password=False)))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if exists and not reseed and await _holds(url, conversations):
            return url
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    engine = create_engine(url)
    metadata = load_models()
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        sla = sla_table()
        if sla.metadata is not Base.metadata:  # kefu.sla has not defined its model yet
            await conn.run_sync(sla.metadata.create_all)
    await engine.dispose()
    started = time.perf_counter()
    print(f"seeding {conversations:,} conversations …", file=sys.stderr, flush=True)
    await seed(_asyncpg_dsn(url), conversations, messages_per)
    print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return url


async def _holds(url: str, conversations: int) -> bool:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        found = await conn.fetchval("SELECT count(*) FROM conversations")
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()
    return bool(found == conversations)


async def measure(
    maker: async_sessionmaker[AsyncSession],
    call: Callable[[AsyncSession, int], Awaitable[object]],
    iterations: int,
) -> tuple[float, float]:
    """p50 and p99 in milliseconds of `call` with a fresh session each time (after a warm-up)."""
    timings = []
    for i in range(iterations + 10):
        started = time.perf_counter()
        async with maker() as session:
            await call(session, i)
        if i >= 10:
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))]


async def actors(maker: async_sessionmaker[AsyncSession]) -> dict[str, AgentActor]:
    """A busy agent of a public team and the supervisor."""
    async with maker() as session:
        private = await session.scalar(select(Team.id).where(Team.name == PRIVATE_TEAM))
        busiest = (
            await session.execute(
                select(Conversation.assignee_id, Conversation.team_id)
                .where(
                    Conversation.status.in_(OPEN_STATUSES),
                    Conversation.team_id != private,
                    Conversation.assignee_id.is_not(None),
                )
                .group_by(Conversation.assignee_id, Conversation.team_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        ).one()
        teams = (
            await session.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == busiest[0]))
        ).all()
        boss = await session.scalar(select(Agent.id).where(Agent.role == Role.SUPERVISOR))
    assert busiest[0] is not None
    assert boss is not None
    return {
        "agent": AgentActor(agent_id=busiest[0], role=Role.AGENT, team_ids=frozenset(teams)),
        "supervisor": AgentActor(agent_id=boss, role=Role.SUPERVISOR),
    }


VIEWS = [
    View(name) for name in ViewName if name not in (ViewName.BY_CHANNEL, ViewName.BY_CATEGORY, ViewName.SAVED)
] + [
    View(ViewName.BY_CHANNEL, channel=ChannelKind.EMAIL),
    View(ViewName.BY_CATEGORY, category=Category.DEPOSIT),
]


def _label(view: View) -> str:
    return f"{view.name}:{view.channel or view.category}" if view.channel or view.category else view.name


async def explain(maker: async_sessionmaker[AsyncSession], actor: AgentActor) -> None:
    """EXPLAIN ANALYZE of each view's query for `actor` (to choose indexes)."""
    from kefu.workspace.views import inbox_rows_query, scoped_clause

    async with maker() as session:
        for view in VIEWS:
            query = (
                inbox_rows_query(scoped_clause(actor, view))
                .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
                .limit(51)
            )
            compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
            plan = (await session.execute(text(f"EXPLAIN ANALYZE {compiled}"))).scalars().all()
            print(f"\n## {_label(view)}\n" + "\n".join(plan))


async def run(args: argparse.Namespace) -> None:
    url = await prepare(args.conversations, args.messages_per, args.reseed)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    people = await actors(maker)
    if args.explain:
        await explain(maker, people["agent"])
    print(
        f"{args.conversations:,} conversations, ~{args.conversations * args.messages_per:,} messages, "
        f"{args.iterations} iterations, in-process server time\n"
    )
    print("| actor | read | rows | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|")
    for who, actor in people.items():
        for view in VIEWS:

            async def page(
                session: AsyncSession, _i: int, view: View = view, actor: AgentActor = actor
            ) -> int:
                return len((await list_view(session, actor, view, limit=50)).rows)

            async with maker() as session:
                rows = await page(session, 0)
            p50, p99 = await measure(maker, page, args.iterations)
            print(f"| {who} | list {_label(view)} | {rows} | {p50:.1f} | {p99:.1f} |", flush=True)

        async def counts(session: AsyncSession, _i: int, actor: AgentActor = actor) -> object:
            return await view_counts(session, actor)

        p50, p99 = await measure(maker, counts, args.iterations)
        print(f"| {who} | view_counts | - | {p50:.1f} | {p99:.1f} |", flush=True)

    agent = people["agent"]
    async with maker() as session:
        targets = list(
            (
                await session.scalars(
                    select(Conversation.id).where(Conversation.assignee_id == agent.agent_id).limit(500)
                )
            ).all()
        )
    rng = random.Random(1)

    async def conversation_page(session: AsyncSession, _i: int) -> int:
        conversation = await access_conversation_by_id(session, agent, rng.choice(targets))
        after = max(0, conversation.last_seq - 50)
        messages = await list_messages(session, agent, conversation, after_seq=after, limit=50)
        await get_customer_panel(session, agent, conversation, None)
        return len(messages)

    p50, p99 = await measure(maker, conversation_page, args.iterations)
    print(f"| agent | conversation page (gate + 50 messages + panel) | - | {p50:.1f} | {p99:.1f} |")
    async with maker() as session:
        total = await session.scalar(select(func.count()).select_from(Message))
    print(f"\nmessages in database: {total:,}")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per", type=int, default=10, help="average messages per conversation")
    parser.add_argument("--reseed", action="store_true", help="rebuild the database even if it is seeded")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of every view")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
