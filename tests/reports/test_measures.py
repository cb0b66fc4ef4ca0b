"""Response times, SLA, CSAT, bot, agents, backlog, articles and searches on a hand-built data set."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.chat.bot.models import BotOutcomeEvent
from kefu.conversations.states import AuthorKind, Status
from kefu.core.clock import FrozenClock, set_clock
from kefu.inboxes.models import Team
from kefu.kb.models import Article, ArticleVote
from kefu.ratings.models import SatisfactionRating
from kefu.reports.histogram import RELATIVE_RESOLUTION
from kefu.reports.service import REPORT_CATALOG, run_report
from kefu.reports.types import ReportKey, ReportTable
from kefu.schedules.models import Schedule
from kefu.search.models import SearchMiss
from kefu.sla.models import ConversationSla
from tests.reports.helpers import Builder, at, filters

MON = date(2026, 3, 2)
WEEK = filters(MON, MON + timedelta(days=6))
AGENT = AuthorKind.AGENT
CUSTOMER = AuthorKind.CUSTOMER
s = timedelta(seconds=1)


def approx(seconds: float) -> object:
    return pytest.approx(seconds, rel=RELATIVE_RESOLUTION + 1e-6)


def by_first(table: ReportTable) -> dict[object, tuple[object, ...]]:
    return {row[0]: row[1:] for row in table.rows}


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(at(3, 12))
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


async def agent(session: AsyncSession, name: str) -> uuid.UUID:
    row = Agent(email=f"{name.lower()}@kefu.test", name=name, role=Role.AGENT, password_hash="x")
    session.add(row)
    await session.flush()
    return row.id


async def dataset(session: AsyncSession) -> tuple[Builder, uuid.UUID, uuid.UUID, uuid.UUID]:
    """Four conversations on Monday: known response, resolution, SLA, rating and bot figures."""
    b = Builder(session)
    ann, bob = await agent(session, "Ann"), await agent(session, "Bob")
    team = Team(name="Wallets", slug="wallets")
    session.add(team)
    await session.flush()
    c1 = await b.conversation(
        at(0, 9),
        team_id=team.id,
        assignee_id=ann,
        solved=at(0, 10),
        replies=((60 * s, AGENT, ann), (600 * s, CUSTOMER, None), (900 * s, AGENT, ann)),
    )
    c2 = await b.conversation(at(0, 11), assignee_id=bob, solved=at(0, 13), replies=((120 * s, AGENT, ann),))
    c3 = await b.conversation(at(0, 12), channel="chat", replies=((300 * s, AGENT, bob),))
    c4 = await b.conversation(at(0, 14), channel="chat", status=Status.PENDING)
    session.add_all(
        [
            ConversationSla(
                conversation_id=c1.id,
                started_at=c1.created_at,
                first_response_state="achieved",
                resolution_state="achieved",
                resolution_breached=True,
                next_response_met=1,
            ),
            ConversationSla(
                conversation_id=c2.id,
                started_at=c2.created_at,
                first_response_state="achieved",
                first_response_breached=True,
                resolution_state="running",
            ),
            SatisfactionRating(
                conversation_id=c1.id,
                contact_id=b.contact_id,
                agent_id=ann,
                team_id=team.id,
                channel="email",
                score=5,
                created_at=at(0, 12),
            ),
            SatisfactionRating(
                conversation_id=c2.id, contact_id=b.contact_id, channel="email", score=2, created_at=at(0, 15)
            ),
            BotOutcomeEvent(conversation_id=c3.id, outcome="answered", created_at=at(0, 12)),
            BotOutcomeEvent(conversation_id=c3.id, outcome="handed_over", created_at=at(0, 12)),
            BotOutcomeEvent(conversation_id=c4.id, outcome="answered", created_at=at(0, 14)),
            BotOutcomeEvent(conversation_id=c4.id, outcome="answered", created_at=at(0, 14)),
            BotOutcomeEvent(conversation_id=c4.id, outcome="deflected", created_at=at(0, 14)),
        ]
    )
    await session.flush()
    await b.roll_up()
    return b, ann, bob, team.id


async def test_response_times_median_p90_and_mean(session: AsyncSession) -> None:
    await dataset(session)
    table = by_first(await run_report(session, ReportKey.RESPONSE_TIMES, WEEK))
    count, median, p90, mean = table["First response"]
    assert (count, median, p90, mean) == (3, approx(120), approx(300), pytest.approx(160))
    count, median, p90, mean = table["Next response"]
    assert (count, median, p90, mean) == (1, approx(300), approx(300), pytest.approx(300))
    count, median, p90, mean = table["Resolution"]
    assert (count, median, p90, mean) == (2, approx(3600), approx(7200), pytest.approx(5400))
    # Filters apply to the histograms too.
    chat = by_first(
        await run_report(session, ReportKey.RESPONSE_TIMES, filters(MON, MON, channels=("chat",)))
    )
    assert chat["First response"][:2] == (1, approx(300))
    assert chat["Resolution"] == (0, None, None, None)


async def test_business_hours_of_the_default_schedule(session: AsyncSession) -> None:
    week = [["09:00", "17:00"]]
    session.add(
        Schedule(
            name="Office",
            timezone="Asia/Shanghai",
            weekly_hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), week),
            is_default=True,
        )
    )
    await session.flush()
    b = Builder(session)
    ann = await agent(session, "Ann")
    # Monday 16:00 Shanghai (08:00 UTC) → answered Tuesday 10:00 Shanghai: 1 h + 1 h of business time.
    await b.conversation(
        at(0, 8), replies=((timedelta(hours=18), AGENT, ann),), solved=at(1, 2) + 18 * 3600 * s
    )
    await b.roll_up()
    table = by_first(await run_report(session, ReportKey.RESPONSE_TIMES, WEEK))
    assert table["First response"][3] == pytest.approx(7200)
    # Solved Tuesday 20:00 UTC = Wednesday 04:00 Shanghai: Monday 1 h + Tuesday 8 h.
    assert table["Resolution"][3] == pytest.approx(9 * 3600)


async def test_sla_attainment(session: AsyncSession) -> None:
    await dataset(session)
    table = by_first(await run_report(session, ReportKey.SLA, WEEK))
    assert table == {
        "First response": (1, 1, 0.5),
        "Next response": (1, 0, 1.0),
        "Resolution": (0, 1, 0.0),
    }


async def test_csat_per_team(session: AsyncSession) -> None:
    await dataset(session)
    table = by_first(await run_report(session, ReportKey.CSAT, WEEK))
    assert table == {
        "No team": (1, 2.0, 0.0),
        "Wallets": (1, 5.0, 1.0),
        "All teams": (2, 3.5, 0.5),
    }
    # Ratings count when given: none on Tuesday.
    tuesday = by_first(
        await run_report(session, ReportKey.CSAT, filters(MON + timedelta(days=1), MON + timedelta(days=1)))
    )
    assert tuesday == {"All teams": (0, None, None)}


async def test_bot_deflection_and_handoff(session: AsyncSession) -> None:
    await dataset(session)
    table = by_first(await run_report(session, ReportKey.BOT, WEEK))
    assert table == {
        "Conversations with the bot": (2, 1.0),
        "Answered with articles": (2, 1.0),
        "Deflected (solved by the bot)": (1, 0.5),
        "Handed over to a person": (1, 0.5),
    }


async def test_agents(session: AsyncSession) -> None:
    _b, _ann, _bob, team_id = await dataset(session)
    table = by_first(await run_report(session, ReportKey.AGENTS, WEEK))
    replies, first, first_median, median, p90, resolved, ratings, score = table["Ann"]
    assert (replies, first, resolved, ratings, score) == (3, 2, 1, 1, 5.0)
    assert (first_median, median, p90) == (approx(60), approx(120), approx(300))
    replies, first, first_median, median, p90, resolved, ratings, score = table["Bob"]
    assert (replies, first, first_median, resolved, ratings, score) == (1, 1, approx(300), 1, 0, None)
    wallets = by_first(await run_report(session, ReportKey.AGENTS, filters(MON, MON, team_ids=(team_id,))))
    assert list(wallets) == ["Ann"]
    assert wallets["Ann"][:3] == (2, 1, approx(60))


async def test_backlog_by_age_and_status(session: AsyncSession, clock: FrozenClock) -> None:
    b = Builder(session)
    await b.conversation(clock.now() - 30 * 60 * s)  # open, 30 minutes old
    await b.conversation(clock.now() - timedelta(hours=30), status=Status.PENDING)
    await b.conversation(clock.now() - timedelta(days=10), status=Status.NEW, channel="chat")
    await b.conversation(clock.now() - timedelta(days=10), solved=clock.now())
    await session.commit()
    table = by_first(await run_report(session, ReportKey.BACKLOG, WEEK))
    assert table["Under 1 hour"] == (0, 1, 0, 0, 1)
    assert table["1 to 3 days"] == (0, 0, 1, 0, 1)
    assert table["Over 7 days"] == (1, 0, 0, 0, 1)
    assert table["4 to 24 hours"] == (0, 0, 0, 0, 0)
    email = by_first(await run_report(session, ReportKey.BACKLOG, filters(MON, MON, channels=("email",))))
    assert email["Over 7 days"] == (0, 0, 0, 0, 0)


async def test_articles_and_searches(session: AsyncSession) -> None:
    article = Article(slug="fees", locale="en", title="Withdrawal fees", body="x")
    other = Article(slug="kyc", locale="en", title="KYC levels", body="x")
    session.add_all([article, other])
    await session.flush()
    votes = [(article, True, 0), (article, True, 1), (article, False, 2), (other, False, 3), (other, True, 9)]
    for n, (row, helpful, day) in enumerate(votes):
        session.add(ArticleVote(article_id=row.id, voter=f"v{n}", helpful=helpful, created_at=at(day, 12)))
    for text, day in (("usdt trc20", 0), ("usdt trc20", 1), ("fiat", 2), ("old", 20)):
        session.add(SearchMiss(locale="en", query=text, created_at=at(day, 12)))
    await session.commit()
    table = await run_report(session, ReportKey.ARTICLES, WEEK)
    assert table.rows == [
        ("Withdrawal fees", "en", 2, 1, pytest.approx(2 / 3)),
        ("KYC levels", "en", 0, 1, 0.0),
    ]
    table = await run_report(session, ReportKey.SEARCHES, WEEK)
    assert table.rows == [
        ("usdt trc20", "en", 2, MON + timedelta(days=1)),
        ("fiat", "en", 1, MON + timedelta(days=2)),
    ]


async def test_every_report_runs_and_is_in_the_catalog(session: AsyncSession) -> None:
    await dataset(session)
    assert [key for key, _title, _text in REPORT_CATALOG] == list(ReportKey)
    for key in ReportKey:
        table = await run_report(session, key, filters(MON, MON, time_zone="Asia/Shanghai"))
        assert table.key == key
        keys = [c.key for c in table.columns]
        assert all(len(row) == len(keys) for row in table.rows)
        if table.chart is not None:
            assert table.chart.x in keys
            assert set(table.chart.series) <= set(keys)
