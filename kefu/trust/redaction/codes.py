"""One-time codes stated in words: 2FA / authenticator / SMS / email verification codes.

Only the digits after a cue ("2FA code", "google authenticator code is", "验证码是：", "短信验证码")
are replaced; "error code 100013" and "promo code" are not cues.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kefu.trust.redaction.context import lowered, w
from kefu.trust.redaction.credentials import hints
from kefu.trust.redaction.kinds import Finding, SecretKind

_DIGIT = "0-9０-９"
# Patterns run over the lower-cased text (see `context.lowered`).
_R = r"(?![a-z0-9])"
_CODE_VALUE = (
    rf"(?P<value>[{_DIGIT}]{{3}}[ -][{_DIGIT}]{{3}}|[{_DIGIT}]{{4,8}})(?![{_DIGIT}]|[.:/,-][{_DIGIT}])"
)
_EN_CODE = re.compile(
    rf"(?:(?:{w('2fa')}|{w('mfa')}|{w('otp')}|{w('totp')}|{w('g2fa')}|{w('ga')}(?=\s+code)"
    rf"|{w('google')}\s+authenticator|{w('authenticator')}"
    rf"|(?:{w('two')}|{w('2')})[\s-]?(?:factor|step)(?:\s+auth(?:entication)?)?)"
    r"(?:\s+(?:code|pin|token|number))?"
    rf"|(?:{w('verification')}|{w('verify')}|{w('confirmation')}|{w('security')}|{w('sms')}|{w('text')}"
    rf"|{w('email')}|{w('e-mail')}|{w('auth')}|{w('login')}|{w('one')}[\s-]?time|{w('withdrawal')})"
    r"\s+(?:code|pin|token)"
    # Bare "code" only as "the code is …": "error code", "promo code" name other codes.
    rf"|(?:{w('the')}|{w('this')}|{w('my')}|{w('that')}|{w('your')})\s+code(?=\s*(?:is|was|:|：)))"
    rf"{_R}(?:\s*(?:is|was|:|：|=|-)){{0,2}}\s*{_CODE_VALUE}"
)
# "谷歌验证码", "短信验证码" … end with the cue word; "谷歌验证器 123456" is checked in code.
_ZH_CODE = re.compile(
    r"(?P<cue>验证码|驗證碼|校验码|校驗碼|动态码|動態碼|认证码|認證碼|验证代码|验证器|驗證器|验证|驗證)"
    rf"[^\S\n]*(?:是|为|為)?[^\S\n]*[:=：]?[^\S\n]*{_CODE_VALUE}"
)
_APP_ONLY = frozenset({"验证器", "驗證器", "验证", "驗證"})
# Reach of the English code pattern around an anchor word: "google authenticator code is 123 456".
_CUE_LEAD = 24
_CUE_TAIL = 48
_ANCHOR = re.compile("code|2fa|mfa|otp|authenticator|factor|step|token|pin")


def find_codes(text: str, low: str | None = None, found: frozenset[str] | None = None) -> Iterator[Finding]:
    """One-time codes (4–8 digits, or "123 456") after a 2FA / verification cue; the digits only.

    `low` is `lowered(text)` and `found` its `hints(low)` when the caller has them already.
    """
    low = lowered(text) if low is None else low
    found = hints(low) if found is None else found
    if "code" in found or "pin" in found:
        yield from _english(low)
    if "zh_code" in found:
        for match in _ZH_CODE.finditer(low):
            # "验证" alone is a cue only as the authenticator app: "谷歌验证 123456".
            before = low[max(0, match.start() - 8) : match.start()].rstrip()
            if match.group("cue") in _APP_ONLY and not before.endswith(("谷歌", "google")):
                continue
            yield Finding(SecretKind.VERIFICATION_CODE, *match.span("value"), certain=False)


def _english(low: str) -> Iterator[Finding]:
    # The pattern has too many alternatives to scan a long text fast; it runs around its anchors.
    reached = 0
    for anchor in _ANCHOR.finditer(low):
        if anchor.start() < reached:
            continue
        window_end = anchor.end() + _CUE_TAIL
        match = _EN_CODE.search(low, max(reached, anchor.start() - _CUE_LEAD), window_end)
        if match is not None and match.end() >= window_end:  # the window cut a longer number short
            match = _EN_CODE.match(low, match.start())
        if match is not None:
            reached = match.end()
            yield Finding(SecretKind.VERIFICATION_CODE, *match.span("value"), certain=False)
