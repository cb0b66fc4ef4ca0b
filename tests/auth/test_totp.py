"""TOTP codes: provisioning, drift window, replay protection, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from kefu.auth.totp import code_for, match_timestep, new_totp_secret, normalise_code, provisioning_uri

NOW = datetime(2025, 3, 1, 9, 0, 10, tzinfo=UTC)


def test_provisioning_uri_names_issuer_and_account() -> None:
    secret = new_totp_secret()
    uri = provisioning_uri(secret, account_name="alice@example.com")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth"
    assert parsed.netloc == "totp"
    query = parse_qs(parsed.query)
    assert query["issuer"] == ["Kefu"]
    assert query["secret"] == [secret]
    assert "alice%40example.com" in parsed.path or "alice@example.com" in parsed.path


def test_current_and_adjacent_steps_are_accepted() -> None:
    secret = new_totp_secret()
    for delta in (-30, 0, 30):
        code = code_for(secret, at=NOW + timedelta(seconds=delta))
        assert match_timestep(secret, code, at=NOW, last_timestep=None) is not None
    stale = code_for(secret, at=NOW - timedelta(seconds=90))
    assert match_timestep(secret, stale, at=NOW, last_timestep=None) is None


def test_replayed_and_older_steps_are_rejected() -> None:
    secret = new_totp_secret()
    code = code_for(secret, at=NOW)
    step = match_timestep(secret, code, at=NOW, last_timestep=None)
    assert step is not None
    assert match_timestep(secret, code, at=NOW, last_timestep=step) is None
    older = code_for(secret, at=NOW - timedelta(seconds=30))
    assert match_timestep(secret, older, at=NOW, last_timestep=step) is None
    newer = code_for(secret, at=NOW + timedelta(seconds=30))
    assert match_timestep(secret, newer, at=NOW + timedelta(seconds=30), last_timestep=step) == step + 1


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5", "0" * 10_000, "123456\n"]
)
def test_malformed_codes_are_rejected(code: str) -> None:
    secret = new_totp_secret()
    assert match_timestep(secret, code, at=NOW, last_timestep=None) is None


def test_spaces_in_codes_are_tolerated() -> None:
    secret = new_totp_secret()
    code = code_for(secret, at=NOW)
    assert normalise_code(f"{code[:3]} {code[3:]}") == code
    assert match_timestep(secret, f" {code[:3]} {code[3:]} ", at=NOW, last_timestep=None) is not None
