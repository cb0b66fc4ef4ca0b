"""Classification against the registry: official values, lookalikes, unrelated names, hostile input.

The pure table runs without storage; the `verify` tests read the registry from SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.channels.actions import do_create_channel, do_delete_channel
from kefu.channels.confusables import is_confusable, skeleton
from kefu.channels.demo import load_demo_channels
from kefu.channels.lookalike import OfficialEntry, Reason
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.schemas import ChannelIn
from kefu.channels.verify import (
    MAX_VALUE_LENGTH,
    VerdictKind,
    check_links,
    classify,
    forget_registry_after_commit,
    verify,
    verify_links,
)
from kefu.db.uow import transaction
from tests.conftest import Database

K = OfficialKind
R = Reason
OFFICIAL, NOT_OFFICIAL, IMPERSONATION = (
    VerdictKind.OFFICIAL,
    VerdictKind.NOT_OFFICIAL,
    VerdictKind.IMPERSONATION,
)

# The demo exchange's registry (kefu.channels.demo), as canonical values.
KEFU = (
    OfficialEntry(K.DOMAIN, "kefu.localhost", "Website", "官方网站"),
    OfficialEntry(K.EMAIL, "support@kefu.localhost", "Support email", "客服邮箱"),
    OfficialEntry(K.EMAIL, "security@kefu.localhost", "Security team"),
    OfficialEntry(K.TELEGRAM, "kefusupport", "Telegram"),
    OfficialEntry(K.X, "kefusupport", "X (Twitter)"),
    OfficialEntry(K.FACEBOOK, "kefusupport", "Facebook"),
    OfficialEntry(K.PHONE, "+6561234567", "Singapore hotline"),
    OfficialEntry(K.PHONE, "+85221234567", "Deposits & withdrawals line"),
)
# A registry on a real public suffix, with a three-letter brand.
OKX = (
    OfficialEntry(K.DOMAIN, "okx.io", "Website"),
    OfficialEntry(K.TELEGRAM, "okx", "Telegram"),
    OfficialEntry(K.X, "okxsupport", "X"),
)

# (value, verdict, read as, matched official value, reasons)
KEFU_TABLE = [
    # official: exact, any spelling of it, and names under the official domain
    ("kefu.localhost", OFFICIAL, "domain", "kefu.localhost", [R.EXACT_MATCH]),
    ("HTTPS://Kefu.Localhost:8443/login?next=/x#top", OFFICIAL, "domain", "kefu.localhost", [R.EXACT_MATCH]),
    ("ｋｅｆｕ.localhost", OFFICIAL, "domain", "kefu.localhost", [R.EXACT_MATCH]),  # browsers map it so
    ("https://help.kefu.localhost/articles", OFFICIAL, "domain", "kefu.localhost", [R.SUBDOMAIN_OF_OFFICIAL]),
    ("a.b.help.kefu.localhost", OFFICIAL, "domain", "kefu.localhost", [R.SUBDOMAIN_OF_OFFICIAL]),
    # WHATWG: a backslash ends the host, so this opens kefu.localhost
    ("https://kefu.localhost\\@evil.example/", OFFICIAL, "domain", "kefu.localhost", [R.EXACT_MATCH]),
    ("support@kefu.localhost", OFFICIAL, "email", "support@kefu.localhost", [R.EXACT_MATCH]),
    (
        "mailto:Security@Kefu.Localhost?subject=hi",
        OFFICIAL,
        "email",
        "security@kefu.localhost",
        [R.EXACT_MATCH],
    ),
    ("Kefu <support@kefu.localhost>", OFFICIAL, "email", "support@kefu.localhost", [R.EXACT_MATCH]),
    ("noreply@kefu.localhost", OFFICIAL, "email", "support@kefu.localhost", [R.OFFICIAL_EMAIL_DOMAIN]),
    ("+65 6123 4567", OFFICIAL, "phone", "+6561234567", [R.EXACT_MATCH]),
    ("0065-6123-4567", OFFICIAL, "phone", "+6561234567", [R.EXACT_MATCH]),
    ("(+65) 6123 4567", OFFICIAL, "phone", "+6561234567", [R.EXACT_MATCH]),
    ("tel:+852 2123 4567", OFFICIAL, "phone", "+85221234567", [R.EXACT_MATCH]),
    ("＋６５ ６１２３ ４５６７", OFFICIAL, "phone", "+6561234567", [R.EXACT_MATCH]),
    ("6123 4567", OFFICIAL, "phone", "+6561234567", [R.EXACT_MATCH]),  # national: read in SG
    ("@KefuSupport", OFFICIAL, "telegram", "kefusupport", [R.EXACT_MATCH]),
    ("https://t.me/KefuSupport", OFFICIAL, "telegram", "kefusupport", [R.EXACT_MATCH]),
    ("telegram.me/s/kefusupport", OFFICIAL, "telegram", "kefusupport", [R.EXACT_MATCH]),
    ("tg://resolve?domain=KefuSupport", OFFICIAL, "telegram", "kefusupport", [R.EXACT_MATCH]),
    ("https://twitter.com/KefuSupport/status/1", OFFICIAL, "x", "kefusupport", [R.EXACT_MATCH]),
    ("x.com/kefusupport", OFFICIAL, "x", "kefusupport", [R.EXACT_MATCH]),
    ("https://www.facebook.com/KefuSupport", OFFICIAL, "facebook", "kefusupport", [R.EXACT_MATCH]),
    ("m.me/kefusupport", OFFICIAL, "facebook", "kefusupport", [R.EXACT_MATCH]),
    # impersonation: IDN homographs, brand inside other names, typos
    ("kеfu.localhost", IMPERSONATION, "domain", "kefu.localhost", [R.CONFUSABLE_OF]),  # Cyrillic е
    ("https://xn--kfu-rdd.localhost/", IMPERSONATION, "domain", "kefu.localhost", [R.CONFUSABLE_OF]),
    ("kefu-support.com", IMPERSONATION, "domain", "kefu.localhost", [R.BRAND_IN_DOMAIN]),
    (
        "https://kefu.localhost.login-check.io/x",
        IMPERSONATION,
        "domain",
        "kefu.localhost",
        [R.BRAND_IN_DOMAIN],
    ),
    ("kefuhelpcenter.net", IMPERSONATION, "domain", "kefu.localhost", [R.BRAND_IN_DOMAIN]),
    ("my-kefu-wallet.app", IMPERSONATION, "domain", "kefu.localhost", [R.BRAND_IN_DOMAIN]),
    ("kеfu-login.com", IMPERSONATION, "domain", "kefu.localhost", [R.BRAND_IN_DOMAIN, R.CONFUSABLE_OF]),
    ("kefu.com", IMPERSONATION, "domain", "kefu.localhost", [R.TLD_SWAP]),
    ("www.kefu.co.uk/login", IMPERSONATION, "domain", "kefu.localhost", [R.TLD_SWAP]),
    ("kefu.github.io", IMPERSONATION, "domain", "kefu.localhost", [R.TLD_SWAP]),  # anyone's GitHub page
    ("kefo.com", IMPERSONATION, "domain", "kefu.localhost", [R.EDIT_DISTANCE]),
    ("kfeu.localhost", IMPERSONATION, "domain", "kefu.localhost", [R.EDIT_DISTANCE]),
    (
        "https://kefu.localhost@evil.example/",
        IMPERSONATION,
        "domain",
        "kefu.localhost",
        [R.DECEPTIVE_USERINFO],
    ),
    ("support@kefu-help.com", IMPERSONATION, "email", "support@kefu.localhost", [R.BRAND_IN_DOMAIN]),
    ("support@kеfu.localhost", IMPERSONATION, "email", "support@kefu.localhost", [R.CONFUSABLE_OF]),
    ("support@kefu.com", IMPERSONATION, "email", "support@kefu.localhost", [R.TLD_SWAP]),
    (
        "Kefu Support <help@kefu-desk.net>",
        IMPERSONATION,
        "email",
        "support@kefu.localhost",
        [R.BRAND_IN_DOMAIN],
    ),
    ("kefu.support@gmail.com", IMPERSONATION, "email", "support@kefu.localhost", [R.BRAND_IN_ADDRESS]),
    ("@kefu_support", IMPERSONATION, "handle", "kefusupport", [R.LOOKALIKE_HANDLE]),
    ("https://t.me/kefu_support", IMPERSONATION, "telegram", "kefusupport", [R.LOOKALIKE_HANDLE]),
    ("facebook.com/kefu.support", IMPERSONATION, "facebook", "kefusupport", [R.LOOKALIKE_HANDLE]),
    ("x.com/kefusupp0rt", IMPERSONATION, "x", "kefusupport", [R.CONFUSABLE_OF]),
    ("fb.com/kеfusupport", IMPERSONATION, "facebook", "kefusupport", [R.CONFUSABLE_OF]),
    ("@kefusuport", IMPERSONATION, "handle", "kefusupport", [R.LOOKALIKE_HANDLE, R.EDIT_DISTANCE]),
    ("t.me/kefu_helpdesk", IMPERSONATION, "telegram", "kefusupport", [R.BRAND_IN_HANDLE]),
    ("@real_kefu", IMPERSONATION, "handle", "kefusupport", [R.BRAND_IN_HANDLE]),
    # not official, and nothing like us
    ("google.com", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("https://www.binance.com/en/support", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("bikefurniture.com", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),  # "kefu" across two words
    ("makefun.org", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("help@google.com", NOT_OFFICIAL, "email", None, [R.UNKNOWN]),
    ("john.smith@gmail.com", NOT_OFFICIAL, "email", None, [R.UNKNOWN]),
    ("+65 6123 4568", NOT_OFFICIAL, "phone", None, [R.UNKNOWN]),
    ("+44 20 7946 0000", NOT_OFFICIAL, "phone", None, [R.UNKNOWN]),
    ("@binance", NOT_OFFICIAL, "handle", None, [R.UNKNOWN]),
    ("https://t.me/durov", NOT_OFFICIAL, "telegram", None, [R.UNKNOWN]),
    ("http://203.0.113.7/login", NOT_OFFICIAL, "domain", None, [R.IP_ADDRESS]),
    ("http://[2001:db8::1]/", NOT_OFFICIAL, "domain", None, [R.IP_ADDRESS]),
    ("http://2130706433/", NOT_OFFICIAL, "domain", None, [R.IP_ADDRESS]),
    ("https://t.me/+AbCdEfGhIj", NOT_OFFICIAL, "telegram", None, [R.NOT_AN_ACCOUNT]),
    ("t.me/joinchat/AbCdEf", NOT_OFFICIAL, "telegram", None, [R.NOT_AN_ACCOUNT]),
    # unreadable
    ("", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("   ", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("<script>alert(1)</script>", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("javascript:alert(1)", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("data:text/html,<b>x</b>", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("ftp://kefu.localhost/", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("kefu.localhost\r\nSet-Cookie: x=1", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("kefu\u202e.localhost", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),  # bidi override
    ("http://[::1", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("@@@", NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
    ("a" * (MAX_VALUE_LENGTH + 1), NOT_OFFICIAL, None, None, [R.UNRECOGNISED]),
]

OKX_TABLE = [
    ("okx.io", OFFICIAL, "domain", "okx.io", [R.EXACT_MATCH]),
    ("www.okx.io", OFFICIAL, "domain", "okx.io", [R.SUBDOMAIN_OF_OFFICIAL]),
    ("okx.com", IMPERSONATION, "domain", "okx.io", [R.TLD_SWAP]),
    ("0kx.io", IMPERSONATION, "domain", "okx.io", [R.CONFUSABLE_OF]),
    ("0kx.com", IMPERSONATION, "domain", "okx.io", [R.CONFUSABLE_OF, R.TLD_SWAP]),
    ("okx-support.com", IMPERSONATION, "domain", "okx.io", [R.BRAND_IN_DOMAIN]),
    ("okx.com.login-check.io", IMPERSONATION, "domain", "okx.io", [R.BRAND_IN_DOMAIN]),
    ("okxhelp.net", IMPERSONATION, "domain", "okx.io", [R.BRAND_IN_DOMAIN]),
    ("@0kx", IMPERSONATION, "handle", "okx", [R.CONFUSABLE_OF]),
    ("t.me/okx_support", IMPERSONATION, "telegram", "okxsupport", [R.LOOKALIKE_HANDLE]),
    ("t.me/okxsupport", IMPERSONATION, "telegram", "okxsupport", [R.OTHER_PLATFORM]),
    ("x.com/okx", IMPERSONATION, "x", "okx", [R.OTHER_PLATFORM]),
    # a three-letter brand needs to stand alone or next to service words
    ("rockx.com", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("okb.com", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("binance.com", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("google.com", NOT_OFFICIAL, "domain", None, [R.UNKNOWN]),
    ("@smokxy", NOT_OFFICIAL, "handle", None, [R.UNKNOWN]),
]


def _check(registry: tuple[OfficialEntry, ...], row: tuple[object, ...]) -> None:
    value, verdict, kind, matched, reasons = row
    assert isinstance(value, str)
    answer = classify(value, registry)
    got = (
        answer.verdict,
        answer.kind,
        answer.matched.value if answer.matched else None,
        list(answer.reasons),
    )
    assert got == (verdict, kind, matched, reasons), value


@pytest.mark.parametrize("row", KEFU_TABLE, ids=[repr(r[0])[:60] for r in KEFU_TABLE])
def test_kefu_registry(row: tuple[object, ...]) -> None:
    _check(KEFU, row)


@pytest.mark.parametrize("row", OKX_TABLE, ids=[repr(r[0]) for r in OKX_TABLE])
def test_a_three_letter_brand_on_a_real_suffix(row: tuple[object, ...]) -> None:
    _check(OKX, row)


def test_other_platform_is_only_when_we_lack_the_account_there() -> None:
    telegram_only = (OfficialEntry(K.TELEGRAM, "kefusupport", "Telegram"),)
    answer = classify("https://x.com/KefuSupport", telegram_only)
    assert (answer.verdict, answer.kind, list(answer.reasons)) == (IMPERSONATION, "x", [R.OTHER_PLATFORM])
    assert answer.matched == telegram_only[0]
    # The bare @name is a name on any platform: ours.
    assert classify("@kefusupport", telegram_only).verdict == OFFICIAL


def test_a_subdomain_listed_alone_makes_its_registrable_domain_ours() -> None:
    registry = (OfficialEntry(K.DOMAIN, "help.kefu.io", "Help"),)
    assert list(classify("kefu.io", registry).reasons) == [R.SUBDOMAIN_OF_OFFICIAL]
    assert list(classify("www.kefu.io", registry).reasons) == [R.SUBDOMAIN_OF_OFFICIAL]
    assert list(classify("help.kefu.com", registry).reasons) == [R.TLD_SWAP]


def test_handle_brands_protect_registries_without_a_domain() -> None:
    handles = (OfficialEntry(K.TELEGRAM, "kefusupport", "Telegram"),)
    answer = classify("kefu-verify.com", handles)
    assert (answer.verdict, list(answer.reasons)) == (IMPERSONATION, [R.BRAND_IN_DOMAIN])
    assert answer.matched == handles[0]
    # Service words are never a brand: a registry with @support does not flag every help desk.
    generic = (OfficialEntry(K.X, "support", "X"),)
    assert classify("support-desk.com", generic).verdict == NOT_OFFICIAL


def test_empty_registry_knows_nothing() -> None:
    for value in ("kefu.localhost", "@kefusupport", "+65 6123 4567", "a@b.example"):
        answer = classify(value, ())
        assert (answer.verdict, answer.matched, list(answer.reasons)) == (NOT_OFFICIAL, None, [R.UNKNOWN])


def test_idn_answers_show_the_real_address_and_how_it_displays() -> None:
    answer = classify("https://kеfu.localhost/login", KEFU)
    assert answer.canonical == "xn--kfu-rdd.localhost"
    assert answer.unicode == "kеfu.localhost"
    assert answer.value == "https://kеfu.localhost/login"
    email = classify("support@kеfu.localhost", KEFU)
    assert (email.canonical, email.unicode) == ("support@xn--kfu-rdd.localhost", "support@kеfu.localhost")


def test_registry_rows_work_as_they_come_from_the_database() -> None:
    rows = [
        OfficialChannel(kind=K.DOMAIN, value="kefu.localhost", label="Website", label_zh=None),
        OfficialChannel(kind=K.TELEGRAM, value="kefusupport", label="Telegram", label_zh="电报"),
    ]
    assert classify("kefu.localhost", rows).verdict == OFFICIAL
    answer = classify("t.me/kefu_support", rows)
    assert answer.matched == OfficialEntry(K.TELEGRAM, "kefusupport", "Telegram", "电报")


def test_skeletons_fold_the_curated_homoglyphs() -> None:
    assert skeleton("kеfu") == skeleton("kefu") == skeleton("ＫＥＦＵ") == skeleton("kéfu") == "kefu"
    assert skeleton("0kx") == skeleton("okx")
    assert skeleton("rnodern") == skeleton("modern")
    assert skeleton("vvallet") == skeleton("wallet")
    assert skeleton("аррӏе") == skeleton("apple")  # Cyrillic а, р, р, ӏ, е
    assert skeleton("ԁ") == skeleton("d")  # a prototype that is itself mapped stays consistent
    assert is_confusable("раypal", "paypal")
    assert not is_confusable("kefu", "kefu")
    assert not is_confusable("kefu", "keto")


def test_links_in_an_agent_reply() -> None:
    text = (
        "Hi! Please use https://help.kefu.localhost/articles/1, not https://kefu-help.com/login.\n"
        "Our Telegram is (t.me/KefuSupport); ignore t.me/kefu_support and "
        "mail support@kefu.localhost. 请访问kеfu.localhost。Docs: main.py v1.2 e.g. 3.14 "
        "https://kefu-help.com/login again, www.google.com"
    )
    found = [(v.value, v.verdict) for v in check_links(text, KEFU)]
    assert found == [
        ("https://help.kefu.localhost/articles/1", OFFICIAL),
        ("https://kefu-help.com/login", IMPERSONATION),
        ("t.me/KefuSupport", OFFICIAL),
        ("t.me/kefu_support", IMPERSONATION),
        ("support@kefu.localhost", OFFICIAL),
        ("kеfu.localhost", IMPERSONATION),
        ("main.py", NOT_OFFICIAL),  # .py is Paraguay's domain: a bare name under it is a domain
        ("www.google.com", NOT_OFFICIAL),
    ]
    assert check_links("no links here, just words. 没有链接。", KEFU) == []


def test_links_are_bounded() -> None:
    many = " ".join(f"https://site{i}.example.com/" for i in range(100))
    assert len(check_links(many, KEFU)) == 20
    started = time.perf_counter()
    check_links("a" * 200_000 + " kefu-help.com " + "@" * 100_000, KEFU)
    check_links("x." * 100_000, KEFU)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_an_answer(text: str) -> None:
    answer = classify(text, KEFU)
    assert answer.verdict in set(VerdictKind)
    assert answer.reasons
    if answer.verdict == IMPERSONATION:
        assert answer.matched is not None
    check_links(text, KEFU)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"(https?://)?[a-z0-9\-.@:/\\%\[\]]{1,60}", fullmatch=True))
def test_url_shaped_text_gets_an_answer(text: str) -> None:
    assert classify(text, KEFU).reasons


def test_pathological_inputs_are_quick() -> None:
    started = time.perf_counter()
    for value in (
        "1" * MAX_VALUE_LENGTH,
        "a." * (MAX_VALUE_LENGTH // 2),
        "https://" + "a" * 2000,
        "@" + "_" * 2000,
        "(" * 2048,
        "k" + "е" * 2000 + ".com",
    ):
        classify(value, KEFU)
    assert time.perf_counter() - started < 2.0


# --- verify() against storage -------------------------------------------------------------------


async def test_verify_reads_the_registry(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        await load_demo_channels(session)
    async with db.sessionmaker() as session:
        answer = await verify(session, "https://t.me/KefuSupport")
        assert (answer.verdict, answer.kind) == (OFFICIAL, "telegram")
        assert answer.matched == OfficialEntry(K.TELEGRAM, "kefusupport", "Telegram", "Telegram")
        assert (await verify(session, "+44 20 7946 0000")).verdict == OFFICIAL
        assert (await verify(session, "kеfu.localhost")).verdict == IMPERSONATION
        links = await verify_links(session, "see kefu-support.com")
        assert [v.verdict for v in links] == [IMPERSONATION]


async def test_changes_reach_verify_once_the_cache_is_told(db: Database) -> None:
    async with db.sessionmaker() as session:
        assert (await verify(session, "@kefusupport")).verdict == NOT_OFFICIAL  # now cached
    async with transaction(db.sessionmaker) as session:
        channel = await do_create_channel(session, None, ChannelIn(kind=K.TELEGRAM, value="@KefuSupport"))
        forget_registry_after_commit(session)
        channel_id = channel.id
    async with db.sessionmaker() as session:
        assert (await verify(session, "@kefusupport")).verdict == OFFICIAL
    async with transaction(db.sessionmaker) as session:
        await do_delete_channel(session, None, channel_id)
        forget_registry_after_commit(session)
    async with db.sessionmaker() as session:
        assert (await verify(session, "@kefusupport")).verdict == NOT_OFFICIAL
