"""Storage fixtures: a real S3-speaking server (moto) for the session, and one store per backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiobotocore.session import AioSession, get_session
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from kefu.storage.base import BlobStore
from kefu.storage.local import LocalBlobStore
from kefu.storage.s3 import S3BlobStore


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a moto S3 server on 127.0.0.1 (port chosen by the OS), shared by the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aio_session() -> AioSession:
    """One botocore session for all S3 stores, so the service model is loaded once."""
    return get_session()


def make_s3_store(
    endpoint: str, session: AioSession, bucket: str | None = None, region: str = "us-east-1"
) -> S3BlobStore:
    """An S3 store on the moto server with a fresh bucket name unless one is given."""
    return S3BlobStore(
        bucket=bucket or f"kefu-test-{uuid.uuid4().hex[:16]}",
        region=region,
        endpoint_url=endpoint,
        access_key_id="testing",
        secret_access_key=SecretStr("testing"),
        session=session,
    )


@pytest.fixture(params=["local", "s3"])
async def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """Each contract test runs against every BlobStore adapter."""
    store: BlobStore
    if request.param == "local":
        store = LocalBlobStore(tmp_path / "blobs")
    else:
        s3 = make_s3_store(request.getfixturevalue("s3_endpoint"), request.getfixturevalue("aio_session"))
        await s3.ensure_bucket()
        store = s3
    yield store
    await store.close()
