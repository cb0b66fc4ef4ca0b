"""Visitor tokens and signed identities: only what we (or the exchange, with the shared secret) signed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from itsdangerous import URLSafeTimedSerializer

from kefu.chat.identity import issue_visitor_token, read_visitor_token, user_signature, verify_identity

SECRET = "installation-secret-key-0123456789abcdef"
# 64 bytes: long enough for HS512 too (the algorithm-confusion case below).
CHAT_SECRET = "exchange-shared-secret-" + "0123456789abcdef" * 3
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_visitor_tokens_round_trip_and_refuse_forgeries() -> None:
    visitor = uuid.uuid4()
    token = issue_visitor_token(SECRET, visitor)
    assert read_visitor_token(SECRET, token) == visitor
    assert read_visitor_token("another-installation-secret-0123456789", token) is None
    assert read_visitor_token(SECRET, token[:-2] + "xx") is None
    other_salt = URLSafeTimedSerializer(SECRET, salt="kefu.something.else").dumps(visitor.hex)
    assert read_visitor_token(SECRET, other_salt) is None
    for junk in (None, 42, "", "x" * 500, {"v": visitor.hex}):
        assert read_visitor_token(SECRET, junk) is None


def test_hmac_identities_verify_only_with_the_shared_secret() -> None:
    good = {"user_id": "10086", "signature": user_signature(CHAT_SECRET, "10086")}
    assert verify_identity(good, CHAT_SECRET, now=NOW) is not None
    assert verify_identity(good | {"signature": good["signature"].upper()}, CHAT_SECRET, now=NOW) is not None
    assert verify_identity(good, "", now=NOW) is None  # no secret configured: every claim is ignored
    assert verify_identity(good | {"user_id": "10087"}, CHAT_SECRET, now=NOW) is None
    bad_id = "10086\n"
    assert (
        verify_identity(
            {"user_id": bad_id, "signature": user_signature(CHAT_SECRET, bad_id)}, CHAT_SECRET, now=NOW
        )
        is None
    )


@pytest.mark.parametrize(
    ("claims", "key", "algorithm", "ok"),
    [
        ({"sub": "u1", "exp": NOW + timedelta(hours=1)}, CHAT_SECRET, "HS256", True),
        ({"sub": "u1", "exp": NOW + timedelta(hours=25)}, CHAT_SECRET, "HS256", False),
        ({"sub": "u1", "exp": NOW - timedelta(seconds=1)}, CHAT_SECRET, "HS256", False),
        ({"sub": "u1"}, CHAT_SECRET, "HS256", False),
        ({"exp": NOW + timedelta(hours=1)}, CHAT_SECRET, "HS256", False),
        ({"sub": "u 1", "exp": NOW + timedelta(hours=1)}, CHAT_SECRET, "HS256", False),
        ({"sub": "u1", "exp": NOW + timedelta(hours=1)}, CHAT_SECRET, "HS512", False),
        (
            {"sub": "u1", "exp": NOW + timedelta(hours=1)},
            "another-secret-0123456789abcdefghij",
            "HS256",
            False,
        ),
    ],
)
def test_jwt_identities(claims: dict[str, object], key: str, algorithm: str, ok: bool) -> None:
    # PyJWT checks "exp" against the real clock: place the token's times relative to now.
    shift = datetime.now(UTC) - NOW
    payload = {k: (v + shift if isinstance(v, datetime) else v) for k, v in claims.items()}
    token = jwt.encode(payload, key, algorithm=algorithm)
    verified = verify_identity({"jwt": token}, CHAT_SECRET, now=datetime.now(UTC))
    assert (verified is not None) is ok
    if ok:
        assert verified is not None
        assert verified.user_id == "u1"


def test_unsigned_jwts_and_junk_are_refused() -> None:
    expires = datetime.now(UTC) + timedelta(hours=1)
    unsigned = jwt.encode({"sub": "u1", "exp": expires}, "", algorithm="none")
    claims: tuple[object, ...] = (
        {"jwt": unsigned},
        {"jwt": "a.b.c"},
        {"jwt": 5},
        {"jwt": "x" * 5000},
        [],
        "u1",
        None,
    )
    for claim in claims:
        assert verify_identity(claim, CHAT_SECRET, now=datetime.now(UTC)) is None
