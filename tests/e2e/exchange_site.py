"""The exchange's own site for the chat widget's browser tests: every page embeds widget.js."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class ExchangeSite(ThreadingHTTPServer):
    """The exchange's site: every path is a page embedding widget.js from `kefu_url`.

    A real loopback server, not a routed page: Chromium keeps a page it considers public from loading
    scripts from 127.0.0.1 (Private Network Access).
    """

    kefu_url = ""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _WalletPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, ExchangeSite)
        body = (
            '<!doctype html><html lang="en"><head><title>Wallet</title></head><body><h1>Wallet</h1>'
            f'<script src="{self.server.kefu_url}/widget.js" data-locale="en" async></script></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeSite]:
    """The exchange's site on a free loopback port, for one test module."""
    site = ExchangeSite(("127.0.0.1", 0), _WalletPage)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()
        thread.join(timeout=10)
