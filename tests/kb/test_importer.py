"""Importing and exporting markdown articles: the eval corpus, idempotency, hostile files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.kb.importer import MAX_FILE_BYTES, export_articles, import_articles
from kefu.kb.models import Article, ArticleRevision, ArticleStatus
from tests.conftest import Database
from tests.kb.conftest import IndexCalls

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "kb_eval" / "corpus"
GOOD = "---\nslug: {slug}\nlocale: en\ntitle: A title\ncategory: general\ntags: [a, b]\n---\nSome body.\n"


async def _count(db: Database, model: type[Article] | type[ArticleRevision]) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_eval_corpus_imports_idempotently(
    db: Database, index_calls: IndexCalls, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    async with transaction(db.sessionmaker) as session:
        first = await import_articles(session, corpus)
    assert (first.created, first.updated, first.unchanged, first.failed) == (124, 0, 0, 0), first.errors
    assert len(set(index_calls.indexed)) == 124
    async with transaction(db.sessionmaker) as session:
        again = await import_articles(session, corpus)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 124, 0)
    assert await _count(db, ArticleRevision) == 124

    edited = corpus / "en" / "account-locked.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    async with transaction(db.sessionmaker) as session:
        third = await import_articles(session, corpus)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 123)
    async with db.sessionmaker() as session:
        article = await session.scalar(
            select(Article).where(Article.slug == "account-locked", Article.locale == "en")
        )
        assert article is not None
        assert article.revision == 2
        assert article.status == ArticleStatus.PUBLISHED
        assert article.body.endswith("One more line.\n")
    assert await _count(db, Article) == 124
    assert await _count(db, ArticleRevision) == 125


async def test_bad_files_are_reported_and_never_stop_the_others(
    db: Database, index_calls: IndexCalls, tmp_path: Path
) -> None:
    root = tmp_path / "kb"
    (root / "nested").mkdir(parents=True)
    (root / "nested" / "good.md").write_text(GOOD.format(slug="good"), encoding="utf-8")
    bad = {
        "yaml.md": "---\nslug: [unclosed\n---\nbody\n",
        "list.md": "---\n- a\n- b\n---\nbody\n",
        "nofront.md": "just text, no front matter\n",
        "missing.md": "---\nslug: missing\nlocale: en\n---\nbody\n",
        "category.md": GOOD.format(slug="bad-category").replace("general", "casino"),
        "locale.md": GOOD.format(slug="bad-locale").replace("locale: en", "locale: fr"),
        "slug.md": GOOD.format(slug="../../etc/passwd"),
        "empty.md": GOOD.format(slug="empty").replace("Some body.\n", "   \n"),
        "extra.md": GOOD.format(slug="extra").replace("tags:", "status: draft\ntags:"),
        "title.md": GOOD.format(slug="long-title").replace("A title", "T" * 201),
        "dupe.md": GOOD.format(slug="good"),
    }
    for name, text in bad.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "nul.md").write_bytes(GOOD.format(slug="nul").encode() + b"\x00")
    (root / "latin1.md").write_bytes(GOOD.format(slug="latin").replace("Some", "Caf\xe9").encode("latin-1"))
    (root / "huge.md").write_bytes(GOOD.format(slug="huge").encode() + b"x" * MAX_FILE_BYTES)
    outside = tmp_path / "secret.md"
    outside.write_text(GOOD.format(slug="secret"), encoding="utf-8")
    (root / "link.md").symlink_to(outside)
    (root / "notes.txt").write_text("ignored: not markdown", encoding="utf-8")

    async with transaction(db.sessionmaker) as session:
        report = await import_articles(session, root)
    messages = {e.path.name: e.message for e in report.errors}
    assert report.created == 1
    assert report.failed == len(bad) + 4 == len(messages)
    assert "YAML" in messages["yaml.md"]
    assert "title" in messages["missing.md"]
    assert "category" in messages["missing.md"]
    assert "category" in messages["category.md"]
    assert "slug" in messages["slug.md"]
    assert "body" in messages["empty.md"]
    assert "status" in messages["extra.md"]
    assert "NUL" in messages["nul.md"]
    assert "UTF-8" in messages["latin1.md"]
    assert "larger" in messages["huge.md"]
    assert "symlink" in messages["link.md"]
    # Files directly under the root come first, so the nested copy is the duplicate.
    assert "duplicate" in messages["good.md"]
    assert await _count(db, Article) == 1


async def test_missing_path_is_invalid_input(db: Database, tmp_path: Path) -> None:
    async with transaction(db.sessionmaker) as session:
        with pytest.raises(InvalidInput):
            await import_articles(session, tmp_path / "nowhere")


async def test_export_round_trip(db: Database, index_calls: IndexCalls, tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / "zh-CN").mkdir(parents=True)
    (source / "zh-CN" / "a.md").write_text(
        "---\nslug: a\nlocale: zh-CN\ntitle: 账户被锁定\ncategory: account\ntags: [锁定, 'a: b', KYC]\n---\n"
        "## 标题\n\n1. 第一步\n2. 第二步\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        encoding="utf-8",
    )
    async with transaction(db.sessionmaker) as session:
        assert (await import_articles(session, source)).created == 1
    out = tmp_path / "out"
    async with transaction(db.sessionmaker) as session:
        assert await export_articles(session, out) == 1
    written = (out / "zh-CN" / "a.md").read_text(encoding="utf-8")
    assert written.startswith("---\nslug: a\nlocale: zh-CN\ntitle: 账户被锁定\ncategory: account\n")
    async with transaction(db.sessionmaker) as session:
        report = await import_articles(session, out)
    assert (report.unchanged, report.updated, report.created) == (1, 0, 0)
