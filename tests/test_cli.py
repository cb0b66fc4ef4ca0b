"""The `kefu` command as operators and scripts use it: a real process, real SQLite, real output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KEFU = str(Path(sys.executable).parent / "kefu")
SECRET = "cli-test-secret-0123456789abcdef0123456789"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return base | {
        "KEFU_DATA_DIR": str(tmp_path / "var"),
        "KEFU_SECRET_KEY": SECRET,
        "KEFU_LOG_LEVEL": "WARNING",
    }


def kefu(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([KEFU, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kefu {' '.join(args)} failed: {result.stderr}")
    return result


def test_migrate_demo_agent_and_token(env: dict[str, str], tmp_path: Path) -> None:
    kefu(env, "migrate")
    assert (tmp_path / "var" / "kefu.db").exists()
    first = kefu(env, "demo")
    assert "agent@kefu.localhost" in first.stderr
    again = kefu(env, "demo")
    assert "already present" in again.stderr

    kefu(
        env,
        "agent",
        "create",
        "--email",
        "Ops@Kefu.test",
        "--name",
        "Ops",
        "--role",
        "supervisor",
        "--password",
        "a-long-enough-password",
    )
    duplicate = kefu(
        env,
        "agent",
        "create",
        "--email",
        "ops@kefu.test",
        "--name",
        "Ops",
        "--password",
        "a-long-enough-password",
        check=False,
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    weak = kefu(
        env, "agent", "create", "--email", "x@kefu.test", "--name", "X", "--password", "short", check=False
    )
    assert weak.returncode == 1

    token = kefu(env, "token", "create", "--agent", "ops@kefu.test").stdout
    assert token.startswith("kefu_")
    assert token.strip() == token.rstrip("\n")  # only the token, one line
    assert len(token.strip().split()) == 1
    unknown = kefu(env, "token", "create", "--agent", "nobody@kefu.test", check=False)
    assert unknown.returncode == 1
    assert unknown.stdout == ""


def test_config_masks_secrets(env: dict[str, str]) -> None:
    env = env | {
        "KEFU_DATABASE_URL": "postgresql+asyncpg://kefu:hunter2@db.internal/kefu",
        "KEFU_REDIS_URL": "redis://:redispass@cache:6379/0",
    }
    shown = json.loads(kefu(env, "config", "--json").stdout)
    text = json.dumps(shown)
    assert SECRET not in text
    assert "hunter2" not in text
    assert "redispass" not in text
    assert shown["secret_key"] == "********"
    assert shown["database_url"].startswith("postgresql+asyncpg://kefu:***@db.internal")


def test_production_refuses_default_secret(env: dict[str, str]) -> None:
    env = env | {"KEFU_ENV": "production"}
    env.pop("KEFU_SECRET_KEY")
    result = kefu(env, "migrate", check=False)
    assert result.returncode == 2
    assert "KEFU_SECRET_KEY" in result.stderr
    demo = kefu(env | {"KEFU_SECRET_KEY": SECRET}, "demo", check=False)
    assert demo.returncode == 2
    assert "KEFU_DOCUMENT_KEYS" in demo.stderr


def test_every_command_documents_its_options(env: dict[str, str]) -> None:
    for command in (
        ["serve"],
        ["worker"],
        ["migrate"],
        ["demo"],
        ["agent", "create"],
        ["token", "create"],
        ["keys", "generate"],
        ["keys", "rotate"],
        ["config"],
    ):
        out = kefu(env, *command, "--help").stdout
        assert "Usage" in out
    serve = kefu(env, "serve", "--help").stdout
    for option in ("--host", "--port", "--worker"):
        assert option in serve


def test_demo_content_respects_private_teams(env: dict[str, str]) -> None:
    """The demo agent is not in the private security team, so that report is hidden from them."""
    script = (
        "import asyncio\n"
        "from sqlalchemy import select\n"
        "from kefu.settings import get_settings\n"
        "from kefu.db.engine import create_engine, create_sessionmaker\n"
        "from kefu.auth.models import Agent\n"
        "from kefu.auth.service import build_actor\n"
        "from kefu.conversations.service import ConversationFilters, list_conversations\n"
        "async def main():\n"
        "    engine = create_engine(get_settings().database_url)\n"
        "    async with create_sessionmaker(engine)() as s:\n"
        "        for email in ('agent@kefu.localhost', 'supervisor@kefu.localhost'):\n"
        "            agent = await s.scalar(select(Agent).where(Agent.email == email))\n"
        "            actor = await build_actor(s, agent)\n"
        "            filters = ConversationFilters()\n"
        "            rows, _ = await list_conversations(s, actor, filters, limit=50, cursor=None)\n"
        "            print(email, len(rows))\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    kefu(env, "migrate")
    kefu(env, "demo")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    counts = dict(line.split() for line in out.stdout.splitlines())
    assert counts == {"agent@kefu.localhost": "3", "supervisor@kefu.localhost": "4"}


def test_standalone_worker_claims_jobs_and_stops_on_sigterm(env: dict[str, str]) -> None:
    """`kefu worker` runs the outbox: a job nobody handles is claimed and marked dead with the reason."""
    enqueue = (
        "import asyncio\n"
        "from kefu.settings import get_settings\n"
        "from kefu.db.engine import create_engine, create_sessionmaker\n"
        "from kefu.db.uow import transaction\n"
        "from kefu.jobs.enqueue import enqueue\n"
        "async def main():\n"
        "    engine = create_engine(get_settings().database_url)\n"
        "    async with transaction(create_sessionmaker(engine)) as s:\n"
        "        await enqueue(s, 'nobody.handles_this', {'n': 1}, dedupe_key='cli-test')\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    status = (
        "import asyncio\n"
        "from sqlalchemy import select\n"
        "from kefu.settings import get_settings\n"
        "from kefu.db.engine import create_engine, create_sessionmaker\n"
        "from kefu.jobs.models import OutboxJob\n"
        "async def main():\n"
        "    engine = create_engine(get_settings().database_url)\n"
        "    async with create_sessionmaker(engine)() as s:\n"
        "        job = await s.scalar(select(OutboxJob))\n"
        "        print(job.status, job.last_error)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    kefu(env, "migrate")
    subprocess.run([sys.executable, "-c", enqueue], env=env, check=True, timeout=60)
    worker = subprocess.Popen([KEFU, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = ""
        for _ in range(60):
            seen = subprocess.run(
                [sys.executable, "-c", status], env=env, capture_output=True, text=True, check=True
            ).stdout
            if seen.startswith("dead"):
                break
            time.sleep(0.5)
        assert seen.startswith("dead"), seen
        assert "nobody.handles_this" in seen
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0


def test_kb_import_and_export_as_a_separate_process(env: dict[str, str], tmp_path: Path) -> None:
    kefu(env, "migrate")
    source = tmp_path / "kb" / "en"
    source.mkdir(parents=True)
    (source / "fees.md").write_text(
        "---\nslug: fees\nlocale: en\ntitle: Trading fees\ncategory: trading\ntags: [fees]\n---\n"
        "Maker and taker fees depend on your 30-day volume.\n",
        encoding="utf-8",
    )
    first = kefu(env, "kb", "import", str(tmp_path / "kb"))
    assert "1 created" in first.stdout + first.stderr
    again = kefu(env, "kb", "import", str(tmp_path / "kb"))
    assert "1 unchanged" in again.stdout + again.stderr
    kefu(env, "kb", "export", str(tmp_path / "out"))
    exported = (tmp_path / "out" / "en" / "fees.md").read_text(encoding="utf-8")
    assert "Maker and taker fees" in exported
    (source / "broken.md").write_text("---\nslug: [\n---\nbody", encoding="utf-8")
    failed = kefu(env, "kb", "import", str(tmp_path / "kb"), check=False)
    assert failed.returncode == 1
    assert "1 failed" in failed.stdout + failed.stderr
