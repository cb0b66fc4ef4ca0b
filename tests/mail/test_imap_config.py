"""IMAP mailbox settings: what operators write in KEFU_IMAP_MAILBOXES, and what start-up refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from kefu.mail.imap_config import ImapMailbox, encode_mailbox_name, is_loopback
from kefu.settings import Settings

BASE = {
    "url": "imaps://support@mail.example.com/INBOX",
    "password": "s3cret-imap",
    "address": "support@example.com",
}


def box(**changes: Any) -> ImapMailbox:
    return ImapMailbox.model_validate(BASE | changes)


def test_environment_variable_is_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", "from-the-environment")
    monkeypatch.setenv(
        "KEFU_IMAP_MAILBOXES",
        json.dumps(
            [
                {
                    "url": "imaps://support%40example.com@imap.example.com:1993/Support",
                    "password_env": "SUPPORT_IMAP_PASSWORD",
                    "address": "Support@Example.com",
                    "after": "move:Processed",
                    "poll_seconds": 120,
                },
                {"url": "imap://kefu@127.0.0.1/INBOX", "password": "local", "address": "vip@example.com"},
            ]
        ),
    )
    first, second = Settings(_env_file=None).imap_mailboxes
    assert (first.scheme, first.host, first.port, first.username, first.folder) == (
        "imaps",
        "imap.example.com",
        1993,
        "support@example.com",
        "Support",
    )
    assert first.address == "support@example.com"
    assert first.move_to == "Processed"
    assert first.poll_seconds == 120
    assert first.secret() == "from-the-environment"
    assert (second.port, second.use_starttls, second.after, second.move_to) == (143, False, "seen", None)
    assert second.secret() == "local"


def test_defaults() -> None:
    assert Settings(_env_file=None).imap_mailboxes == []
    mailbox = ImapMailbox.model_validate(BASE | {"url": "imaps://support@mail.example.com"})
    assert (mailbox.port, mailbox.folder, mailbox.after, mailbox.poll_seconds, mailbox.idle) == (
        993,
        "INBOX",
        "seen",
        60,
        True,
    )
    assert mailbox.batch_size == 50
    assert not mailbox.insecure_tls


def test_passwords_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAP_PW", "env-secret-value")
    monkeypatch.setenv(
        "KEFU_IMAP_MAILBOXES",
        json.dumps(
            [
                BASE,
                BASE
                | {
                    "url": "imaps://other@mail.example.com/INBOX",
                    "password": None,
                    "password_env": "IMAP_PW",
                },
            ]
        ),
    )
    settings = Settings(_env_file=None)
    shown = repr(settings) + str(settings.model_dump()) + settings.model_dump_json()
    assert "s3cret-imap" not in shown
    assert "env-secret-value" not in shown
    assert settings.imap_mailboxes[1].secret() == "env-secret-value"
    assert "s3cret-imap" not in settings.imap_mailboxes[0].label


def test_plain_imap_needs_starttls_unless_loopback() -> None:
    remote = box(url="imap://support@mail.example.com/INBOX")
    assert remote.use_starttls
    for host in ("127.0.0.1", "localhost", "[::1]", "127.8.9.10"):
        assert not box(url=f"imap://support@{host}/INBOX").use_starttls, host
    assert box(url="imap://support@127.0.0.1/INBOX", starttls=True).use_starttls
    assert not box().use_starttls  # imaps is TLS from the first byte
    assert is_loopback("::1")
    assert not is_loopback("mail.example.com")
    assert not is_loopback("10.0.0.1")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "pop3://support@mail.example.com/INBOX"}, "imaps:// or imap://"),
        ({"url": "https://support@mail.example.com/"}, "imaps:// or imap://"),
        ({"url": "imaps://support:pw@mail.example.com/INBOX"}, "not in the url"),
        ({"url": "imaps://mail.example.com/INBOX"}, "user and a host"),
        ({"url": "imaps://support@/INBOX"}, "user and a host"),
        ({"url": "imaps://support@mail.example.com:99999/INBOX"}, "invalid port"),
        ({"url": "imaps://support@mail.example.com/INBOX?x=1"}, "no query"),
        ({"url": "imaps://support@mail.example.com/IN%0D%0ABOX"}, "control characters"),
        ({"url": "imaps://sup%22port@mail.example.com/INBOX"}, "control characters"),
        ({"url": "imap://support@mail.example.com/INBOX", "starttls": False}, "needs STARTTLS"),
        ({"starttls": True}, "imap:// only"),
        ({"password": None}, "exactly one"),
        ({"password_env": "ALSO_THIS"}, "exactly one"),
        ({"password": None, "password_env": "KEFU_TEST_SURELY_UNSET_PASSWORD"}, "empty or unset"),
        ({"password": None, "password_env": "NOT A NAME"}, "variable name"),
        ({"after": "archive"}, "after must be"),
        ({"after": "move:"}, "after must be"),
        ({"after": "move:Done\r\nA1 DELETE INBOX"}, "after must be"),
        ({"after": "move:INBOX"}, "other than the polled one"),
        ({"address": "Support <support@example.com>"}, "one plain address"),
        ({"address": "a@example.com, b@example.com"}, "one plain address"),
        ({"address": "support+tag@example.com"}, "one plain address"),
        ({"address": "support@example.com\r\nBcc: x@evil.example"}, "one plain address"),
        ({"poll_seconds": 0}, "greater than or equal"),
        ({"batch_size": 100_000}, "less than or equal"),
        ({"unknown": 1}, "Extra inputs"),
    ],
)
def test_start_up_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        box(**changes)


@pytest.mark.parametrize(
    "changes", [{"address": "bad"}, {"after": "archive"}, {"url": "imaps://x:pw-XYZ@h/INBOX"}, {"nope": 1}]
)
def test_errors_never_echo_the_password(monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]) -> None:
    entry = {"password": "pw-XYZ"} | {k: v for k, v in BASE.items() if k != "password"} | changes
    monkeypatch.setenv("KEFU_IMAP_MAILBOXES", json.dumps([entry]))  # the password first: not elided
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    assert "pw-XYZ" not in str(error.value)


def test_the_same_folder_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="twice"):
        Settings(_env_file=None, imap_mailboxes=[BASE, BASE | {"address": "other@example.com"}])
    # Another folder of the same account is fine.
    other = BASE | {"url": "imaps://support@mail.example.com/VIP", "address": "vip@example.com"}
    assert len(Settings(_env_file=None, imap_mailboxes=[BASE, other]).imap_mailboxes) == 2


def test_malformed_json_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_IMAP_MAILBOXES", "[{not json")
    with pytest.raises(Exception, match="imap_mailboxes"):
        Settings(_env_file=None)


def test_folder_names_use_modified_utf7() -> None:
    assert encode_mailbox_name("INBOX") == "INBOX"
    assert encode_mailbox_name("已处理") == "&XfJZBHQG-"
    assert encode_mailbox_name("A&B") == "A&-B"
    # The example of RFC 3501 section 5.1.3.
    assert encode_mailbox_name("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert box(url="imaps://support@mail.example.com/%E5%B7%B2%E5%A4%84%E7%90%86").folder == "已处理"
