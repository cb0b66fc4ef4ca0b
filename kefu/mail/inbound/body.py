"""Choose what an agent reads and what goes to the file pipeline from a message's MIME tree.

Text comes from text/plain (HTML converted only when no plain text exists); every HTML body part
is also kept for the sanitised view; everything else that is not report metadata is an attachment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from kefu.mail.inbound.charsets import decode_bytes, scrub_text
from kefu.mail.inbound.encoded_words import decode_unstructured, decode_words, header_bytes_to_str
from kefu.mail.inbound.headers import normalize_newlines, split_entity
from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.mime import Budget, Entity, decoded_body
from kefu.mail.inbound.results import ParsedAttachment
from kefu.mail.inbound.transfer import extract_uuencoded
from kefu.storage.filenames import FALLBACK_NAME, sanitize_filename

# Machine-readable parts of reports: read by kefu.mail.inbound.reports, not attachments.
REPORT_TYPES: Final = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "text/rfc822-headers",
        "message/global-headers",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "message/feedback-report",
    }
)
NESTED_TYPES: Final = frozenset({"message/rfc822", "message/global"})
NESTED_HEAD_BYTES: Final = 65536
TNEF_TYPES: Final = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_EXTENSIONS: Final = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/vnd.ms-outlook": ".msg",
}
_META_CHARSET_RE: Final = re.compile(rb"<meta[^<>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.I)


@dataclass
class Body:
    """What the tree walk found, in document order."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    nested: list[Entity] = field(default_factory=list)
    with_attachments: bool = True


def collect_body(root: Entity, budget: Budget, *, with_attachments: bool = True) -> Body:
    """Text, HTML, attachments and nested messages of the tree under `root`; without attachments
    (for a nested message read only for its text) nothing but text parts is decoded.
    """
    body = Body(with_attachments=with_attachments)
    _walk(root, budget, body, take_plain=True, take_html=True)
    return body


def _has_body_leaf(entity: Entity, ctype: str) -> bool:
    return any(
        part.content_type == ctype and not part.children and not _is_attachment(part)
        for part in entity.walk()
    )


def _is_attachment(entity: Entity) -> bool:
    disposition, _ = entity.disposition()
    return disposition == "attachment" or entity.filename() is not None


def _walk(entity: Entity, budget: Budget, body: Body, *, take_plain: bool, take_html: bool) -> None:
    if entity.content_type.startswith("multipart/"):
        if entity.content_type == "multipart/alternative":
            _walk_alternative(entity, budget, body, take_plain=take_plain, take_html=take_html)
        else:
            for child in entity.children:
                _walk(child, budget, body, take_plain=take_plain, take_html=take_html)
        return
    ctype = entity.content_type
    if ctype in ("text/plain", "text/html") and not _is_attachment(entity):
        if ctype == "text/plain" and take_plain:
            _add_plain(entity, budget, body)
        elif ctype == "text/html" and take_html:
            _add_html(entity, budget, body)
        return
    if ctype in REPORT_TYPES:
        return
    _add_attachment(entity, budget, body)


def _walk_alternative(
    entity: Entity, budget: Budget, body: Body, *, take_plain: bool, take_html: bool
) -> None:
    children = entity.children
    plain_child = next((child for child in children if _has_body_leaf(child, "text/plain")), None)
    # The last alternative is the richest (RFC 2046); that is where inline images live.
    html_child = next((child for child in reversed(children) if _has_body_leaf(child, "text/html")), None)
    for child in children:
        _walk(
            child,
            budget,
            body,
            take_plain=take_plain and child is plain_child,
            take_html=take_html and child is html_child,
        )


def _decode_text(entity: Entity, data: bytes, budget: Budget, declared: str | None) -> str:
    text, problems = decode_bytes(data, declared)
    budget.problems.extend(problems)
    text, problems = scrub_text(text)
    budget.problems.extend(problems)
    return text


def _add_plain(entity: Entity, budget: Budget, body: Body) -> None:
    data = decoded_body(entity, budget)
    if data is None:
        return
    data, files, problems = extract_uuencoded(data)
    budget.problems.extend(problems)
    for index, (name, content) in enumerate(files, start=1):
        if not content:
            continue
        fallback = f"uuencoded-{index}.bin"
        _append(body, budget, _attachment(name, fallback, "application/octet-stream", content, None, False))
    text = _decode_text(entity, data, budget, entity.params.get("charset"))
    if entity.params.get("format", "").lower() == "flowed":
        text = unflow(text, delsp=entity.params.get("delsp", "").lower() == "yes")
    body.plain.append(text)


def _add_html(entity: Entity, budget: Budget, body: Body) -> None:
    data = decoded_body(entity, budget)
    if data is None:
        return
    declared = entity.params.get("charset")
    if declared is None and not data.isascii():
        meta = _META_CHARSET_RE.search(data, 0, 4096)
        declared = meta.group(1).decode("ascii") if meta else None
    body.html.append(_decode_text(entity, data, budget, declared))


def _add_attachment(entity: Entity, budget: Budget, body: Body) -> None:
    if not body.with_attachments or entity.content_type.startswith("multipart/"):
        return
    data = decoded_body(entity, budget)
    if not data:
        return
    ctype = entity.content_type
    raw_name = entity.filename()
    if ctype in TNEF_TYPES or (raw_name or "").strip().lower() == "winmail.dat":
        # Outlook's rich-text wrapper: kept for an agent to download, never decoded here.
        budget.problems.add(Problem.TNEF)
    if raw_name is None and ctype in NESTED_TYPES:
        raw_name = _nested_name(data, budget)
    disposition, _ = entity.disposition()
    content_id = _content_id(entity.header_text("content-id"))
    inline = disposition == "inline" or (disposition is None and content_id is not None)
    fallback = f"attachment-{len(body.attachments) + 1}{_EXTENSIONS.get(ctype, '.bin')}"
    added = _append(body, budget, _attachment(raw_name, fallback, ctype, data, content_id, inline))
    if added and ctype in NESTED_TYPES:
        body.nested.append(entity)


def _nested_name(data: bytes, budget: Budget) -> str | None:
    """A "<subject>.eml" name for a forwarded message without one, so agents can tell them apart."""
    normalized, _ = normalize_newlines(data[:NESTED_HEAD_BYTES])
    headers, _, _ = split_entity(normalized, budget.limits)
    raw_subject = headers.first("subject")
    if raw_subject is None:
        return None
    text, _ = header_bytes_to_str(raw_subject, None)
    subject, _ = decode_unstructured(text, 80)
    return f"{subject}.eml" if subject else None


def _append(body: Body, budget: Budget, attachment: ParsedAttachment) -> bool:
    if len(body.attachments) >= budget.limits.max_attachments:
        budget.problems.add(Problem.TOO_MANY_ATTACHMENTS)
        return False
    body.attachments.append(attachment)
    return True


def _attachment(
    raw_name: str | None, fallback: str, ctype: str, data: bytes, content_id: str | None, inline: bool
) -> ParsedAttachment:
    name = fallback
    if raw_name:
        decoded, _ = decode_words(raw_name)
        cleaned = sanitize_filename(decoded)
        # sanitize_filename answers FALLBACK_NAME when nothing usable was left.
        if cleaned != FALLBACK_NAME or decoded.strip() == FALLBACK_NAME:
            name = cleaned
    return ParsedAttachment(
        filename=name, content_type=ctype, data=data, inline=inline, content_id=content_id
    )


def _content_id(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip().strip("<>").strip()
    if not cleaned or len(cleaned) > 250 or not cleaned.isprintable() or " " in cleaned:
        return None
    return cleaned


def unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed text with its soft line breaks joined (quote depth respected)."""
    out: list[str] = []
    pending: list[str] = []
    pending_depth = 0

    def flush() -> None:
        if pending:
            prefix = ">" * pending_depth + " " if pending_depth else ""
            out.append(prefix + "".join(pending))
            pending.clear()

    for line in text.split("\n"):
        stripped = line.lstrip(">")
        depth = len(line) - len(stripped)
        content = stripped[1:] if stripped.startswith(" ") else stripped
        if pending and depth != pending_depth:
            flush()
        pending_depth = depth
        is_signature = content == "-- "
        soft = content.endswith(" ") and not is_signature
        if soft and delsp:
            content = content[:-1]
        if is_signature:
            flush()
        pending.append(content)
        if not soft:
            flush()
    flush()
    return "\n".join(out)
