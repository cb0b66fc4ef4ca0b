"""The widget's two HTTP resources: the loader script exchanges embed, and the chat frame page."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kefu.i18n import negotiate_locale
from kefu.runtime import Runtime
from kefu.web.chat.socket import CHAT_SOCKET_PATH, allowed_origins
from kefu.web.templating import render_template

router = APIRouter()

_STATIC: Final = Path(__file__).resolve().parents[1] / "static"
# The loader's URL is fixed (it is pasted into exchanges' pages), so it is cached briefly, not forever.
_LOADER_CACHE: Final = "public, max-age=300"


@lru_cache(maxsize=1)
def _loader() -> bytes:
    return (_STATIC / "widget.js").read_bytes()


def socket_url(base_url: str) -> str:
    """The chat socket's absolute URL (wss:// behind https)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{CHAT_SOCKET_PATH}"


def frame_policy(base_url: str, origins: frozenset[str]) -> str:
    """CSP of the frame: our own scripts only, and embeddable only by the allowed origins."""
    socket_origin = socket_url(base_url).rsplit(CHAT_SOCKET_PATH, 1)[0]
    ancestors = " ".join(["'self'", *sorted(origins)])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self' {socket_origin}; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )


@router.get("/widget.js", include_in_schema=False)
async def widget_loader() -> Response:
    """Public: the script exchanges embed (docs/chat-protocol.md)."""
    return Response(
        _loader(),
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": _LOADER_CACHE, "cross-origin-resource-policy": "cross-origin"},
    )


@router.get("/chat/frame", include_in_schema=False)
async def chat_frame(request: Request, locale: str | None = None) -> HTMLResponse:
    """Public: the chat UI, framed by the widget on allowed origins only (CSP frame-ancestors)."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    chosen = negotiate_locale(
        explicit=locale, cookie=None, accept_language=request.headers.get("accept-language")
    )
    origins = allowed_origins(settings.base_url, settings.chat_origins)
    html = render_template(
        "chat/frame.html",
        locale=chosen,
        socket_url=socket_url(settings.base_url),
        parent_origins=sorted(origins),
    )
    return HTMLResponse(
        html,
        headers={
            "content-security-policy": frame_policy(settings.base_url, origins),
            # Superseded by frame-ancestors wherever CSP is supported; older browsers stay same-origin.
            "x-frame-options": "SAMEORIGIN",
            "cache-control": "no-store",
        },
    )
