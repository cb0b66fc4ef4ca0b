"""Ranking shared by every backend: BM25F over concepts, proximity bonus and a 0..1 calibrated score.

The database only finds candidates; this module scores them from the stored terms and the stored
document frequencies, so SQLite and PostgreSQL return the same scores for the same documents.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from kefu.search.normalize import is_chinese

# Field weights and length normalisation (BM25F); titles and tags say what an article is about.
FIELD_NAMES: Final = ("title", "tags", "body")
FIELD_WEIGHTS: Final = {"title": 3.0, "tags": 2.5, "body": 0.7}
FIELD_B: Final = {"title": 0.3, "tags": 0.3, "body": 0.75}
K1: Final = 3.0  # high: a term repeated in the body keeps adding, titles still dominate
SYNONYM_WEIGHT: Final = 0.9  # a concept reached only through a synonym or spelling fix
FUZZY_WEIGHT: Final = 0.7
UNKNOWN_WEIGHT: Final = 0.35  # terms absent from every article still count against confidence
PROXIMITY_BONUS: Final = 0.15
NO_ANSWER_THRESHOLD: Final = 0.28  # chosen on dev: rejects 7/8 negatives, answers most positives
# Concepts whose summed weight is at most this share of the query's are left out of the full-text
# probe: a document matching only them scores under PROBE_SHARE × (1 + PROXIMITY_BONUS) < threshold.
PROBE_SHARE: Final = 0.2


@dataclass(frozen=True)
class Concept:
    """One query term with its alternatives (synonyms, spelling fixes), scored as one."""

    terms: frozenset[str]
    weight: float
    source: str  # the query term it came from


@dataclass(frozen=True, slots=True)
class Candidate:
    """A document's stored terms per field, with their counts (built once, kept in `DocumentCache`)."""

    key: str
    title: tuple[str, ...]
    tags: tuple[str, ...]
    body: tuple[str, ...]
    counts: tuple[Counter[str], Counter[str], Counter[str]]

    @classmethod
    def parse(cls, key: str, title_terms: str, tag_terms: str, body_terms: str) -> Candidate:
        """A candidate from the space-separated stored terms (terms interned: documents share words)."""
        fields = tuple(
            tuple(sys.intern(t) for t in terms.split()) for terms in (title_terms, tag_terms, body_terms)
        )
        title, tags, body = fields
        return cls(key, title, tags, body, (Counter(title), Counter(tags), Counter(body)))


@dataclass(frozen=True)
class Stats:
    """Collection statistics of one locale."""

    docs: int
    avg_length: Mapping[str, float]
    df: Mapping[str, int]


def idf(df: int, docs: int) -> float:
    """BM25's idf, never negative."""
    return math.log(1.0 + (docs - df + 0.5) / (df + 0.5))


def build_concepts(
    terms: Sequence[str],
    synonyms: Sequence[frozenset[str]],
    df: Mapping[str, int],
    vocabulary: Sequence[str] = (),
) -> list[Concept]:
    """Concepts of a query: each distinct term, widened by synonyms and, when unknown, by spelling fixes."""
    concepts: list[Concept] = []
    seen: set[str] = set()
    for term in terms:
        if term in seen:
            continue
        seen.add(term)
        alternatives = {term}
        for group in synonyms:
            if term in group:
                alternatives |= group
        weight = 1.0
        if not any(df.get(t, 0) for t in alternatives) and vocabulary and not is_chinese(term):
            fixes = spelling_fixes(term, vocabulary)
            if fixes:
                alternatives |= set(fixes)
                for group in synonyms:
                    if group & set(fixes):
                        alternatives |= group
                weight = FUZZY_WEIGHT
        concepts.append(Concept(frozenset(alternatives), weight, term))
    return concepts


def spelling_fixes(term: str, vocabulary: Sequence[str]) -> list[str]:
    """Known terms within one edit (two for long words) of an unknown English term."""
    if len(term) < 3 or term.isdigit():
        return []
    limit = 1 if len(term) < 8 else 2
    found = extract(term, vocabulary, scorer=OSA.distance, score_cutoff=limit, limit=3)
    fixes = [str(choice) for choice, _, _ in found]
    if not fixes and len(term) >= 6:
        # The stemmer cuts a misspelt word differently ("verfic" vs "verif"): compare prefixes.
        prefixes = [v for v in vocabulary if len(v) >= 5 and OSA.distance(term[: len(v)], v) <= 1]
        fixes = sorted(prefixes, key=len, reverse=True)[:2]
    return fixes


def _concept_df(concept: Concept, df: Mapping[str, int]) -> int:
    return max((df.get(t, 0) for t in concept.terms), default=0)


def concept_weights(concepts: Sequence[Concept], stats: Stats) -> tuple[list[float], list[float], float]:
    """Each concept's weight and idf, and the best possible raw score (the calibration denominator)."""
    docs = max(stats.docs, 1)
    weights: list[float] = []
    idfs: list[float] = []
    for concept in concepts:
        concept_df = _concept_df(concept, stats.df)
        idfs.append(idf(concept_df, docs))
        weights.append(concept.weight if concept_df else concept.weight * UNKNOWN_WEIGHT)
    best = sum(w * i for w, i in zip(weights, idfs, strict=True)) or 1.0
    return weights, idfs, best


def probe_terms(concepts: Sequence[Concept], stats: Stats) -> list[str]:
    """Terms to ask the full-text index for: every concept but the commonest ones (see PROBE_SHARE).

    Common terms match most of the collection and make the candidate query slow; they still score.
    """
    weights, idfs, best = concept_weights(concepts, stats)
    known = [i for i, c in enumerate(concepts) if _concept_df(c, stats.df)]
    known.sort(key=lambda i: (idfs[i], concepts[i].source))
    dropped = 0.0
    skip: set[int] = set()
    for i in known[:-1]:  # the rarest known concept is always asked for
        share = weights[i] * idfs[i]
        if dropped + share > PROBE_SHARE * best:
            break
        dropped += share
        skip.add(i)
    terms = {t for i, c in enumerate(concepts) if i not in skip for t in c.terms if stats.df.get(t, 0)}
    return sorted(terms)


def _proximity(concepts: Sequence[Concept], wanted: Mapping[str, int], candidate: Candidate) -> float:
    """Share of adjacent query-term pairs that also stand next to each other in the title or body."""
    adjacent: set[tuple[int, int]] = set()
    for text in (candidate.title, candidate.body):
        previous = -1
        for term in text:
            current = wanted.get(term, -1)
            if previous >= 0 and current == previous + 1:
                adjacent.add((previous, current))
            previous = current
    return len(adjacent) / (len(concepts) - 1)


def score_candidates(
    concepts: Sequence[Concept], candidates: Sequence[Candidate], stats: Stats
) -> list[tuple[Candidate, float]]:
    """Each candidate with its calibrated score in 0..1, best first."""
    if not concepts or not candidates:
        return []
    weights, idfs, best = concept_weights(concepts, stats)
    field_weights = [FIELD_WEIGHTS[name] for name in FIELD_NAMES]
    field_b = [FIELD_B[name] for name in FIELD_NAMES]
    averages = [stats.avg_length.get(name) or 1.0 for name in FIELD_NAMES]
    concept_terms = [tuple(c.terms) for c in concepts]
    wanted = {t: i for i, c in enumerate(concepts) for t in c.terms}
    scored: list[tuple[Candidate, float]] = []
    for candidate in candidates:
        lengths = (len(candidate.title), len(candidate.tags), len(candidate.body))
        norms = [
            1.0 - b + b * length / avg for b, length, avg in zip(field_b, lengths, averages, strict=True)
        ]
        total = 0.0
        for terms, weight, concept_idf in zip(concept_terms, weights, idfs, strict=True):
            pseudo_tf = 0.0
            for counts, field_weight, norm in zip(candidate.counts, field_weights, norms, strict=True):
                tf = sum(counts.get(t, 0) for t in terms) if len(terms) > 1 else counts.get(terms[0], 0)
                if tf:
                    pseudo_tf += field_weight * tf / norm
            if pseudo_tf:
                total += weight * concept_idf * pseudo_tf / (K1 + pseudo_tf)
        relevance = total / best
        if relevance and len(concepts) > 1:
            relevance += PROXIMITY_BONUS * relevance * _proximity(concepts, wanted, candidate)
        scored.append((candidate, min(1.0, relevance)))
    scored.sort(key=lambda pair: (-pair[1], pair[0].key))
    return scored
