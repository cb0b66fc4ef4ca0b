"""S3 specifics against a real S3-speaking server (moto): bucket creation, object naming, reuse."""

from __future__ import annotations

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from tests.storage.conftest import make_s3_store


async def test_ensure_bucket_creates_once(s3_endpoint: str, aio_session: AioSession) -> None:
    store = make_s3_store(s3_endpoint, aio_session)
    try:
        with pytest.raises(ClientError):
            await store.put(b"no bucket yet")
        await store.ensure_bucket()
        await store.ensure_bucket()
        key = await store.put(b"now it works")
        assert await store.get(key) == b"now it works"
    finally:
        await store.close()


async def test_ensure_bucket_outside_us_east_1(s3_endpoint: str, aio_session: AioSession) -> None:
    store = make_s3_store(s3_endpoint, aio_session, region="eu-west-1")
    try:
        await store.ensure_bucket()
        key = await store.put(b"in europe")
        assert await store.exists(key)
    finally:
        await store.close()


async def test_objects_are_named_by_key_only(s3_endpoint: str, aio_session: AioSession) -> None:
    store = make_s3_store(s3_endpoint, aio_session)
    await store.ensure_bucket()
    key = await store.put(b"named")
    async with aio_session.create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as client:
        listing = await client.list_objects_v2(Bucket=store.bucket)
        head = await client.head_object(Bucket=store.bucket, Key=key)
    assert [obj["Key"] for obj in listing["Contents"]] == [key]
    assert head["ContentType"] == "application/octet-stream"
    await store.close()


async def test_store_is_usable_after_close(s3_endpoint: str, aio_session: AioSession) -> None:
    store = make_s3_store(s3_endpoint, aio_session)
    await store.ensure_bucket()
    key = await store.put(b"before close")
    await store.close()
    assert await store.get(key) == b"before close"
    await store.close()
    await store.close()


def test_bucket_is_required() -> None:
    from kefu.storage.s3 import S3BlobStore

    with pytest.raises(ValueError, match="bucket"):
        S3BlobStore(bucket="")
