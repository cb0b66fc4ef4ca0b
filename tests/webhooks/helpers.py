"""A real webhook receiver on 127.0.0.1, endpoints, events and a worker for the webhook tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kefu.auth.roles import Role, Scope
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationCreate, CustomerIn
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import HandlerRegistry
from kefu.jobs.worker import Worker
from kefu.settings import Settings
from kefu.storage.envelope import Keyring
from kefu.webhooks.actions import do_create_endpoint
from kefu.webhooks.delivery import bind_deliver
from kefu.webhooks.listeners import WEBHOOK_DELIVER
from kefu.webhooks.models import WebhookDelivery
from kefu.webhooks.netguard import NetGuard
from kefu.webhooks.schemas import EndpointIn, WebhookEvent
from kefu.webhooks.signing import verify
from tests.conftest import Database
from tests.factories import StaffMember, make_agent

# A globally routable address (not ours) that injected resolvers and connectors stand in for.
PUBLIC_IP = "93.184.216.34"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """Answers each POST with the next of `answers` (then 200) and checks every signature."""

    secret: str = ""
    answers: list[int] = field(default_factory=list)
    redirect_to: str | None = None
    received: list[Received] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        timestamp = headers.get("kefu-webhook-timestamp", "")
        ok = verify(
            self.secret,
            timestamp,
            body,
            headers.get("kefu-signature", ""),
            now=int(utcnow().timestamp()),
        )
        self.received.append(Received(request.url.path, headers, body, ok))
        if self.redirect_to is not None and request.url.path == "/moved":
            return Response(status_code=307, headers={"location": self.redirect_to})
        status = self.answers.pop(0) if self.answers else 200
        return Response(f"answer {status}", status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])


def connector_to(base_url: str) -> Callable[[str, int], tuple[str, int]]:
    """A connector sending every vetted connection to the local server at `base_url`."""
    port = int(base_url.rsplit(":", 1)[1])

    def connect(address: str, _port: int) -> tuple[str, int]:
        del address
        return "127.0.0.1", port

    return connect


def resolver_of(table: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver answering from `table` (unknown names do not resolve)."""

    async def resolve(host: str, port: int) -> list[str]:
        del port
        if host not in table:
            raise OSError(f"{host} does not resolve")
        return list(table[host])

    return resolve


async def make_admin(db: Database, email: str = "root@kefu.test") -> StaffMember:
    """An administrator with an admin-scoped API token (committed)."""
    return await make_agent(db.sessionmaker, email, role=Role.ADMIN, scopes={Scope.ADMIN})


async def make_endpoint(
    db: Database,
    admin: StaffMember,
    keyring: Keyring,
    url: str,
    *,
    events: tuple[WebhookEvent, ...] = tuple(WebhookEvent),
    include_internal: bool = False,
    guard: NetGuard | None = None,
) -> tuple[uuid.UUID, str]:
    """An endpoint created through the action (committed); returns (id, secret)."""
    async with transaction(db.sessionmaker) as session:
        endpoint, secret = await do_create_endpoint(
            session,
            admin.actor,
            EndpointIn(url=url, events=list(events), include_internal=include_internal),
            keyring=keyring,
            guard=guard or NetGuard(allow_private=True),
        )
        return endpoint.id, secret


async def open_conversation(
    db: Database, agent: StaffMember, subject: str = "Withdrawal stuck"
) -> Conversation:
    """A conversation opened by an agent (committed), emitting conversation.created."""
    async with transaction(db.sessionmaker) as session:
        conversation, _, _ = await do_create_conversation(
            session,
            agent.actor,
            ConversationCreate(
                subject=subject,
                body="My USDT withdrawal is pending",
                customer=CustomerIn(email="amy@example.com"),
            ),
            channel=ChannelKind.API,
        )
        return conversation


def make_worker(db: Database, settings: Settings, keyring: Keyring, guard: NetGuard) -> Worker:
    """A worker running only `webhook.deliver`, retrying at once (backoff capped at a millisecond)."""
    handlers = HandlerRegistry(
        {WEBHOOK_DELIVER: bind_deliver(settings, keyring, guard, first_retry_seconds=0)}
    )
    return Worker(db.sessionmaker, handlers, concurrency=1, backoff_cap=0.001, poll_interval=0.01)


async def run_jobs(worker: Worker, rounds: int = 10) -> None:
    """Run due jobs until none is left (or `rounds` claims came back empty)."""
    idle = 0
    while idle < rounds:
        if await worker.run_once():
            idle = 0
        else:
            idle += 1
            await asyncio.sleep(0.01)


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


async def job_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxJob).where(OutboxJob.name == WEBHOOK_DELIVER)
        )
        return count or 0
