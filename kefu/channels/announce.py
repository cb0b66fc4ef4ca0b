"""Incident and maintenance updates posted to the official Telegram channel and X account.

Customers follow an exchange's social accounts for notices (the seed says so), so every update of the
status page is also posted where they look. A Telegram inbox whose config names `announce_chat_id`
(e.g. "@kefu_status") and an X inbox with `"announce": true` each get one `channel.announce` job per
update, in the update's transaction; the job posts once (idempotency key per update and inbox) and
retries with backoff, honouring the provider's rate limits.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.adapter import ChannelInbox
from kefu.channels.credentials import channel_inbox
from kefu.i18n import N_, get_translator, normalise_locale
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.incidents.models import Incident, IncidentUpdate
from kefu.incidents.service import incident_url, localized
from kefu.jobs.enqueue import enqueue
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError, RetryAfter
from kefu.settings import Settings
from kefu.storage.envelope import Keyring

CHANNEL_ANNOUNCE: Final = "channel.announce"
TWEET_LIMIT: Final = 280
TELEGRAM_LIMIT: Final = 4096
ANNOUNCE_TIMEOUT: Final = 10.0
log = structlog.get_logger(__name__)

# The status page's words for each state (same msgids as the help center's status page).
STATUS_WORDS: Final[dict[str, str]] = {
    "investigating": N_("Investigating"),
    "identified": N_("Identified"),
    "monitoring": N_("Monitoring"),
    "resolved": N_("Resolved"),
    "scheduled": N_("Scheduled"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
}


def announces(inbox: Inbox) -> bool:
    """Whether updates are posted from this inbox."""
    config = inbox.config or {}
    if inbox.channel == ChannelKind.TELEGRAM:
        return bool(config.get("announce_chat_id"))
    return inbox.channel == ChannelKind.X and config.get("announce") is True


async def queue_announcements(session: AsyncSession, update: IncidentUpdate) -> int:
    """One `channel.announce` job per announcing inbox for `update` (in the caller's transaction)."""
    inboxes = await session.scalars(
        select(Inbox).where(
            Inbox.is_active.is_(True), Inbox.channel.in_((ChannelKind.TELEGRAM, ChannelKind.X))
        )
    )
    queued = 0
    for inbox in inboxes:
        if announces(inbox):
            payload = {"update_id": str(update.id), "inbox_id": str(inbox.id)}
            queued += await enqueue(
                session, CHANNEL_ANNOUNCE, payload, dedupe_key=f"announce:{update.id}:{inbox.id}"
            )
    return queued


def announcement_text(
    incident: Incident, update: IncidentUpdate, locale: str, base_url: str, limit: int
) -> str:
    """`[Status] Title: update text` and the incident's page, cut to `limit` characters."""
    t = get_translator(locale)
    status = t.gettext(STATUS_WORDS.get(str(update.status), str(update.status)))
    title = localized(incident.title, locale)
    body = localized(update.body, locale)
    link = base_url.rstrip("/") + incident_url(locale, incident.id)
    head = f"[{status}] {title}"
    text = f"{head}: {body}" if body else head
    room = limit - len(link) - 1
    if len(text) > room:
        text = text[: max(room - 1, 0)].rstrip() + "…"
    return f"{text}\n{link}"


def _retry_after(response: httpx.Response, default: float = 60.0) -> RetryAfter:
    try:
        seconds = float(response.headers.get("retry-after") or default)
    except ValueError:
        seconds = default
    if response.headers.get("content-type", "").startswith("application/json"):
        data = response.json()
        seconds = float((data.get("parameters") or {}).get("retry_after") or seconds)
    return RetryAfter(seconds, f"{response.status_code} rate limited")


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        # The URL may hold a bot token: only the kind of failure is kept.
        raise ConnectionError(f"announcement not posted ({type(exc).__name__})") from None


async def post_to_telegram(
    client: httpx.AsyncClient, settings: Settings, inbox: ChannelInbox, text: str
) -> str:
    token = inbox.secrets.get("bot_token", "")
    chat = str(inbox.config.get("announce_chat_id") or "")
    response = await _post(
        client,
        f"{settings.telegram_api_url.rstrip('/')}/bot{token}/sendMessage",
        json={"chat_id": chat, "text": text, "disable_web_page_preview": False},
    )
    if response.status_code == 429:
        raise _retry_after(response)
    if response.status_code >= 500:
        raise ConnectionError(f"Telegram answered {response.status_code}")
    data = response.json()
    if not data.get("ok"):
        raise PermanentJobError(f"Telegram refused the announcement: {str(data.get('description'))[:200]}")
    return str(data["result"]["message_id"])


async def post_to_x(client: httpx.AsyncClient, settings: Settings, inbox: ChannelInbox, text: str) -> str:
    response = await _post(
        client,
        f"{settings.x_api_url.rstrip('/')}/2/tweets",
        json={"text": text},
        headers={"authorization": f"Bearer {inbox.secrets.get('access_token', '')}"},
    )
    if response.status_code == 429:
        raise _retry_after(response)
    if response.status_code >= 500:
        raise ConnectionError(f"X answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentJobError(f"X refused the announcement ({response.status_code})")
    return str(response.json()["data"]["id"])


def bind_announce(settings: Settings, keyring: Keyring) -> JobHandler:
    """The `channel.announce` handler (a client per job: announcements are rare)."""

    async def announce(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            update_id, inbox_id = uuid.UUID(str(payload["update_id"])), uuid.UUID(str(payload["inbox_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"malformed {CHANNEL_ANNOUNCE} payload: {exc}") from exc
        session = ctx.session
        update = await session.get(IncidentUpdate, update_id)
        inbox = await session.get(Inbox, inbox_id)
        if update is None or inbox is None or not inbox.is_active or not announces(inbox):
            return
        incident = await session.get(Incident, update.incident_id)
        if incident is None:
            return
        locale = normalise_locale(str((inbox.config or {}).get("announce_locale") or "")) or "en"
        opened = channel_inbox(keyring, inbox)
        async with httpx.AsyncClient(timeout=ANNOUNCE_TIMEOUT) as client:
            if inbox.channel == ChannelKind.TELEGRAM:
                text = announcement_text(incident, update, locale, settings.base_url, TELEGRAM_LIMIT)
                posted = await post_to_telegram(client, settings, opened, text)
            else:
                # X counts a CJK character twice.
                limit = TWEET_LIMIT // 2 if locale.startswith("zh") else TWEET_LIMIT
                text = announcement_text(incident, update, locale, settings.base_url, limit)
                posted = await post_to_x(client, settings, opened, text)
        log.info("announcement_posted", channel=str(inbox.channel), update_id=str(update.id), post_id=posted)

    return announce
