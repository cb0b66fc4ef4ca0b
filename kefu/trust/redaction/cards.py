"""Payment card numbers: 13–19 digits, Luhn-valid, a known issuer prefix, and not an order id or txid."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kefu.trust.redaction.context import Cues, closer, lowered, w
from kefu.trust.redaction.kinds import Finding, SecretKind

_D = "0-9０-９"
# Digits with optional single spaces or dashes. The look-behinds come after the first digit so the
# regex engine can skip non-digits fast; together with the look-aheads they refuse a piece of a
# longer number.
_CANDIDATE = re.compile(
    rf"[{_D}](?<![{_D}A-Za-z][{_D}])(?<![{_D}][ -][{_D}])(?:[ -]?[{_D}]){{12,18}}"
    rf"(?![ -]?[{_D}])(?![A-Za-z]|[.,][{_D}])"
)
# Cue patterns run over the lower-cased text (see `context.lowered`).
_CARD_CUE = re.compile(
    rf"card|visa|amex|credit|debit|{w('cvv')}|{w('cvc')}|expir|卡号|卡號|银行卡|銀行卡|信用卡|储蓄卡|儲蓄卡|借记卡|借記卡"
)
# An order id, UID or transaction number is Luhn-valid one time in ten; its label says what it is.
_OTHER_CUE = re.compile(
    rf"order|订单|訂單|单号|單號|{w('uid')}|user\s*id|{w('id')}(?![a-z0-9])|{w('tx')}|hash|交易|流水|编号|編號"
    rf"|{w('ref')}|phone|{w('tel')}|mobile|手机|手機|电话|電話|{w('qq')}|wechat|微信|memo|{w('tag')}|备注|備註|kf-"
    r"|ticket|工单|工單|invoice|账户|帳戶|account|身份证|身份證"
)
_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")
_GROUPINGS = ((4, 6, 5), (4, 6, 4))


def find_cards(text: str, low: str | None = None) -> Iterator[Finding]:
    """Luhn-valid numbers with an issuer prefix, unless an order/tx/UID/phone cue is the nearer label."""
    card_cues = other_cues = None
    for match in _CANDIDATE.finditer(text):
        raw = match.group().translate(_TO_ASCII)
        digits = raw.replace(" ", "").replace("-", "")
        if not (_grouped_like_a_card(raw) and _issuer_ok(digits) and _luhn_ok(digits)):
            continue
        if card_cues is None or other_cues is None:
            low = lowered(text) if low is None else low
            card_cues, other_cues = Cues(low, _CARD_CUE, same_sentence=True), Cues(low, _OTHER_CUE)
        verdict = closer(match.start(), match.end(), card_cues, other_cues)
        if verdict is False:
            continue
        certain = verdict is True or raw != digits
        yield Finding(SecretKind.CARD_NUMBER, match.start(), match.end(), certain=certain)


def _grouped_like_a_card(raw: str) -> bool:
    """No separators, or one kind of separator in 4-4-4-4(-3) or Amex/Diners 4-6-5 / 4-6-4 groups."""
    if " " in raw and "-" in raw:
        return False
    groups = tuple(len(g) for g in re.split(r"[ -]", raw))
    if len(groups) == 1:
        return True
    return groups in _GROUPINGS or (all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4)


def _issuer_ok(d: str) -> bool:
    """The number's length fits a real issuer identification range (Visa, Mastercard, UnionPay …)."""
    n, p2, p3, p4 = len(d), int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if p2 in (62, 81):  # UnionPay
        return 16 <= n <= 19
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65:  # Discover
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:  # JCB
        return 16 <= n <= 19
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners Club
        return 14 <= n <= 19
    if 2200 <= p4 <= 2204:  # Mir
        return 16 <= n <= 19
    if p2 == 50 or 56 <= p2 <= 69:  # Maestro
        return 12 <= n <= 19
    return False


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
