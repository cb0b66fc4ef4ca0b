"""The public status page: components, current incidents with timed updates, maintenance, history, Atom."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.core.clock import utcnow
from kefu.core.errors import NotFound
from kefu.i18n import Translator
from kefu.incidents.components import component_name, known_networks
from kefu.incidents.models import Incident, IncidentUpdate
from kefu.incidents.service import (
    component_states,
    get_incident,
    incident_url,
    list_current,
    list_feed_updates,
    list_recent,
    list_scheduled,
    list_updates,
    localized,
)
from kefu.web.deps import DbSession, RuntimeDep
from kefu.web.helpcenter.context import HC_PREFIX, HelpCenter, HelpCenterDep, HelpCenterNotFound

router = APIRouter()

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE: Final = "application/atom+xml; charset=utf-8"
HISTORY_DAYS: Final = 14
FEED_ENTRIES: Final = 50
# XML 1.0 cannot carry these at all, escaped or not.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def status_labels(t: Translator) -> dict[str, str]:
    """Incident, maintenance and component statuses, and severities, as customers read them."""
    return {
        "investigating": t.gettext("Investigating"),
        "identified": t.gettext("Identified"),
        "monitoring": t.gettext("Monitoring"),
        "resolved": t.gettext("Resolved"),
        "scheduled": t.gettext("Scheduled"),
        "in_progress": t.gettext("In progress"),
        "completed": t.gettext("Completed"),
        "operational": t.gettext("Operational"),
        "degraded": t.gettext("Degraded performance"),
        "outage": t.gettext("Outage"),
        "maintenance": t.gettext("Under maintenance"),
        "minor": t.gettext("Minor"),
        "major": t.gettext("Major"),
        "critical": t.gettext("Critical"),
    }


def _view(incident: Incident, updates: list[IncidentUpdate], hc: HelpCenter) -> dict[str, object]:
    """What a template shows of one incident, in the page's language."""
    return {
        "id": incident.id,
        "kind": str(incident.kind),
        "title": localized(incident.title, hc.locale),
        "severity": str(incident.severity),
        "status": str(incident.status),
        "components": [component_name(key, hc.locale) for key in incident.components],
        "starts_at": incident.starts_at,
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
        "url": incident_url(hc.locale, incident.id),
        "updates": [
            {"status": str(u.status), "body": localized(u.body, hc.locale), "created_at": u.created_at}
            for u in updates
        ],
    }


@router.get(HC_PREFIX + "/{locale}/status")
async def status_page(hc: HelpCenterDep, session: DbSession, runtime: RuntimeDep) -> Response:
    """Anyone: each component's status, current incidents, scheduled maintenance and recent history."""
    current = await list_current(session)
    scheduled = await list_scheduled(session)
    recent = await list_recent(session, HISTORY_DAYS)
    updates = await list_updates(session, [i.id for i in (*current, *scheduled, *recent)])
    components = component_states(current, await known_networks(runtime.exchange), hc.locale)
    return hc.render(
        "hc/status.html",
        labels=status_labels(hc.t),
        components=components,
        current=[_view(i, updates[i.id], hc) for i in current],
        scheduled=[_view(i, updates[i.id], hc) for i in scheduled],
        recent=[_view(i, updates[i.id], hc) for i in recent],
        history_days=HISTORY_DAYS,
        feed_url=hc.url("/status/feed.atom"),
    )


@router.get(HC_PREFIX + "/{locale}/status/incidents/{incident_id}")
async def incident_page(hc: HelpCenterDep, session: DbSession, incident_id: str) -> Response:
    """Anyone: one incident or maintenance with every timed update."""
    try:
        incident = await get_incident(session, uuid.UUID(incident_id))
    except (ValueError, NotFound) as exc:
        raise HelpCenterNotFound(incident_id[:40]) from exc
    updates = await list_updates(session, [incident.id])
    return hc.render(
        "hc/status_incident.html",
        labels=status_labels(hc.t),
        incident=_view(incident, updates[incident.id], hc),
        status_url=hc.url("/status"),
        feed_url=hc.url("/status/feed.atom"),
    )


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def build_feed(hc: HelpCenter, entries: list[tuple[Incident, IncidentUpdate]], base_url: str) -> bytes:
    """An Atom 1.0 document with one entry per timed update, newest first (ElementTree escapes text)."""
    labels = status_labels(hc.t)
    base = base_url.rstrip("/")
    # Plain tag names under a literal default namespace: Atom attributes are unqualified, which
    # ElementTree's `default_namespace` option cannot write.
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "{http://www.w3.org/XML/1998/namespace}lang": hc.locale})
    _sub(feed, "id", f"{base}{hc.url('/status')}")
    _sub(feed, "title", hc.t.gettext("Service status"))
    _sub(feed, "updated", _iso(entries[0][1].created_at if entries else utcnow()))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}{hc.url('/status/feed.atom')}")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base}{hc.url('/status')}")
    author = _sub(feed, "author")
    _sub(author, "name", hc.t.gettext("Support team"))
    for incident, update in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:uuid:{update.id}")
        title = localized(incident.title, hc.locale)
        _sub(entry, "title", f"{title} — {labels.get(str(update.status), str(update.status))}")
        _sub(entry, "updated", _iso(update.created_at))
        _sub(entry, "published", _iso(update.created_at))
        _sub(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{base}{incident_url(hc.locale, incident.id)}",
        )
        _sub(entry, "category", term=str(incident.kind))
        _sub(
            entry,
            "content",
            localized(update.body, hc.locale) or labels.get(str(update.status), ""),
            type="text",
        )
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


@router.get(HC_PREFIX + "/{locale}/status/feed.atom")
async def feed(hc: HelpCenterDep, session: DbSession) -> Response:
    """Anyone: the Atom feed of timed updates in this locale."""
    entries = await list_feed_updates(session, FEED_ENTRIES)
    body = build_feed(hc, entries, hc.settings.base_url)
    response = Response(body, media_type=ATOM_MEDIA_TYPE)
    response.headers["cache-control"] = "public, max-age=60"
    response.headers["content-language"] = hc.locale
    return response
