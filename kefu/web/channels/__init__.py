"""Providers' webhooks for the social and phone channels, under /channels/<provider>/…

Every route checks the provider's signature before reading anything else and answers 401/403 without
storing; see each module for who may call it.
"""

from __future__ import annotations

from fastapi import APIRouter

from kefu.web.channels import messenger, phone, telegram, x

router = APIRouter(prefix="/channels", tags=["channel webhooks"])
router.include_router(telegram.router)
router.include_router(messenger.router)
router.include_router(x.router)
router.include_router(phone.router)
