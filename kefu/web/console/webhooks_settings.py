"""Console settings: outbound webhooks (administrators only).

Reads only; kefu/web/static/webhooks.js creates, changes, pings and removes endpoints through
`/api/v1/webhooks`, so the page shares the API's SSRF guard, admin check and audit.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.web.console.channels_settings import require_admin_page
from kefu.web.console.context import ConsoleDep
from kefu.web.console.settings import SETTINGS_PATH, sections
from kefu.web.deps import DbSession
from kefu.webhooks.models import URL_MAX
from kefu.webhooks.schemas import WebhookEvent
from kefu.webhooks.service import delivery_out, endpoint_out, list_deliveries, list_endpoints

router = APIRouter()

WEBHOOKS_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/webhooks"
SHOWN_DELIVERIES: Final = 10


@router.get(WEBHOOKS_SETTINGS_PATH)
async def webhooks_settings(console: ConsoleDep, session: DbSession) -> Response:
    """Administrators: the endpoints, their recent deliveries and the form to add one."""
    require_admin_page(console)
    endpoints = []
    for endpoint in await list_endpoints(session):
        recent = await list_deliveries(session, endpoint, limit=SHOWN_DELIVERIES)
        endpoints.append(
            {
                **endpoint_out(endpoint).model_dump(mode="json"),
                "deliveries": [delivery_out(d).model_dump(mode="json", exclude={"body"}) for d in recent],
            }
        )
    return console.render(
        "console/webhooks.html",
        sections=sections(console, "webhooks"),
        current="webhooks",
        endpoints=endpoints,
        events=[event.value for event in WebhookEvent],
        url_max=URL_MAX,
        # Templates never spell out another origin (tests/web/pages/test_rendering.py); an example is data.
        url_example="https://crm.example.com/kefu-events",
    )
