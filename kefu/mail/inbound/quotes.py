"""Reply history and signatures removed for display, for English and Chinese mail clients.

Covers "On … wrote:" (Gmail, Apple Mail, Thunderbird, wrapped over up to three lines), "在 … 写道："
and "… 于 … 写道：" (Apple Mail, Gmail, 163 in Chinese), "-----Original Message-----" and the
QQ/Foxmail/163 "原始邮件" banners, Outlook's From/Sent/To/Subject block (English and Chinese, with
or without its "____" rule), trailing "> " quoting (bottom-posted replies keep the reply), the
"-- " signature separator and "Sent from my iPhone" / "发自我的iPhone" / "发自 Foxmail" style lines.

Every pattern is anchored and bounded and only met by lines of at most MAX_LINE_CHARS, so a hostile
body costs linear time. The full text stays on the message; this is only what an agent sees first.
"""

from __future__ import annotations

import re
from typing import Final

MAX_LINE_CHARS: Final = 400
# Lines after a "-- " separator that still make a signature (more is probably content).
MAX_SIGNATURE_LINES: Final = 12
_HEADER_LOOKAHEAD: Final = 8
# History is looked for in this many lines; a reply's own text is never longer.
MAX_SCAN_LINES: Final = 20_000
# First characters of the lines that can open reply history (rules, "On", "在", "From", "发件人" …).
_MARKER_FIRST_CHARS: Final = frozenset("-_=—*oOfF在於于发寄")
_BANNER_RE: Final = re.compile(
    r"^[-_=\s]{2,}\s*(original message|original|reply message|原始邮件|原邮件|回复的原邮件|邮件原件|原始郵件)"
    r"\s*[-_=\s]{2,}$",
    re.IGNORECASE,
)
_RULE_RE: Final = re.compile(r"^[_\-—=]{10,}$")
_FROM_RE: Final = re.compile(r"^\*?\s*(from|发件人|寄件者|寄件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_FIELD_RE: Final = re.compile(
    r"^\*?\s*(sent|date|to|cc|subject|发送时间|时间|日期|收件人|抄送|主题|寄件日期|收件者|副本|主旨)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_ON_WROTE_RE: Final = re.compile(r"^on\b.{1,300}\bwrote\s*:$", re.IGNORECASE)
_ZH_WROTE_RE: Final = re.compile(r"^.{1,300}(写道|寫道)\s*[:：]?$")
_MOBILE_RE: Final = re.compile(
    r"^(sent from (my )?\S.{0,40}|sent via \S.{0,40}|get outlook for \S.{0,20}|"
    r"(发|來|来)自我的\s?\S.{0,30}|"
    r"发自\s?(foxmail|网易|qq|手机|iphone|ipad|android|华为|huawei|小米|xiaomi|vivo|oppo|荣耀).{0,30}|"
    r"從我的\s?\S.{0,20}傳送|寄自我的\s?\S.{0,20})$",
    re.IGNORECASE,
)
_FORWARD_SUBJECT_RE: Final = re.compile(r"^\s*(fw|fwd|转发|轉寄|转)\s*[:：]", re.IGNORECASE)


def _short(line: str) -> str | None:
    stripped = line.strip()
    return stripped if len(stripped) <= MAX_LINE_CHARS else None


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_end(lines: list[str], index: int) -> int | None:
    """If an "… wrote:" attribution starts at `index` (over up to three lines), the index after it."""
    joined = ""
    for offset in range(3):
        if index + offset >= len(lines):
            return None
        piece = _short(lines[index + offset])
        if piece is None or (offset and not piece):
            return None
        joined = f"{joined} {piece}".strip()
        if len(joined) > MAX_LINE_CHARS:
            return None
        if _ON_WROTE_RE.match(joined) or _ZH_WROTE_RE.match(joined):
            return index + offset + 1
        if offset == 0 and not joined.lower().startswith(("on ", "在", "於", "于")):
            # Only the "On …" / "在 …" openings are wrapped by clients; others must fit one line.
            return None
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    """An Outlook-style "From: / Sent: / To: / Subject:" block starts at `index`."""
    line = _short(lines[index])
    if not line or not _FROM_RE.match(line):
        return False
    fields = 0
    for following in lines[index + 1 : index + 1 + _HEADER_LOOKAHEAD]:
        candidate = _short(following)
        if candidate and _HEADER_FIELD_RE.match(candidate):
            fields += 1
    return fields >= 2


def _is_rule_before_header(lines: list[str], index: int) -> bool:
    line = _short(lines[index])
    if not line or not _RULE_RE.match(line):
        return False
    for following in range(index + 1, min(len(lines), index + 4)):
        if lines[following].strip():
            return _is_header_block(lines, following)
    return False


def _skip_quoted(lines: list[str], index: int) -> int:
    """The index of the first line from `index` on that is neither blank nor quoted."""
    while index < len(lines) and (not lines[index].strip() or _is_quoted(lines[index])):
        index += 1
    return index


def _may_start_history(short: str) -> bool:
    """A cheap filter: only lines passing it are tried against the patterns (most lines are text)."""
    return short[0] in _MARKER_FIRST_CHARS or "写道" in short or "寫道" in short


def _cut_history(lines: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        if index >= MAX_SCAN_LINES:
            kept.extend(lines[index:])
            break
        line = lines[index]
        short = _short(line)
        if not short or not _may_start_history(short):
            kept.append(line)
            index += 1
            continue
        if _BANNER_RE.match(short) or _is_header_block(lines, index) or _is_rule_before_header(lines, index):
            return kept
        end = _attribution_end(lines, index)
        if end is not None:
            after = _skip_quoted(lines, end)
            if after < len(lines) and after > end:
                # Bottom-posted or inline: the quote goes, the reply below it stays.
                index = after
                continue
            return kept
        kept.append(line)
        index += 1
    return _drop_trailing_quote(kept)


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or _is_quoted(lines[end - 1])):
        end -= 1
    if end == len(lines) or not any(_is_quoted(line) for line in lines[end:]):
        return lines
    # An attribution the patterns did not know ("John Doe wrote:") right above the quote.
    previous = _short(lines[end - 1]) if end else None
    if previous and previous.endswith((":", "：")) and len(previous) <= 200:
        end -= 1
    return lines[:end]


def strip_signature(text: str) -> str:
    """`text` without a trailing "Sent from my iPhone"-style line or a short "-- " signature."""
    lines = text.rstrip().split("\n")
    for _ in range(2):
        last = _short(lines[-1]) if lines else None
        if last and _MOBILE_RE.match(last):
            lines.pop()
            while lines and not lines[-1].strip():
                lines.pop()
    for index in range(len(lines) - 1, max(-1, len(lines) - MAX_SIGNATURE_LINES - 2), -1):
        if lines[index].rstrip() == "--":
            lines = lines[:index]
            break
    return "\n".join(lines).strip()


def strip_quotes_and_signature(text: str) -> str:
    """What the sender wrote this time: quoted history and signature removed.

    Returns the whole text (stripped) when nothing would be left, so an agent never sees an empty
    message that is not empty.
    """
    visible = strip_signature("\n".join(_cut_history(text.split("\n"))))
    return visible or text.strip()


def is_forward(subject: str) -> bool:
    """True for a forwarded message ("Fwd:", "FW:", "转发:"), whose "quoted" part is the content."""
    return bool(_FORWARD_SUBJECT_RE.match(subject))
