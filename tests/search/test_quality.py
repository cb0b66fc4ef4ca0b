"""Retrieval quality on shared/eval/kb/dev.jsonl, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from kefu.db.uow import transaction
from tests.conftest import Database
from tests.search.corpus import evaluate, load_corpus


async def test_dev_set_quality(search_db: Database) -> None:
    async with transaction(search_db.sessionmaker) as session:
        assert await load_corpus(session) == 124
    async with search_db.sessionmaker() as session:
        metrics = await evaluate(session)
    figures = f"MRR@10={metrics.mrr:.3f} R@1={metrics.r1:.3f} NegRej={metrics.neg_rejected:.3f}"
    report = f"{search_db.backend}: {figures}"
    print(report, *metrics.misses, sep="\n")
    assert metrics.mrr >= 0.93, report
    assert metrics.r1 >= 0.88, report
    assert metrics.neg_rejected >= 0.8, report
