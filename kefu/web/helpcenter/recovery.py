"""The account recovery form: a locked-out customer names the account, says what happened, and sends
photos of an identity document and of themselves holding it.

A plain multipart form post (works without JavaScript), checked for same origin and the double-submit
CSRF token like every other form. Every field and photo is checked, and each photo re-encoded, before
anything is stored; the photos are then sealed and the case recorded in one transaction, and if that
fails the sealed blobs are deleted again. Any problem re-renders the form with a 4xx status and a
message per field (photos have to be chosen again: browsers never refill file inputs).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from kefu.core.errors import InvalidInput, KefuError, PermissionDenied, TooLarge, UnsupportedMedia
from kefu.core.ratelimit import SlidingWindow
from kefu.db.uow import transaction
from kefu.recovery.actions import do_submit_recovery
from kefu.recovery.documents import (
    discard_documents,
    document_limit,
    prepare_document,
    store_sealed_documents,
)
from kefu.recovery.models import DocumentKind
from kefu.recovery.reasons import document_labels, reason_labels
from kefu.recovery.schemas import DESCRIPTION_MAX, RecoverySubmission
from kefu.storage.images import ReencodedImage
from kefu.trust.keys import keyring_from_settings
from kefu.web.cookies import new_csrf_token, set_anonymous_csrf_cookie, usable_csrf_token
from kefu.web.deps import RuntimeDep, check_csrf_token, check_same_origin, client_ip, csrf_cookie_name
from kefu.web.helpcenter.context import HC_LOCALES, HC_PREFIX, HelpCenter, HelpCenterDep, HelpCenterNotFound
from kefu.web.helpcenter.requests import REFERENCE_PATTERN
from kefu.web.pages.forms import CSRF_FIELD, PageError, PageErrorReason

router = APIRouter()

TEXT_FIELDS: Final = ("email", "exchange_uid", "phone", "reason", "description", "consent", CSRF_FIELD)
REQUIRED_DOCUMENTS: Final = (DocumentKind.ID_FRONT, DocumentKind.SELFIE)
_DOCUMENT_FIELDS: Final = frozenset(kind.value for kind in DocumentKind)
# Text fields are short; the description is the longest (5,000 characters, up to 4 bytes each).
_MAX_TEXT_PART: Final = 32 * 1024
_ENVELOPE: Final = 256 * 1024
# Submissions per address per hour: the form takes big uploads from anonymous visitors.
SUBMISSIONS_PER_HOUR: Final = 5


def megabytes(size: int) -> str:
    """`size` in MB for people: "10", "2.5", "0.3"."""
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


class FormProblem(Exception):
    """The post cannot be used: re-render the form with `status` and these messages."""

    def __init__(self, status: int, errors: dict[str, str], values: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.errors = errors
        self.values = values or {}


def _limiter(request: Request) -> SlidingWindow:
    # One window per app (so per process), created on first use rather than at import.
    state = request.app.state
    limiter: SlidingWindow | None = getattr(state, "recovery_submissions", None)
    if limiter is None:
        limiter = SlidingWindow(SUBMISSIONS_PER_HOUR, 3600)
        state.recovery_submissions = limiter
    return limiter


def _csrf(request: Request, hc: HelpCenter) -> tuple[str, bool]:
    existing = usable_csrf_token(request.cookies.get(csrf_cookie_name(hc.settings)))
    return (existing, False) if existing else (new_csrf_token(), True)


def _render(
    request: Request,
    hc: HelpCenter,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    token, issue = _csrf(request, hc)
    response = hc.render(
        "hc/recovery.html",
        status=status,
        public=False,
        csrf_token=token,
        values=values or {},
        errors=errors or {},
        reasons=list(reason_labels(hc.t).items()),
        documents=document_labels(hc.t),
        description_max=DESCRIPTION_MAX,
        limit_mb=megabytes(document_limit(hc.settings.upload_max_bytes)),
        purge_days=hc.settings.recovery_purge_days,
    )
    if issue:
        set_anonymous_csrf_cookie(response, hc.settings, token)
    return response


def _help_center(request: Request, runtime: RuntimeDep, locale: str) -> HelpCenter:
    # Built here rather than by HelpCenterDep: that one opens the request's transaction, and the
    # submission runs in its own so that a failed commit still removes the sealed blobs.
    if locale not in HC_LOCALES:
        raise HelpCenterNotFound(locale[:20])
    return HelpCenter(request, runtime.settings, locale, None)


@router.get(HC_PREFIX + "/{locale}/recovery")
async def recovery_form(request: Request, hc: HelpCenterDep) -> Response:
    """Anyone: the account recovery form."""
    return _render(request, hc)


@router.get(HC_PREFIX + "/{locale}/recovery/submitted")
async def recovery_submitted(hc: HelpCenterDep, reference: Annotated[str | None, Query()] = None) -> Response:
    """Anyone: the confirmation with the case's `KF-` reference (shown only if well formed)."""
    shown = reference if reference and REFERENCE_PATTERN.fullmatch(reference) else None
    return hc.render(
        "hc/recovery_submitted.html",
        public=False,
        reference=shown,
        purge_days=hc.settings.recovery_purge_days,
    )


def _file_messages(hc: HelpCenter, exc: KefuError, limit_mb: str) -> str:
    _ = hc.t.gettext
    if isinstance(exc, TooLarge) and "pixel" in exc.message:
        return _("This photo has too many pixels. Send a smaller one.")
    if isinstance(exc, TooLarge):
        return _("This photo is larger than %(size)s MB.", size=limit_mb)
    if isinstance(exc, UnsupportedMedia):
        return _("Send a JPEG, PNG or WebP photo.")
    return _("This photo could not be read. Take it again and send it.")


def _field_messages(hc: HelpCenter, error: ValidationError) -> dict[str, str]:
    _ = hc.t.gettext
    messages = {
        "email": _("Enter a valid email address."),
        "exchange_uid": _("A UID has only letters, digits, dashes and underscores."),
        "phone": _("Write the number with + and the country code, for example +65 9123 4567."),
        "reason": _("Choose what happened."),
        "description": _("Use at most %(num)d characters, without control characters.", num=DESCRIPTION_MAX),
        "consent": _("Agree to the review of your documents, or we cannot recover the account."),
    }
    found: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "form"
        found[name] = messages.get(name, _("Please check this field."))
    return found


async def _read_form(
    request: Request, hc: HelpCenter, max_bytes: int
) -> tuple[dict[str, str], dict[str, bytes]]:
    """Text fields and photo bytes of the post; FormProblem for a body no form of ours sends."""
    _ = hc.t.gettext
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise PageError(415, PageErrorReason.UNSUPPORTED)
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit()):
        raise PageError(400, PageErrorReason.MALFORMED)
    if declared and int(declared) > len(DocumentKind) * max_bytes + _ENVELOPE:
        raise FormProblem(413, {"form": _("The photos together are too large. Send smaller photos.")})
    try:
        form = await request.form(max_files=len(DocumentKind), max_fields=12, max_part_size=_MAX_TEXT_PART)
    except MultiPartException:
        raise FormProblem(
            400, {"form": _("The form could not be read. Reload the page and try again.")}
        ) from None
    try:
        return await _split(form, hc, max_bytes)
    finally:
        await form.close()


async def _split(form: FormData, hc: HelpCenter, max_bytes: int) -> tuple[dict[str, str], dict[str, bytes]]:
    _ = hc.t.gettext
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for name in set(form.keys()):
        values = form.getlist(name)
        if len(values) != 1:  # which copy would count is ambiguous: refuse rather than guess
            raise FormProblem(400, {"form": _("The form could not be read. Reload the page and try again.")})
        value = values[0]
        if name in _DOCUMENT_FIELDS and isinstance(value, UploadFile):
            data = await value.read(max_bytes + 1)
            if data:  # an empty file input still sends a part
                files[name] = data
        elif name in TEXT_FIELDS and isinstance(value, str):
            fields[name] = value
    return fields, files


def _submission(hc: HelpCenter, fields: dict[str, str]) -> RecoverySubmission:
    try:
        return RecoverySubmission(
            email=fields.get("email", "").strip(),
            exchange_uid=fields.get("exchange_uid", "").strip() or None,
            phone=fields.get("phone", "").strip() or None,
            reason=fields.get("reason", ""),
            description=fields.get("description", ""),
            locale=hc.locale,
            consent=fields.get("consent") == "yes",
        )
    except ValidationError as exc:
        raise FormProblem(422, _field_messages(hc, exc)) from None


async def _prepare(
    hc: HelpCenter, files: dict[str, bytes], max_bytes: int
) -> tuple[list[tuple[DocumentKind, ReencodedImage]], dict[str, str], int]:
    """Each photo checked and re-encoded (off the event loop); problems per field with their status."""
    _ = hc.t.gettext
    limit_mb = megabytes(max_bytes)
    prepared: list[tuple[DocumentKind, ReencodedImage]] = []
    errors: dict[str, str] = {}
    status = 422
    for kind in DocumentKind:
        data = files.get(kind.value)
        if data is None:
            if kind in REQUIRED_DOCUMENTS:
                errors[kind.value] = _("Add this photo.")
            continue
        try:
            image = await asyncio.to_thread(
                prepare_document, data, max_bytes=max_bytes, max_pixels=hc.settings.image_max_pixels
            )
        except (InvalidInput, TooLarge, UnsupportedMedia) as exc:
            errors[kind.value] = _file_messages(hc, exc, limit_mb)
            status = (
                413 if isinstance(exc, TooLarge) else 415 if isinstance(exc, UnsupportedMedia) else status
            )
            continue
        prepared.append((kind, image))
    return prepared, errors, status


async def _checked_post(
    request: Request, hc: HelpCenter, ip: str, max_bytes: int
) -> tuple[RecoverySubmission, list[tuple[DocumentKind, ReencodedImage]]]:
    """The submission and its re-encoded photos; FormProblem (carrying what to refill) otherwise."""
    fields, files = await _read_form(request, hc, max_bytes)
    try:
        check_csrf_token(request, hc.settings, fields.get(CSRF_FIELD))
    except PermissionDenied as exc:
        raise PageError(403, PageErrorReason.CSRF) from exc
    values = {k: v[:DESCRIPTION_MAX] for k, v in fields.items() if k != CSRF_FIELD}
    if not _limiter(request).hit(ip):
        message = hc.t.gettext("Too many requests from your network. Please try again in an hour.")
        raise FormProblem(429, {"form": message}, values)
    submission: RecoverySubmission | None = None
    errors: dict[str, str] = {}
    try:
        submission = _submission(hc, fields)
    except FormProblem as problem:
        errors = problem.errors
    images, file_errors, file_status = await _prepare(hc, files, max_bytes)
    if submission is None or file_errors:
        raise FormProblem(422 if errors else file_status, errors | file_errors, values)
    return submission, images


@router.post(HC_PREFIX + "/{locale}/recovery")
async def submit_recovery(request: Request, locale: str, runtime: RuntimeDep) -> Response:
    """Anyone, from our own page: open a recovery case; 303 to the confirmation, or the form with 4xx."""
    hc = _help_center(request, runtime, locale)
    try:
        check_same_origin(request, hc.settings)
    except PermissionDenied as exc:
        raise PageError(403, PageErrorReason.CSRF) from exc
    ip = client_ip(request)
    max_bytes = document_limit(hc.settings.upload_max_bytes)
    try:
        submission, images = await _checked_post(request, hc, ip, max_bytes)
    except FormProblem as problem:
        return _render(request, hc, status=problem.status, values=problem.values, errors=problem.errors)

    sealed = await store_sealed_documents(runtime.blobs, keyring_from_settings(hc.settings), images)
    try:
        async with transaction(runtime.sessionmaker) as session:
            _case, conversation = await do_submit_recovery(
                session, submission, sealed, settings=hc.settings, ip=ip
            )
            reference = conversation.reference
    except BaseException as exc:
        # Nothing of the case was committed: its sealed photos must not stay behind either.
        await discard_documents(runtime.blobs, sealed)
        if not isinstance(exc, InvalidInput):
            raise
        field = "email" if any("email" in name for name in exc.fields or {}) else "form"
        message = hc.t.gettext("Please check this field.") if field == "email" else exc.message
        values = {"email": str(submission.email), "exchange_uid": submission.exchange_uid or ""}
        return _render(request, hc, status=422, values=values, errors={field: message})
    return RedirectResponse(hc.url(f"/recovery/submitted?reference={reference}"), status_code=303)
