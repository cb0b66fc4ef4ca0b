"""Domain errors. The web layer maps each to one HTTP status and the `{"error": …}` body."""

from __future__ import annotations


class KefuError(Exception):
    """Base of every error a caller is expected to handle."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class InvalidInput(KefuError):
    code = "invalid_input"
    status = 422


class MalformedBody(KefuError):
    """The body is not parseable at all (broken JSON or multipart), as opposed to invalid values."""

    code = "malformed_json"
    status = 400


class NotFound(KefuError):
    """Missing and forbidden objects look the same to the caller."""

    code = "not_found"
    status = 404


class NotAuthenticated(KefuError):
    code = "not_authenticated"
    status = 401


class PermissionDenied(KefuError):
    """For actions on objects the caller may already see (e.g. an agent changing roles)."""

    code = "permission_denied"
    status = 403


class Conflict(KefuError):
    code = "conflict"
    status = 409


class TooLarge(KefuError):
    code = "too_large"
    status = 413


class UnsupportedMedia(KefuError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(KefuError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
