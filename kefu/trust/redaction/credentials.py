"""Secrets stated in words: passwords and exchange API secrets (operator patterns included).

Each detector needs a cue ("password is", "密码：", "API secret:") directly before the value, and
replaces only the value. Text without a cue word is not scanned further.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kefu.trust.redaction.context import lowered, w
from kefu.trust.redaction.kinds import PLACEHOLDER_PREFIX, Finding, SecretKind
from kefu.trust.redaction.wordlists import word_index

# The patterns run over the lower-cased text (same length, see `context.lowered`) without
# IGNORECASE, and each alternative starts with a literal: that lets the regex engine skip ahead
# fast. `w(…)` adds the left word edge after the literal.
_R = r"(?![a-z0-9])"
# Quoted values may hold spaces; unquoted ones end at whitespace.
_VALUE = (
    r"(?P<value>\"[^\"\n]{1,128}\"|'[^'\n]{1,128}'|“[^”\n]{1,128}”|‘[^’\n]{1,128}’|「[^」\n]{1,128}」"
    r"|`[^`\n]{1,128}`|[^\s\"'“‘「`]\S{0,127})"
)
_EN_PASSWORD = re.compile(
    rf"(?P<cue>{w('password')}|{w('passwd')}|{w('passphrase')}|{w('passcode')}|{w('pwd')}|{w('pw')}"
    rf"|{w('pin')}(?:\s?code)?){_R}"
    r"(?:\s+(?:for|of|on|to)\s+(?:my\s+|the\s+|your\s+)?[\w.@-]{1,40})?"
    r"(?:\s+(?:is|was|would\s+be|will\s+be)(?![a-z])\s*[:=：]?|\s*[:=：])"
    rf"[^\S\n]*\n?[^\S\n]*{_VALUE}"
)
# Chinese passwords are ASCII: the value stops at the first Chinese character or space. The cue
# is the bare word ("登录密码", "资金密码" end with it), which keeps the pattern fast to scan.
_ZH_PASSWORD = re.compile(
    r"(?P<cue>密码|密碼|口令)[^\S\n]*(?:是|为|為)?[^\S\n]*[:=：]?[^\S\n]*"
    # Straight quotes hold ASCII without edge spaces: in '"忘记密码"，再选择"…"' they are punctuation.
    r"(?P<value>\"[!#-~](?:[ !#-~]{0,62}[!#-~])?\"|“[^”\n]{1,64}”|「[^」\n]{1,64}」|[!-~]{1,64})"
)
_SECRET_TOKEN = r"(?P<value>(?:0x)?[a-z0-9+/=_-]{16,256})(?![a-z0-9+/=_-])"  # noqa: S105
_API_SECRET = re.compile(
    rf"(?:(?:{w('api')}[\s_-]*(?:key[\s_-]*)?secret(?:[\s_-]*key)?|{w('secret')}[\s_-]*key"
    rf"|{w('client')}[\s_-]*secret|{w('secret')}){_R}"
    r"|api[^\S\n]*(?:私钥|私鑰|密钥|密鑰|秘钥)|(?:密钥|密鑰|秘钥)(?=[^\S\n]*(?:是|为|為|[:=：])))"
    rf"(?:\s*(?:is|was|是|为|為|:|：|=)){{0,2}}\s*{_SECRET_TOKEN}"
)
# Substrings (of the lower-cased text) without which a pattern cannot match. Plain literal
# alternations scan fast (capturing groups would not); most messages fail the combined one.
_FAMILIES = {
    "password": re.compile("pass|pw"),
    "pin": re.compile("pin"),
    "zh_password": re.compile("密码|密碼|口令"),
    "code": re.compile("code|2fa|mfa|otp|authenticator|factor|step|token"),
    "zh_code": re.compile("验证|驗證|校验|校驗|动态码|動態碼|认证码|認證碼"),
    "api": re.compile("secret|密钥|密鑰|秘钥|私钥|私鑰"),
}
_ANY_FAMILY = re.compile("|".join(p.pattern for p in _FAMILIES.values()))


def hints(low: str) -> frozenset[str]:
    """Which cue families ("password", "zh_code", "api" …) occur in the lower-cased text."""
    if _ANY_FAMILY.search(low) is None:
        return frozenset()
    return frozenset(name for name, pattern in _FAMILIES.items() if pattern.search(low))


# Words that follow "password is" in ordinary sentences ("my password is incorrect"), on top of the
# BIP-39 English list, which holds most other everyday words ("wrong", "correct").
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


def find_passwords(
    text: str, low: str | None = None, found: frozenset[str] | None = None
) -> Iterator[Finding]:
    """Password values after "password is/:/=", "pwd=", "密码是/：", "登录密码 " (the value only).

    `low` is `lowered(text)` and `found` its `hints(low)` when the caller has them already.
    """
    low = lowered(text) if low is None else low
    found = hints(low) if found is None else found
    if "password" in found or "pin" in found:
        for match in _EN_PASSWORD.finditer(low):
            pin = match.group("cue").startswith("pin")
            span = _password_value(text, match, min_length=4, digits_only=pin)
            if span is not None:
                yield Finding(SecretKind.PASSWORD, *span, certain=False)
    if "zh_password" in found:
        for match in _ZH_PASSWORD.finditer(low):
            span = _password_value(text, match, min_length=4, digits_only=False)
            if span is not None:
                yield Finding(SecretKind.PASSWORD, *span, certain=False)


def _password_value(
    text: str, match: re.Match[str], *, min_length: int, digits_only: bool
) -> tuple[int, int] | None:
    start, end = match.span("value")
    value = text[start:end]
    if text.startswith(PLACEHOLDER_PREFIX, start + (value[0] in _QUOTES)):  # redacted already
        return None
    if value[0] in _QUOTES and len(value) > 2 and value[-1] == _QUOTES[value[0]]:
        return start, end
    # One trailing mark ends the sentence ("… is hunter2."); "!" or "?" may be the password's own, and
    # replacing one character too many is the safe mistake.
    stripped = value[:-1] if len(value) > 1 and value[-1] in _TRAILING else value
    end -= len(value) - len(stripped)
    if (
        len(stripped) < min_length
        or stripped.startswith(("http://", "https://", "www."))
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


def find_api_secrets(
    text: str, low: str | None = None, found: frozenset[str] | None = None
) -> Iterator[Finding]:
    """A long token after "API secret", "secret key", "API 密钥", "密钥：" (letters and digits)."""
    low = lowered(text) if low is None else low
    if "api" not in (hints(low) if found is None else found):
        return
    for match in _API_SECRET.finditer(low):
        value = text[match.start("value") : match.end("value")]
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
        if regex.search("") is not None:
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
