"""The console's knowledge-base editor: who sees what, filters, and the writes kb_editor.js makes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.kb.actions import do_create_article
from kefu.kb.models import Article
from kefu.kb.schemas import ArticleCreate
from kefu.runtime import Runtime
from tests.factories import make_agent
from tests.web.console.conftest import assert_console_page, sign_in
from tests.web.pages.conftest import BASE_URL

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


@pytest.fixture
async def kb_console(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the editor and the kb API mounted (until the lead mounts them for good)."""
    from kefu.web.api.v1.kb import router as kb_api
    from kefu.web.app import create_app
    from kefu.web.console.kb_editor import router as editor

    app = create_app(runtime=runtime, start_worker=False)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/console/kb" not in paths:
        app.include_router(editor)
    if "/api/v1/kb/staff/articles" not in paths:
        app.include_router(kb_api, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def _article(runtime: Runtime, slug: str, *, publish: bool, title: str = "Locked accounts") -> Article:
    async with transaction(runtime.sessionmaker) as session:
        return await do_create_article(
            session,
            ArticleCreate(slug=slug, locale="en", title=title, body="Body **text**.", category="account"),
            author_id=None,
            publish=publish,
        )


def _write_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """What kb_editor.js sends: the CSRF header from the page and our Origin."""
    return {"x-csrf-token": client.cookies["kefu_csrf"], "origin": BASE_URL}


async def test_signed_out_browsers_are_sent_to_sign_in(kb_console: httpx.AsyncClient) -> None:
    for path in ["/console/kb", "/console/kb/new", "/console/kb/0190a0b0-0000-7000-8000-000000000000"]:
        response = await kb_console.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_list_filters_and_escapes(
    kb_console: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    draft = await _article(runtime, "draft-one", publish=False, title=f"Draft {HOSTILE}")
    published = await _article(runtime, "live-one", publish=True, title="Live article")
    await sign_in(kb_console, "li@example.com")
    page = await kb_console.get("/console/kb")
    assert page.status_code == 200
    assert_console_page(page)
    assert f"/console/kb/{draft.id}" in page.text
    assert f"/console/kb/{published.id}" in page.text
    assert "Draft &lt;script&gt;" in page.text
    assert "<script>alert" not in page.text
    drafts = await kb_console.get("/console/kb", params={"status": "draft"})
    assert f"/console/kb/{published.id}" not in drafts.text
    assert f"/console/kb/{draft.id}" in drafts.text
    searched = await kb_console.get(
        "/console/kb", params={"q": "live", "locale": "en", "category": "account"}
    )
    assert f"/console/kb/{published.id}" in searched.text
    assert f"/console/kb/{draft.id}" not in searched.text
    # Unknown or hostile filter values are ignored rather than failing.
    odd = await kb_console.get(
        "/console/kb", params={"status": HOSTILE, "locale": "xx", "category": "%", "q": "%_"}
    )
    assert odd.status_code == 200
    assert "<script>alert" not in odd.text


async def test_agents_edit_drafts_but_cannot_publish(
    kb_console: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    draft = await _article(runtime, "draft-one", publish=False)
    live = await _article(runtime, "live-one", publish=True)
    await sign_in(kb_console, "li@example.com")
    editor = await kb_console.get(f"/console/kb/{draft.id}")
    assert_console_page(editor)
    assert 'data-action="publish"' not in editor.text
    assert "<fieldset disabled" not in editor.text
    assert "Revision history" in editor.text
    read_only = await kb_console.get(f"/console/kb/{live.id}")
    assert "<fieldset disabled" in read_only.text
    assert 'data-action="unpublish"' not in read_only.text
    new = await kb_console.get("/console/kb/new")
    assert_console_page(new)
    assert 'id="kb-form"' in new.text
    # The writes the page's script makes.
    headers = _write_headers(kb_console)
    saved = await kb_console.put(
        f"/api/v1/kb/staff/articles/{draft.id}", json={"title": "Better title"}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["revision"] == 2
    refused = await kb_console.post(f"/api/v1/kb/staff/articles/{draft.id}/publish", headers=headers)
    assert refused.status_code == 403
    assert (
        await kb_console.put(f"/api/v1/kb/staff/articles/{live.id}", json={"title": "X"}, headers=headers)
    ).status_code == 403
    preview = await kb_console.post("/api/v1/kb/staff/preview", json={"body": HOSTILE}, headers=headers)
    assert "<script>" not in preview.json()["html"]
    history = await kb_console.get(f"/console/kb/{draft.id}")
    assert history.text.count('data-revision="') >= 3  # the form's own plus revisions 2 and 1
    # Without the CSRF header the session cookie alone writes nothing.
    forged = await kb_console.put(f"/api/v1/kb/staff/articles/{draft.id}", json={"title": "Forged"})
    assert forged.status_code == 403


async def test_supervisors_publish_and_unpublish(
    kb_console: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    draft = await _article(runtime, "draft-one", publish=False)
    await sign_in(kb_console, "boss@example.com")
    editor = await kb_console.get(f"/console/kb/{draft.id}")
    assert 'data-action="publish"' in editor.text
    headers = _write_headers(kb_console)
    published = await kb_console.post(f"/api/v1/kb/staff/articles/{draft.id}/publish", headers=headers)
    assert published.status_code == 200
    live = await kb_console.get(f"/console/kb/{draft.id}")
    assert 'data-action="unpublish"' in live.text
    assert "<fieldset disabled" not in live.text
    assert 'href="/hc/en/articles/draft-one"' in live.text
    unpublished = await kb_console.post(f"/api/v1/kb/staff/articles/{draft.id}/unpublish", headers=headers)
    assert unpublished.json()["status"] == "draft"


@pytest.mark.parametrize(
    "article_id", ["nope", "0190a0b0-0000-7000-8000-000000000000", "%3Cscript%3E", "1" * 500]
)
async def test_missing_or_malformed_ids_are_404_pages(
    kb_console: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, article_id: str
) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    await sign_in(kb_console, "li@example.com")
    response = await kb_console.get(f"/console/kb/{article_id}")
    assert response.status_code == 404
    assert "<script>" not in response.text
