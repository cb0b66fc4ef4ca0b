"""The demo knowledge base for `kefu demo`: ten topics for Kefu Demo Exchange, in both locales."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import InvalidInput
from kefu.kb.importer import ImportReport, import_articles

DEMO_CONTENT = Path(__file__).parent / "demo_content"


async def load_demo_kb(session: AsyncSession) -> ImportReport:
    """Import (or refresh) the bundled demo articles, published and indexed; never commits."""
    report = await import_articles(session, DEMO_CONTENT)
    if report.errors:
        # Bundled content is ours: a broken file is a bug to fix, not something to skip quietly.
        first = report.errors[0]
        raise InvalidInput(f"demo article {first.path.name} is invalid: {first.message}")
    return report
