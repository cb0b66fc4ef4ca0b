"""Logs are JSON in production, carry request ids, and never contain passwords or tokens.

Run in a child process: logging is process-wide configuration that tests must not leave behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, httpx, structlog
    from kefu.db import migrate
    from kefu.db.engine import create_engine, create_sessionmaker
    from kefu.db.uow import transaction
    from kefu.auth.actions import do_create_agent
    from kefu.auth.roles import Role, Scope
    from kefu.auth.tokens import do_issue_api_token_as_operator
    from kefu.settings import get_settings
    from kefu.web.app import create_served_app

    PASSWORD = "correct horse battery staple"

    async def main() -> None:
        settings = get_settings()
        await migrate.upgrade_async(settings.database_url)
        engine = create_engine(settings.database_url)
        async with transaction(create_sessionmaker(engine)) as session:
            await do_create_agent(session, email="li@kefu.test", name="Li", role=Role.AGENT,
                                  password=PASSWORD, actor=None)
            _, token = await do_issue_api_token_as_operator(
                session, agent_email="li@kefu.test", name="t", scopes={Scope.CONVERSATIONS_READ},
                expires_in_days=None)
        await engine.dispose()
        app = create_served_app()
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
                for password in ("x" + PASSWORD, PASSWORD):
                    login = {"email": "li@kefu.test", "password": password}
                    await client.post("/api/v1/auth/login", json=login)
                auth = {"authorization": "Bearer " + token}
                response = await client.get("/api/v1/conversations", headers=auth)
        structlog.get_logger("probe").info("probe", password="hunter2", api_token=token, status_code=200)
        print(response.headers["x-request-id"])
        print(token)

    asyncio.run(main())
    """
)


def test_requests_are_logged_as_json_without_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")} | {
        "KEFU_ENV": "production",
        "KEFU_SECRET_KEY": "logging-test-secret-0123456789abcdefghijkl",
        "KEFU_DOCUMENT_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "KEFU_DATA_DIR": str(tmp_path),
        "KEFU_RUN_WORKER_IN_SERVE": "false",
        "KEFU_SMTP_LISTEN": "",  # tests never bind the default 2525
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    request_id, token = result.stdout.split()
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 3
    assert request_id in {r["request_id"] for r in requests}
    assert all(
        {"method", "path", "status", "duration_ms", "level", "timestamp"} <= r.keys() for r in requests
    )
    assert [r["status"] for r in requests] == [401, 200, 200]
    probe = next(line for line in lines if line.get("event") == "probe")
    assert probe["password"] == "[redacted]"
    assert probe["api_token"] == "[redacted]"
    assert probe["status_code"] == 200
    for secret in ("correct horse battery staple", token, "hunter2"):
        assert secret not in result.stderr
