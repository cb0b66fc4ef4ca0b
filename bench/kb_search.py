"""Knowledge-base search latency over generated articles, on SQLite and (if reachable) PostgreSQL.

    .venv/bin/python bench/kb_search.py [--articles 10000] [--queries 500] [--postgres URL]

Articles are made by recombining the paragraphs of tests/fixtures/kb_eval/corpus (half per locale), so the
vocabulary and term statistics look like a real help center's; queries are the dev set's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import frontmatter
from sqlalchemy import text

from kefu.db.engine import create_engine, create_sessionmaker
from kefu.db.uow import transaction
from kefu.registry import load_models
from kefu.search.doccache import documents
from kefu.search.index import do_index_document, ensure_search_schema
from kefu.search.service import search_articles

EVAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "kb_eval"


def _tags(value: object) -> list[str]:
    return [str(t) for t in value] if isinstance(value, list) else []


def generate(count: int, seed: int = 7) -> list[dict[str, object]]:
    """`count` articles recombined from the corpus paragraphs, half per locale."""
    rng = random.Random(seed)
    by_locale: dict[str, list[frontmatter.Post]] = {}
    for path in sorted((EVAL_DIR / "corpus").rglob("*.md")):
        post = frontmatter.load(str(path))
        by_locale.setdefault(str(post["locale"]), []).append(post)
    articles: list[dict[str, object]] = []
    for i in range(count):
        posts = by_locale["en" if i % 2 else "zh-CN"]
        base = rng.choice(posts)
        paragraphs = [p for other in rng.sample(posts, 3) for p in other.content.split("\n\n")]
        body = "\n\n".join(rng.sample(paragraphs, min(8, len(paragraphs))))
        articles.append({
            "doc_id": uuid.uuid4(), "locale": str(base["locale"]), "slug": f"{base['slug']}-{i}",
            "title": str(base["title"]),
            "body_markdown": body, "tags": _tags(base.get("tags")),
        })  # fmt: skip
    return articles


async def run(url: str, articles: list[dict[str, object]], queries: list[dict[str, str]]) -> dict[str, float]:
    """Index the articles into a fresh schema at `url`, then time every query; latencies in ms."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(load_models().create_all)
            await conn.run_sync(ensure_search_schema)
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        for start in range(0, len(articles), 500):
            async with transaction(sessionmaker) as session:
                for article in articles[start : start + 500]:
                    await do_index_document(session, **article)  # type: ignore[arg-type]
        index_seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        timings: list[float] = []
        async with sessionmaker() as session:
            for query in queries[:20]:  # warm caches (jieba, statistics) once
                await search_articles(session, query["q"], query["locale"], 10)
            for query in queries:
                t0 = time.perf_counter()
                await search_articles(session, query["q"], query["locale"], 10)
                timings.append((time.perf_counter() - t0) * 1000)
            # Each distinct query once more with the parsed-document cache emptied first: the worst
            # case after a restart or for a query whose candidates nobody asked for recently.
            cold: list[float] = []
            for query in {q["q"]: q for q in queries}.values():
                documents.clear()
                t0 = time.perf_counter()
                await search_articles(session, query["q"], query["locale"], 10)
                cold.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        cold.sort()
        return {
            "index_s": index_seconds,
            "p50": statistics.median(timings),
            "p99": _p99(timings),
            "max": timings[-1],
            "cold_p50": statistics.median(cold),
            "cold_p99": _p99(cold),
        }
    finally:
        await engine.dispose()


def _p99(sorted_ms: list[float]) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * 0.99))]


async def _drop_and_create(admin_url: str, name: str, create: bool) -> None:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def main() -> None:
    """Run the benchmark on each backend and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    articles = generate(args.articles)
    dev = [
        json.loads(line) for line in (EVAL_DIR / "dev.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    queries = [dev[i % len(dev)] for i in range(args.queries)]
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("sqlite", await run(f"sqlite+aiosqlite:///{tmp}/bench.db", articles, queries)))
    if args.postgres:
        from sqlalchemy.engine import make_url

        name = "kefu_bench_kb_search"
        try:
            await _drop_and_create(args.postgres, name, create=True)
        except Exception as exc:  # noqa: BLE001 - no server: report SQLite only
            print(f"PostgreSQL skipped: {exc!r}")
        else:
            try:
                url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
                rows.append(("postgres", await run(url, articles, queries)))
            finally:
                await _drop_and_create(args.postgres, name, create=False)
    print(f"{len(articles)} articles, {len(queries)} queries (limit 10)")
    columns = ("index s", "p50 ms", "p99 ms", "max ms", "cold p50", "cold p99")
    print(f"{'backend':<10}", *(f"{c:>8}" for c in columns))
    for backend, r in rows:
        print(
            f"{backend:<10} {r['index_s']:>8.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['max']:>8.2f}"
            f" {r['cold_p50']:>8.2f} {r['cold_p99']:>8.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
