"""Kefu settings: every knob comes from `KEFU_*` environment variables or an optional `.env` file."""

from __future__ import annotations

import email.policy
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kefu.mail.imap_config import ImapMailboxes

# Published on purpose: a deployment that still uses it is refused in production mode.
DEFAULT_SECRET_KEY = "kefu-development-secret-change-me"  # noqa: S105
_DNS_NAME = re.compile(
    r"(?i)[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)


class InsecureSettingsError(RuntimeError):
    """Raised when production mode is asked for with development secrets."""


class Settings(BaseSettings):
    """Effective configuration; names are a stable contract for operators and scripts."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(Path("var"), description="SQLite file and local blobs live here by default")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under data_dir")
    redis_url: str = Field("", description="Redis for pub/sub fan-out; empty means in-process bus")
    reports_database_url: str = Field(
        "", description="a read replica the reports read from (same schema); empty means database_url"
    )
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

    # Outbound email (docs/email.md). "file" writes .eml files under data_dir/mail/outbox: no relay needed.
    mail_transport: Literal["file", "smtp"] = "file"
    mail_from: str = "Kefu Support <support@kefu.localhost>"
    mail_domain: str = Field("", description="domain of Message-IDs; empty means the From address's domain")
    mail_reply_to: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # Per SMTP command; a whole send gets 4x this, inside the 300 s job lease (so at most 60 here).
    smtp_timeout_seconds: float = Field(30.0, gt=0, le=60)
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_private_key_path: Path | None = None

    # Inbound email (docs/email.md). Support mailboxes: "support@x.com,vip@x.com=vip-team" (a team slug
    # after "="), in addition to the email inboxes configured in the console.
    support_addresses: str = ""
    smtp_listen: str = Field(
        "127.0.0.1:2525", description="host:port of the SMTP listener; empty disables it"
    )
    inbound_max_bytes: int = Field(25 * 1024 * 1024, ge=64 * 1024)
    # Messages being stored at once; beyond this the listener answers 451 and the sender retries later.
    smtp_max_inflight: int = Field(32, ge=1, le=1024)
    # Mailboxes on an existing IMAP server, polled by the worker (docs/email.md, "Inbound: IMAP
    # mailboxes"): a JSON list of {"url", "address", "password" | "password_env", "after", ...}.
    imap_mailboxes: ImapMailboxes = Field(default_factory=list, description="IMAP mailboxes to poll (JSON)")
    # Sender authentication (SPF, DKIM, DMARC) asks DNS: comma-separated servers, empty = the system's;
    # or a JSON file of static answers for sites without DNS (kefu.mail.inbound.dns.StaticResolver).
    dns_nameservers: str = ""
    dns_timeout_seconds: float = Field(3.0, gt=0, le=30)
    dns_static_file: Path | None = None

    # Live chat (docs/chat-protocol.md). Origins of the exchange's sites that may embed the widget
    # ("https://www.example.com,https://m.example.com"); Kefu's own origin always may.
    chat_origins: str = ""
    # Key of the signed identities the exchange's pages pass to the widget; empty ignores them all.
    chat_identity_secret: SecretStr = SecretStr("")
    # The bot answers unassigned chats from the knowledge base and collects details before a person.
    chat_bot: bool = Field(True, description="let the bot answer unassigned chats first")
    # Customers' messages a node works on at once; more are refused with `busy` and sent again by the
    # widget (kefu.chat.admission). About two seconds of one process's throughput (bench/chat_load.py).
    chat_max_posts_in_flight: int = Field(
        2000, ge=1, le=100_000, description="chat messages handled at once per process before `busy`"
    )

    # Social and phone channels (docs/social-channels.md): the providers' API base URLs. Only tests and
    # air-gapped stand-ins change them; credentials are per inbox (sealed), never settings.
    telegram_api_url: str = "https://api.telegram.org"
    meta_graph_url: str = "https://graph.facebook.com/v21.0"
    x_api_url: str = "https://api.x.com"

    # Trust and safety (docs/trust-and-safety.md). Master keys of identity documents and anti-phishing
    # codes, "id:BASE64,id:BASE64" (32-byte keys, the first encrypts; `kefu keys generate` prints one).
    # Empty derives one from KEFU_SECRET_KEY, which production refuses.
    document_keys: SecretStr = SecretStr("")
    # Identity documents of decided recovery cases are purged this many days after the decision.
    recovery_purge_days: int = Field(30, ge=1, le=3650)
    # Extra regular expressions of the exchange's API secrets to redact from what customers send,
    # separated by newlines (e.g. \bexk_[A-Za-z0-9]{40}\b).
    redaction_patterns: str = ""
    # A one-time identity code is valid this long; a verified conversation stays verified this long.
    identity_code_minutes: int = Field(10, ge=1, le=60)
    identity_verified_hours: int = Field(24, ge=1, le=24 * 30)

    # Data retention and privacy requests (docs/privacy.md). Days after a conversation is closed before
    # its attachments, then its personal data, are purged; 0 keeps them forever.
    retention_attachment_days: int = Field(0, ge=0, le=36500)
    retention_personal_data_days: int = Field(0, ge=0, le=36500)
    # Conversations handled per purge run (hourly); a backlog drains over the following runs.
    retention_batch_size: int = Field(200, ge=1, le=10_000)
    # Finished outbox jobs (sent emails, delivered webhooks, periodic runs) and their payloads are
    # deleted this many days after they finished; a dedupe key guards against repeats until then.
    outbox_retention_days: int = Field(30, ge=1, le=3650)
    # A customer-data export (ZIP) can be downloaded this many days, then it is deleted.
    privacy_export_days: int = Field(7, ge=1, le=90)
    # Erasure keeps staff notes with the customer's identifiers masked; False replaces every note that
    # mentions the customer by the removal marker.
    privacy_erasure_keeps_notes: bool = True

    # Outbound webhooks (docs/webhooks.md). Letting them reach loopback and private addresses is for
    # local development and tests only: production refuses to start with it.
    webhook_allow_private_networks: bool = False
    # One delivery attempt (connect, send, read the answer), redirects included.
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60)

    # Operations (docs/operations.md). The bearer token Prometheus sends to GET /metrics; empty means
    # only clients on the loopback interface may scrape (everyone else gets 404).
    metrics_token: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _default_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'kefu.db'}"
        return self

    @model_validator(mode="after")
    def _check_mail(self) -> Settings:
        # A broken From or half a DKIM setup would only show up as dead mail jobs: fail at start-up.
        for name in ("mail_from", "mail_reply_to"):
            value = getattr(self, name)
            if value or name == "mail_from":
                header = email.policy.SMTP.header_factory("From", value)
                if "\r" in value or "\n" in value or header.defects or len(header.addresses) != 1:
                    raise ValueError(f"{name} must be one address, e.g. 'Support <support@example.com>'")
        for name in ("mail_domain", "dkim_selector", "dkim_domain"):
            value = getattr(self, name)
            if value and (len(value) > 253 or not _DNS_NAME.fullmatch(value)):
                raise ValueError(f"{name} must be a DNS name")
        dkim = (self.dkim_selector, self.dkim_domain, self.dkim_private_key_path)
        if any(dkim) and not all(dkim):
            raise ValueError("DKIM needs dkim_selector, dkim_domain and dkim_private_key_path together")
        return self

    @model_validator(mode="after")
    def _check_redaction_patterns(self) -> Settings:
        for number, line in enumerate(self.redaction_patterns.splitlines(), start=1):
            if line.strip():
                try:
                    re.compile(line.strip())
                except re.error as error:
                    message = f"redaction_patterns line {number} is not a regular expression: {error}"
                    raise ValueError(message) from None
        return self

    @model_validator(mode="after")
    def _check_webhooks(self) -> Settings:
        if self.env == "production" and self.webhook_allow_private_networks:
            raise ValueError("webhook_allow_private_networks is refused in production (SSRF)")
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
        if not self.document_keys.get_secret_value():
            problems.append("KEFU_DOCUMENT_KEYS is empty (identity documents need their own master key)")
        if self.exchange_provider == "http" and not self.exchange_api_secret.get_secret_value():
            problems.append("KEFU_EXCHANGE_API_SECRET is empty")
        if (
            self.mail_transport == "smtp"
            and self.smtp_username
            and self.smtp_security == "none"
            and self.smtp_host not in ("127.0.0.1", "::1", "localhost")
        ):
            problems.append("KEFU_SMTP_PASSWORD would cross the network unencrypted; set KEFU_SMTP_SECURITY")
        if problems:
            raise InsecureSettingsError("refusing to start in production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings, read once from the environment."""
    return Settings()
