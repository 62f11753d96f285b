"""Typed errors with stable codes. Adapters convert vendor errors into these where they happen.

One server handler maps ``code`` to an HTTP status; one CLI spot maps it to an exit code.
"""

from __future__ import annotations

from typing import Any


class MlsmithError(Exception):
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(MlsmithError):
    code = "not_found"


class AlreadyExists(MlsmithError):
    code = "already_exists"


class Conflict(MlsmithError):
    code = "conflict"


class InvalidInput(MlsmithError):
    code = "invalid_input"


class Unauthenticated(MlsmithError):
    code = "unauthenticated"


class PermissionDenied(MlsmithError):
    code = "permission_denied"


class Throttled(MlsmithError):
    """Too many attempts or requests (login throttling, per-user run limits); ``details["retry_after_s"]``
    says when to try again."""

    code = "throttled"


class BackendUnavailable(MlsmithError):
    code = "backend_unavailable"


class ConfigError(MlsmithError):
    code = "config_error"


class IntegrityError(MlsmithError):
    """Stored bytes do not match the hash/signature the platform recorded (tampering or corruption)."""

    code = "integrity_error"


class Cancelled(MlsmithError):
    code = "cancelled"


class PayloadTooLarge(MlsmithError):
    """An upload or body exceeded its configured cap (counted on the bytes actually received)."""

    code = "payload_too_large"


class UnsupportedMediaType(MlsmithError):
    """Content whose extension or sniffed bytes are not an accepted format."""

    code = "unsupported_media_type"
