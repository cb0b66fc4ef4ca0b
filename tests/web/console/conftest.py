"""Console page helpers: a signed-in browser and a check that pages carry no inline code."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx

from tests.web.pages.conftest import clock, sign_in

__all__ = ["assert_console_page", "clock", "sign_in"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script":
            self.script_text += data.strip()


def assert_console_page(response: httpx.Response) -> None:
    """HTML, not cached, only our own scripts by URL, no inline script, style or handlers."""
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    parser = _Tags()
    parser.feed(response.text)
    assert parser.tags
    assert parser.script_text == "", "inline script"
    for tag, attrs in parser.tags:
        assert tag not in ("style", "iframe", "object", "embed", "base"), tag
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
