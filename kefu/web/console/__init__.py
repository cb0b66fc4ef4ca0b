"""The agent console: server-rendered pages (htmx), a small realtime module, the JSON API for writes."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.web.console import (
    callbacks,
    channel_inboxes_settings,
    channels_settings,
    conversation,
    form_settings,
    inbox,
    kb_editor,
    mailboxes_settings,
    people_settings,
    recovery,
    reports,
    search_settings,
    settings,
    webhooks_settings,
)
from kefu.web.console.context import install_console_errors
from kefu.web.ws import console_socket

router = APIRouter(include_in_schema=False)
router.include_router(inbox.router)
router.include_router(conversation.router)
router.include_router(settings.router)
router.include_router(kb_editor.router)
router.include_router(search_settings.router)
router.include_router(channels_settings.router)
router.include_router(form_settings.router)
router.include_router(mailboxes_settings.router)
router.include_router(channel_inboxes_settings.router)
router.include_router(people_settings.router)
router.include_router(recovery.router)
router.include_router(callbacks.router)
router.include_router(reports.router)
router.include_router(webhooks_settings.router)
router.include_router(console_socket.router)

__all__ = ["install_console_errors", "router"]
