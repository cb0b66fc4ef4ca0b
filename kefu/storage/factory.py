"""Build the configured `BlobStore` from settings (never at import time)."""

from __future__ import annotations

from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.storage.local import LocalBlobStore
from kefu.storage.s3 import S3BlobStore


def create_blob_store(settings: Settings) -> BlobStore:
    """The blob store selected by `KEFU_BLOB_BACKEND`; the S3 client connects lazily on first use."""
    if settings.blob_backend == "s3":
        return S3BlobStore(
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url or None,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalBlobStore(settings.blob_dir)
