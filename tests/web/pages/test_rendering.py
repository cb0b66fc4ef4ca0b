"""Pages in both languages, the layout's rules (no inline script, no other origins), static files."""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from kefu.runtime import Runtime
from kefu.web.pages.enroll import SetupKey
from kefu.web.pages.page import LanguageLink
from kefu.web.templating import STATIC_DIR, TEMPLATE_DIR, render_template, static_url
from tests.factories import make_agent
from tests.web.pages.conftest import assert_clean_page, sign_in


async def test_english_is_the_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Sign in to Kefu" in response.text
    assert response.headers["content-language"] == "en"
    assert '<meta name="viewport"' in response.text
    assert "kefu_locale" not in client.cookies
    assert_clean_page(response)


@pytest.mark.parametrize(
    "accept_language", ["zh-CN", "zh", "zh-Hans-CN", "zh-SG", "zh-TW,en;q=0.5", "fr, zh;q=0.8, en;q=0.7"]
)
async def test_chinese_from_accept_language(client: httpx.AsyncClient, accept_language: str) -> None:
    response = await client.get("/login", headers={"accept-language": accept_language})
    assert '<html lang="zh-CN">' in response.text
    assert "登录 Kefu" in response.text
    assert response.headers["content-language"] == "zh-CN"
    assert_clean_page(response)


async def test_explicit_choice_is_remembered_and_beats_the_browser(client: httpx.AsyncClient) -> None:
    chosen = await client.get("/login?lang=zh-CN", headers={"accept-language": "en"})
    assert '<html lang="zh-CN">' in chosen.text
    assert client.cookies["kefu_locale"] == "zh-CN"
    cookie = next(h for h in chosen.headers.get_list("set-cookie") if h.startswith("kefu_locale="))
    assert "samesite=lax" in cookie.lower()

    remembered = await client.get("/login", headers={"accept-language": "en"})
    assert '<html lang="zh-CN">' in remembered.text
    assert "set-cookie" not in remembered.headers or "kefu_locale" not in remembered.headers["set-cookie"]

    back = await client.get("/login?lang=en", headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in back.text
    assert client.cookies["kefu_locale"] == "en"


async def test_a_cookie_alone_selects_the_language(client: httpx.AsyncClient) -> None:
    client.cookies.set("kefu_locale", "zh-CN", domain="kefu.test")
    response = await client.get("/login")
    assert '<html lang="zh-CN">' in response.text


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?lang=%3Cscript%3E", {}),
        ("?lang=" + "zh" * 500, {}),
        ("?lang=x-klingon", {}),
        ("", {"accept-language": "x" * 10000}),
        ("", {"accept-language": "zh;q=0, en;q=abc, *;q=0.1"}),
        ("", {"accept-language": ";;;,,,=\t"}),
    ],
)
async def test_hostile_language_choices_fall_back_to_english(
    client: httpx.AsyncClient, query: str, headers: dict[str, str]
) -> None:
    response = await client.get("/login" + query, headers=headers)
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "<script>" not in response.text
    assert "kefu_locale" not in client.cookies


async def test_language_links_keep_a_safe_next_only(client: httpx.AsyncClient) -> None:
    safe = await client.get("/login?next=/account")
    assert 'href="/login?lang=zh-CN&amp;next=%2Faccount"' in safe.text
    assert 'lang="zh-CN"' in safe.text
    assert "简体中文" in safe.text
    unsafe = await client.get("/login?next=//evil.example")
    assert 'href="/login?lang=zh-CN"' in unsafe.text


async def test_signed_in_pages_render_in_chinese(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_agent(runtime.sessionmaker, "ann@example.com")
    await client.get("/login?lang=zh-CN")
    await sign_in(client, "ann@example.com")
    account = await client.get("/account")
    assert '<html lang="zh-CN">' in account.text
    assert "我的账户" in account.text
    assert "客服专员" in account.text
    assert_clean_page(account)
    enroll = await client.get("/login/enroll")
    assert "设置双重身份验证" in enroll.text
    assert_clean_page(enroll)


async def test_static_files_are_cached_for_a_year_by_versioned_url(client: httpx.AsyncClient) -> None:
    url = static_url("kefu.css")
    assert re.fullmatch(r"/static/kefu\.css\?v=[0-9a-f]{12}", url)
    response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = await client.get("/login")
    assert f'href="{url}"' in page.text.replace("&amp;", "&")


@pytest.mark.parametrize(
    "path", ["/static/nope.css", "/static/../i18n.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"]
)
async def test_static_files_stay_inside_their_directory(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "cache-control" not in response.headers or "immutable" not in response.headers["cache-control"]


def test_templates_and_styles_have_no_inline_code_or_other_origins() -> None:
    for template in TEMPLATE_DIR.rglob("*.html"):
        text = template.read_text(encoding="utf-8").lower()
        # The console's layout loads our own scripts by versioned URL; nothing else has script.
        scripts = re.findall(r"<script[^>]*>", text)
        assert all(
            re.fullmatch(r"""<script src="{{ static_url\('[\w./-]+'\) }}" defer>""", s)
            # JSON data blocks are never executed, so script-src does not apply to them.
            or re.fullmatch(r"""<script type="application/json" id="[\w-]+">""", s)
            for s in scripts
        ), template.name
        assert "<style" not in text, template.name
        assert " style=" not in text, template.name
        compact = text.replace(" ", "")
        if template.name == "article.html" and template.parent.name == "hc":
            # One exception: an article body, already sanitised by nh3 in kefu.kb.render.
            compact = compact.replace("{{body_html|safe}}", "")
        assert "|safe" not in compact, template.name
        assert not re.search(r"https?://|//[a-z]", text), template.name
    for asset in STATIC_DIR.rglob("*"):
        if not asset.is_file() or asset.parent.name == "vendor":
            continue  # vendored libraries are shipped verbatim (see their licence files)
        text = asset.read_text(encoding="utf-8").lower()
        assert "@import" not in text, asset.name
        if asset.suffix == ".css":
            assert "url(" not in text, asset.name
        assert not re.search(r"https?://", text), asset.name


def test_templates_static_files_and_catalogs_ship_with_the_package() -> None:
    """A file type missing from pyproject's package-data would be absent from a wheel install."""
    root = Path(__file__).parents[3]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {pattern.removeprefix("**/*") for pattern in package_data["kefu"]}
    kefu = root / "kefu"
    for folder in (TEMPLATE_DIR, STATIC_DIR, kefu / "locale"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert path.suffix in shipped, f"{path.relative_to(root)} would not be installed"


def test_static_url_refuses_paths_outside_the_static_directory() -> None:
    with pytest.raises(ValueError, match="no static file"):
        static_url("../templating.py")
    with pytest.raises(ValueError, match="no static file"):
        static_url("missing.css")


class _StubPage:
    csrf_token = "t" * 32
    language_links = (
        LanguageLink("en", "English", "/login?lang=en", False),
        LanguageLink("zh-CN", "简体中文", "/login?lang=zh-CN", True),
    )


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Text a reader meets outside the page body: labels for assistive technology and images.
        self.chunks += [value or "" for name, value in attrs if name in ("alt", "aria-label", "title")]

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


_PAGES: dict[str, dict[str, object]] = {
    "login.html": {"email": "", "next": "/account", "error": "错误"},
    "second_factor.html": {"next": None, "error": "错误"},
    "enroll.html": {
        "next": None,
        "key": SetupKey("ABCD EFGH", "data:image/svg+xml,x"),
        "confirming": True,
        "error": None,
        "required": True,
        "replacing": False,
    },
    "account.html": {"name": "安", "email": "安@例子.中国", "role": "管理员", "second_factor": True},
    "error.html": {"title": "标题", "message": "消息"},
}
# Words that stay as they are in Chinese text: the product, standards, and the English link.
_UNTRANSLATED = {"Kefu", "KYC", "TOTP", "QR", "English", "ABCD", "EFGH"}


@pytest.mark.parametrize("template", sorted(_PAGES))
def test_every_page_is_fully_translated_into_chinese(template: str) -> None:
    assert {path.name for path in TEMPLATE_DIR.glob("[!_]*.html")} - {"base.html"} == set(_PAGES)
    html = render_template(template, locale="zh-CN", page=_StubPage(), **_PAGES[template])
    assert html.startswith('<!doctype html>\n<html lang="zh-CN">')
    parser = _Text()
    parser.feed(html)
    words = set(re.findall(r"[A-Za-z]{2,}", " ".join(parser.chunks))) - _UNTRANSLATED
    assert not words, f"English left in the Chinese {template}: {sorted(words)}"
    english = render_template(template, locale="en", page=_StubPage(), **_PAGES[template])
    assert english.startswith('<!doctype html>\n<html lang="en">')
