"""How many conversations each view holds, for the console sidebar, in one aggregate query.

Every view only shows not-yet-solved conversations, so the aggregate scans the visible OPEN rows once
(index on status) and evaluates each view as `count(*) FILTER (WHERE …)`. The counts are exact;
the sidebar shows "999+" past DISPLAY_CAP (format_count) because a bigger number tells an agent
nothing more, not because counting is slow (see bench/console.py for the figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.conversations.access import visible_conversations
from kefu.conversations.models import Conversation
from kefu.conversations.states import Category
from kefu.core.clock import utcnow
from kefu.inboxes.models import ChannelKind
from kefu.workspace.views import OPEN_STATUSES, View, ViewName, view_clause

DISPLAY_CAP = 999
FIXED_VIEWS = tuple(
    v for v in ViewName if v not in (ViewName.BY_CHANNEL, ViewName.BY_CATEGORY, ViewName.SAVED)
)


@dataclass(frozen=True)
class ViewCounts:
    views: dict[ViewName, int]
    by_channel: dict[ChannelKind, int]
    by_category: dict[Category, int]

    def of(self, view: View) -> int:
        """The count of one (possibly parameterised) view."""
        if view.name == ViewName.BY_CHANNEL and view.channel is not None:
            return self.by_channel[view.channel]
        if view.name == ViewName.BY_CATEGORY and view.category is not None:
            return self.by_category[view.category]
        return self.views[view.name]


def format_count(count: int, cap: int = DISPLAY_CAP) -> str:
    """The sidebar label of a count: "999+" above the cap."""
    return f"{cap}+" if count > cap else str(count)


async def view_counts(session: AsyncSession, actor: AgentActor, *, now: datetime | None = None) -> ViewCounts:
    """The number of conversations in every view for `actor` (one query; visibility applied)."""
    now = now or utcnow()
    views = [View(name) for name in FIXED_VIEWS]
    views += [View(ViewName.BY_CHANNEL, channel=channel) for channel in ChannelKind]
    views += [View(ViewName.BY_CATEGORY, category=category) for category in Category]
    clauses: list[ColumnElement[bool]] = [view_clause(actor, view, now) for view in views]
    query = select(*(func.count().filter(clause) for clause in clauses)).where(
        and_(visible_conversations(actor), Conversation.status.in_(OPEN_STATUSES))
    )
    row = (await session.execute(query)).one()
    found = dict(zip(views, (int(n) for n in row), strict=True))
    return ViewCounts(
        views={v.name: n for v, n in found.items() if v.name in FIXED_VIEWS},
        by_channel={v.channel: n for v, n in found.items() if v.channel is not None},
        by_category={v.category: n for v, n in found.items() if v.category is not None},
    )
