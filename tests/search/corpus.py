"""The evaluation corpus and dev queries (a copy in tests/fixtures/kb_eval) and the evaluator's metrics."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import frontmatter
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.search.index import do_index_document
from kefu.search.service import search_articles

EVAL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "kb_eval"


@dataclass(frozen=True)
class Metrics:
    mrr: float
    r1: float
    neg_rejected: float
    positives: int
    negatives: int
    misses: list[str]


def _tags(value: object) -> list[str]:
    return [str(t) for t in value] if isinstance(value, list) else []


async def load_corpus(session: AsyncSession, root: Path = EVAL_DIR / "corpus") -> int:
    """Index every article of the corpus (as if published); returns how many."""
    count = 0
    for path in sorted(root.rglob("*.md")):  # noqa: ASYNC240 - test set-up
        post = frontmatter.load(str(path))
        await do_index_document(
            session,
            doc_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{post['locale']}/{post['slug']}"),
            locale=str(post["locale"]),
            slug=str(post["slug"]),
            title=str(post["title"]),
            body_markdown=post.content,
            category=str(post.get("category", "")),
            tags=_tags(post.get("tags")),
        )
        count += 1
    return count


async def evaluate(session: AsyncSession, queries: Path = EVAL_DIR / "dev.jsonl") -> Metrics:
    """MRR@10, R@1 and negative rejection with evaluate.py's definitions."""
    reciprocal: list[float] = []
    rejected = negatives = 0
    misses: list[str] = []
    for line in queries.read_text(encoding="utf-8").splitlines():  # noqa: ASYNC240
        if not line.strip():
            continue
        item = json.loads(line)
        result = await search_articles(session, item["q"], item["locale"], 10)
        slugs = list(dict.fromkeys(hit.slug for hit in result.hits))
        if not item["relevant"]:
            negatives += 1
            if not result.answered:
                rejected += 1
            else:
                misses.append(f"negative {item['q']} -> {slugs[:1]} {result.hits[0].score}")
            continue
        rank = next((i + 1 for i, slug in enumerate(slugs[:10]) if slug in item["relevant"]), None)
        reciprocal.append(1.0 / rank if rank else 0.0)
        if rank != 1:
            misses.append(f"{item['kind']} {item['q']} -> {slugs[:3]} want {item['relevant']}")
    positives = len(reciprocal)
    return Metrics(
        mrr=sum(reciprocal) / positives,
        r1=sum(1 for r in reciprocal if r == 1.0) / positives,
        neg_rejected=rejected / negatives if negatives else 1.0,
        positives=positives,
        negatives=negatives,
        misses=misses,
    )
