"""Pure ranking pieces: the full-text probe leaves out only concepts that cannot make an answer;
the parsed-document cache is checked against the document's version."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.errors import InvalidInput
from kefu.search.doccache import DocumentCache
from kefu.search.ranking import (
    NO_ANSWER_THRESHOLD,
    PROBE_SHARE,
    PROXIMITY_BONUS,
    Candidate,
    Concept,
    Stats,
    probe_terms,
    score_candidates,
)
from kefu.search.synonyms import check_synonym_groups

STATS = Stats(
    docs=1000,
    avg_length={"title": 4.0, "tags": 2.0, "body": 100.0},
    df={"account": 900, "help": 700, "usdt": 300, "trc20": 12, "memo": 5},
)


def _concept(*terms: str) -> Concept:
    return Concept(frozenset(terms), 1.0, terms[0])


def test_probe_drops_common_concepts_only_while_they_cannot_answer() -> None:
    concepts = [_concept(t) for t in ("account", "help", "usdt", "trc20", "memo", "unknownword")]
    probe = probe_terms(concepts, STATS)
    assert {"trc20", "memo"} <= set(probe)
    assert "account" not in probe
    assert "unknownword" not in probe  # matches nothing anyway
    # A document holding every left-out term, many times, still scores under the threshold.
    left_out = [t for c in concepts for t in c.terms if t not in probe and t in STATS.df]
    doc = Candidate.parse("d", " ".join(left_out), " ".join(left_out), " ".join(left_out * 20))
    [(_, score)] = score_candidates(concepts, [doc], STATS)
    assert score < PROBE_SHARE * (1 + PROXIMITY_BONUS) < NO_ANSWER_THRESHOLD


def test_probe_keeps_the_rarest_concept_of_a_common_query() -> None:
    assert probe_terms([_concept("account"), _concept("trc20")], STATS) == ["trc20"]
    assert probe_terms([_concept("account"), _concept("help")], STATS) == ["account", "help"]
    assert probe_terms([_concept("account")], STATS) == ["account"]
    assert probe_terms([_concept("nothing")], STATS) == []


def test_document_cache_checks_versions_and_evicts_oldest() -> None:
    cache = DocumentCache(max_documents=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    doc = Candidate.parse("x", "a", "", "b c")
    cache.put(first, "v1", doc)
    assert cache.get(first, "v1") is doc
    assert cache.get(first, "v2") is None  # re-indexed elsewhere: read again
    cache.put(second, "v1", doc)
    assert cache.get(first, "v1") is doc  # first is now the most recently used
    cache.put(third, "v1", doc)
    assert cache.get(second, "v1") is None
    assert len(cache) == 2
    cache.forget(first)
    assert cache.get(first, "v1") is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=45), max_size=22), max_size=4))
def test_synonym_validation_accepts_or_refuses_cleanly(groups: list[list[str]]) -> None:
    try:
        clean = check_synonym_groups(groups)
    except InvalidInput:
        return
    for group in clean:
        assert 2 <= len(group) <= 20
        assert len(set(group)) == len(group)
        assert all(1 <= len(t) <= 40 and t.isprintable() and t == t.strip() for t in group)
