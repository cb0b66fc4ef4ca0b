"""The words of a verify answer (kefu.channels.verify) in the reader's language, for the API and the page.

The domain returns codes only; each code becomes one sentence here, naming the official entry it is
about in the form people know it ("@kefusupport", "+65 6123 4567").
"""

from __future__ import annotations

from dataclasses import dataclass

from kefu.channels.links import channel_display
from kefu.channels.lookalike import OfficialEntry, Reason
from kefu.channels.verify import HANDLE, Verdict, VerdictKind
from kefu.i18n import Translator


@dataclass(frozen=True)
class ReasonText:
    code: str
    message: str


def verdict_texts(t: Translator) -> dict[VerdictKind, tuple[str, str]]:
    """Each verdict's short name and the sentence that states it."""
    _ = t.gettext
    return {
        VerdictKind.OFFICIAL: (_("Official"), _("Yes, this is really us.")),
        VerdictKind.NOT_OFFICIAL: (_("Not official"), _("This is not one of our official channels.")),
        VerdictKind.IMPERSONATION: (
            _("Impersonation"),
            _("Warning: this imitates one of our official channels. It is not us."),
        ),
    }


def kind_names(t: Translator) -> dict[str, str]:
    """What a checked value was read as, by `Verdict.kind`."""
    _ = t.gettext
    return {
        "domain": _("Website or domain"),
        "email": _("Email address"),
        "phone": _("Phone number"),
        "telegram": _("Telegram account"),
        "x": _("X (Twitter) account"),
        "facebook": _("Facebook page"),
        HANDLE: _("Account name"),
    }


def platform_names() -> dict[str, str]:
    """Platforms by name, the same in every language."""
    return {"telegram": "Telegram", "x": "X", "facebook": "Facebook"}


def entry_label(t: Translator, entry: OfficialEntry) -> str:
    """The entry's label in the reader's language, else its English label, else the kind's name."""
    if t.locale.startswith("zh") and entry.label_zh:
        return entry.label_zh
    return entry.label or kind_names(t)[entry.kind.value]


def entry_display(entry: OfficialEntry) -> str:
    """The entry as people see it: "@kefusupport", "+65 6123 4567", "kefu.example"."""
    return channel_display(entry.kind, entry.value)


def reason_message(t: Translator, reason: Reason, verdict: Verdict) -> str:
    """One sentence explaining `reason` for this verdict."""
    official = entry_display(verdict.matched) if verdict.matched else ""
    platform = platform_names().get(verdict.matched.kind.value, "") if verdict.matched else ""
    host = verdict.unicode or verdict.canonical or ""
    _ = t.gettext
    messages = {
        Reason.EXACT_MATCH: _("It is on our list of official channels."),
        Reason.SUBDOMAIN_OF_OFFICIAL: _("It belongs to our official domain %(official)s.", official=official),
        Reason.OFFICIAL_EMAIL_DOMAIN: _(
            "The address is at our official domain, like %(official)s.", official=official
        ),
        Reason.CONFUSABLE_OF: _("It uses look-alike characters to imitate %(official)s.", official=official),
        Reason.TLD_SWAP: _("It uses our name with a different ending than %(official)s.", official=official),
        Reason.BRAND_IN_DOMAIN: _(
            "It puts our name into a domain that is not ours (ours: %(official)s).", official=official
        ),
        Reason.BRAND_IN_ADDRESS: _("It puts our name into an email address at a domain that is not ours."),
        Reason.BRAND_IN_HANDLE: _(
            "It uses our name, but it is not our account (ours: %(official)s).", official=official
        ),
        Reason.EDIT_DISTANCE: _(
            "It is spelled almost, but not exactly, like %(official)s.", official=official
        ),
        Reason.LOOKALIKE_HANDLE: _(
            "It looks almost like our account %(official)s, but it is a different account.",
            official=official,
        ),
        Reason.OTHER_PLATFORM: _(
            "This name is ours on %(platform)s, but not on this platform.", platform=platform
        ),
        Reason.DECEPTIVE_USERINFO: _(
            "The link shows our name before “@”, but it opens another site: %(host)s.", host=host
        ),
        Reason.IP_ADDRESS: _("The link goes to a bare IP address. Our links always use our domain names."),
        Reason.NOT_AN_ACCOUNT: _(
            "This link does not lead to an account (for example, it is a group invite), "
            "so it is not one of ours."
        ),
        Reason.UNKNOWN: _("It is not on our list of official channels."),
        Reason.UNRECOGNISED: _(
            "We could not read this as a link, domain, email address, phone number or account name."
        ),
    }
    return messages[reason]


def reason_texts(t: Translator, verdict: Verdict) -> list[ReasonText]:
    """Every reason of `verdict`, as code and sentence."""
    return [ReasonText(reason.value, reason_message(t, reason, verdict)) for reason in verdict.reasons]
