"""Search administration: synonym lists (read by agents, replaced by supervisors) and the misses report."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from kefu.core.clock import utcnow
from kefu.search.schemas import MissesOut, MissOut, SynonymsIn, SynonymsOut
from kefu.search.service import check_miss_report, list_frequent_misses
from kefu.search.synonyms import check_locale, do_replace_synonyms, list_synonyms
from kefu.web.deps import AgentReader, DbSession, Supervisor

router = APIRouter(tags=["search"])


@router.get("/search/synonyms", response_model=SynonymsOut)
async def get_synonyms(
    actor: AgentReader, session: DbSession, locale: Annotated[str, Query(max_length=10)]
) -> SynonymsOut:
    """Staff: the synonym groups search applies for `locale`."""
    del actor  # any agent may read them (to understand search results)
    found = await list_synonyms(session, check_locale(locale))
    return SynonymsOut(locale=found.locale, groups=found.groups, is_default=found.is_default)


@router.put("/search/synonyms", response_model=SynonymsOut)
async def put_synonyms(body: SynonymsIn, actor: Supervisor, session: DbSession) -> SynonymsOut:
    """Supervisors: replace a locale's synonym list (applies to the next searches; audited)."""
    groups = await do_replace_synonyms(session, body.locale, body.groups, actor=actor)
    return SynonymsOut(locale=body.locale, groups=groups, is_default=False)


@router.get("/search/misses", response_model=MissesOut)
async def get_misses(
    actor: Supervisor,
    session: DbSession,
    locale: Annotated[str | None, Query(max_length=10)] = None,
    days: Annotated[int, Query()] = 30,
    limit: Annotated[int, Query()] = 50,
) -> MissesOut:
    """Supervisors: the most frequent searches without a good answer, with counts and last seen."""
    del actor
    locale, days, limit = check_miss_report(locale, days, limit)
    since = utcnow() - timedelta(days=days)
    misses = await list_frequent_misses(session, locale=locale, since=since, limit=limit)
    return MissesOut(days=days, items=[MissOut(**m.__dict__) for m in misses])
