"""Article markdown to safe HTML (markdown-it-py, then an nh3 allowlist) and plain-text excerpts."""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

_TAGS = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr",
        "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "a", "img",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_IMAGE_SCHEMES = frozenset({"https"})
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # html=False: raw HTML in the source is shown as text, never passed through (nh3 is the backstop).
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _allowed_url(url: str, schemes: frozenset[str]) -> bool:
    """Absolute URLs with an allowed scheme, or relative ones (no scheme, no protocol-relative host)."""
    cleaned = url.strip()
    if cleaned.startswith(("//", "\\")):
        return False
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return False
    if not parts.scheme:
        return ":" not in cleaned.split("/", 1)[0]
    return parts.scheme.lower() in schemes


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href":
        return value if _allowed_url(value, _LINK_SCHEMES) else None
    if element == "img" and attribute == "src":
        return value if _allowed_url(value, _IMAGE_SCHEMES) else None
    if element == "ol" and attribute == "start":
        return value if value.isdigit() and len(value) < 7 else None
    if attribute == "align":
        return value if value in ("left", "right", "center") else None
    return value


def sanitize_html(html: str) -> str:
    """Keep only the allowlisted tags and attributes; links get rel="nofollow noopener"."""
    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        url_schemes=set(_LINK_SCHEMES),
        link_rel="nofollow noopener",
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )


def render_markdown(body: str) -> str:
    """Render article markdown to sanitized HTML that is safe to insert into a page as-is."""
    return sanitize_html(_parser().render(body.replace("\x00", "\ufffd")))


def excerpt(body: str, n: int = 200) -> str:
    """The first `n` characters of the article's plain text (markup removed), ending in "…" if cut."""
    html = _parser().render(body.replace("\x00", "\ufffd"))
    # Plain text for callers that escape it themselves (templates, JSON), so entities are decoded.
    text = _WHITESPACE.sub(" ", html_lib.unescape(nh3.clean(html, tags=set()))).strip()
    if len(text) <= n:
        return text
    return text[: max(n - 1, 0)].rstrip() + "…"
