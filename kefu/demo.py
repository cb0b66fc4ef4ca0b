"""Demo content for `kefu demo` / `make run`: a small, believable support floor for Kefu Demo Exchange.

Idempotent: a second run finds the demo agent and changes nothing. Customers and cases match the
demo exchange back office (kefu.integrations.exchange.demo_data), so lookups show real records.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actions import do_create_agent
from kefu.auth.actors import CustomerActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.auth.service import build_actor
from kefu.channels.demo import load_demo_channels
from kefu.contacts.actions import do_add_identity, do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.actions import do_add_message
from kefu.conversations.create import do_create_conversation
from kefu.conversations.schemas import ConversationCreate
from kefu.conversations.states import Category, Priority
from kefu.conversations.timeline import NewMessage
from kefu.demo_setup import do_load_demo_rules
from kefu.inboxes.models import ChannelKind, Inbox, Team, TeamMember
from kefu.integrations.exchange.demo_data import ALICE, BOB, CAROL, fake_hash
from kefu.kb.demo import load_demo_kb

DEMO_AGENT_EMAIL = "agent@kefu.localhost"
DEMO_AGENT_PASSWORD = "kefu-demo-password"  # noqa: S105 - demo only; `kefu demo` refuses production
DEMO_SUPERVISOR_EMAIL = "supervisor@kefu.localhost"

_TEAMS = (
    ("General support", "general", False),
    ("Deposits & withdrawals", "funds", False),
    ("Account security", "security", True),
)

_CASES: tuple[tuple[str, str, Category, Priority, dict[str, object], str, str], ...] = (
    (
        "bob.trader@example.com",
        BOB,
        Category.ACCOUNT_ACCESS,
        Priority.HIGH,
        {"uid": BOB, "error_message": "Account locked after too many failed login attempts"},
        "账户被锁定，无法登录",
        "我输错了几次密码，现在账户被锁定了。请问怎样解锁？我已经准备好身份证件。",
    ),
    (
        "alice@example.com",
        ALICE,
        Category.TRADING,
        Priority.NORMAL,
        {"uid": ALICE, "order_id": "8800000003", "pair": "BTC/USDT", "side": "buy"},
        "Limit order failed without a reason",
        "My BTC/USDT limit order 8800000003 failed this morning but the funds were frozen for a while. "
        "What happened?",
    ),
    (
        "alice@example.com",
        ALICE,
        Category.DEPOSIT,
        Priority.HIGH,
        {"uid": ALICE, "asset": "USDT", "network": "TRON (TRC20)", "tx_hash": fake_hash("d9002")},
        "USDT deposit not credited after 2 hours",
        "I sent 500 USDT over TRC20 two hours ago. The explorer shows it confirmed "
        "but my balance is unchanged.",
    ),
    (
        "carol@mail.example.com",
        CAROL,
        Category.SECURITY,
        Priority.URGENT,
        {"uid": CAROL, "suspicious_contact": "@kefu_support_desk on Telegram"},
        "Someone on Telegram says they are support",
        "A Telegram account called Kefu Support asked for my 2FA code to 'verify' "
        "my withdrawal. Is that you?",
    ),
)


async def _ensure_teams(session: AsyncSession) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for name, slug, private in _TEAMS:
        team = await session.scalar(select(Team).where(Team.slug == slug))
        if team is None:
            team = Team(name=name, slug=slug, is_private=private)
            session.add(team)
        teams[slug] = team
    await session.flush()
    return teams


async def do_load_demo(session: AsyncSession) -> bool:
    """Load the demo floor unless it is there already; returns whether anything was created.

    The demo knowledge base and official channels are brought up to date every time (both idempotent).
    """
    await load_demo_kb(session)
    if await session.scalar(select(Agent).where(Agent.email == DEMO_AGENT_EMAIL)) is not None:
        await load_demo_channels(session)  # a floor loaded before the registry existed gets it now
        return False
    teams = await _ensure_teams(session)
    session.add_all(
        [
            Inbox(
                name="Support email",
                channel=ChannelKind.EMAIL,
                address="support@kefu.localhost",
                team_id=teams["general"].id,
            ),
            Inbox(
                name="Help center",
                channel=ChannelKind.WEB,
                address="help-center",
                team_id=teams["general"].id,
            ),
        ]
    )
    agent = await do_create_agent(
        session,
        email=DEMO_AGENT_EMAIL,
        name="Li Wei",
        role=Role.AGENT,
        password=DEMO_AGENT_PASSWORD,
        actor=None,
    )
    supervisor = await do_create_agent(
        session,
        email=DEMO_SUPERVISOR_EMAIL,
        name="Chen Jing",
        role=Role.SUPERVISOR,
        password=DEMO_AGENT_PASSWORD,
        actor=None,
    )
    for team in (teams["general"], teams["funds"]):
        session.add(TeamMember(team_id=team.id, agent_id=agent.id))
    for team in teams.values():
        session.add(TeamMember(team_id=team.id, agent_id=supervisor.id))
    await session.flush()
    await do_load_demo_rules(session, await build_actor(session, supervisor), teams)
    # After the teams and their business hours: the demo phone lines use them.
    await load_demo_channels(session)

    team_for = {Category.DEPOSIT: "funds", Category.WITHDRAWAL: "funds", Category.SECURITY: "security"}
    staff = await build_actor(session, agent)
    for email, uid, category, priority, fields, subject, body in _CASES:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, email)
        await do_add_identity(session, contact_id, IdentityKind.EXCHANGE_UID, uid)
        conversation, _, _ = await do_create_conversation(
            session,
            CustomerActor(contact_id=contact_id),
            ConversationCreate(
                subject=subject,
                body=body,
                category=category,
                priority=priority,
                form_fields=fields,
                locale="en" if subject.isascii() else "zh-CN",
            ),
            channel=ChannelKind.EMAIL,
            route_to_team=teams[team_for.get(category, "general")].id,
        )
        if category == Category.TRADING:
            await do_add_message(
                session,
                staff,
                conversation,
                NewMessage(
                    body="Thanks for the order id. I can see the order in our system and am checking the "
                    "matching engine logs now. Kefu Demo Exchange support will never ask for your password."
                ),
                channel=ChannelKind.EMAIL,
            )
    return True
