"""Twilio's request signature (`X-Twilio-Signature`), computed exactly as Twilio documents it.

https://www.twilio.com/docs/usage/security#validating-requests: take the full URL Twilio requested
(scheme, host, path and query), append every POST parameter sorted by name as name + value with no
delimiters, sign that with HMAC-SHA1 keyed by the account's auth token and base64 the digest.
Behind a proxy the URL our app sees is not the one Twilio called, so it is rebuilt from the public
`base_url`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

SIGNATURE_HEADER: Final = "x-twilio-signature"


def public_url(base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called: our public base URL, the request's path and its raw query string."""
    url = base_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def compute_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's signature of a POST to `url` with form `params` (repeated names allowed)."""
    # As Twilio's helper libraries do: by name, then each name's distinct values in order.
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def check_signature(
    auth_token: str, url: str, params: Sequence[tuple[str, str]], signature: str | None
) -> bool:
    """Whether `signature` is Twilio's for this request (constant-time; False when missing)."""
    if not auth_token or not signature:
        return False
    expected = compute_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace"))
