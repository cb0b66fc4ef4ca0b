"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, …) via aiobotocore."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError
from pydantic import SecretStr

from kefu.core.errors import NotFound
from kefu.storage.base import blob_key, check_key

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    """A `BlobStore` on an S3 bucket; the client is created on first use and released by close()."""

    def __init__(
        self,
        *,
        bucket: str,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: SecretStr | None = None,
        session: AioSession | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        self._bucket = bucket
        self._region = region
        self._endpoint_url = endpoint_url or None
        # Empty credentials mean "use botocore's default chain" (env, instance profile, …).
        self._access_key_id = access_key_id or None
        secret = secret_access_key.get_secret_value() if secret_access_key else ""
        self._secret_access_key = SecretStr(secret) if secret else None
        # Sharing a session between stores saves loading botocore's service model again.
        self._session = session
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    @property
    def bucket(self) -> str:
        """The bucket holding the blobs."""
        return self._bucket

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                config = AioConfig(
                    signature_version="s3v4",
                    # Self-hosted S3 servers are usually reached by IP or a single host name.
                    s3={"addressing_style": "path" if self._endpoint_url else "auto"},
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                    # Newer botocore adds CRC checksums that several S3-compatible servers reject;
                    # integrity is covered by Content-MD5 on upload instead.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                secret = self._secret_access_key.get_secret_value() if self._secret_access_key else None
                creator = (self._session or get_session()).create_client(
                    "s3",
                    region_name=self._region,
                    endpoint_url=self._endpoint_url,
                    aws_access_key_id=self._access_key_id,
                    aws_secret_access_key=secret,
                    config=config,
                )
                self._client = await self._stack.enter_async_context(creator)
            return self._client

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists already (run once at deployment or start-up)."""
        client = await self._get_client()
        try:
            await client.head_bucket(Bucket=self._bucket)
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_BUCKET_CODES:
                raise
        else:
            return
        params: dict[str, Any] = {"Bucket": self._bucket}
        if self._region != "us-east-1":
            # us-east-1 is the one region that refuses an explicit location constraint.
            params["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            await client.create_bucket(**params)
        except ClientError as exc:
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def put(self, data: bytes) -> str:
        """Store `data` and return its sha256 hex key; idempotent (same key, same bytes)."""
        key = blob_key(data)
        client = await self._get_client()
        # Content-MD5 makes the server reject a body corrupted in transit.
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        await client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentMD5=base64.b64encode(digest).decode("ascii"),
            ContentType="application/octet-stream",
        )
        return key

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key`; NotFound when absent."""
        check_key(key)
        client = await self._get_client()
        try:
            response = await client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise NotFound("blob not found") from None
            raise
        async with response["Body"] as stream:
            body: bytes = await stream.read()
        return body

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        check_key(key)
        client = await self._get_client()
        try:
            await client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        """Remove the blob under `key`; S3 treats deleting a missing object as success."""
        check_key(key)
        client = await self._get_client()
        await client.delete_object(Bucket=self._bucket, Key=key)

    async def close(self) -> None:
        """Close the HTTP connection pool; a later call opens a new client."""
        async with self._lock:
            await self._stack.aclose()
            self._client = None
