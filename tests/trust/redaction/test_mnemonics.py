"""Seed phrases: every length, layout and case; typos; and ordinary prose in both languages untouched."""

from __future__ import annotations

import pytest

from kefu.trust.redaction import Finding, SecretKind, placeholder, redact
from tests.trust.redaction import secrets_gen as g

SEED = placeholder(SecretKind.SEED_PHRASE)


def only(text: str) -> Finding:
    """The single finding in `text`, which must be a seed phrase."""
    findings = redact(text).findings
    assert len(findings) == 1, findings
    assert findings[0].kind is SecretKind.SEED_PHRASE
    return findings[0]


@pytest.mark.parametrize("words", [12, 15, 18, 21, 24])
@pytest.mark.parametrize("language", ["english", "chinese_simplified", "chinese_traditional"])
def test_every_length_is_certain(words: int, language: str) -> None:
    phrase = g.mnemonic(words, words, language)
    text = f"wallet: {phrase} !"
    finding = only(text)
    assert finding.certain
    assert text[finding.start : finding.end] == phrase


@pytest.mark.parametrize(
    "layout",
    [
        lambda w: " ".join(w).upper(),
        lambda w: " ".join(x.title() for x in w),
        lambda w: "\n".join(w),
        lambda w: ", ".join(w),
        lambda w: ",".join(w),
        lambda w: " ".join(f"{i}. {x}" for i, x in enumerate(w, 1))[3:],
        lambda w: "\n".join(f"{i}) {x}" for i, x in enumerate(w, 1))[3:],
        lambda w: "\n".join(" ".join(w[i : i + 4]) for i in range(0, 12, 4)),
        lambda w: "  ".join(w),
        lambda w: "\u200b".join(w),  # zero-width spaces between words
        lambda w: " \u200f".join(w),  # right-to-left marks
    ],
)
def test_english_layouts(layout: object) -> None:
    phrase = layout(g.mnemonic(1).split())  # type: ignore[operator]
    text = f"my words {phrase}\nthanks"
    finding = only(text)
    assert finding.certain
    assert text[finding.start : finding.end] == phrase
    assert redact(text).text == f"my words {SEED}\nthanks"


def test_label_words_that_are_list_words_stay() -> None:
    phrase = g.mnemonic(2)
    assert redact(f"seed phrase: {phrase}").text == f"seed phrase: {SEED}"
    # "seed", "phrase" and "please" are BIP-39 words too. The longest checksum-valid window wins, which
    # may take a neighbouring list word along (never fewer than the phrase's own words).
    redacted = redact(f"I typed seed phrase {phrase} please help").text
    assert redacted.startswith("I typed ")
    assert redacted.endswith(" help")
    assert SEED in redacted
    assert not any(word in redacted.split() for word in phrase.split())


def test_a_typo_is_still_a_likely_phrase() -> None:
    words = g.mnemonic(3).split()
    words[6] = words[6][:-1] + ("q" if words[6][-1] != "q" else "z")
    phrase = " ".join(words)
    finding = only(f"Import fails: {phrase}")
    assert not finding.certain
    assert f"Import fails: {phrase}"[finding.start : finding.end] == phrase


def test_a_wrong_but_listed_word_is_a_likely_phrase() -> None:
    words = g.mnemonic(4).split()
    words[0], words[1] = words[1], words[0]
    phrase = " ".join(words)
    if not redact(phrase).findings[0].certain:  # swapping keeps the checksum one time in sixteen
        assert redact(f"{phrase}").text == SEED


@pytest.mark.parametrize("count", [11, 6])
def test_too_few_words_are_not_a_phrase(count: int) -> None:
    words = g.mnemonic(5).split()[:count]
    assert not redact(" ".join(words)).changed


def test_two_typos_in_twelve_are_too_many() -> None:
    words = g.mnemonic(6).split()
    words[2] = "qqqqq"
    words[8] = "zzzzz"
    assert not redact(" ".join(words)).changed


def test_a_phrase_inside_a_longer_sentence() -> None:
    phrase = g.mnemonic(7, 24)
    text = f"Hi! I was told to enter {phrase} on a site and now my USDT is gone. What can I do?"
    assert (
        redact(text).text
        == f"Hi! I was told to enter {SEED} on a site and now my USDT is gone. What can I do?"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Please check again because my order about the deposit account never arrived, I have been waiting",
        "hello team please check again because order about deposit account never arrived today again sorry",
        "Hello team, please check again because order about deposit account never arrived today again sorry",
        "I have an account with you for about a year and I always deposit again and again because the fees "
        "are fine, but this month every order I place is delayed and the balance shows a wrong amount, so "
        "please review the history, check the ledger entries and tell me what happened to the missing coins.",
        "Menu: Deposit, Withdraw, Transfer, Trade, Convert, Stake, Earn, Swap, Buy, Sell, Futures, Options",
        "Please confirm again because the account balance is wrong after deposit and order cancel today",
        "Never share your seed phrase, recovery words or private key with anyone, support included.",
    ],
)
def test_english_prose_is_untouched(text: str) -> None:
    assert not redact(text).changed


def test_chinese_contiguous_phrase_needs_the_checksum() -> None:
    phrase = g.mnemonic(8, 12, "chinese_simplified").replace(" ", "")
    assert redact(phrase).text == SEED
    assert redact(f"我的助记词是{phrase}").text == f"我的助记词是{SEED}"
    assert redact(f"助記詞：{phrase}，謝謝").text == f"助記詞：{SEED}，謝謝"
    # One character changed: no checksum, and contiguous Chinese without it is ordinary text.
    broken = phrase[:-1] + ("的" if phrase[-1] != "的" else "一")
    assert not redact(broken).changed


def test_chinese_spaced_phrase_with_a_typo_is_likely() -> None:
    chars = g.mnemonic(9, 12, "chinese_simplified").split()
    chars[5] = "曌"  # not in either wordlist
    finding = only(" ".join(chars))
    assert not finding.certain


def test_chinese_traditional_and_mixed_separators() -> None:
    phrase = g.mnemonic(10, 18, "chinese_traditional")
    assert redact(f"請幫忙 {phrase.replace(' ', '、')}").text == f"請幫忙 {SEED}"
    numbered = " ".join(f"{i}.{c}" for i, c in enumerate(phrase.split(), 1))
    assert redact(f"備份：\n{numbered}").text == f"備份：\n1.{SEED}"


@pytest.mark.parametrize(
    "text",
    [
        "你好我的提现一直没有到账",  # 12 wordlist characters, exactly a phrase's length
        "我的账户被冻结了怎么办请帮我看看谢谢你们",
        "请问为什么我的提现申请被拒绝了理由是什么我需要补充哪些资料",
        "今天下午三点左右我在你们平台买了一些比特币但是到现在还没有显示在我的账户里面",
        "我的助记词丢了怎么办能不能帮我找回来呢谢谢你们的帮助",
        "帳戶被凍結了請問要怎麼解除謝謝你們的幫忙",
        "充值，提现，交易，都不能用了，怎么回事，是不是系统出问题了",
        "好的 谢谢 我 等 一下",
    ],
)
def test_chinese_prose_is_untouched(text: str) -> None:
    assert not redact(text).changed


def test_prose_made_of_wordlist_characters_rarely_passes_checksum_and_randomness() -> None:
    # Every 12-character window of a long run of frequent characters: none may be taken for a phrase.
    prose = "我们的客服会在工作时间内尽快回复您的问题请您耐心等待不要重复提交工单" * 3
    for start in range(len(prose) - 12):
        assert not redact(prose[start : start + 12]).changed, prose[start : start + 12]
