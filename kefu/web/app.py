"""The ASGI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from kefu.logging import configure_logging
from kefu.request_forms.exchange_lists import install_exchange
from kefu.runtime import Runtime, build_runtime
from kefu.settings import Settings, get_settings
from kefu.web.api.v1 import router as api_v1
from kefu.web.api.v1.conversations import create_conversation
from kefu.web.api.v1.health import router as health_router
from kefu.web.channels import router as channel_webhooks_router
from kefu.web.chat.files import router as chat_files_router
from kefu.web.chat.pages import router as chat_pages_router
from kefu.web.chat.socket import router as chat_socket_router
from kefu.web.console import install_console_errors
from kefu.web.console import router as console_router
from kefu.web.errors import install_error_handlers
from kefu.web.helpcenter import install_help_center_errors
from kefu.web.helpcenter import router as help_center_router
from kefu.web.metrics import MetricsMiddleware
from kefu.web.metrics import router as metrics_router
from kefu.web.middleware import BodyLimitMiddleware, RequestContextMiddleware
from kefu.web.pages import install_page_errors
from kefu.web.pages import router as pages_router
from kefu.web.templating import STATIC_PREFIX, static_files
from kefu.webhooks.listeners import install as install_webhooks

# Room for the largest upload plus the multipart envelope and the JSON payload part.
_BODY_OVERHEAD = 1024 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    start_worker: bool | None = None,
    start_smtp: bool | None = None,
) -> FastAPI:
    """Build the app; the runtime (database, blobs, bus, worker) is created at start-up, not import.

    The SMTP listener starts by default when `smtp_listen` is set, except in test settings and for
    apps built with `start_worker=False` (tests and embedders): those never bind port 2525.
    """
    settings = settings or (runtime.settings if runtime else get_settings())
    settings.check_production_ready()
    install_webhooks()  # events of this process become webhook deliveries (docs/webhooks.md)
    run_worker = settings.run_worker_in_serve if start_worker is None else start_worker
    run_smtp = (
        bool(settings.smtp_listen) and settings.env != "test" and start_worker is not False
        if start_smtp is None
        else start_smtp
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or build_runtime(settings)
        app.state.runtime = rt
        install_exchange(rt.exchange)
        await rt.prepare()
        if run_worker:
            rt.start_worker()
        if run_smtp:
            await rt.start_smtp()
        try:
            yield
        finally:
            if owned:
                await rt.close()
            elif run_smtp:
                await rt.stop_smtp()

    app = FastAPI(
        title="Kefu",
        version="1",
        summary="Customer support for cryptocurrency exchanges",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    if runtime is not None:
        app.state.runtime = runtime
        install_exchange(runtime.exchange)
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_v1, prefix=API_PREFIX)
    install_page_errors(app)
    app.include_router(pages_router)
    install_console_errors(app)
    app.include_router(console_router)
    app.include_router(chat_pages_router)
    app.include_router(chat_files_router)
    app.include_router(chat_socket_router)
    app.include_router(channel_webhooks_router)
    install_help_center_errors(app)
    app.include_router(help_center_router)
    app.mount(STATIC_PREFIX, static_files(), name="static")
    # The busiest write route, matched before the included routers (see match_first).
    match_first(app, [FirstRoute(f"{API_PREFIX}/conversations", create_conversation, methods=["POST"])])
    max_body = settings.upload_max_bytes * 10 + _BODY_OVERHEAD
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(MetricsMiddleware)
    return app


API_PREFIX = "/api/v1"


class FirstRoute(Route):
    """A Starlette route for `match_first` that names itself in the scope, as FastAPI's routes do
    (metrics label requests by the matched route's template)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match == Match.FULL:
            child_scope["route"] = self
        return match, child_scope


def match_first(app: FastAPI, routes: list[BaseRoute]) -> None:
    """Match `routes` before everything else: Starlette routes that call their endpoint directly.

    For a route that takes no dependencies and builds its own response, FastAPI's matching through
    nested included routers and its request wrapper cost about a tenth of the request's CPU
    (docs/performance.md). Its FastAPI route stays where it was, for the OpenAPI document; requests
    with another method fall through to the other routes as before.
    """
    app.router.routes[:0] = routes


# (gen0, gen1, gen2) collection thresholds of a served process. A full collection walks every live
# object: with 1,000 chat sockets open it took 0.25–0.3 s and, at Python's default of 10, ran every
# few seconds under chat load (each one a latency spike for every socket). Cyclic garbage is caught
# by the young collections; the full one, for what outlives them, runs a hundred times less often.
GC_THRESHOLDS: Final = (700, 10, 1000)


def create_served_app() -> FastAPI:
    """The factory `kefu serve` hands to uvicorn: settings from the environment, logging configured."""
    settings = get_settings()
    configure_logging(settings)
    app = create_app(settings)
    # What is loaded by now (modules, the ORM's and pydantic's structures) lives as long as the process.
    # Frozen, full collections no longer walk it: under load they stalled every socket for 0.2–0.4 s.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app
