"""Version 1 of the REST API: every router mounted under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.web.api.v1 import (
    admin,
    agent_admin,
    attachments,
    auth,
    automation,
    callbacks,
    channel_inboxes,
    conversations,
    customer_auth,
    customers,
    inbound_emails,
    incidents,
    kb,
    kb_search,
    mailboxes,
    official_channels,
    privacy,
    recovery,
    request_forms,
    routing,
    schedules,
    search_admin,
    sla,
    teams,
    trust,
    verify,
    webhooks,
)

router = APIRouter()
router.include_router(conversations.router)
router.include_router(attachments.router)
router.include_router(auth.router)
router.include_router(admin.router)
router.include_router(agent_admin.router)
router.include_router(teams.router)
router.include_router(customers.router)
router.include_router(customer_auth.router)
router.include_router(routing.router)
router.include_router(automation.router)
router.include_router(schedules.router)
router.include_router(sla.router)
router.include_router(kb_search.router)
router.include_router(kb.router)
router.include_router(incidents.router)
router.include_router(inbound_emails.router)
router.include_router(official_channels.router)
router.include_router(mailboxes.router)
router.include_router(search_admin.router)
router.include_router(request_forms.router)
router.include_router(verify.router)
router.include_router(recovery.router)
router.include_router(trust.router)
router.include_router(channel_inboxes.router)
router.include_router(callbacks.router)
router.include_router(privacy.router)
router.include_router(webhooks.router)
