"""A phone line on a Shanghai office schedule, a frozen clock, and Twilio's signed form posts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import pytest

from kefu.channels.credentials import seal_secrets
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.phone.twilio import compute_signature, public_url
from kefu.core.clock import FrozenClock, set_clock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.channels.helpers import default_schedule

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
LINE = "+862161234567"
CALLER = "+8613800138000"
BASE = "http://kefu.test"
TUESDAY_10 = datetime(2025, 3, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SATURDAY_10 = datetime(2025, 3, 15, 2, 0, tzinfo=UTC)  # closed; opens Monday 09:00
LABOUR_DAY_10 = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)  # a public holiday in China


def call_sid(n: int = 1) -> str:
    return f"CA{n:032x}"


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(TUESDAY_10)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@dataclass(frozen=True)
class Line:
    inbox: Inbox
    team_id: uuid.UUID


@pytest.fixture
async def line(runtime: Runtime) -> Line:
    """A phone inbox answered by a team on weekdays 09:00–18:00 Shanghai time, published as CN's line."""
    async with transaction(runtime.sessionmaker) as session:
        team = Team(name="Phone desk", slug="phone-desk")
        session.add(team)
        await session.flush()
        inbox = Inbox(
            id=uuid.uuid4(), name="Kefu Exchange", channel=ChannelKind.PHONE, address=LINE, team_id=team.id
        )
        seal_secrets(keyring_from_settings(runtime.settings), inbox, {"auth_token": AUTH_TOKEN})
        session.add(inbox)
        session.add(
            OfficialChannel(
                kind=OfficialKind.PHONE, value=LINE, label="Hotline", region="CN", team_id=team.id
            )
        )
    await default_schedule(runtime.sessionmaker, team_id=team.id)
    return Line(inbox, team.id)


@pytest.fixture
async def phone_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the address Twilio signs its requests for (BASE)."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def twilio_params(sid: str = "", **extra: str) -> dict[str, str]:
    """The fields Twilio posts with every voice webhook (as in its request documentation)."""
    return {
        "AccountSid": "AC" + "a" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid or call_sid(),
        "CallStatus": "in-progress",
        "Called": LINE,
        "Caller": CALLER,
        "Direction": "inbound",
        "From": CALLER,
        "FromCountry": "CN",
        "To": LINE,
        "ToCountry": "CN",
        **extra,
    }


async def post_twilio(
    client: httpx.AsyncClient,
    url: str,
    params: Mapping[str, str],
    *,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
    sign: bool = True,
) -> httpx.Response:
    """POST `params` to `url` (absolute or a path) signed as Twilio signs it."""
    parts = urlsplit(url)
    full = public_url(BASE, parts.path, parts.query)
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = signature or compute_signature(token, full, list(params.items()))
    return await client.post(full, data=dict(params), headers=headers)


def parse_twiml(response: httpx.Response) -> ElementTree.Element:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own output, under test
    assert root.tag == "Response"
    return root


def gather_action(root: ElementTree.Element) -> str:
    gather = root.find("Gather")
    assert gather is not None, ElementTree.tostring(root)
    assert gather.get("input") == "dtmf"
    assert gather.get("numDigits") == "1"
    return str(gather.get("action"))


def spoken(root: ElementTree.Element) -> list[tuple[str, str]]:
    """(language, text) of every Say, in order."""
    return [(str(say.get("language")), say.text or "") for say in root.iter("Say")]
