"""`kefu keys generate` and `kefu keys rotate` as an operator runs them: real processes, real SQLite."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.conversations.models import Attachment
from kefu.db.engine import create_engine, create_sessionmaker
from kefu.recovery.documents import open_document
from kefu.recovery.models import RecoveryDocument
from kefu.settings import Settings
from kefu.storage.envelope import Keyring
from kefu.storage.local import LocalBlobStore
from tests.recovery.helpers import submit_case

KEFU = str(Path(sys.executable).parent / "kefu")
SECRET = "cli-test-secret-0123456789abcdef0123456789"


@dataclass
class _Runtime:
    """What `submit_case` uses of a Runtime."""

    settings: Settings
    sessionmaker: object
    blobs: LocalBlobStore


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return base | {
        "KEFU_DATA_DIR": str(tmp_path / "var"),
        "KEFU_SECRET_KEY": SECRET,
        "KEFU_LOG_LEVEL": "WARNING",
    }


def kefu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KEFU, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_generate_prints_a_usable_key_entry(env: dict[str, str]) -> None:
    first = kefu(env, "keys", "generate", "--key-id", "k2026-11")
    assert first.returncode == 0, first.stderr
    entry = first.stdout.strip()
    keyring = Keyring.parse(entry)
    assert keyring.active_id == "k2026-11"
    assert kefu(env, "keys", "generate", "--key-id", "k2026-11").stdout.strip() != entry  # random each time
    refused = kefu(env, "keys", "generate", "--key-id", "bad id:x")
    assert refused.returncode == 2
    assert "key id" in refused.stderr


def _seed(data_dir: Path, keys: str) -> None:
    settings = Settings(
        env="test", data_dir=data_dir, secret_key=SecretStr(SECRET), document_keys=SecretStr(keys)
    )

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            runtime = _Runtime(settings, create_sessionmaker(engine), LocalBlobStore(settings.blob_dir))
            await submit_case(runtime, Keyring.parse(keys))  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    asyncio.run(run())


def _read(data_dir: Path, keys: str) -> tuple[set[str], list[bytes], list[str]]:
    settings = Settings(env="test", data_dir=data_dir, secret_key=SecretStr(SECRET))

    async def run() -> tuple[set[str], list[bytes], list[str]]:
        engine = create_engine(settings.database_url)
        blobs = LocalBlobStore(settings.blob_dir)
        try:
            async with create_sessionmaker(engine)() as session:
                rows = (
                    await session.execute(
                        select(RecoveryDocument.key_id, Attachment).join(
                            Attachment, Attachment.id == RecoveryDocument.attachment_id
                        )
                    )
                ).all()
                photos = [await open_document(blobs, Keyring.parse(keys), a.blob_key, a.id) for _k, a in rows]
                events = await session.scalars(
                    select(AuditEvent.action).where(AuditEvent.action == "keys.rotated")
                )
                return {k for k, _a in rows}, photos, list(events)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_rotate_rewraps_documents_so_the_old_key_can_be_removed(env: dict[str, str], tmp_path: Path) -> None:
    k1 = kefu(env, "keys", "generate", "--key-id", "k1").stdout.strip()
    k2 = kefu(env, "keys", "generate", "--key-id", "k2").stdout.strip()
    assert kefu(env, "migrate").returncode == 0
    data_dir = tmp_path / "var"
    _seed(data_dir, k1)
    key_ids, before, _events = _read(data_dir, k1)
    assert key_ids == {"k1"}
    assert len(before) == 3

    rotating = env | {"KEFU_DOCUMENT_KEYS": f"{k2},{k1}"}
    done = kefu(rotating, "keys", "rotate")
    assert done.returncode == 0, done.stderr
    assert "Re-wrapped 3 document(s) under key 'k2'" in done.stderr
    assert k1.split(":", 1)[1] not in done.stdout + done.stderr  # key material is never printed

    key_ids, after, _events = _read(data_dir, k2)  # k1 no longer needed
    assert key_ids == {"k2"}
    assert sorted(after) == sorted(before)
    again = kefu(rotating, "keys", "rotate")
    assert "Re-wrapped 0 document(s)" in again.stderr
    assert len(_read(data_dir, k2)[2]) == 2  # both runs audited

    # Rotating with the old key already dropped cannot open anything: it says so and fails.
    k3 = kefu(env, "keys", "generate", "--key-id", "k3").stdout.strip()
    lost = kefu(env | {"KEFU_DOCUMENT_KEYS": k3}, "keys", "rotate")
    assert lost.returncode == 1
    assert "Could not re-wrap attachment" in lost.stderr
    broken = kefu(env | {"KEFU_DOCUMENT_KEYS": "k1:not-base64"}, "keys", "rotate")
    assert broken.returncode == 2
