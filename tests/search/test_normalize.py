"""Text normalisation: folding, segmentation, stemming (pure functions)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.search.normalize import analyze, bigrams, fold, is_chinese, strip_markdown, words


def test_fold_full_width_case_and_traditional() -> None:
    assert fold("ＵＳＤＴ　ＴＲＣ２０") == "usdt trc20"
    assert fold("帳戶被鎖定怎麼辦") == "账户被锁定怎么办"
    assert fold("網路") == "网络"


def test_chinese_segmentation_keeps_domain_words_and_ascii_terms() -> None:
    terms = analyze("USDT-TRC20提幣沒到賬，谷歌驗證器丟了怎麼辦")
    assert {"usdt", "trc20", "提币", "谷歌验证器"} <= set(terms)
    assert "怎么办" not in terms
    assert "了" not in terms


def test_english_stemming_and_stopwords() -> None:
    assert analyze("Withdrawals are PENDING for hours") == ["withdraw", "pend", "hour"]
    assert analyze("the of and") == []


def test_bigrams_and_language_guess() -> None:
    assert bigrams(fold("提幣 ok 額度")) == ["提币", "额度"]
    assert is_chinese("kyc 审核")
    assert not is_chinese("kyc review")


def test_strip_markdown() -> None:
    text = strip_markdown("## Title\n\n1. **Bold** [link](http://x) | a | b |\n|---|---|\n```code```")
    assert "Title" in text
    assert "Bold" in text
    assert "link" in text
    assert "**" not in text
    assert "http" not in text
    assert "code" not in text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_terms_are_safe_index_tokens(text: str) -> None:
    for term in words(fold(text)):
        assert term.isalnum(), term
