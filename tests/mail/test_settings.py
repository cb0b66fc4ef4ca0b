"""Mail settings: a broken From or half a DKIM setup fails at start-up, not in every mail job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from kefu.mail.headers import mail_domain
from kefu.settings import InsecureSettingsError, Settings
from tests.conftest import TEST_SECRET


def test_defaults_need_no_relay() -> None:
    settings = Settings(_env_file=None)
    assert settings.mail_transport == "file"
    assert settings.mail_from == "Kefu Support <support@kefu.localhost>"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == ("127.0.0.1", 25, "none")
    assert mail_domain(settings) == "kefu.localhost"


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    for name, value in {
        "KEFU_MAIL_TRANSPORT": "smtp",
        "KEFU_MAIL_FROM": "Support <support@exchange.example>",
        "KEFU_MAIL_DOMAIN": "mail.exchange.example",
        "KEFU_MAIL_REPLY_TO": "help@exchange.example",
        "KEFU_SMTP_HOST": "relay.internal",
        "KEFU_SMTP_PORT": "587",
        "KEFU_SMTP_SECURITY": "starttls",
        "KEFU_SMTP_USERNAME": "kefu",
        "KEFU_SMTP_PASSWORD": "relay-password",
        "KEFU_SMTP_TIMEOUT_SECONDS": "10",
        "KEFU_DKIM_SELECTOR": "kefu2025",
        "KEFU_DKIM_DOMAIN": "exchange.example",
        "KEFU_DKIM_PRIVATE_KEY_PATH": str(key),
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.smtp_port == 587
    assert settings.smtp_password.get_secret_value() == "relay-password"
    assert "relay-password" not in repr(settings)
    assert settings.dkim_private_key_path == key
    assert mail_domain(settings) == "mail.exchange.example"


@pytest.mark.parametrize(
    "changes",
    [
        {"mail_from": "not an address"},
        {"mail_from": "a@example.com, b@example.com"},
        {"mail_from": "Support <support@example.com>\r\nBcc: x@evil.example"},
        {"mail_reply_to": "nobody"},
        {"mail_domain": "two words"},
        {"mail_domain": "evil.example>\r\nBcc:"},
        {"dkim_selector": "kefu2025"},  # without domain and key
        {"dkim_domain": "example.com", "dkim_private_key_path": "/etc/key.pem"},
        {"smtp_port": 0},
        {"smtp_security": "ssl"},
        {"mail_transport": "sendmail"},
        {"smtp_timeout_seconds": 600},  # longer than a job's lease allows
    ],
)
def test_bad_mail_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **changes)


def test_production_refuses_a_password_in_the_clear() -> None:
    base: dict[str, Any] = {
        "env": "production",
        "secret_key": SecretStr(TEST_SECRET),
        "document_keys": SecretStr("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        "mail_transport": "smtp",
        "smtp_host": "relay.example.com",
        "smtp_username": "kefu",
        "smtp_password": SecretStr("relay-password"),
    }
    with pytest.raises(InsecureSettingsError, match="KEFU_SMTP_SECURITY"):
        Settings(_env_file=None, **base).check_production_ready()
    Settings(_env_file=None, **base | {"smtp_security": "starttls"}).check_production_ready()
    Settings(_env_file=None, **base | {"smtp_host": "127.0.0.1"}).check_production_ready()
