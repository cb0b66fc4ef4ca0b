"""The decision templates reviewers choose from, and the customer-facing names of form choices.

Texts are English msgids marked with `N_`: they are stored and queued untranslated and translated
where they are read (the customer's email, the help center, the console), in the reader's locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from kefu.i18n import N_, Translator
from kefu.recovery.models import DocumentKind, RecoveryReason


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class DecisionTemplate:
    """A reason a reviewer may give: what the customer reads, and the hold an approval brings."""

    key: str
    decision: Decision
    label: str  # for reviewers (console)
    customer_text: str  # for the customer (email, help center)
    hold: timedelta | None = None
    hold_reason: str | None = None  # key of HOLD_REASONS


# Holds the exchange applies after a recovery; Kefu records and tells them, the exchange enforces them.
HOLD_REASONS: Final[dict[str, str]] = {
    "withdrawals_24h_after_unlock": N_("Withdrawals are locked for 24 hours after an account is unlocked."),
    "withdrawals_24h_after_2fa_reset": N_("Withdrawals are locked for 24 hours after a 2FA reset."),
    "withdrawals_48h_after_email_change": N_(
        "Withdrawals are locked for 48 hours after the sign-in email is changed."
    ),
}

_TEMPLATES: Final = (
    DecisionTemplate(
        key="unlocked",
        decision=Decision.APPROVE,
        label=N_("Identity confirmed: unlock the account"),
        customer_text=N_("We confirmed your identity and unlocked your account. You can sign in again now."),
        hold=timedelta(hours=24),
        hold_reason="withdrawals_24h_after_unlock",
    ),
    DecisionTemplate(
        key="2fa_reset",
        decision=Decision.APPROVE,
        label=N_("Identity confirmed: unlock and reset 2FA"),
        customer_text=N_(
            "We confirmed your identity, unlocked your account and removed its two-factor "
            "authentication. Sign in and set up a new authenticator straight away."
        ),
        hold=timedelta(hours=24),
        hold_reason="withdrawals_24h_after_2fa_reset",
    ),
    DecisionTemplate(
        key="email_changed",
        decision=Decision.APPROVE,
        label=N_("Identity confirmed: unlock and change the sign-in email"),
        customer_text=N_(
            "We confirmed your identity, unlocked your account and changed its sign-in email to "
            "the address you wrote to us from."
        ),
        hold=timedelta(hours=48),
        hold_reason="withdrawals_48h_after_email_change",
    ),
    DecisionTemplate(
        key="unreadable",
        decision=Decision.REJECT,
        label=N_("Documents unreadable"),
        customer_text=N_(
            "We could not read the photos of your identity document. Please send a new request "
            "with sharp, uncropped photos taken in good light."
        ),
    ),
    DecisionTemplate(
        key="mismatch",
        decision=Decision.REJECT,
        label=N_("Document does not match the account holder"),
        customer_text=N_("The identity document does not match the verified owner of the account."),
    ),
    DecisionTemplate(
        key="selfie",
        decision=Decision.REJECT,
        label=N_("Selfie does not show the face and the document"),
        customer_text=N_(
            "The photo of you holding your identity document did not clearly show both your face "
            "and the document. Please send a new request with a clearer photo."
        ),
    ),
    DecisionTemplate(
        key="no_account",
        decision=Decision.REJECT,
        label=N_("No matching account"),
        customer_text=N_(
            "We could not find an account matching the details you gave. Check your UID or sign-in "
            "email and send a new request."
        ),
    ),
    DecisionTemplate(
        key="not_confirmed",
        decision=Decision.REJECT,
        label=N_("Ownership not confirmed"),
        customer_text=N_("We could not confirm that you own this account from the information you provided."),
    ),
)
TEMPLATES: Final[dict[str, DecisionTemplate]] = {template.key: template for template in _TEMPLATES}
# Every text a decision email may carry (the mail spec checks queued values against it).
CUSTOMER_TEXTS: Final = frozenset(t.customer_text for t in _TEMPLATES) | frozenset(HOLD_REASONS.values())


def templates_for(decision: Decision) -> list[DecisionTemplate]:
    """The templates of one kind of decision, in the order reviewers see them."""
    return [template for template in _TEMPLATES if template.decision == decision]


def reason_labels(t: Translator) -> dict[RecoveryReason, str]:
    """What happened, as the form offers it, in the reader's language."""
    _ = t.gettext
    return {
        RecoveryReason.LOST_2FA: _("I lost my 2FA device"),
        RecoveryReason.LOST_EMAIL: _("I forgot my password and lost access to my email"),
        RecoveryReason.SUSPICIOUS_LOCK: _("My account was locked after suspicious activity"),
        RecoveryReason.OTHER: _("Something else"),
    }


def document_labels(t: Translator) -> dict[DocumentKind, str]:
    """Names of the documents in the reader's language."""
    _ = t.gettext
    return {
        DocumentKind.ID_FRONT: _("Identity document, front"),
        DocumentKind.ID_BACK: _("Identity document, back"),
        DocumentKind.SELFIE: _("Selfie holding the document"),
    }
