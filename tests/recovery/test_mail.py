"""The recovery emails render in both languages, name no document, and refuse unknown texts."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.i18n import SUPPORTED_LOCALES
from kefu.mail.render import render
from kefu.mail.specs import get_spec
from kefu.recovery.reasons import HOLD_REASONS, TEMPLATES

RECEIVED: dict[str, Any] = {
    "reference": "KF-12345678",
    "purge_days": 30,
    "requests_url": "https://kefu.test/hc/en/my/requests",
}
DECIDED: dict[str, Any] = {
    "reference": "KF-12345678",
    "outcome": "approved",
    "reason": TEMPLATES["2fa_reset"].customer_text,
    "purge_days": 30,
    "requests_url": "https://kefu.test/hc/en/my/requests",
    "hold_reason": HOLD_REASONS["withdrawals_24h_after_2fa_reset"],
    "hold_until": "Wed, Nov 25, 2026 08:00 (UTC)",
}


def _render(name: str, context: dict[str, Any], locale: str = "en") -> Any:
    spec = get_spec(name)
    return render(spec, locale, spec.check_context(context))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(
    ("name", "context"), [("recovery_received", RECEIVED), ("recovery_decided", DECIDED)]
)
def test_recovery_emails_render_in_every_locale(name: str, context: dict[str, Any], locale: str) -> None:
    result = _render(name, context, locale)
    assert "KF-12345678" in result.subject
    assert "\n" not in result.subject
    assert "<script" not in result.html
    assert "{{" not in result.text + result.html
    assert "https://kefu.test/hc/en/my/requests" in result.text


def test_the_acknowledgement_says_what_happens_to_the_documents() -> None:
    result = _render("recovery_received", RECEIVED)
    assert result.subject == "We received your account recovery request (KF-12345678)"
    assert "deleted 30 days after the decision" in result.text
    assert "only our identity reviewers can see them" in result.html


def test_the_decision_states_the_reason_and_the_hold() -> None:
    approved = _render("recovery_decided", DECIDED)
    assert "was approved" in approved.text
    assert "removed its two-factor authentication" in approved.text
    assert "Withdrawals are locked for 24 hours after a 2FA reset." in approved.text
    assert "The hold ends on Wed, Nov 25, 2026 08:00 (UTC)." in approved.text
    rejected = _render(
        "recovery_decided",
        DECIDED
        | {
            "outcome": "rejected",
            "reason": TEMPLATES["mismatch"].customer_text,
            "hold_reason": None,
            "hold_until": None,
        },
    )
    assert "was not approved" in rejected.text
    assert "does not match the verified owner" in rejected.html
    assert "hold" not in rejected.text.lower()


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "Send us your seed phrase to unlock"},
        {"outcome": "maybe"},
        {"hold_reason": "<b>anything</b>"},
        {"purge_days": 0},
        {"reference": "not a reference"},
    ],
)
def test_only_known_texts_and_values_are_queued(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        get_spec("recovery_decided").check_context(DECIDED | change)
