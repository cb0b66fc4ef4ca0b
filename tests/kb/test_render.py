"""Rendering article markdown: useful HTML survives, anything executable or tracking does not."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.kb.render import excerpt, render_markdown

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "strong", "em",
    "code", "pre", "blockquote", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"href", "rel", "title", "src", "alt", "start", "align"}
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "![img](data:image/svg+xml;base64,PHN2Zz4=)",
    "![img](javascript:alert(1))",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "[x](vbscript:msgbox(1))",
    '<div onmouseover="alert(1)">hover</div>',
    "<!-- comment --><style>body{}</style>",
    '[x](https://a.example "t\\" onmouseover=\\"alert(1)")',
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def assert_safe(html: str) -> None:
    """Only allowlisted elements and attributes; URLs only with safe schemes; links carry rel."""
    for tag, attrs in _elements(html):
        assert tag in ALLOWED_TAGS, html
        assert set(attrs) <= ALLOWED_ATTRIBUTES, html
        for name in ("href", "src"):
            url = (attrs.get(name) or "").strip().lower()
            assert not url.startswith(("javascript:", "data:", "vbscript:", "//")), html
        if tag == "a":
            assert attrs.get("rel") == "nofollow noopener", html


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_is_neutralised(source: str) -> None:
    html = render_markdown(source)
    assert_safe(html)
    assert "<script" not in html.lower()


def test_allowed_markup_survives() -> None:
    html = render_markdown(
        "## Steps\n\n1. **Open** the *app*\n2. `code`\n\n> quote\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "[help](https://help.kefu-demo.example.com/a) [rel](/hc/en/articles/x)\n\n"
        "[mail](mailto:a@example.com)\n\n"
        "![ok](https://cdn.example.com/a.png) ![rel](/static/a.png) ![http](http://cdn.example.com/a.png)\n"
    )
    assert_safe(html)
    for fragment in ("<h2>", "<ol>", "<strong>", "<em>", "<code>", "<blockquote>", "<table>", "<td>"):
        assert fragment in html
    assert '<a href="https://help.kefu-demo.example.com/a" rel="nofollow noopener">' in html
    assert '<a href="/hc/en/articles/x" rel="nofollow noopener">' in html
    assert 'href="mailto:a@example.com"' in html
    assert 'src="https://cdn.example.com/a.png"' in html
    assert 'src="/static/a.png"' in html
    assert 'src="http://cdn.example.com/a.png"' not in html  # images only over https


def test_raw_html_is_shown_as_text() -> None:
    assert render_markdown("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"


def test_protocol_relative_links_are_dropped() -> None:
    assert "evil.example" not in render_markdown("[x](//evil.example/a) ![y](//evil.example/b.png)")


def test_excerpt_is_plain_text() -> None:
    body = "## Title\n\nSome **bold** text & <b>raw</b> [link](https://a.example) here.\n"
    assert excerpt(body, 500) == "Title Some bold text & <b>raw</b> link here."
    short = excerpt(body, 12)
    assert len(short) <= 12
    assert short.endswith("…")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>\"'=/:()[]!&; \n\tabcjsvrptonelx*`#|-")), max_size=120))
def test_random_markup_never_yields_active_content(source: str) -> None:
    assert_safe(render_markdown(source))
