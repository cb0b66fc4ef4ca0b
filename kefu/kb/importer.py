"""Import and export articles as markdown files with YAML front matter (shared/eval/kb/README.md).

Import is an idempotent upsert by (slug, locale): unchanged files do nothing, changed ones add a
revision, and every imported article is published and indexed. A bad file is reported, never fatal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml  # type: ignore[import-untyped]  # no stubs in the lock file; see report
from frontmatter.default_handlers import YAMLHandler
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import InvalidInput, KefuError
from kefu.kb.actions import do_create_article, do_publish_article, do_update_article
from kefu.kb.models import Article, ArticleStatus
from kefu.kb.schemas import SLUG_PATTERN, ArticleContent, ArticleCreate, ArticleUpdate, FrontMatter
from kefu.kb.service import find_article

MAX_FILE_BYTES = 1024 * 1024
Progress = Callable[[Path], None]


class FileRefused(Exception):
    """One file cannot be imported; the message says why, in terms its author can act on."""


@dataclass(frozen=True)
class FileError:
    path: Path
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[FileError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """How many files could not be imported."""
        return len(self.errors)

    @property
    def total(self) -> int:
        """How many markdown files were found."""
        return self.created + self.updated + self.unchanged + self.failed

    def summary(self) -> str:
        """One line for people: created, updated, unchanged and failed counts."""
        return (
            f"{self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )


def find_markdown_files(path: Path) -> list[Path]:
    """Every `*.md` under `path` (or `path` itself), sorted; symlinked directories are not entered."""
    if path.is_file():
        return [path]
    found: list[Path] = []
    for folder, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        found.extend(Path(folder) / name for name in sorted(files) if name.endswith(".md"))
    return found


def _import_root(path: Path) -> Path:
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or directory")
    root = path.resolve()
    return root if root.is_dir() else root.parent


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "front matter"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def read_article_file(path: Path, root: Path) -> ArticleCreate:
    """Parse and validate one file; FileRefused with a clear reason for anything unacceptable."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise FileRefused("symlink pointing outside the import directory refused")
    if not resolved.is_file():
        raise FileRefused("not a regular file")
    with resolved.open("rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise FileRefused(f"file larger than {MAX_FILE_BYTES // 1024} KB refused")
    if b"\x00" in raw:
        raise FileRefused("file contains NUL bytes (binary?)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"not UTF-8 text (byte {exc.start})") from None
    try:
        post = frontmatter.loads(text, handler=YAMLHandler())
    except yaml.YAMLError as exc:
        raise FileRefused(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None
    except (ValueError, TypeError, AttributeError):
        raise FileRefused("front matter must be a YAML mapping between '---' lines") from None
    try:
        meta = FrontMatter.model_validate(dict(post.metadata))
        content = ArticleContent.model_validate(
            {"title": meta.title, "body": post.content, "category": meta.category, "tags": meta.tags}
        )
    except ValidationError as exc:
        raise FileRefused(_validation_message(exc)) from None
    return ArticleCreate(slug=meta.slug, locale=meta.locale, **content.model_dump())


async def _upsert(session: AsyncSession, data: ArticleCreate) -> str:
    existing = await find_article(session, data.locale, data.slug)
    if existing is None:
        await do_create_article(session, data, author_id=None, publish=True)
        return "created"
    changes = ArticleUpdate(title=data.title, body=data.body, category=data.category, tags=data.tags)
    changed = await do_update_article(session, existing, changes, author_id=None)
    if existing.status != ArticleStatus.PUBLISHED:
        await do_publish_article(session, existing)
        changed = True
    return "updated" if changed else "unchanged"


async def import_articles(
    session: AsyncSession, path: Path, *, progress: Progress | None = None
) -> ImportReport:
    """Upsert every markdown article under `path` (never commits); `progress` is told of each file."""
    # File reads are small (<= 1 MB each) and run from the CLI or demo loader, so they stay synchronous.
    root = _import_root(path)
    report = ImportReport()
    seen: dict[tuple[str, str], Path] = {}
    for file in find_markdown_files(path):
        try:
            data = read_article_file(file, root)
            key = (data.slug, data.locale)
            if key in seen:
                raise FileRefused(f"duplicate of {seen[key]} ({data.locale}/{data.slug})")
            seen[key] = file
            # A savepoint per file: a database refusal for one file leaves the others intact.
            async with session.begin_nested():
                outcome = await _upsert(session, data)
        except (FileRefused, KefuError) as exc:
            message = exc.message if isinstance(exc, KefuError) else str(exc)
            report.errors.append(FileError(file, message))
        except OSError as exc:
            report.errors.append(FileError(file, f"cannot read file: {exc.strerror or exc}"))
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None:
            progress(file)
    return report


def _dump(article: Article) -> str:
    header = yaml.safe_dump(
        {
            "slug": article.slug,
            "locale": article.locale,
            "title": article.title,
            "category": article.category,
            "tags": list(article.tags),
        },
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=10_000,
    )
    return f"---\n{header}---\n{article.body.rstrip()}\n"


async def export_articles(session: AsyncSession, path: Path, *, include_drafts: bool = False) -> int:
    """Write `<path>/<locale>/<slug>.md` for each published (or every) article; returns how many."""
    slug_ok = re.compile(SLUG_PATTERN)
    query = select(Article).order_by(Article.locale, Article.slug)
    if not include_drafts:
        query = query.where(Article.status == ArticleStatus.PUBLISHED)
    count = 0
    for article in await session.scalars(query):
        # Slugs and locales are validated on the way in; re-check so no row can steer a path.
        if not slug_ok.match(article.slug) or article.locale not in ("zh-CN", "en"):
            continue
        folder = path / article.locale
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{article.slug}.md").write_text(_dump(article), encoding="utf-8")
        count += 1
    return count
