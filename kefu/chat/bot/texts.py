"""Everything the chat bot says, as msgids translated at the turn's locale.

Kept in one module so a test can read every sentence the bot may produce, in every locale, and make
sure none of them asks for a secret: support never needs a password, a 2FA code or a seed phrase.
"""

from __future__ import annotations

from typing import Final

from kefu.i18n import N_

GREETING: Final = N_(
    "Hello! Tell me in a sentence or two what you need help with, and I'll look for an answer."
)
OFFER: Final = N_("These articles from our help center may answer your question. Did this solve it?")
OFFER_AGAIN: Final = N_("Did the articles above solve your problem?")
SOLVED: Final = N_("Glad that helped! Write here again any time if you need anything else.")
NOT_FOUND: Final = N_("I couldn't find an article that answers this.")
NOT_SOLVED: Final = N_("Sorry the articles didn't help.")
COLLECT_INTRO: Final = N_(
    "A few quick questions will help a support agent look into this faster. Skip any you can't answer."
)
SKIPPED_AFTER_TRIES: Final = N_("Let's skip this one; the agent can check it with you.")
THANKS_NEXT: Final = N_("Thanks.")
HANDOVER: Final = N_(
    "I'm connecting you with a support agent. They will see this conversation, so you don't need to "
    "repeat anything."
)
COLLECTED: Final = N_("Thank you, that's everything I need.")

# Quick replies.
CHOICE_SOLVED: Final = N_("This solved it")
CHOICE_NOT_SOLVED: Final = N_("Not solved")
CHOICE_HUMAN: Final = N_("Talk to a person")
CHOICE_SKIP: Final = N_("Skip this question")

# One question per structured field, keyed by the field's name in the request forms.
QUESTIONS: Final = {
    "pair": N_("Which trading pair was it? For example BTC/USDT."),
    "order_id": N_("What is the order ID? You can copy it from your order history."),
    # Translators: keep the example date as it is; it shows the format the answer must have.
    "occurred_at": N_("When did it happen? Include your time zone, for example 2026-01-31 14:30 +08:00."),
    "error_message": N_("What error message did you see? Copy it exactly as shown."),
    "asset": N_("Which coin or token is it? For example USDT."),
    "network": N_("Which network was used? For example TRC20 or ERC20."),
    "tx_hash": N_(
        "What is the transaction hash (TxID)? You can copy it from your wallet, your history or a "
        "blockchain explorer."
    ),
}

ALL: Final = (
    GREETING,
    OFFER,
    OFFER_AGAIN,
    SOLVED,
    NOT_FOUND,
    NOT_SOLVED,
    COLLECT_INTRO,
    SKIPPED_AFTER_TRIES,
    THANKS_NEXT,
    HANDOVER,
    COLLECTED,
    CHOICE_SOLVED,
    CHOICE_NOT_SOLVED,
    CHOICE_HUMAN,
    CHOICE_SKIP,
    *QUESTIONS.values(),
)
