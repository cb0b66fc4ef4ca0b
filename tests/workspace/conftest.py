"""A small help desk with every view's cases: mine, unassigned, team, waiting, SLA, private team."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from kefu.auth.roles import Role
from kefu.contacts.actions import do_add_identity, do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.states import AuthorKind, Category, MessageKind, Priority, Status
from kefu.core.clock import utcnow
from kefu.db.base import Base
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.integrations.exchange.demo_data import ALICE
from kefu.workspace.views import sla_table
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_team


@dataclass(frozen=True)
class Spec:
    status: Status
    assignee: str | None = None  # a key of World.staff
    team: str | None = None  # "general" | "security" (private)
    channel: ChannelKind = ChannelKind.EMAIL
    category: Category = Category.GENERAL
    priority: Priority = Priority.NORMAL
    contact: str = "alice"
    subject: str = "help"
    form: dict[str, str] = field(default_factory=dict)
    sla: str | None = None  # "overdue" | "soon" | "later"
    tags: tuple[str, ...] = ()


TX_HASH = "0x" + "ab" * 32
SPECS: dict[str, Spec] = {
    "mine_open": Spec(Status.OPEN, "me", "general", sla="overdue", tags=("vip",), priority=Priority.HIGH),
    "mine_pending": Spec(Status.PENDING, "me", "general"),
    "mine_hold": Spec(Status.ON_HOLD, "me", None, channel=ChannelKind.CHAT),
    "mine_solved": Spec(Status.SOLVED, "me", "general"),
    "new_unassigned": Spec(
        Status.NEW, None, None, ChannelKind.CHAT, Category.DEPOSIT, form={"tx_hash": TX_HASH}, sla="soon"
    ),
    "team_hold": Spec(Status.ON_HOLD, "colleague", "general", sla="later", contact="bob"),
    "team_pending_unassigned": Spec(Status.PENDING, None, "general", contact="bob"),
    "trading": Spec(
        Status.OPEN, None, "general", ChannelKind.WEB, Category.TRADING, form={"order_id": "8800000001"}
    ),
    "closed": Spec(Status.CLOSED, None, None, subject="old question"),
    "secret": Spec(
        Status.OPEN, "insider", "security", category=Category.SECURITY, subject="takeover", sla="overdue"
    ),
    "secret_new": Spec(Status.NEW, None, "security", ChannelKind.CHAT, Category.SECURITY, subject="phish"),
    "secret_mine": Spec(Status.OPEN, "me", "security", subject="escalated to me"),
}


@dataclass
class World:
    db: Database
    staff: dict[str, StaffMember]
    contacts: dict[str, uuid.UUID]
    ids: dict[str, uuid.UUID]
    references: dict[str, str]
    now: datetime

    def name_of(self, reference: str) -> str:
        return next(name for name, ref in self.references.items() if ref == reference)


async def _ensure_sla_table(db: Database) -> None:
    table = sla_table()
    if table.metadata is not Base.metadata:  # kefu.sla's model not there yet: create the stand-in
        async with db.engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(table.delete())


def _sla_row(conversation_id: uuid.UUID, kind: str, now: datetime) -> dict[str, object]:
    due = {"overdue": now - timedelta(minutes=5), "soon": now + timedelta(minutes=10)}.get(
        kind, now + timedelta(hours=5)
    )
    row: dict[str, object] = {"conversation_id": conversation_id, "next_due_at": due}
    columns = sla_table().c
    if kind == "overdue":
        row["breached_at"] = due
        if "overdue" in columns:
            row["overdue"] = True
    if "started_at" in columns:
        row["started_at"] = now - timedelta(hours=1)
    return row


@pytest.fixture
async def world(db: Database) -> World:
    maker = db.sessionmaker
    await _ensure_sla_table(db)
    general = await make_team(maker, "General")
    security = await make_team(maker, "Security", private=True)
    teams = {"general": general, "security": security}
    staff = {
        "me": await make_agent(maker, "me@kefu.test", teams=(general,)),
        "colleague": await make_agent(maker, "colleague@kefu.test", teams=(general,)),
        "insider": await make_agent(maker, "insider@kefu.test", teams=(security,)),
        "boss": await make_agent(maker, "boss@kefu.test", role=Role.SUPERVISOR),
    }
    now = utcnow()
    ids: dict[str, uuid.UUID] = {}
    references: dict[str, str] = {}
    async with transaction(maker) as session:
        alice, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "Alice@Example.com", name="Alice")
        await do_add_identity(session, alice, IdentityKind.EXCHANGE_UID, ALICE)
        bob, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "bob@example.com")
        contacts = {"alice": alice, "bob": bob}
        for n, (name, spec) in enumerate(SPECS.items()):
            conversation = Conversation(
                reference=f"KF-{10_000_000 + n}",
                contact_id=contacts[spec.contact],
                channel=spec.channel,
                subject=spec.subject,
                status=spec.status,
                priority=spec.priority,
                category=spec.category,
                form_fields=spec.form,
                assignee_id=staff[spec.assignee].id if spec.assignee else None,
                team_id=teams[spec.team] if spec.team else None,
                last_activity_at=now - timedelta(minutes=n),
                last_seq=2,
            )
            session.add(conversation)
            await session.flush()
            ids[name], references[name] = conversation.id, conversation.reference
            session.add_all(ConversationTag(conversation_id=conversation.id, tag=t) for t in spec.tags)
            bodies = (
                (MessageKind.REPLY, f"customer text of {name}"),
                (MessageKind.NOTE, f"internal memo {name}"),
            )
            for seq, (kind, body) in enumerate(bodies, start=1):
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        seq=seq,
                        kind=kind,
                        author_kind=AuthorKind.CUSTOMER if seq == 1 else AuthorKind.AGENT,
                        body=body,
                        channel=spec.channel,
                    )
                )
            if spec.sla:
                await session.execute(insert(sla_table()), [_sla_row(conversation.id, spec.sla, now)])
        await session.flush()
    return World(db, staff, contacts, ids, references, now)
