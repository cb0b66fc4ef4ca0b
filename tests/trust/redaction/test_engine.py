"""The public interface: placeholders, merged findings with original offsets, and hostile input."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest

from kefu.trust.redaction import Finding, Redaction, Redactor, SecretKind, placeholder, redact
from kefu.trust.redaction.kinds import merge
from tests.trust.redaction import secrets_gen as g


def test_placeholders_are_english_and_distinct_where_it_matters() -> None:
    assert placeholder(SecretKind.SEED_PHRASE) == "[redacted: seed phrase]"
    assert placeholder(SecretKind.PRIVATE_KEY) == "[redacted: private key]"
    assert placeholder(SecretKind.PASSWORD) == "[redacted: password]"
    assert placeholder(SecretKind.VERIFICATION_CODE) == "[redacted: verification code]"
    assert placeholder(SecretKind.CARD_NUMBER) == "[redacted: card number]"
    for kind in SecretKind:
        assert placeholder(kind).startswith("[redacted: ")
        assert placeholder(kind).isascii()


def test_kind_values_are_stable() -> None:
    assert [k.value for k in SecretKind] == [
        "seed_phrase", "private_key", "wif_key", "extended_private_key", "keystore", "api_secret",
        "password", "verification_code", "card_number",
    ]  # fmt: skip


def test_findings_point_into_the_original_text() -> None:
    phrase, wif = g.mnemonic(1), g.wif(1)
    text = f"😀 my password is hunter2, seed {phrase}\n验证码：123456 and {wif}"
    result = redact(text)
    assert isinstance(result, Redaction)
    assert result.changed
    spans = [(f.kind, text[f.start : f.end]) for f in result.findings]
    assert spans == [
        (SecretKind.PASSWORD, "hunter2"),
        (SecretKind.SEED_PHRASE, phrase),
        (SecretKind.VERIFICATION_CODE, "123456"),
        (SecretKind.WIF_KEY, wif),
    ]
    assert result.text == (
        "😀 my password is [redacted: password], seed [redacted: seed phrase]\n"
        "验证码：[redacted: verification code] and [redacted: private key]"
    )
    starts = [f.start for f in result.findings]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(result.findings, result.findings[1:], strict=False))


def test_nothing_found() -> None:
    for text in ("", "a", "hello", "你好"):
        result = redact(text)
        assert result == Redaction(text, ())
        assert not result.changed


def test_results_are_frozen() -> None:
    finding = Finding(SecretKind.PASSWORD, 1, 2, certain=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.start = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        redact("x").text = "y"  # type: ignore[misc]


def test_overlaps_merge_into_the_union_named_by_the_strongest() -> None:
    likely_long = Finding(SecretKind.API_SECRET, 10, 40, certain=False)
    certain_short = Finding(SecretKind.WIF_KEY, 20, 30, certain=True)
    touching = Finding(SecretKind.PASSWORD, 40, 45, certain=False)
    separate = Finding(SecretKind.VERIFICATION_CODE, 50, 56, certain=False)
    chained = Finding(SecretKind.CARD_NUMBER, 35, 42, certain=False)
    assert merge([separate, likely_long, certain_short]) == (
        Finding(SecretKind.WIF_KEY, 10, 40, certain=True),
        separate,
    )
    assert merge([likely_long, touching]) == (likely_long, touching)
    # A chain of overlaps is one finding; equal strength falls back to length, then kind priority.
    assert merge([likely_long, chained, touching]) == (Finding(SecretKind.API_SECRET, 10, 45, certain=False),)
    same = Finding(SecretKind.PASSWORD, 0, 5, certain=False)
    assert (
        merge([same, Finding(SecretKind.PRIVATE_KEY, 0, 5, certain=False)])[0].kind is SecretKind.PRIVATE_KEY
    )
    assert merge([Finding(SecretKind.PASSWORD, 3, 3, certain=True)]) == ()


def test_a_redactor_is_reusable_and_the_module_default_matches() -> None:
    redactor = Redactor()
    text = f"private key {g.hex32('k', 1)}"
    assert redactor.redact(text) == redactor.redact(text) == redact(text)
    assert redactor.find(text) == redact(text).findings


@pytest.mark.parametrize(
    "text",
    [
        "\x00password: hunter22\x00",
        "\u202epassword: hunter22\u202c",
        "password:\u00a0hunter22",
    ],
)
def test_control_and_bidi_characters(text: str) -> None:
    assert "hunter22" not in redact(text).text


def test_nul_emoji_rtl_and_fullwidth_do_not_confuse_offsets() -> None:
    text = "\x00😀\u200f验证码：１２３４５６\u200e😀 الرمز 123"
    result = redact(text)
    (finding,) = result.findings
    assert text[finding.start : finding.end] == "１２３４５６"
    assert result.text == "\x00😀\u200f验证码：[redacted: verification code]\u200e😀 الرمز 123"


def test_turkish_dotted_i_keeps_offsets() -> None:
    # "İ".lower() is two characters; the cue search must not shift the offsets.
    text = "İİİİ password: hunter22 İ"
    assert redact(text).text == "İİİİ password: [redacted: password] İ"


MB = 1_000_000
_TX = g.hex32("tx", 9)
_HOSTILE: dict[str, Callable[[], str]] = {
    "one word": lambda: "abandon " * (MB // 8),
    "words and typos": lambda: " ".join(
        ("zzzzzz", "abandon", "abandn", "qqqqqq")[i % 4] for i in range(MB // 7)
    ),
    "runs of 30 list words": lambda: ("abandon " * 30 + "I ") * (MB // 242),
    "runs of 48 list words": lambda: ("abandon " * 48 + "I ") * (MB // 386),
    "spaced runs of 30": lambda: ("的 " * 30 + "我们 ") * (MB // 63),
    "wordlist characters": lambda: "的一是在不了有和人这中大" * (MB // 12),
    "spaced characters": lambda: "的 一 是 在 " * (MB // 8),
    "twelve-character runs": lambda: "敲艇稿受体鸭类培爷负拟帮，" * (MB // 13),
    "crypto objects": lambda: '{"crypto": {' * (MB // 12),
    "unclosed keystore": lambda: '{"crypto": {"ciphertext": "' + "a" * MB,
    "keys": lambda: f"private key 0x{_TX} " * (MB // 80),
    "hex": lambda: "a" * MB,
    "base58": lambda: (g.wif(1)[:-1] + "x ") * (MB // 53),
    "card-like": lambda: "4111111111111111, " * (MB // 18),
    "digits": lambda: "1" * MB,
    "grouped digits": lambda: "4111 " * (MB // 5),
    "passwords": lambda: "password: hunter22 " * (MB // 19),
    "cues without values": lambda: "password is 验证码 secret key: 2FA code " * (MB // 40),
    "separators": lambda: "abandon" + " ,.-" * (MB // 4),
    "nul and emoji": lambda: "\x00\u200f😀１２３４５６ " * (MB // 10),
    "spaces": lambda: " " * MB,
}


@pytest.mark.parametrize("name", list(_HOSTILE))
def test_a_megabyte_of_hostile_text_finishes_in_seconds(name: str) -> None:
    text = _HOSTILE[name]()
    started = time.perf_counter()
    result = redact(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"{name}: {elapsed:.1f}s"
    assert len(result.text) >= len(text) // 4 or result.changed


def test_a_phrase_after_a_flood_of_candidate_runs_is_still_redacted() -> None:
    # Checksums per text are bounded; past the bound a phrase is still redacted, as likely.
    flood = ("的 " * 30 + "我们 ") * 4000
    phrase = g.mnemonic(11)
    result = redact(f"{flood}\nmy words: {phrase}")
    last = result.findings[-1]
    assert last.kind is SecretKind.SEED_PHRASE
    assert result.text.endswith(f"my words: {placeholder(SecretKind.SEED_PHRASE)}")
