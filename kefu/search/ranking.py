"""Ranking shared by every backend: BM25F over concepts, proximity bonus and a 0..1 calibrated score.

The database only finds candidates; this module scores them from the stored terms and the stored
document frequencies, so SQLite and PostgreSQL return the same scores for the same documents.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from kefu.search.normalize import is_chinese

# Field weights and length normalisation (BM25F); titles and tags say what an article is about.
FIELD_WEIGHTS: Final = {"title": 3.0, "tags": 2.5, "body": 0.7}
FIELD_B: Final = {"title": 0.3, "tags": 0.3, "body": 0.75}
K1: Final = 3.0  # high: a term repeated in the body keeps adding, titles still dominate
SYNONYM_WEIGHT: Final = 0.9  # a concept reached only through a synonym or spelling fix
FUZZY_WEIGHT: Final = 0.7
UNKNOWN_WEIGHT: Final = 0.35  # terms absent from every article still count against confidence
PROXIMITY_BONUS: Final = 0.15
NO_ANSWER_THRESHOLD: Final = 0.28  # chosen on dev: rejects 7/8 negatives, answers most positives


@dataclass(frozen=True)
class Concept:
    """One query term with its alternatives (synonyms, spelling fixes), scored as one."""

    terms: frozenset[str]
    weight: float
    source: str  # the query term it came from


@dataclass(frozen=True)
class Candidate:
    """A document's stored terms per field."""

    key: str
    title: Sequence[str]
    tags: Sequence[str]
    body: Sequence[str]
    counts: Mapping[str, Counter[str]] = field(default_factory=dict)

    def field_counts(self) -> Mapping[str, Counter[str]]:
        """Term frequencies per field (computed by the caller once, or here)."""
        if self.counts:
            return self.counts
        return {"title": Counter(self.title), "tags": Counter(self.tags), "body": Counter(self.body)}


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


def _proximity(concepts: Sequence[Concept], body: Sequence[str], title: Sequence[str]) -> float:
    """Share of adjacent query-term pairs that also stand next to each other in the title or body."""
    if len(concepts) < 2:
        return 0.0
    wanted = {t: i for i, c in enumerate(concepts) for t in c.terms}
    adjacent: set[tuple[int, int]] = set()
    for text in (title, body):
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
    docs = max(stats.docs, 1)
    weights: list[float] = []
    idfs: list[float] = []
    for concept in concepts:
        concept_df = _concept_df(concept, stats.df)
        idfs.append(idf(concept_df, docs))
        weights.append(concept.weight if concept_df else concept.weight * UNKNOWN_WEIGHT)
    best = sum(w * i for w, i in zip(weights, idfs, strict=True)) or 1.0
    scored: list[tuple[Candidate, float]] = []
    for candidate in candidates:
        counts = candidate.field_counts()
        lengths = {"title": len(candidate.title), "tags": len(candidate.tags), "body": len(candidate.body)}
        total = 0.0
        for concept, weight, concept_idf in zip(concepts, weights, idfs, strict=True):
            pseudo_tf = 0.0
            for name, field_weight in FIELD_WEIGHTS.items():
                tf = sum(counts[name].get(t, 0) for t in concept.terms)
                if tf:
                    avg = stats.avg_length.get(name) or 1.0
                    norm = 1.0 - FIELD_B[name] + FIELD_B[name] * lengths[name] / avg
                    pseudo_tf += field_weight * tf / norm
            if pseudo_tf:
                total += weight * concept_idf * pseudo_tf / (K1 + pseudo_tf)
        relevance = total / best
        relevance += PROXIMITY_BONUS * relevance * _proximity(concepts, candidate.body, candidate.title)
        scored.append((candidate, min(1.0, relevance)))
    scored.sort(key=lambda pair: (-pair[1], pair[0].key))
    return scored
