"""The factory picks the configured backend."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from kefu.settings import Settings
from kefu.storage.factory import create_blob_store
from kefu.storage.local import LocalBlobStore
from kefu.storage.s3 import S3BlobStore


async def test_local_backend_uses_blob_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blob_backend="local")
    store = create_blob_store(settings)
    assert isinstance(store, LocalBlobStore)
    assert store.root == settings.blob_dir.resolve()
    key = await store.put(b"local")
    assert (settings.blob_dir / key[:2] / key[2:4] / key).is_file()


async def test_s3_backend_talks_to_the_configured_server(tmp_path: Path, s3_endpoint: str) -> None:
    settings = Settings(
        data_dir=tmp_path,
        blob_backend="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket="kefu-factory-test",
        s3_region="us-east-1",
        s3_access_key_id="testing",
        s3_secret_access_key=SecretStr("testing"),
    )
    store = create_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    assert store.bucket == "kefu-factory-test"
    try:
        await store.ensure_bucket()
        key = await store.put(b"via settings")
        assert await store.get(key) == b"via settings"
    finally:
        await store.close()
