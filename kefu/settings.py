"""Kefu settings: every knob comes from `KEFU_*` environment variables or an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Published on purpose: a deployment that still uses it is refused in production mode.
DEFAULT_SECRET_KEY = "kefu-development-secret-change-me"  # noqa: S105


class InsecureSettingsError(RuntimeError):
    """Raised when production mode is asked for with development secrets."""


class Settings(BaseSettings):
    """Effective configuration; names are a stable contract for operators and scripts."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(Path("var"), description="SQLite file and local blobs live here by default")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under data_dir")
    redis_url: str = Field("", description="Redis for pub/sub fan-out; empty means in-process bus")
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)

    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"

    run_worker_in_serve: bool = Field(True, description="run the outbox worker loop inside `kefu serve`")
    worker_concurrency: int = Field(4, ge=1, le=64)
    worker_poll_seconds: float = Field(0.5, gt=0)

    blob_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str = ""
    s3_bucket: str = "kefu"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    upload_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    image_max_pixels: int = Field(40_000_000, ge=10_000)

    session_max_age_hours: int = Field(12, ge=1)
    login_max_failures_per_account: int = Field(5, ge=1)
    login_max_failures_per_ip: int = Field(20, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)

    exchange_provider: Literal["demo", "http"] = "demo"
    exchange_api_url: str = ""
    exchange_api_key: str = ""
    exchange_api_secret: SecretStr = SecretStr("")
    exchange_api_timeout_seconds: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _default_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'kefu.db'}"
        return self

    @property
    def blob_dir(self) -> Path:
        """Local blob directory: inside data_dir, never under a served static path."""
        return self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def cookies_secure(self) -> bool:
        """Cookies carry `Secure` (and the `__Host-` prefix) whenever Kefu is served over https."""
        return self.base_url.startswith("https://")

    def check_production_ready(self) -> None:
        """Refuse to run in production with default or missing secrets."""
        if self.env != "production":
            return
        problems = []
        if self.secret_key.get_secret_value() in ("", DEFAULT_SECRET_KEY):
            problems.append("KEFU_SECRET_KEY is the development default")
        elif len(self.secret_key.get_secret_value()) < 32:
            problems.append("KEFU_SECRET_KEY is shorter than 32 characters")
        if self.exchange_provider == "http" and not self.exchange_api_secret.get_secret_value():
            problems.append("KEFU_EXCHANGE_API_SECRET is empty")
        if problems:
            raise InsecureSettingsError("refusing to start in production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings, read once from the environment."""
    return Settings()
