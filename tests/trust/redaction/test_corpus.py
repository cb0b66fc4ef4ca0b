"""Precision and recall over the labelled corpora, and nothing touched in ordinary help-center text."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.trust.redaction import Redactor, redact
from tests.trust.redaction import corpus_en, corpus_zh
from tests.trust.redaction.corpus_kit import load
from tests.trust.redaction.scoring import KINDS, score

LANGUAGES = ("en", "zh")
KB_CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "kb_eval" / "corpus"


@pytest.mark.parametrize("language", LANGUAGES)
def test_corpus_is_large_and_balanced(language: str) -> None:
    entries = load(language)
    groups = [e["group"] for e in entries]
    assert len(entries) >= 150
    assert groups.count("secret") >= 50
    assert groups.count("must_not_touch") >= 40
    assert groups.count("ordinary") >= 40
    kinds = {s["kind"] for e in entries for s in e["secrets"]}  # type: ignore[attr-defined]
    assert kinds == set(KINDS)


@pytest.mark.parametrize(("language", "build"), [("en", corpus_en.build), ("zh", corpus_zh.build)])
def test_stored_corpus_matches_its_generator(language: str, build: object) -> None:
    # The files are data under review; make_corpus.py must reproduce them exactly.
    assert build().entries == load(language)  # type: ignore[operator]


@pytest.mark.parametrize("language", LANGUAGES)
def test_precision_and_recall(language: str) -> None:
    result = score(load(language), Redactor())
    table = "\n".join(
        f"{kind:<22} n={result.support(kind):>3} P={result.precision(kind):.3f} R={result.recall(kind):.3f}"
        for kind in KINDS
    )
    details = table + "\n" + "\n".join(result.errors)
    assert result.recall() >= 0.95, details
    assert result.precision() >= 0.98, details
    for kind in KINDS:
        assert result.recall(kind) >= 0.9, details


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_support_needs_is_touched(language: str) -> None:
    for entry in load(language):
        if entry["group"] == "secret":
            continue
        redaction = redact(str(entry["text"]))
        assert redaction.findings == (), (entry["id"], entry["text"], redaction.text)
        assert redaction.text == entry["text"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_labelled_secrets_disappear_and_the_rest_stays(language: str) -> None:
    for entry in load(language):
        text = str(entry["text"])
        redaction = redact(text)
        for secret in entry["secrets"]:  # type: ignore[attr-defined]
            known_miss = str(entry.get("note", "")).startswith("known miss")
            assert (secret["value"] in redaction.text) is known_miss, entry["id"]
        # Outside the findings every character is kept.
        cursor = 0
        for finding in redaction.findings:
            assert text[cursor : finding.start] in redaction.text
            cursor = finding.end
        assert redaction.text.endswith(text[cursor:])


@pytest.mark.parametrize("language", LANGUAGES)
def test_redacting_twice_changes_nothing_more(language: str) -> None:
    for entry in load(language):
        once = redact(str(entry["text"])).text
        assert redact(once).text == once, entry["id"]


def test_help_center_articles_are_untouched() -> None:
    # 124 real-looking help-center articles (en and zh-CN) about passwords, 2FA, deposits, keys …
    paths = sorted(KB_CORPUS.rglob("*.md"))
    assert len(paths) > 100
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert redact(text).findings == (), path.name
