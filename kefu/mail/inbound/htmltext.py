"""HTML mail made safe to show agents, and its readable text.

Policy of the sanitised HTML (nh3/ammonia): formatting tags only; script, style and title are
removed with their content; no event handlers, style attributes, forms, frames or comments;
links keep absolute http, https and mailto targets (relative ones would point into Kefu's own
origin) and get rel="noopener noreferrer nofollow"; images keep
only `cid:` sources (inline parts of the same message, which ingest rewrites to attachment URLs),
so remote images, tracking pixels and data: URLs never load.

Raw HTML is never walked by Python's HTMLParser, which is quadratic on unclosed tags; the text is
read from nh3's well-formed output. html5ever itself is quadratic in nesting depth, so a cheap
linear estimate refuses hostile nesting first and falls back to stripping tags.
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from typing import Final

import nh3

_CLEAN_CONTENT_TAGS: Final = {"script", "style", "title"}
_URL_SCHEMES: Final = {"http", "https", "mailto", "cid"}
_LINK_REL: Final = "noopener noreferrer nofollow"
_TAG_RE: Final = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]{0,20})")
_STRIP_TAGS_RE: Final = re.compile(r"<[^<>]*>")
_VOID_TAGS: Final = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "wbr", "area", "base", "col", "embed", "param", "source"}
)
# Sum over start tags of the open-element depth: html5ever's cost grows with it (~0.1 s at 2e7).
MAX_NESTING_WORK: Final = 20_000_000
_BLOCK_TAGS: Final = frozenset(
    {
        "p", "div", "table", "tr", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
        "pre", "hr", "section", "article", "header", "footer", "address", "figure", "figcaption",
        "caption", "center", "details", "summary", "nav", "aside", "hgroup",
    }
)  # fmt: skip
_PARAGRAPH_TAGS: Final = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})
_SPACES_RE: Final = re.compile(r"[ \t\n\r\f\v]+")
_BLANKS_RE: Final = re.compile(r"[ \t\f\v\r]+")
_BLANK_LINES_RE: Final = re.compile(r"\n{3,}")
MAX_HREF_CHARS: Final = 300


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith("cid:"):
        return None
    return value


def too_complex(html: str) -> bool:
    """True when `html` nests deeply enough to make an HTML5 parser quadratic (a nesting bomb)."""
    depth = work = 0
    for match in _TAG_RE.finditer(html):
        if match.group(1):
            depth = max(0, depth - 1)
        elif match.group(2).lower() not in _VOID_TAGS:
            depth += 1
            work += depth
            if work > MAX_NESTING_WORK:
                return True
    return False


def sanitize_html(html: str) -> str:
    """`html` reduced to safe formatting under the policy in this module's docstring."""
    return nh3.clean(
        html,
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attribute_filter=_attribute_filter,
        url_schemes=_URL_SCHEMES,
        link_rel=_LINK_REL,
        strip_comments=True,
        # Relative and protocol-relative URLs would resolve against Kefu's own origin.
        url_relative="deny",
    )


def strip_tags(html: str) -> str:
    """Text of HTML too hostile to parse: tags dropped (linear regex), entities decoded."""
    text = html_lib.unescape(_STRIP_TAGS_RE.sub(" ", html))
    return _normalize("\n".join(_BLANKS_RE.sub(" ", line).strip() for line in text.split("\n")))


def _normalize(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip("\n")


class _TextWalker(HTMLParser):
    """Reads sanitised (well-formed) HTML as plain text; blockquotes become "> " quoted lines so the
    quote stripper treats HTML and plain replies alike, and links show their real target.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote = 0
        self.pre = 0
        self.links: list[tuple[str | None, list[str]]] = []
        # Whether the line so far is empty or ends in a blank, so the next text drops its own.
        self.spaced = True

    def _break(self, blank: bool = False) -> None:
        line = "".join(self.current).strip()
        if line:
            self.lines.append("> " * self.quote + line)
        self.current = []
        self.spaced = True
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break()
        elif tag == "blockquote":
            self._break(blank=True)
            self.quote += 1
        elif tag == "li":
            self._break()
            self.current.append("- ")
            self.spaced = True
        elif tag in _BLOCK_TAGS:
            self._break(blank=tag in _PARAGRAPH_TAGS)
        elif tag in ("td", "th"):
            self.current.append(" ")
            self.spaced = True
        if tag == "pre":
            self.pre += 1
        elif tag == "a":
            href = dict(attrs).get("href")
            self.links.append((href, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            self._break(blank=True)
            self.quote = max(0, self.quote - 1)
        elif tag in _BLOCK_TAGS or tag == "li":
            self._break(blank=tag in _PARAGRAPH_TAGS)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.links:
            href, text = self.links.pop()
            shown = "".join(text).strip()
            # Phishing hides a link's target behind its text: agents see both.
            if (
                href
                and href.lower().startswith(("http:", "https:"))
                and href.rstrip("/") != shown.rstrip("/")
            ):
                self.current.append(f" ({href[:MAX_HREF_CHARS]})")
                self.spaced = False

    def handle_data(self, data: str) -> None:
        for _, text in self.links:
            text.append(data)
        if self.pre:
            first, *rest = data.split("\n")
            self.current.append(first)
            for line in rest:
                self._break()
                self.current.append(line)
            self.spaced = not data or data[-1].isspace()
            return
        collapsed = _SPACES_RE.sub(" ", data)
        if self.spaced:
            collapsed = collapsed.lstrip(" ")
        if collapsed:
            self.current.append(collapsed)
            self.spaced = collapsed.endswith(" ")

    def text(self) -> str:
        self._break()
        return _normalize("\n".join(self.lines))


def sanitized_to_text(sanitized: str) -> str:
    """Plain text of HTML that `sanitize_html` produced (so it is well-formed)."""
    walker = _TextWalker()
    walker.feed(sanitized)
    walker.close()
    return walker.text()
