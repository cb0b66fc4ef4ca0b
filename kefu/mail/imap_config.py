"""Configuration of the IMAP mailboxes Kefu polls (`KEFU_IMAP_MAILBOXES`), checked at start-up.

Imported by `kefu.settings`, so it depends on pydantic and the standard library only.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from typing import Annotated, Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

_DEFAULT_PORTS = {"imap": 143, "imaps": 993}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_ADDRESS = re.compile(r"[^\s@\"<>()\[\],;:\\+]{1,64}@[A-Za-z0-9.-]{1,253}")


def _has_control(value: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals: the only hosts a password may reach unencrypted."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def encode_mailbox_name(name: str) -> str:
    """`name` in IMAP's modified UTF-7 (RFC 3501 5.1.3), so folders like "已处理" can be selected."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


class ImapMailbox(BaseModel):
    """One mailbox on an existing IMAP server whose mail Kefu fetches for the support `address`.

    `url` is `imaps://user@host:993/INBOX` (implicit TLS) or `imap://user@host:143/INBOX` (STARTTLS,
    required unless the host is loopback). The password comes from `password` or from the environment
    variable named by `password_env`, never from the URL. `insecure_tls` turns certificate checks off:
    it exists for tests and self-signed lab servers; prefer `tls_ca_file` (trust that certificate).
    """

    # Start-up errors are printed: they must not echo the entry, which may hold the password.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str
    address: str
    password: SecretStr | None = None
    password_env: str | None = None
    after: str = Field("seen", description='"seen", "move:<folder>" or "delete"')
    poll_seconds: float = Field(60, ge=1, le=3600, description="between polls when the server lacks IDLE")
    idle: bool = Field(True, description="wait with IDLE when the server supports it")
    batch_size: int = Field(50, ge=1, le=1000, description="messages fetched per poll at most")
    starttls: bool | None = Field(None, description="imap:// only; default: required unless loopback")
    tls_ca_file: str | None = None
    insecure_tls: bool = False
    timeout_seconds: float = Field(30, gt=0, le=300, description="per IMAP command")
    # The password in effect, read from `password` or the environment once, at start-up.
    _secret: SecretStr = PrivateAttr(default_factory=lambda: SecretStr(""))

    @field_validator("address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        value = value.strip().lower()
        if not _PLAIN_ADDRESS.fullmatch(value):
            raise ValueError("address must be one plain address such as support@example.com")
        return value

    @field_validator("after")
    @classmethod
    def _check_after(cls, value: str) -> str:
        if value in ("seen", "delete"):
            return value
        kind, _, folder = value.partition(":")
        if kind == "move" and folder.strip() and not _has_control(folder):
            return f"move:{folder.strip()}"
        raise ValueError('after must be "seen", "delete" or "move:<folder>"')

    @model_validator(mode="after")
    def _check(self) -> Self:
        parts = urlsplit(self.url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError("url must start with imaps:// or imap://")
        if parts.password is not None:
            raise ValueError("put the password in password or password_env, not in the url")
        if not parts.username or not parts.hostname:
            raise ValueError("url needs a user and a host: imaps://user@host/INBOX")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError("url has an invalid port") from None
        if parts.query or parts.fragment:
            raise ValueError("url takes no query or fragment")
        if any(_has_control(v) or '"' in v for v in (self.username, self.folder)):
            raise ValueError("url user and folder must not contain control characters or quotes")
        if parts.scheme == "imaps" and self.starttls is not None:
            raise ValueError("starttls applies to imap:// only (imaps:// is TLS from the start)")
        if self.starttls is False and not is_loopback(self.host):
            raise ValueError(
                "imap:// to a non-loopback host needs STARTTLS (the password would cross in clear)"
            )
        if self.after == f"move:{self.folder}":
            raise ValueError("after=move needs a folder other than the polled one")
        if (self.password is None) == (self.password_env is None):
            raise ValueError("give exactly one of password and password_env")
        if self.password is not None:
            self._secret = self.password
        elif self.password_env is not None:
            if not _ENV_NAME.fullmatch(self.password_env):
                raise ValueError("password_env must be an environment variable name")
            secret = os.environ.get(self.password_env, "")
            if not secret:
                raise ValueError(f"environment variable {self.password_env} (password_env) is empty or unset")
            self._secret = SecretStr(secret)
        return self

    @property
    def scheme(self) -> Literal["imap", "imaps"]:
        """imaps (TLS from the first byte) or imap (STARTTLS or, on loopback, plain)."""
        return "imaps" if urlsplit(self.url).scheme == "imaps" else "imap"

    @property
    def host(self) -> str:
        """The server's host name or IP literal."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The server's port (143 or 993 when the url names none)."""
        return urlsplit(self.url).port or _DEFAULT_PORTS[self.scheme]

    @property
    def username(self) -> str:
        """The login name (percent-decoded: `support%40example.com` is `support@example.com`)."""
        return unquote(urlsplit(self.url).username or "")

    @property
    def folder(self) -> str:
        """The polled folder (percent-decoded path; INBOX when the url has none)."""
        return unquote(urlsplit(self.url).path.lstrip("/")) or "INBOX"

    @property
    def use_starttls(self) -> bool:
        """Whether an imap:// connection upgrades with STARTTLS before logging in."""
        if self.scheme == "imaps":
            return False
        return self.starttls if self.starttls is not None else not is_loopback(self.host)

    @property
    def move_to(self) -> str | None:
        """The folder processed mail is moved to (after=move:<folder>), else None."""
        return self.after.partition(":")[2] if self.after.startswith("move:") else None

    @property
    def label(self) -> str:
        """How logs name this mailbox: user, server and folder, never the password."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def secret(self) -> str:
        """The password (read from password_env at start-up, not at each connection)."""
        return self._secret.get_secret_value()


def check_unique(mailboxes: list[ImapMailbox]) -> list[ImapMailbox]:
    """Refuse two entries polling the same folder: both would fetch and flag the same messages."""
    seen: set[tuple[str, int, str, str]] = set()
    for box in mailboxes:
        key = (box.host.lower(), box.port, box.username, box.folder)
        if key in seen:
            raise ValueError(f"imap_mailboxes lists {box.label} twice")
        seen.add(key)
    return mailboxes


def _mask_secrets(value: object) -> object:
    """Wrap passwords (and any password in a url) before validation, so a start-up error that echoes
    an entry shows `**********` instead (Settings prints the input of a failed entry)."""
    if not isinstance(value, list):
        return value
    masked: list[object] = []
    for item in value:
        if isinstance(item, dict):
            item = dict(item)
            if isinstance(item.get("password"), str):
                item["password"] = SecretStr(item["password"])
            if isinstance(url := item.get("url"), str) and "@" in url:
                parts = urlsplit(url)
                if parts.password is not None:
                    userinfo, _, hostport = parts.netloc.rpartition("@")
                    masked_netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
                    item["url"] = parts._replace(netloc=masked_netloc).geturl()
        masked.append(item)
    return masked


# The type of `Settings.imap_mailboxes`.
ImapMailboxes = Annotated[list[ImapMailbox], BeforeValidator(_mask_secrets), AfterValidator(check_unique)]
