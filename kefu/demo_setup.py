"""The demo floor's working rules: business hours, SLA targets, routing, triggers and macros.

Loaded before the demo conversations, so they arrive routed, with deadlines, as they would in use.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.automation.actions import do_create_macro
from kefu.automation.schemas import MacroIn
from kefu.automation.triggers import seed_default_triggers
from kefu.conversations.states import Priority
from kefu.inboxes.models import Team
from kefu.routing.actions import do_set_team_routing
from kefu.routing.models import LanguageMatch, RoutingMode
from kefu.schedules.actions import do_create_schedule
from kefu.schedules.schemas import ScheduleIn
from kefu.sla.actions import do_create_policy
from kefu.sla.schemas import SlaPolicyIn

_EVERY_DAY = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

_MACROS = (
    (
        "Deposit: ask for the transaction details",
        {
            "en": "Hello {{customer.name}},\n\nTo trace your deposit, please send the transaction "
            "hash (TxID), the network you used and a screenshot of the transfer in your wallet. "
            "We will never ask for your password, 2FA code or seed phrase.\n\n"
            "{{agent.name}}, Kefu Demo Exchange support ({{conversation.reference}})",
            "zh-CN": "{{customer.name}} 您好：\n\n为了追踪您的充值，请提供交易哈希（TxID）、"
            "所用网络以及钱包中转账记录的截图。我们绝不会向您索取密码、验证码或助记词。\n\n"
            "{{agent.name}}，Kefu 演示交易所客服（{{conversation.reference}}）",
        },
    ),
    (
        "Security: we never ask for codes",
        {
            "en": "Thank you for checking with us. Kefu Demo Exchange staff will never ask for your "
            "password, 2FA codes, private keys or seed phrase, and only contact you from the "
            "addresses listed on our official channels page. Please do not reply to that account.",
            "zh-CN": "感谢您向我们核实。Kefu 演示交易所的工作人员绝不会索取您的密码、"
            "二次验证码、私钥或助记词，并且只会通过官方渠道页面列出的地址联系您。请不要回复该账号。",
        },
    ),
)


async def do_load_demo_rules(session: AsyncSession, supervisor: AgentActor, teams: dict[str, Team]) -> None:
    """Business hours, SLA policies, least-loaded routing, the default triggers and two shared macros."""
    await do_create_schedule(
        session,
        ScheduleIn(
            name="Support hours (Shanghai)",
            timezone="Asia/Shanghai",
            weekly_hours=_EVERY_DAY,
            holiday_country="CN",
            is_default=True,
        ),
    )
    await do_create_schedule(
        session,
        ScheduleIn(
            name="Wallet team office hours",
            timezone="Asia/Shanghai",
            weekly_hours=_OFFICE,
            holiday_country="CN",
            team_id=teams["funds"].id,
        ),
    )
    await do_create_policy(
        session,
        SlaPolicyIn(
            name="Urgent and high",
            position=0,
            priorities=[Priority.URGENT, Priority.HIGH],
            first_response_minutes=30,
            next_response_minutes=60,
            resolution_minutes=8 * 60,
        ),
    )
    await do_create_policy(
        session,
        SlaPolicyIn(
            name="Everything else",
            position=1,
            first_response_minutes=4 * 60,
            next_response_minutes=8 * 60,
            resolution_minutes=3 * 14 * 60,
        ),
    )
    for slug in ("general", "funds"):
        await do_set_team_routing(
            session,
            supervisor,
            teams[slug].id,
            mode=RoutingMode.LEAST_LOADED,
            language_match=LanguageMatch.PREFER,
        )
    await seed_default_triggers(session)
    for name, bodies in _MACROS:
        await do_create_macro(session, supervisor, MacroIn(name=name, bodies=bodies, shared=True))
