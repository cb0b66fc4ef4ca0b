"""Warn an agent whose reply asks the customer for a secret (password, 2FA code, private key, seed phrase).

Scammers impersonate support by asking for exactly these; real support never does, so a reply that
asks for one is either a mistake or an account takeover of the agent. Sentences that warn the
customer *not* to share a secret ("we will never ask for your password", "请勿向任何人透露验证码")
are not flagged: a request must appear in a sentence free of negation and warning words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class SecretKind(StrEnum):
    PASSWORD = "password"  # noqa: S105 - the name of a kind of secret, not a secret
    VERIFICATION_CODE = "verification_code"
    PRIVATE_KEY = "private_key"
    SEED_PHRASE = "seed_phrase"


@dataclass(frozen=True)
class ReplyWarning:
    kind: SecretKind
    start: int  # offsets into the checked text
    end: int
    text: str


_EN_NOUNS: dict[SecretKind, str] = {
    SecretKind.PASSWORD: (
        r"(?:login\s+|account\s+|trading\s+|fund\s+)?(?:password|passcode|passphrase|pass\s+word)s?"
    ),
    SecretKind.VERIFICATION_CODE: (
        r"(?:(?:2fa|two[-\s]?factor|verification|verify|sms|text|e-?mail|otp|one[-\s]time|authenticator|"
        r"google\s+authenticator|ga|security|confirmation|login|6[-\s]digit|six[-\s]digit|mfa)\s+)+"
        r"(?:code|pin|token)s?|\botps?\b|\b2fa\b"
    ),
    SecretKind.PRIVATE_KEY: r"private\s+keys?|secret\s+keys?|keystore(?:\s+file)?",
    SecretKind.SEED_PHRASE: (
        r"(?:secret\s+)?(?:seed|recovery|backup|mnemonic)\s+(?:phrase|words?)s?|mnemonics?|"
        r"(?:12|24|twelve|twenty[-\s]four)[-\s]words?(?:\s+(?:phrase|list))?"
    ),
}
# Verbs and phrasings that ask the customer to hand something over. "enter"/"type" are left out on
# purpose: "enter the code on our website" is a legitimate instruction.
_EN_ASK = (
    r"(?:send|provide|give|share|tell|forward|submit|disclose|paste|post|dm|e-?mail|text|show|"
    r"reply\s+with|respond\s+with|read\s+(?:out|me)|let\s+(?:us|me)\s+know|ask\s+(?:you\s+)?for|"
    r"(?:we|i)\s+(?:will\s+|would\s+|do\s+|must\s+|still\s+)?(?:need|require)|"
    r"what(?:'s|\s+is|\s+are|\s+was)|may\s+i\s+have|can\s+i\s+have|could\s+i\s+have)"
)
# Between the verb and the secret: no conditional ("tell us if you forgot your password").
_EN_GAP = (
    r"(?:(?!\b(?:if|whether|once|after|before|when|how|that|reset|change|forgot|forgotten)\b)[^.!?\n]){0,40}?"
)
# Whose secret: the customer's ("your …"), or one handed to us ("… to us", "the code you received").
_EN_SHAPES = (
    rf"\b{_EN_ASK}\b{_EN_GAP}\byour\b[^.!?\n]{{0,25}}?\b(?:{{noun}})",
    rf"\b(?:send|give|tell|forward|show|text|e-?mail|dm|provide)\s+(?:us|me)\b{_EN_GAP}(?:{{noun}})",
    rf"\b{_EN_ASK}\b{_EN_GAP}(?:{{noun}})[^.!?\n]{{0,30}}?\b(?:you\s+(?:just\s+)?(?:received|got|get|see)|"
    rf"(?:we|i)\s+(?:just\s+)?sent|sent\s+to\s+you|from\s+(?:your\s+)?(?:google\s+)?authenticator|"
    rf"to\s+(?:us|me)|with\s+(?:us|me)|here|below|in\s+(?:this|the)\s+chat)\b",
)
_EN_NEGATIONS = re.compile(
    r"\b(?:never|not|no|don'?t|doesn'?t|won'?t|shouldn'?t|can'?t|cannot|nobody|no\s+one|anyone|anybody|"
    r"someone|somebody|scam\w*|fraud\w*|phish\w*|impersonat\w*|beware|avoid|careful|warning|"
    r"keep\s+\w+\s+(?:safe|secret|private))\b|n't\b",
    re.IGNORECASE,
)
# Reassurances that contain a negation but say nothing about sharing ("Don't worry, send me ...").
_EN_NEUTRAL = re.compile(
    r"\b(?:don'?t|do\s+not|no)\s+(?:worry|problem|rush|hesitate)\b|\bno\s+worries\b", re.I
)

_ZH_NOUNS: dict[SecretKind, str] = {
    SecretKind.PASSWORD: r"(?:登录|登陆|资金|交易|账户|账号|支付)?密码",
    SecretKind.VERIFICATION_CODE: (
        r"(?:谷歌|Google|google|短信|手机|邮箱|邮件|二次|双重|动态|安全|身份)?验证码|"
        r"动态口令|谷歌验证|2FA码|OTP"
    ),
    SecretKind.PRIVATE_KEY: r"私钥|密钥",
    SecretKind.SEED_PHRASE: r"助记词|恢复短语|恢复词|种子短语|种子词|备份短语",
}
# Bare 发送 is left out: "我们已向您发送验证码" is support sending a code, not asking for one.
_ZH_ASK_BEFORE = (
    r"(?:提供|发送(?:给我|过来|您的|你的)|发给|发过来|发一下|告诉|告知|报给|报一下|给我|回复|提交|分享|透露|"
    r"私信|截图|念给|读给|填写到这里)"
)
_ZH_GAP = r"(?:(?!是否|如果|忘|重置|修改|更改|设置|找回)[^。！？；\n]){0,20}?"
_ZH_ASK_AFTER = r"(?:是多少|是什么|是啥|多少|发给|发过来|发一下|发送给|告诉|提供给|报一下|报给)"
_ZH_NEGATIONS = re.compile(
    r"不要|不会|不能|不得|不应|不可|不需要|无需|切勿|请勿|勿|别|禁止|绝不|决不|从不|从来不|永远不|"
    r"任何人|诈骗|骗子|欺诈|冒充|谨防|警惕|小心|以免|防止|谨记|保密|妥善保管"
)
_ZH_NEUTRAL = re.compile(r"别担心|不用担心|不要担心|没关系|不客气|不好意思")

_SENTENCE = re.compile(r"[^.!?。！？；;\n]+[.!?。！？；;\n]*")


def _patterns() -> list[tuple[SecretKind, re.Pattern[str]]]:
    patterns: list[tuple[SecretKind, re.Pattern[str]]] = []
    for kind, noun in _EN_NOUNS.items():
        for shape in _EN_SHAPES:
            patterns.append((kind, re.compile(shape.replace("{noun}", noun), re.IGNORECASE)))
    for kind, noun in _ZH_NOUNS.items():
        before = rf"{_ZH_ASK_BEFORE}{_ZH_GAP}(?:{noun})"
        after = rf"(?:{noun})[^。！？；\n，,]{{0,8}}?{_ZH_ASK_AFTER}"
        patterns.append((kind, re.compile(before)))
        patterns.append((kind, re.compile(after)))
    return patterns


_PATTERNS = _patterns()


def _negated(sentence: str) -> bool:
    en = _EN_NEUTRAL.sub(" ", sentence)
    zh = _ZH_NEUTRAL.sub(" ", sentence)
    return bool(_EN_NEGATIONS.search(en) or _ZH_NEGATIONS.search(zh))


def check_reply(text: str) -> list[ReplyWarning]:
    """Warnings for each place `text` asks the customer for a secret (empty list: nothing found)."""
    # NFKC keeps offsets only when it changes nothing; otherwise report spans in the normalised text.
    normalised = unicodedata.normalize("NFKC", text)
    warnings: list[ReplyWarning] = []
    for sentence_match in _SENTENCE.finditer(normalised):
        sentence = sentence_match.group(0)
        if _negated(sentence):
            continue
        base = sentence_match.start()
        seen: set[SecretKind] = set()
        for kind, pattern in _PATTERNS:
            if kind in seen:
                continue
            found = pattern.search(sentence)
            if found is None:
                continue
            seen.add(kind)
            start, end = base + found.start(), base + found.end()
            warnings.append(ReplyWarning(kind=kind, start=start, end=end, text=normalised[start:end]))
    warnings.sort(key=lambda w: (w.start, w.kind))
    return warnings
