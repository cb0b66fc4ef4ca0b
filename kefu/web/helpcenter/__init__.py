"""The public help center: home, categories, articles and search, in zh-CN and en. No sign-in."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.web.helpcenter import (
    articles,
    callback,
    contact,
    home,
    my_requests,
    recovery,
    requests,
    search,
    status,
    verify,
)
from kefu.web.helpcenter.context import install_help_center_errors

router = APIRouter(include_in_schema=False)
router.include_router(home.router)
# Search before articles: "/search/suggest" must not be read as anything else.
router.include_router(search.router)
router.include_router(articles.router)
router.include_router(status.router)
router.include_router(contact.router)
router.include_router(requests.router)
router.include_router(my_requests.router)
router.include_router(verify.router)
router.include_router(recovery.router)
router.include_router(callback.router)

__all__ = ["install_help_center_errors", "router"]
