"""Server-rendered HTML pages (sign-in, account). Every route answers HTML, never JSON."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.web.pages import account, enroll, login
from kefu.web.pages.page import install_page_errors

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(enroll.router)
router.include_router(account.router)

__all__ = ["install_page_errors", "router"]
