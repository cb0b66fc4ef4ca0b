"""Auth fixtures: cheap argon2 parameters, a frozen clock, settings, a recording event bus, agents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actions import do_create_agent
from kefu.auth.models import Agent
from kefu.auth.passwords import use_password_hasher
from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock, set_clock
from kefu.events.bus import EventBus, install_bus
from kefu.events.types import Event
from kefu.pubsub.memory import MemoryPubSub
from kefu.settings import Settings

PASSWORD = "correct horse 42"
START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashing() -> Iterator[None]:
    """Production keeps argon2-cffi's defaults; tests hash in microseconds."""
    previous = use_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    use_password_hasher(previous)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        env="test",
        secret_key=SecretStr("test-secret-key-0123456789abcdef0123"),
        database_url="sqlite+aiosqlite:///:memory:",
        login_max_failures_per_account=3,
        login_max_failures_per_ip=5,
        login_lockout_minutes=15,
        session_max_age_hours=12,
    )


class RecordingBus(EventBus):
    """Records what would have been published (after commit)."""

    def __init__(self) -> None:
        super().__init__(MemoryPubSub())
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.published.append(event)


@pytest.fixture
def bus() -> Iterator[RecordingBus]:
    recording = RecordingBus()
    previous = install_bus(recording)
    yield recording
    install_bus(previous)


async def make_agent(
    session: AsyncSession,
    email: str = "alice@example.com",
    role: Role = Role.AGENT,
    *,
    password: str = PASSWORD,
) -> Agent:
    """Create and commit an agent (bootstrap actor)."""
    agent = await do_create_agent(
        session, email=email, name="Alice Example", role=role, password=password, actor=None
    )
    await session.commit()
    return agent


@pytest.fixture
async def agent(session: AsyncSession, clock: FrozenClock) -> Agent:
    return await make_agent(session)
