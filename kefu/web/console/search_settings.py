"""Console settings for the help-center search: the synonym lists and the searches with no good answer.

Reads only; the synonym editor saves through `PUT /api/v1/search/synonyms` (search_settings.js).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.core.clock import utcnow
from kefu.search.service import list_frequent_misses
from kefu.search.synonyms import list_synonyms
from kefu.web.console.context import ConsoleDep
from kefu.web.console.settings import SETTINGS_PATH, page, require_supervisor
from kefu.web.deps import DbSession

router = APIRouter()

SEARCH_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/search"
MISS_DAYS: Final = 30
MISS_ROWS: Final = 100
LOCALES: Final = ("zh-CN", "en")


@router.get(SEARCH_SETTINGS_PATH)
async def search_settings(console: ConsoleDep, session: DbSession) -> Response:
    """Supervisors: edit each locale's synonym groups; see what customers searched in vain."""
    require_supervisor(console)
    synonyms = {locale: await list_synonyms(session, locale) for locale in LOCALES}
    since = utcnow() - timedelta(days=MISS_DAYS)
    misses = await list_frequent_misses(session, since=since, limit=MISS_ROWS)
    return page(console, "search.html", "search", synonyms=synonyms, misses=misses, miss_days=MISS_DAYS)
