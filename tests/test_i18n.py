"""Locale negotiation, message lookup, the Jinja2 hook, and the health of the catalogs."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from markupsafe import Markup

from kefu.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    get_translator,
    negotiate_locale,
    normalise_locale,
    parse_accept_language,
)
from kefu.i18n_build import (
    check_catalogs,
    compiled,
    extract_messages,
    mo_path,
    read_catalog,
    translation_problems,
)
from kefu.web.templating import get_environment


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("EN-us", "en"),
        ("en_GB", "en"),
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("zh-Hant-HK", "zh-CN"),
        ("fr", None),
        ("", None),
        (None, None),
        ("*", None),
        ("zh-", None),
        ("<script>", None),
        ("zh\x00", None),
        ("zh-CN\r\nSet-Cookie: x", None),
        ("en-" + "a" * 40, None),
    ],
)
def test_normalise_locale(tag: str | None, expected: str | None) -> None:
    assert normalise_locale(tag) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7", ["zh-TW", "zh", "en-US", "en"]),
        ("en;q=0.1, zh", ["zh", "en"]),
        ("fr;q=0.5, de;q=0.5, *;q=0.1", ["fr", "de", "*"]),
        ("zh;q=0, en", ["en"]),
        ("zh;q=2, en;q=-1, de;q=abc, fr;q=0.500", ["fr"]),
        ("zh; Q=0.8 , en ; q=0.9", ["en", "zh"]),
        ("<b>, zh", ["zh"]),
        ("", []),
        (None, []),
    ],
)
def test_parse_accept_language(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


def test_parse_accept_language_bounds_hostile_headers() -> None:
    assert parse_accept_language("zh," * 100_000) == ["zh"] * 32
    assert parse_accept_language("x" * 100_000) == []


@pytest.mark.parametrize(
    ("explicit", "cookie", "accept_language", "expected"),
    [
        ("zh-CN", "en", "en", "zh-CN"),
        ("en", "zh-CN", "zh", "en"),
        (None, "zh-CN", "en", "zh-CN"),
        ("klingon", "zh-CN", "en", "zh-CN"),
        ("klingon", "bogus", "zh-SG", "zh-CN"),
        (None, None, "fr, zh-TW;q=0.5", "zh-CN"),
        (None, None, "fr, *;q=0.5, zh;q=0.1", "en"),
        (None, None, "fr, de", "en"),
        (None, None, None, "en"),
    ],
)
def test_negotiation_order(
    explicit: str | None, cookie: str | None, accept_language: str | None, expected: str
) -> None:
    assert negotiate_locale(explicit=explicit, cookie=cookie, accept_language=accept_language) == expected


def test_translators_are_loaded_once_and_translate() -> None:
    zh = get_translator("zh-CN")
    assert zh is get_translator("zh-CN")
    assert zh.gettext("Sign in") == "登录"
    assert zh.ngettext(
        "Too many failed attempts. Try again in %(num)d minute.",
        "Too many failed attempts. Try again in %(num)d minutes.",
        3,
    ) == ("失败次数过多。请在 3 分钟后重试。")
    en = get_translator("en")
    assert en.gettext("Sign in") == "Sign in"
    one = en.ngettext("%(num)d apple", "%(num)d apples", 1)
    assert (one, en.ngettext("%(num)d apple", "%(num)d apples", 2)) == ("1 apple", "2 apples")
    assert zh.gettext("Not in any catalog %(x)s", x="!") == "Not in any catalog !"
    assert DEFAULT_LOCALE in SUPPORTED_LOCALES


def test_unsupported_locales_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        get_translator("fr")


def test_templates_translate_and_escape_placeholders() -> None:
    env = get_environment()
    assert env.autoescape is True
    template = env.from_string(
        '{{ _("Sign in") }}|{{ _("Hello %(name)s", name=who) }}|'
        "{% trans count=n %}{{ count }} item{% pluralize %}{{ count }} items{% endtrans %}|{{ who }}"
    )
    rendered = template.render(locale="zh-CN", who="<b>x</b>", n=2)
    assert rendered == "登录|Hello &lt;b&gt;x&lt;/b&gt;|2 items|&lt;b&gt;x&lt;/b&gt;"
    assert template.render(locale="en", who=Markup("<i>ok</i>"), n=1).endswith("|1 item|<i>ok</i>")


def test_every_message_in_the_code_is_in_every_catalog() -> None:
    template = extract_messages()
    assert len(template) > 20
    for locale in SUPPORTED_LOCALES:
        catalog = read_catalog(locale)
        missing = {
            m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id and m.id not in catalog
        }
        assert not missing, f"{locale}: run `python -m kefu.i18n_build update`: {sorted(missing)}"


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalog = read_catalog("zh-CN")
    assert translation_problems("zh-CN", catalog) == []
    for message in catalog:
        if message.id:
            forms = [message.string] if isinstance(message.string, str) else list(message.string or ())
            assert all(form.strip() for form in forms), message.id


def test_compiled_catalogs_are_up_to_date() -> None:
    for locale in SUPPORTED_LOCALES:
        assert mo_path(locale).read_bytes() == compiled(read_catalog(locale)), (
            f"{locale}: run `python -m kefu.i18n_build compile`"
        )


def test_the_catalog_check_passes_and_catches_problems() -> None:
    assert check_catalogs() == []
    template = extract_messages()
    template.add("A message nobody translated yet")
    assert "zh-CN: missing msgid 'A message nobody translated yet'" in check_catalogs(template)

    broken = Catalog(locale="zh_CN")
    broken.add("Hello %(name)s", "你好")
    broken.add("Untranslated", "")
    broken.add("Guess", "猜", flags=["fuzzy"])
    assert translation_problems("zh-CN", broken) == [
        "zh-CN: placeholders differ from the source in 'Hello %(name)s'",
        "zh-CN: no translation of 'Untranslated'",
        "zh-CN: fuzzy translation of 'Guess'",
    ]
