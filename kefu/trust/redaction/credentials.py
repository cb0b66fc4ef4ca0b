"""Secrets stated in words: passwords, 2FA / SMS verification codes and exchange API secrets.

Each detector needs a cue ("password is", "密码：", "2FA code", "验证码是", "API secret:") directly
before the value, and replaces only the value. Cue-free text is never scanned value by value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kefu.trust.redaction.kinds import PLACEHOLDER_PREFIX, Finding, SecretKind
from kefu.trust.redaction.wordlists import word_index

_DIGIT = "0-9０-９"
# ASCII word edges: `\b` sees no edge between a Chinese character and a Latin letter ("的password").
_L, _R = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
# Quoted values may hold spaces; unquoted ones end at whitespace.
_VALUE = (
    r"(?P<value>\"[^\"\n]{1,128}\"|'[^'\n]{1,128}'|“[^”\n]{1,128}”|‘[^’\n]{1,128}’|「[^」\n]{1,128}」"
    r"|`[^`\n]{1,128}`|[^\s\"'“‘「`]\S{0,127})"
)
_EN_PASSWORD = re.compile(
    rf"{_L}(?P<cue>password|passwd|passphrase|passcode|pwd|pw|pin(?:\s?code)?){_R}"
    r"(?:\s+(?:for|of|on|to)\s+(?:my\s+|the\s+|your\s+)?[\w.@-]{1,40})?"
    r"(?:\s+(?:is|was|would\s+be|will\s+be)(?![A-Za-z])\s*[:=：]?|\s*[:=：])"
    rf"[ \t]*\n?[ \t]*{_VALUE}",
    re.IGNORECASE,
)
# Chinese passwords are ASCII: the value stops at the first Chinese character or space.
_ZH_PASSWORD = re.compile(
    r"(?P<cue>(?:登录|登錄|资金|資金|交易|支付|提现|提現|账户|賬戶|账号|帳號|邮箱|郵箱)?(?:密码|密碼|口令))"
    r"[ \t]*(?:是|为|為)?[ \t]*[:=：]?[ \t]*"
    r"(?P<value>[\"“「][!-~]{1,64}[\"”」]|[!-~]{1,64})"
)
_CODE_VALUE = (
    rf"(?P<value>[{_DIGIT}]{{3}}[ -][{_DIGIT}]{{3}}|[{_DIGIT}]{{4,8}})(?![{_DIGIT}]|[.:/,-][{_DIGIT}])"
)
_EN_CODE = re.compile(
    rf"{_L}(?:(?:2fa|mfa|otp|totp|g2fa|ga|(?:google\s+)?authenticator|(?:two|2)[\s-]?(?:factor|step)"
    r"(?:\s+auth(?:entication)?)?)(?:\s+(?:code|pin|token|number))?"
    r"|(?:verification|verify|confirmation|security|sms|text|e-?mail|auth|login|one[\s-]time|withdrawal)"
    r"\s+(?:code|pin|token)"
    # Bare "code" only as "the code is …": "error code", "promo code" name other codes.
    r"|(?:the|this|my|that|your)\s+code(?=\s*(?:is|was|:|：)))"
    rf"{_R}"
    rf"(?:\s*(?:is|was|:|：|=|-)){{0,2}}\s*{_CODE_VALUE}",
    re.IGNORECASE,
)
_ZH_CODE = re.compile(
    r"(?:(?:谷歌|google|邮箱|郵箱|短信|手机|手機|动态|動態|安全|二次|双重|雙重|身份)?"
    r"(?:验证码|驗證碼|校验码|校驗碼|动态码|動態碼|认证码|認證碼|验证代码)"
    r"|(?:谷歌|google\s?)(?:验证器?|驗證器?))"
    rf"[ \t]*(?:是|为|為)?[ \t]*[:=：]?[ \t]*{_CODE_VALUE}",
    re.IGNORECASE,
)
_SECRET_TOKEN = r"(?P<value>(?:0x)?[A-Za-z0-9+/=_-]{16,256})(?![A-Za-z0-9+/=_-])"  # noqa: S105
_API_SECRET = re.compile(
    rf"(?:{_L}(?:api[\s_-]*(?:key[\s_-]*)?secret(?:[\s_-]*key)?|secret[\s_-]*key|client[\s_-]*secret|secret){_R}"
    r"|api[ \t]*(?:私钥|私鑰|密钥|密鑰|秘钥)|(?:密钥|密鑰|秘钥)(?=[ \t]*(?:是|为|為|[:=：])))"
    rf"(?:\s*(?:is|was|是|为|為|:|：|=)){{0,2}}\s*{_SECRET_TOKEN}",
    re.IGNORECASE,
)
# Everything any detector above starts with; text without it skips them all.
TRIGGER = re.compile(
    r"pass|pwd|code|2fa|totp|authenticator|secret|token|(?<![a-z])(?:pw|pin|ga|otp|mfa)(?![a-z])"
    r"|密|口令|码|碼|验证|驗證|钥|鑰",
    re.IGNORECASE,
)

# Words that follow "password is" in ordinary sentences ("my password is wrong"), on top of the
# BIP-39 English list, which holds most other everyday words ("correct", "expired" is not one).
_STATEMENT_WORDS = """
    the not incorrect invalid expired too definitely being been still changed working locked reset
    forgotten needed required accepted rejected this that these those what which there here very really
    also just only already always never gone blank empty missing sent shown saved stored weak strong
    different your mine yours his her their ours updated unknown okay fine like something anything nothing
    probably supposed sensitive compromised leaked stolen hacked expire recovered correct wrong same
    right set not and but for with from without because since until when where how why who whom whose
    its it's isn't wasn't doesn't don't can't cannot won't hasn't haven't didn't incorrectly"""
_NOT_PASSWORDS = frozenset(_STATEMENT_WORDS.split())
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_RANGE = re.compile(r"\d{1,3}\s*[-~到至]\s*\d{1,3}")
_TRAILING = ".,;。，；、)）】"
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "`": "`"}


def find_passwords(text: str) -> Iterator[Finding]:
    """Password values after "password is/:/=", "pwd=", "密码是/：", "登录密码 " (the value only)."""
    for match in _EN_PASSWORD.finditer(text):
        span = _password_value(match, min_length=4, digits_only=match.group("cue").lower().startswith("pin"))
        if span is not None:
            yield Finding(SecretKind.PASSWORD, *span, certain=False)
    for match in _ZH_PASSWORD.finditer(text):
        span = _password_value(match, min_length=4, digits_only=False)
        if span is not None:
            yield Finding(SecretKind.PASSWORD, *span, certain=False)


def _password_value(match: re.Match[str], *, min_length: int, digits_only: bool) -> tuple[int, int] | None:
    start, end = match.span("value")
    value = match.group("value")
    if value[0] in _QUOTES and len(value) > 2 and value[-1] == _QUOTES[value[0]]:
        return None if value[1:].startswith(PLACEHOLDER_PREFIX) else (start, end)
    # One trailing mark ends the sentence ("… is hunter2."); "!" or "?" may be the password's own, and
    # replacing one character too many is the safe mistake.
    stripped = value[:-1] if len(value) > 1 and value[-1] in _TRAILING else value
    end -= len(value) - len(stripped)
    if (
        len(stripped) < min_length
        or stripped.startswith((PLACEHOLDER_PREFIX, "http://", "https://", "www."))
        or (digits_only and not stripped.isdigit())
        or _EMAIL.fullmatch(stripped)
        or _RANGE.fullmatch(stripped)
        or _is_word(stripped)
    ):
        return None
    return start, end


def _is_word(value: str) -> bool:
    """An everyday word ("wrong", "expired", "changing"), which states something about the password."""
    if not value.isascii() or not value.replace("'", "").isalpha():
        return False
    word = value.lower()
    return (
        word in _NOT_PASSWORDS
        or word in word_index("english")
        or (
            (word == value or word.capitalize() == value)
            and word.endswith(("ed", "ing", "ly", "ful", "able", "tion"))
        )
    )


def find_codes(text: str) -> Iterator[Finding]:
    """One-time codes after "2FA code", "google authenticator code is", "验证码是：", "短信验证码"."""
    for pattern in (_EN_CODE, _ZH_CODE):
        for match in pattern.finditer(text):
            yield Finding(SecretKind.VERIFICATION_CODE, *match.span("value"), certain=False)


def find_api_secrets(text: str) -> Iterator[Finding]:
    """A long token after "API secret", "secret key", "API 密钥", "密钥：" (letters and digits)."""
    for match in _API_SECRET.finditer(text):
        value = match.group("value")
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            yield Finding(SecretKind.API_SECRET, *match.span("value"), certain=False)


def compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Compile operator-supplied API-secret regexes; ValueError names the one that is unusable."""
    compiled: list[re.Pattern[str]] = []
    for i, pattern in enumerate(patterns):
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"api_secret_patterns[{i}] is not a valid regular expression ({exc}): {pattern!r}"
            ) from exc
        if regex.fullmatch("") is not None or regex.search("") is not None:
            raise ValueError(f"api_secret_patterns[{i}] matches the empty string: {pattern!r}")
        compiled.append(regex)
    return tuple(compiled)


def find_custom(text: str, patterns: tuple[re.Pattern[str], ...]) -> Iterator[Finding]:
    """Matches of operator patterns: the `secret` group, else group 1, else the whole match."""
    for regex in patterns:
        group: str | int = "secret" if "secret" in regex.groupindex else 1 if regex.groups else 0
        for match in regex.finditer(text):
            start, end = match.span(group)
            if start < 0 or start == end:
                start, end = match.span()
            if start < end:
                yield Finding(SecretKind.API_SECRET, start, end, certain=True)
