"""Knowledge-base fixtures: an HTTP client whose app serves the kb router, and a search-call recorder."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.kb import search
from kefu.runtime import Runtime


@pytest.fixture
async def kb_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the app with the kb routes (mounted here until the lead mounts them for good)."""
    from kefu.web.api.v1.kb import router
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    if not any(getattr(r, "path", "").startswith("/api/v1/kb/articles") for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c


@dataclass
class IndexCalls:
    indexed: list[uuid.UUID] = field(default_factory=list)
    unindexed: list[uuid.UUID] = field(default_factory=list)


@pytest.fixture
def index_calls(monkeypatch: pytest.MonkeyPatch) -> IndexCalls:
    """Record what the actions ask the search index to do."""
    calls = IndexCalls()

    async def index(session: AsyncSession, article_id: uuid.UUID) -> None:
        calls.indexed.append(article_id)

    async def unindex(session: AsyncSession, article_id: uuid.UUID) -> None:
        calls.unindexed.append(article_id)

    monkeypatch.setattr(search, "do_index_article", index)
    monkeypatch.setattr(search, "do_unindex_article", unindex)
    return calls
