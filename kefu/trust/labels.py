"""What each kind of redacted secret is called when a customer is told about it (both locales)."""

from __future__ import annotations

from typing import Final

from kefu.i18n import N_
from kefu.trust.redaction import SecretKind

SECRET_LABELS: Final[dict[SecretKind, str]] = {
    SecretKind.SEED_PHRASE: N_("seed phrase (recovery words)"),
    SecretKind.PRIVATE_KEY: N_("private key"),
    SecretKind.WIF_KEY: N_("private key"),
    SecretKind.EXTENDED_KEY: N_("extended private key"),
    SecretKind.KEYSTORE: N_("wallet keystore file"),
    SecretKind.API_SECRET: N_("API secret"),
    SecretKind.PASSWORD: N_("password"),
    SecretKind.VERIFICATION_CODE: N_("verification code"),
    SecretKind.CARD_NUMBER: N_("card number"),
}


def secret_labels(kinds: list[str]) -> list[str]:
    """The distinct English labels (msgids) of `kinds`, in the given order; unknown kinds are dropped."""
    labels: list[str] = []
    for kind in kinds:
        try:
            label = SECRET_LABELS[SecretKind(kind)]
        except ValueError:
            continue
        if label not in labels:
            labels.append(label)
    return labels
