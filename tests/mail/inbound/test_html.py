"""HTML mail is sanitised (no script, handlers or remote loads) and read as text, even when hostile."""

from __future__ import annotations

import time

import pytest

from kefu.mail.inbound.htmltext import sanitize_html, sanitized_to_text, too_complex
from kefu.mail.inbound.limits import ParseLimits, Problem
from kefu.mail.inbound.parse import parse_email
from tests.mail.inbound.samples import hostile_html, message


def html_message(html: str | bytes) -> bytes:
    body = html.encode() if isinstance(html, str) else html
    return message(extra=[("Content-Type", "text/html; charset=utf-8")], body=body)


def test_hostile_html_is_sanitised() -> None:
    parsed = parse_email(hostile_html())
    html = parsed.html or ""
    lowered = html.lower()
    for needle in (
        "<script",
        "onload",
        "onclick",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "<style",
        "<svg",
        "track.example",
        "data:image",
        "steal",
    ):
        assert needle not in lowered, needle
    assert '<img src="cid:logo@kefu" alt="logo">' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_hostile_html_text_shows_real_link_targets() -> None:
    parsed = parse_email(hostile_html())
    assert parsed.text.startswith("Dear customer, please verify your account.")
    # The phishing link's text claims kefu.test; agents see where it really goes.
    assert "https://kefu.test/login (https://evil.example/login)" in parsed.text
    assert "steal" not in parsed.text
    assert parsed.attachments[0].inline


def test_relative_links_are_dropped() -> None:
    # A relative link would point into Kefu's own origin (a one-click console action).
    html = sanitize_html(
        '<a href="/console/users/1/delete">x</a><a href="//evil.example">y</a><a href="#f">z</a>'
    )
    assert "href" not in html


def test_utf7_html_cannot_smuggle_a_script() -> None:
    raw = message(
        extra=[("Content-Type", "text/html; charset=utf-7")],
        body=b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-+ADw-p+AD4-hi+ADw-/p+AD4-",
    )
    parsed = parse_email(raw)
    assert parsed.html == "<p>hi</p>"
    assert parsed.text == "hi"


def test_html_structure_becomes_readable_text() -> None:
    html = (
        "<h1>Title</h1><p>First&nbsp;paragraph with <b>bold</b> &amp; <i>entities</i> &lt;ok&gt;.</p>"
        "<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
        "<p>line<br>break</p><pre>  keep\n  lines</pre>"
        "<blockquote>quoted <blockquote>twice</blockquote></blockquote><p>after</p>"
    )
    assert sanitized_to_text(sanitize_html(html)) == (
        "Title\n\nFirst\xa0paragraph with bold & entities <ok>.\n\n- one\n- two\n\na b\n\nline\nbreak\n\n"
        "keep\nlines\n\n> quoted\n\n> > twice\n\nafter"
    )


def test_html_only_reply_quote_is_stripped_for_display() -> None:
    html = "<div>My answer</div><div>On Mon, Jan 1, 2024 Bob wrote:</div><blockquote>old text</blockquote>"
    parsed = parse_email(html_message(html))
    assert parsed.text == "My answer\nOn Mon, Jan 1, 2024 Bob wrote:\n\n> old text"
    assert parsed.visible_text == "My answer"


@pytest.mark.parametrize(
    "bomb",
    [
        "<a " * 20_000,  # Python's HTMLParser is quadratic here; nh3 is not
        "<a b='" * 20_000,
        "<!--" * 20_000,
        "<" * 100_000,
        "<![CDATA[" * 20_000,
    ],
)
def test_html_parser_bombs_are_linear(bomb: str) -> None:
    started = time.perf_counter()
    parse_email(html_message(bomb + "<p>tail</p>"))
    assert time.perf_counter() - started < 2


def test_deep_html_nesting_is_refused_quickly() -> None:
    # html5ever is quadratic in depth: 100,000 nested divs would take ~20 s.
    started = time.perf_counter()
    parsed = parse_email(html_message("<div>" * 100_000 + "deep text"))
    assert time.perf_counter() - started < 2
    assert parsed.html is None
    assert parsed.text == "deep text"
    assert Problem.HTML_TOO_COMPLEX in parsed.problems


def test_too_complex_estimate() -> None:
    assert not too_complex("<div><p>x</p></div>" * 10_000)  # wide is fine
    assert too_complex("<div>" * 10_000)


def test_html_over_the_limit_is_cut() -> None:
    parsed = parse_email(html_message("<p>" + "x" * 5000 + "</p>"), limits=ParseLimits(max_html_chars=1000))
    assert parsed.html is not None
    assert len(parsed.html) < 1100
    assert Problem.HTML_TRUNCATED in parsed.problems
