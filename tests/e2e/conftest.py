"""Browser tests: a real `kefu serve` process on SQLite, driven through Debian's chromium by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.conftest import service_unavailable
from tests.e2e.exchange_site import exchange

__all__ = ["exchange"]  # the exchange's site, a fixture of the chat widget's tests

KEFU = str(Path(sys.executable).parent / "kefu")
CHROMIUM = os.environ.get("KEFU_TEST_CHROMIUM", "/usr/bin/chromium")
# Flags from SERVICES.md: the sandbox needs privileges we lack, and the network is closed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AGENT_EMAIL = "li@kefu.test"
AGENT_PASSWORD = "browser-test-password-42"


@dataclass(frozen=True)
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def kefu(self, *args: str) -> str:
        """Run a `kefu` CLI command against this server's database; returns its stdout."""
        done = subprocess.run(
            [KEFU, *args], env=self.env, check=True, capture_output=True, text=True, timeout=120
        )
        return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_server(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    worker: bool = False,
    setup: bool = True,
) -> Iterator[LiveServer]:
    """`kefu serve` in its own process, as `make run` starts it, with one agent; stopped on exit.

    `setup=False` starts another node of a deployment whose database is migrated and has the agent.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        | {
            "KEFU_DATA_DIR": str(data_dir),
            "KEFU_SECRET_KEY": "browser-test-secret-0123456789abcdefghijkl",
            "KEFU_BASE_URL": url,
            "KEFU_LOG_LEVEL": "WARNING",
            "KEFU_WORKER_POLL_SECONDS": "0.2",
            "KEFU_SMTP_LISTEN": "",  # tests never bind the default 2525
        }
        | (extra_env or {})
    )
    if setup:
        subprocess.run([KEFU, "migrate"], env=env, check=True, capture_output=True, timeout=120)
        subprocess.run(
            [
                KEFU,
                "agent",
                "create",
                "--email",
                AGENT_EMAIL,
                "--name",
                "Li Wei",
                "--password",
                AGENT_PASSWORD,
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    command = [KEFU, "serve", "--port", str(port)] + ([] if worker else ["--no-worker"])
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("kefu serve did not come up")
        yield LiveServer(url, env, server)
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared server of the browser tests (SQLite, no worker)."""
    with run_server(tmp_path_factory.mktemp("e2e")) as server:
        yield server


def _chromium_installed() -> bool:
    return shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium (never a downloaded one); skips, or fails in CI, when it is missing."""
    if not _chromium_installed():
        service_unavailable("chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@asynccontextmanager
async def checked_page(
    browser: Browser, *, locale: str = "en-US", timezone_id: str = "Asia/Shanghai"
) -> AsyncIterator[Page]:
    """A fresh page in its own context that fails the test on any Content Security Policy report."""
    context = await browser.new_context(locale=locale, timezone_id=timezone_id)
    opened = await context.new_page()
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    opened.on("console", watch)
    try:
        yield opened
        assert blocked == []
    finally:
        await context.close()
