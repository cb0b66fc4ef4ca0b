"""The live-chat browser assets: widget.js (host pages), chat.js/chat.css and the frame template.

Cheap static checks that need no server: size budget, no HTML or code built from strings, nothing
loaded from another host, both scripts parse, and the frame page carries every string and element
chat.js looks up. Behaviour in a browser is covered by the Playwright tests in tests/e2e.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kefu.web.templating import STATIC_DIR, TEMPLATE_DIR, render_template

WIDGET = STATIC_DIR / "widget.js"
CHAT_JS = STATIC_DIR / "chat" / "chat.js"
CHAT_TRUST_JS = STATIC_DIR / "chat" / "trust.js"
CHAT_CSS = STATIC_DIR / "chat" / "chat.css"
FRAME = TEMPLATE_DIR / "chat" / "frame.html"
SCRIPTS = (WIDGET, CHAT_JS, CHAT_TRUST_JS)
ASSETS = (WIDGET, CHAT_JS, CHAT_TRUST_JS, CHAT_CSS)
BUDGET_BYTES = 30 * 1024  # gzipped, all of them together
NODE = shutil.which("node")

# Ways to turn a string into markup or code; all data goes through textContent instead.
FORBIDDEN = (
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "eval(",
    "new Function",
    "createContextualFragment",
    "DOMParser",
    "srcdoc",
)
HOSTILE = "</script><script>alert(1)</script>\"'&<!--"


def _gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def _render(locale: str, **overrides: object) -> str:
    context: dict[str, object] = {
        "socket_url": "wss://support.example/chat/ws",
        "parent_origins": ["https://www.exchange.example"],
    }
    context.update(overrides)
    return render_template("chat/frame.html", locale=locale, **context)


class _Page(HTMLParser):
    """Script tags (attributes and text), ids, and the attributes of every element by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.elements: dict[str, dict[str, str | None]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.elements[str(attributes["id"])] = {"tag": tag, **attributes}
        if tag == "script":
            self._script, self._text = attributes, []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _json_block(page: _Page, block_id: str) -> dict[str, object]:
    [text] = [text for attrs, text in page.scripts if attrs.get("id") == block_id]
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def test_the_assets_exist() -> None:
    for path in (*ASSETS, FRAME):
        assert path.is_file(), path
        assert path.stat().st_size > 0, path


def test_the_assets_fit_the_size_budget() -> None:
    total = sum(_gzipped_size(path) for path in ASSETS)
    assert total < BUDGET_BYTES, f"{total} bytes gzipped"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_scripts_never_build_markup_or_code_from_strings(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for needle in FORBIDDEN:
        assert needle not in text, needle
    assert not re.search(r"set(Timeout|Interval)\(\s*[\"'`]", text), "string passed to a timer"
    # Every postMessage names its target origin: a "*" would hand messages to any page.
    assert not re.search(r"postMessage\([^;]*[\"']\*[\"']", text)


@pytest.mark.parametrize("path", ASSETS, ids=lambda path: path.name)
def test_assets_request_nothing_from_other_hosts(path: Path) -> None:
    text = path.read_text(encoding="utf-8").lower()
    assert not re.search(r"https?://", text)
    assert not re.search(r"[\"'`(]//[a-z0-9]", text), "protocol-relative URL"
    if path.suffix == ".css":
        assert "@import" not in text
        assert "url(" not in text


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_scripts_parse(path: Path) -> None:
    assert NODE is not None
    done = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_widget_has_its_strings_in_both_languages() -> None:
    text = WIDGET.read_text(encoding="utf-8")
    for locale in ("en", '"zh-CN"'):
        match = re.search(rf"^\s*{locale}: \{{(.*)\}},$", text, re.MULTILINE)
        assert match, locale
        assert re.findall(r"(\w+): ", match.group(1)) == ["open", "close", "unread"], locale
        assert "{count}" in match.group(1)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_frame_carries_config_and_every_string_chat_js_reads(locale: str) -> None:
    page = _parse(_render(locale))
    config = _json_block(page, "kefu-chat-config")
    assert config == {
        "socket_url": "wss://support.example/chat/ws",
        "locale": locale,
        "parent_origins": ["https://www.exchange.example"],
    }
    strings = _json_block(page, "kefu-chat-strings")
    script = CHAT_JS.read_text(encoding="utf-8") + CHAT_TRUST_JS.read_text(encoding="utf-8")
    used = set(re.findall(r"\bT\.(\w+)", script))
    assert used, "chat.js reads no strings?"
    assert used <= strings.keys(), used - strings.keys()
    nested = ("incident_status", "trust_errors")
    assert all(isinstance(value, str) and value for key, value in strings.items() if key not in nested)
    assert all(isinstance(strings[key], dict) for key in nested)
    for key, template in strings.items():
        if isinstance(template, str) and "{" in template:
            assert re.fullmatch(r"[^{}]*(\{\w+\}[^{}]*)+", template), key


def test_the_frame_has_every_element_chat_js_looks_up() -> None:
    page = _parse(_render("en"))
    script = CHAT_JS.read_text(encoding="utf-8") + CHAT_TRUST_JS.read_text(encoding="utf-8")
    wanted = set(re.findall(r"\$\(\"([\w-]+)\"\)", script))
    assert {"chat-log", "chat-input", "chat-composer"} <= wanted
    assert wanted <= page.elements.keys(), wanted - page.elements.keys()
    log = page.elements["chat-log"]
    assert (log["role"], log["aria-live"]) == ("log", "polite")
    labels = [attrs for tag, attrs in page.tags if tag == "label"]
    assert any(attrs.get("for") == "chat-input" for attrs in labels)
    assert page.elements["chat-input"]["tag"] == "textarea"


def test_the_frame_has_no_inline_code_and_loads_only_our_static_files() -> None:
    page = _parse(_render("en"))
    for attrs, text in page.scripts:
        if attrs.get("type") == "application/json":
            continue  # data blocks are never executed
        assert (attrs.get("src") or "").startswith(("/static/chat/chat.js?v=", "/static/chat/trust.js?v=")), (
            attrs
        )
        assert not text.strip()
    for tag, attrs in page.tags:
        assert tag != "style"
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag
        for name in ("src", "href"):
            url = attrs.get(name)
            if url is not None:
                assert url.startswith("/static/"), (tag, url)


def test_hostile_context_values_stay_inside_the_json_blocks() -> None:
    html = _render("en", socket_url=HOSTILE, parent_origins=[HOSTILE, "https://ok.example"])
    page = _parse(html)
    assert (
        len([attrs for attrs, _ in page.scripts if "src" in attrs]) == 2
    )  # chat.js, trust.js: nothing injected
    config = _json_block(page, "kefu-chat-config")
    assert config["socket_url"] == HOSTILE
    assert config["parent_origins"] == [HOSTILE, "https://ok.example"]
    assert "</script><script>" not in html


def test_the_frame_speaks_the_requested_language() -> None:
    english, chinese = _render("en"), _render("zh-CN")
    assert '<html lang="en">' in english
    assert '<html lang="zh-CN">' in chinese
    assert "发送" in chinese  # "Send", already in the catalog
    assert "发送" not in english


def test_every_filled_string_gets_exactly_its_placeholders() -> None:
    strings = _json_block(_parse(_render("en")), "kefu-chat-strings")
    script = CHAT_JS.read_text(encoding="utf-8")
    calls = re.findall(r"fill\(T\.(\w+), \{([^}]*)\}\)", script)
    assert {"ticket", "transcript_sent", "remove_file", "files_limit"} <= {key for key, _ in calls}
    for key, values in calls:
        given = set(re.findall(r"(?:^|,)\s*(\w+)\s*(?=:|,|$)", values.strip()))
        template = strings[key]
        assert isinstance(template, str)
        assert set(re.findall(r"\{(\w+)\}", template)) == given, key


def test_the_frame_has_the_offline_rating_transcript_and_diagnostics_controls() -> None:
    page = _parse(_render("en"))
    elements = page.elements
    for card in ("chat-email", "chat-rating", "chat-diagnostics", "chat-transcript", "chat-pending"):
        assert "hidden" in elements[card], card  # shown by chat.js when they apply
    email = elements["chat-email-input"]
    assert (email["tag"], email["type"], email["maxlength"], email["autocomplete"]) == (
        "input",
        "email",
        "320",
        "email",
    )
    assert "required" in email
    assert "novalidate" in elements["chat-email"]  # our translated message, not the browser's bubble
    comment = elements["chat-rating-comment"]
    assert (comment["tag"], comment["maxlength"]) == ("textarea", "1000")
    assert "disabled" in elements["chat-rating-send"]  # until a score is chosen
    stars = [attrs for tag, attrs in page.tags if attrs.get("class") == "chat-star"]
    assert [attrs["data-score"] for attrs in stars] == ["1", "2", "3", "4", "5"]
    assert all(attrs["type"] == "button" and attrs["aria-pressed"] == "false" for attrs in stars)
    labels = [attrs["aria-label"] for attrs in stars]
    assert labels == [f"Rate {score} out of 5" for score in range(1, 6)]
    for button in ("chat-transcript", "chat-diagnostics-share", "chat-diagnostics-decline", "chat-attach"):
        assert (elements[button]["tag"], elements[button]["type"]) == ("button", "button"), button
    assert elements["chat-attach"]["aria-label"]
    picker = elements["chat-file"]
    assert (picker["tag"], picker["type"], picker["accept"]) == ("input", "file", "image/*")
    assert elements["chat-pending"]["aria-label"]
    # Every visible form control is labelled.
    labelled = {attrs["for"] for tag, attrs in page.tags if tag == "label"}
    assert {"chat-input", "chat-email-input", "chat-rating-comment"} <= labelled


def test_the_new_strings_are_in_the_frame() -> None:
    strings = _json_block(_parse(_render("en")), "kefu-chat-strings")
    assert strings["ticket"] == "We'll reply to {email}. Your reference: {reference}"
    assert strings["email_invalid"] == "Please enter a valid email address"
    assert strings["transcript_sent"] == "Transcript sent to {email}"
    assert strings["rated"] == "Thanks for your feedback"
    assert strings["file_too_large"] == "This file is too large (max 10 MB)"
    text_of_page = unescape(_render("en"))
    for text in (
        "Email transcript",
        "Leave your email and we'll reply there",
        "How was your chat?",
        "Share technical details (browser, device clock, connection speed) to help us troubleshoot?",
        "No thanks",
    ):
        assert text in text_of_page, text


def _function(source: str, name: str) -> str:
    match = re.search(rf"^  function {name}\(.*?^  \}}$", source, re.MULTILINE | re.DOTALL)
    assert match, name
    return match.group(0)


def test_the_host_page_address_travels_like_the_identity() -> None:
    """widget.js posts it to the frame's origin only; chat.js takes it only from its parent, after the
    same origin check as the identity, and only as an absolute http(s) URL of at most 2,000 characters."""
    widget = WIDGET.read_text(encoding="utf-8")
    send_page = _function(widget, "sendPage")
    assert 'postMessage({ kefu: "page", url }, origin)' in send_page
    assert "location.href" in send_page
    assert "2000" in send_page
    ready = re.search(r'data\.kefu === "ready"\) \{(.*?)\}', widget, re.DOTALL)
    assert ready
    assert "sendIdentity()" in ready.group(1)
    assert "sendPage()" in ready.group(1)
    chat = CHAT_JS.read_text(encoding="utf-8")
    handler = _function(chat, "onParentMessage")
    first = handler.splitlines()[1].strip()
    assert first.startswith(
        "if (!embedded || event.source !== window.parent || !parentOrigins.includes(event.origin))"
    )
    assert handler.index("parentOrigins.includes") < handler.index('"page"')
    check = _function(chat, "pageUrl")
    assert '"https:"' in check
    assert '"http:"' in check
    assert "2000" in check


def test_files_are_shown_as_images_only_from_our_own_origin() -> None:
    render_files = _function(CHAT_JS.read_text(encoding="utf-8"), "renderFiles")
    assert 'file.url.startsWith(location.origin + "/")' in render_files
    assert "link.download" in render_files
