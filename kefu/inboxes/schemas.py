"""API shapes of the support mailboxes (email inboxes) admins manage; input is strict."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from kefu.mail.headers import clean_address
from kefu.mail.mailboxes import split_address

NAME_MAX: Final = 100
# RFC 5321 caps a path at 256 octets; anything longer than this is not an address worth parsing.
ADDRESS_INPUT_MAX: Final = 320
# Source-routing and quoting characters: the listener refuses them at RCPT, so a mailbox never has them.
_REFUSED_IN_LOCAL: Final = frozenset('%!"')


def check_mailbox_address(value: str) -> str:
    """One plain address without a +tag, lower-cased (IDN domains in ASCII); ValueError otherwise.

    Plus-addresses belong to their base mailbox (`support+KF-1@…` is `support@…`), so a mailbox
    cannot be one.
    """
    try:
        address = clean_address(value.strip(" \t")).lower()
    except ValueError:
        raise ValueError("give one plain address such as support@example.com") from None
    local = address.rpartition("@")[0]
    if "+" in local:
        raise ValueError("a mailbox has no +tag: plus-addresses already reach their base mailbox")
    if _REFUSED_IN_LOCAL.intersection(local):
        raise ValueError("quotes, % and ! are not allowed in a mailbox address")
    # The listener looks addresses up through split_address: what is stored must be its own key.
    if split_address(address) != (address, None):
        raise ValueError("give one plain address such as support@example.com")
    return address


def _one_line(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be one line of printable text")
    return value


Address = Annotated[
    str, StringConstraints(max_length=ADDRESS_INPUT_MAX), AfterValidator(check_mailbox_address)
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(_one_line),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailboxCreate(_Input):
    """A new support mailbox: its address, a name agents recognise and the team its mail goes to."""

    address: Address
    name: Name
    team_id: uuid.UUID
    is_active: bool = True


class MailboxUpdate(_Input):
    """A partial change; the address is fixed (conversations and threads refer to it)."""

    name: Name | None = None
    team_id: uuid.UUID | None = None
    is_active: bool | None = None


class MailboxOut(BaseModel):
    id: uuid.UUID
    address: str
    name: str
    team_id: uuid.UUID | None
    is_active: bool
    # Conversations opened through this mailbox in the last seven days.
    recent_conversations: int
    created_at: datetime
    updated_at: datetime


class MailboxRemoved(BaseModel):
    """What DELETE did: removed, or deactivated because conversations still refer to the mailbox."""

    outcome: Literal["deleted", "deactivated"]
    conversations: int
    mailbox: MailboxOut | None
