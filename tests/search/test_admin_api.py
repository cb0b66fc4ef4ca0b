"""Search administration over HTTP: synonym lists and the misses report; who may call; hostile input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from kefu.search.index import do_index_document
from kefu.search.models import SearchMiss
from kefu.search.synonyms import DEFAULT_SYNONYMS
from kefu.web.api.v1 import kb_search, search_admin
from tests.conftest import Database
from tests.factories import StaffMember, make_agent

SYNONYMS = "/api/v1/search/synonyms"
MISSES = "/api/v1/search/misses"


@pytest.fixture
async def api(search_db: Database, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the search routers mounted as the lead mounts them (under /api/v1)."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    paths = {getattr(r, "path", "") for r in app.routes}
    if SYNONYMS not in paths:
        app.include_router(search_admin.router, prefix="/api/v1")
    if "/api/v1/kb/search" not in paths:
        app.include_router(kb_search.router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        yield client


@pytest.fixture
async def agent(search_db: Database) -> StaffMember:
    return await make_agent(search_db.sessionmaker, "agent@kefu.test")


@pytest.fixture
async def supervisor(search_db: Database) -> StaffMember:
    return await make_agent(search_db.sessionmaker, "lead@kefu.test", role=Role.SUPERVISOR)


async def test_who_may_call_what(api: httpx.AsyncClient, agent: StaffMember, supervisor: StaffMember) -> None:
    body = {"locale": "en", "groups": [["mfa", "authenticator"]]}
    assert (await api.get(SYNONYMS, params={"locale": "en"})).status_code == 401
    assert (await api.put(SYNONYMS, json=body)).status_code == 401
    assert (await api.get(MISSES)).status_code == 401
    read = await api.get(SYNONYMS, params={"locale": "en"}, headers=agent.headers)
    assert read.status_code == 200
    assert read.json()["is_default"] is True
    assert read.json()["groups"][0] == list(DEFAULT_SYNONYMS["en"][0])
    refused = await api.put(SYNONYMS, json=body, headers=agent.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert (await api.get(MISSES, headers=agent.headers)).status_code == 403
    assert (await api.get(SYNONYMS, params={"locale": "en"}, headers=agent.headers)).json()["is_default"]
    assert (await api.get(MISSES, headers=supervisor.headers)).status_code == 200


async def test_replacing_synonyms_applies_at_once(
    api: httpx.AsyncClient, search_db: Database, agent: StaffMember, supervisor: StaffMember
) -> None:
    async with transaction(search_db.sessionmaker) as session:
        await do_index_document(
            session, doc_id=uuid.uuid4(), locale="en", slug="lost-phone", title="Lost your phone",
            body_markdown="Recover access to the account.",
        )  # fmt: skip

    async def top(q: str) -> list[str]:
        found = await api.get("/api/v1/kb/search", params={"q": q, "locale": "en"})
        return [r["slug"] for r in found.json()["results"]]

    assert await top("handset") == []
    body = {"locale": "en", "groups": [[" handset ", "phone", "phone"], ["cell", "mobile"]]}
    saved = await api.put(SYNONYMS, json=body, headers=supervisor.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "locale": "en",
        "groups": [["handset", "phone"], ["cell", "mobile"]],
        "is_default": False,
    }
    assert await top("handset") == ["lost-phone"]
    read = (await api.get(SYNONYMS, params={"locale": "en"}, headers=agent.headers)).json()
    assert read["groups"] == [["handset", "phone"], ["cell", "mobile"]]
    assert (await api.get(SYNONYMS, params={"locale": "zh-CN"}, headers=agent.headers)).json()["is_default"]
    # An empty list means "no synonyms", not "back to the defaults".
    cleared = await api.put(SYNONYMS, json={"locale": "en", "groups": []}, headers=supervisor.headers)
    assert cleared.json()["groups"] == []
    assert (await api.get(SYNONYMS, params={"locale": "en"}, headers=agent.headers)).json() == {
        "locale": "en", "groups": [], "is_default": False,
    }  # fmt: skip
    assert await top("handset") == []
    async with search_db.sessionmaker() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert actions.count("search.synonyms_replaced") == 2


HOSTILE_BODIES: tuple[object, ...] = (
    {"locale": "en", "groups": [["a", "b"]] * 501},
    {"locale": "en", "groups": [["lonely"]]},
    {"locale": "en", "groups": [["same", "same "]]},
    {"locale": "en", "groups": [[f"t{i}" for i in range(21)]]},
    {"locale": "en", "groups": [["x" * 41, "y"]]},
    {"locale": "en", "groups": [["x" * 100_000, "y"]]},
    {"locale": "en", "groups": [["a\x00", "b"]]},
    {"locale": "en", "groups": [["", "b"]]},
    {"locale": "en", "groups": [["   ", "b"]]},
    {"locale": "en", "groups": [["a\nb", "c"]]},
    {"locale": "en", "groups": [[1, 2]]},
    {"locale": "en", "groups": [[None, "b"]]},
    {"locale": "en", "groups": ["ab"]},
    {"locale": "en", "groups": "a,b"},
    {"locale": "en", "groups": [[["nested"], "b"]]},
    {"locale": "en", "groups": [{"a": "b"}]},
    {"locale": "fr", "groups": [["a", "b"]]},
    {"locale": "en" * 100, "groups": []},
    {"locale": None, "groups": []},
    {"groups": []},
    {"locale": "en"},
    {"locale": "en", "groups": [], "extra": 1},
    [],
    "synonyms",
)


async def test_hostile_synonym_lists_are_refused(
    api: httpx.AsyncClient, agent: StaffMember, supervisor: StaffMember
) -> None:
    for body in HOSTILE_BODIES:
        response = await api.put(SYNONYMS, json=body, headers=supervisor.headers)
        assert response.status_code == 422, (str(body)[:80], response.text[:300])
    raw = await api.put(
        SYNONYMS, content=b"{not json", headers={**supervisor.headers, "content-type": "application/json"}
    )
    assert 400 <= raw.status_code < 500
    assert (await api.put(SYNONYMS, headers=supervisor.headers)).status_code in {415, 422}  # no body
    for params in ({"locale": "fr"}, {}, {"locale": "x" * 500}, {"locale": ""}):
        response = await api.get(SYNONYMS, params=params, headers=agent.headers)
        assert response.status_code == 422, (params, response.text)
    assert (await api.get(SYNONYMS, params={"locale": "en"}, headers=agent.headers)).json()["is_default"]


async def test_misses_report(api: httpx.AsyncClient, search_db: Database, supervisor: StaffMember) -> None:
    now = utcnow()
    async with transaction(search_db.sessionmaker) as session:
        logged = (("solana staking", "en", 1), ("solana staking", "en", 2), ("hiring", "en", 0),
                  ("招聘", "zh-CN", 0), ("ancient", "en", 40))  # fmt: skip
        for query, locale, age in logged:
            session.add(SearchMiss(locale=locale, query=query, created_at=now - timedelta(days=age, hours=1)))
    await api.get("/api/v1/kb/search", params={"q": "Hiring", "locale": "en"})  # logged through the route
    report = (await api.get(MISSES, params={"locale": "en"}, headers=supervisor.headers)).json()
    assert report["days"] == 30
    assert [(i["query"], i["count"]) for i in report["items"]] == [("hiring", 2), ("solana staking", 2)]
    assert report["items"][0]["last_seen"] >= report["items"][1]["last_seen"]
    everything = (await api.get(MISSES, params={"days": 365}, headers=supervisor.headers)).json()
    assert {(i["locale"], i["query"]) for i in everything["items"]} == {
        ("en", "hiring"), ("en", "solana staking"), ("zh-CN", "招聘"), ("en", "ancient"),
    }  # fmt: skip
    recent = (await api.get(MISSES, params={"days": 1, "limit": 1}, headers=supervisor.headers)).json()
    assert [i["query"] for i in recent["items"]] == ["hiring"]


async def test_bad_misses_parameters_are_422(api: httpx.AsyncClient, supervisor: StaffMember) -> None:
    for params in ({"days": 0}, {"days": 366}, {"days": "week"}, {"days": -1}, {"locale": "fr"},
                   {"locale": "x" * 50}, {"limit": 0}, {"limit": 501}, {"days": "1e9"},
                   {"days": str(10**30)}):  # fmt: skip
        response = await api.get(MISSES, params=params, headers=supervisor.headers)
        assert response.status_code == 422, (params, response.text)
