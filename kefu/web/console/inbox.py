"""The inbox: views with live counts, the conversation list, search. Reads only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from kefu.automation.models import SavedView
from kefu.automation.service import access_view, list_views
from kefu.automation.views import view_filters
from kefu.conversations.states import Category, Priority, Status
from kefu.core.errors import InvalidInput, NotFound
from kefu.inboxes.models import ChannelKind
from kefu.web.console.context import ConsoleDep
from kefu.web.deps import DbSession
from kefu.workspace.counts import ViewCounts, format_count, view_counts
from kefu.workspace.search import search_conversations
from kefu.workspace.views import InboxPage, View, ViewFilters, ViewName, filters_from_saved, list_view

router = APIRouter()

CONSOLE_PATH: Final = "/console"
PAGE_SIZE: Final = 50


@dataclass(frozen=True)
class ViewLink:
    key: str
    label: str
    url: str
    count: str
    current: bool


def _parse_view(view: str | None, channel: str | None, category: str | None) -> View:
    """The requested view; anything unrecognised falls back to "mine" rather than erroring."""
    try:
        name = ViewName(view or ViewName.MINE)
        if name == ViewName.BY_CHANNEL:
            return View(name, channel=ChannelKind(channel or ""))
        if name == ViewName.BY_CATEGORY:
            return View(name, category=Category(category or ""))
        return View(name)
    except (ValueError, InvalidInput):
        return View(ViewName.MINE)


def view_url(view: View, **extra: str) -> str:
    """The inbox URL of `view`."""
    query = {"view": view.name.value}
    if view.channel is not None:
        query["channel"] = view.channel.value
    if view.category is not None:
        query["category"] = view.category.value
    return f"{CONSOLE_PATH}?{urlencode(query | extra)}"


def saved_links(saved: Sequence[SavedView], current: uuid.UUID | None) -> list[ViewLink]:
    """The agent's own and the shared saved views (no counts: each is its own query)."""
    return [
        ViewLink(
            f"saved-{view.id}",
            view.name,
            f"{CONSOLE_PATH}?{urlencode({'view': ViewName.SAVED.value, 'saved': str(view.id)})}",
            "",
            view.id == current,
        )
        for view in saved
    ]


def view_links(console: ConsoleDep, counts: ViewCounts, current: View | None) -> dict[str, list[ViewLink]]:
    """The sidebar: fixed views, then by channel and by category (only those with conversations)."""
    t = console.page.t
    labels = {
        ViewName.MINE: t.gettext("Mine"),
        ViewName.UNASSIGNED: t.gettext("Unassigned"),
        ViewName.MY_TEAMS: t.gettext("My teams"),
        ViewName.ALL_OPEN: t.gettext("All open"),
        ViewName.WAITING: t.gettext("Waiting on customer"),
        ViewName.SLA: t.gettext("SLA breaching or due soon"),
    }
    fixed = [
        ViewLink(
            name.value, label, view_url(View(name)), format_count(counts.views[name]), current == View(name)
        )
        for name, label in labels.items()
    ]
    channels = [
        ViewLink(
            f"channel-{channel.value}",
            channel_label(console, channel),
            view_url(View(ViewName.BY_CHANNEL, channel=channel)),
            format_count(n),
            current == View(ViewName.BY_CHANNEL, channel=channel),
        )
        for channel, n in counts.by_channel.items()
        if n
    ]
    categories = [
        ViewLink(
            f"category-{category.value}",
            category_label(console, category),
            view_url(View(ViewName.BY_CATEGORY, category=category)),
            format_count(n),
            current == View(ViewName.BY_CATEGORY, category=category),
        )
        for category, n in counts.by_category.items()
        if n
    ]
    return {"views": fixed, "channels": channels, "categories": categories}


def channel_label(console: ConsoleDep, channel: ChannelKind) -> str:
    """A channel as agents read it."""
    t = console.page.t
    labels = {
        ChannelKind.API: t.gettext("API"),
        ChannelKind.WEB: t.gettext("Web form"),
        ChannelKind.EMAIL: t.gettext("Email"),
        ChannelKind.CHAT: t.gettext("Live chat"),
        ChannelKind.TELEGRAM: "Telegram",
        ChannelKind.MESSENGER: "Messenger",
        ChannelKind.X: "X",
        ChannelKind.PHONE: t.gettext("Phone"),
    }
    return labels[channel]


def category_label(console: ConsoleDep, category: Category) -> str:
    """A category as agents read it."""
    t = console.page.t
    labels = {
        Category.ACCOUNT_ACCESS: t.gettext("Account access"),
        Category.KYC: t.gettext("Identity verification"),
        Category.TRADING: t.gettext("Trading"),
        Category.DEPOSIT: t.gettext("Deposit"),
        Category.WITHDRAWAL: t.gettext("Withdrawal"),
        Category.SECURITY: t.gettext("Security"),
        Category.GENERAL: t.gettext("General"),
        Category.CALLBACK: t.gettext("Request a call back"),
    }
    return labels[category]


Text = Annotated[str | None, Query(max_length=200)]


@router.get(CONSOLE_PATH)
async def inbox(
    console: ConsoleDep,
    session: DbSession,
    view: Text = None,
    channel: Text = None,
    category: Text = None,
    q: Text = None,
    cursor: Text = None,
    fragment: Text = None,
    saved: Text = None,
) -> Response:
    """Signed-in agents: a view of conversations (or search results), with every view's count."""
    current = _parse_view(view, channel, category)
    saved_id, filters = (
        await _saved_filters(console, session, saved) if current.name == ViewName.SAVED else (None, None)
    )
    if current.name == ViewName.SAVED and filters is None:
        current = View(ViewName.MINE)
    searching = bool(q and q.strip())
    if searching and q is not None:
        results = await search_conversations(session, console.actor, q, limit=PAGE_SIZE)
        page = InboxPage(rows=results.rows, next_cursor=None)
    else:
        try:
            page = await list_view(
                session, console.actor, current, cursor=cursor, limit=PAGE_SIZE, filters=filters
            )
        except InvalidInput:
            page = await list_view(session, console.actor, current, limit=PAGE_SIZE, filters=filters)
    extra = {"saved": str(saved_id)} if saved_id else {}
    context = {
        "view": current,
        "view_key": current.name.value,
        "rows": page.rows,
        "next_url": view_url(current, cursor=page.next_cursor, **extra) if page.next_cursor else None,
        "query": q or "",
        "searching": searching,
        "refresh_url": view_url(current, fragment="list", **extra, **({"q": q} if searching and q else {})),
        "counts_url": view_url(current, fragment="counts", **extra),
        "labels": labels(console),
    }
    if fragment == "list":
        return console.render("console/_list.html", **context)
    counts = await view_counts(session, console.actor)
    links = view_links(console, counts, current)
    links["saved"] = saved_links(await list_views(session, console.actor), saved_id)
    if fragment == "counts":
        return console.render("console/_views.html", links=links, counts_url=context["counts_url"])
    return console.render("console/inbox.html", links=links, **context)


async def _saved_filters(
    console: ConsoleDep, session: DbSession, saved: str | None
) -> tuple[uuid.UUID | None, ViewFilters | None]:
    """The saved view named in the URL, if the agent may use it (otherwise the default view)."""
    try:
        view_id = uuid.UUID(saved or "")
        row = await access_view(session, console.actor, view_id)
    except (ValueError, NotFound):
        return None, None
    return view_id, filters_from_saved(view_filters(row))


@dataclass(frozen=True)
class Labels:
    status: dict[str, str]
    priority: dict[str, str]


def labels(console: ConsoleDep) -> Labels:
    """Statuses and priorities as agents read them."""
    t = console.page.t
    return Labels(
        status={
            Status.NEW: t.gettext("New"),
            Status.OPEN: t.gettext("Open"),
            Status.PENDING: t.gettext("Pending"),
            Status.ON_HOLD: t.gettext("On hold"),
            Status.SOLVED: t.gettext("Solved"),
            Status.CLOSED: t.gettext("Closed"),
        },
        priority={
            Priority.LOW: t.gettext("Low"),
            Priority.NORMAL: t.gettext("Normal"),
            Priority.HIGH: t.gettext("High"),
            Priority.URGENT: t.gettext("Urgent"),
        },
    )


@router.get("/console/")
async def inbox_slash() -> Response:
    """The inbox lives at /console."""
    return RedirectResponse(CONSOLE_PATH, status_code=308)
