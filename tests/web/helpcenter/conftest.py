"""Help-center fixtures: the app with the help-center routes and the demo knowledge base loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI

from kefu.db.uow import transaction
from kefu.kb.demo import load_demo_kb
from kefu.runtime import Runtime

MAX_PAGE_BYTES = 150 * 1024


def with_help_center(app: FastAPI) -> FastAPI:
    """Mount the help center and the kb API (here until the lead mounts them for good)."""
    from kefu.web.api.v1 import kb_search
    from kefu.web.api.v1.kb import router as kb_router
    from kefu.web.helpcenter import install_help_center_errors, router

    paths = {getattr(r, "path", "") for r in app.routes}
    if "/hc/{locale}" not in paths:
        install_help_center_errors(app)
        app.include_router(router)
    if "/api/v1/kb/articles/{locale}/{slug}/votes" not in paths:
        app.include_router(kb_router, prefix="/api/v1")
    if "/api/v1/kb/search" not in paths:
        app.include_router(kb_search.router, prefix="/api/v1")
    # Mounted routers land after the static mount; order does not matter for distinct prefixes.
    return app


@pytest.fixture
async def hc_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the app with the help center, over a database holding the demo articles."""
    from kefu.web.app import create_app

    async with transaction(runtime.sessionmaker) as session:
        await load_demo_kb(session)
    app = with_help_center(create_app(runtime=runtime, start_worker=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        yield client


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script":
            self.script_text += data.strip()


def page_tags(response: httpx.Response) -> list[tuple[str, dict[str, str]]]:
    """Every start tag of the page with its attributes, as a browser parses them."""
    parser = _Tags()
    parser.feed(response.text)
    parser.close()
    return parser.tags


def assert_public_page(response: httpx.Response, *, status: int = 200) -> None:
    """A public help-center page: HTML, briefly cacheable, no cookies, small, CSP-clean, local only."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert "set-cookie" not in response.headers
    assert len(response.content) < MAX_PAGE_BYTES
    parser = _Tags()
    parser.feed(response.text)
    parser.close()
    assert parser.tags, "not an HTML page"
    assert parser.script_text == "", "inline script"
    for tag, attrs in parser.tags:
        assert tag not in ("style", "iframe", "object", "embed", "base"), tag
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in ("src", "href", "action", "hx-get"):
            url = attrs.get(name)
            if url is None or (tag == "a" and name == "href" and url.startswith(("https://", "mailto:"))):
                continue  # article bodies may link out (nh3 allows http(s)/mailto only)
            assert url.startswith(("/", "#")), (tag, url)
            assert not url.startswith("//"), (tag, url)
