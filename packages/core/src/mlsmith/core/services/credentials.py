"""Small rules shared by the identity services: e-mail and password checks, hashing, clock."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime

from mlsmith.core.errors import InvalidInput

PASSWORD_MIN, PASSWORD_MAX = 12, 1024  # SECURITY.md; checked before any hashing
EMAIL_MAX = 254  # RFC 5321 path limit
DISPLAY_NAME_MAX = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def normalize_email(email: str) -> str:
    """Strip and lower-case; refuse what is plainly not an address (no full RFC 5322 parsing)."""
    if not isinstance(email, str):
        raise InvalidInput("email must be a string")
    value = email.strip().lower()
    if len(value) > EMAIL_MAX or not _EMAIL.match(value) or not value.isprintable():
        raise InvalidInput("invalid email address")
    return value


def check_password(password: str, *, field: str = "password") -> None:
    if not isinstance(password, str):
        raise InvalidInput(f"{field} must be a string")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(
            f"{field} must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
            min=PASSWORD_MIN,
            max=PASSWORD_MAX,
        )


def clean_name(value: str, *, what: str, max_len: int = DISPLAY_NAME_MAX, empty_ok=False) -> str:
    """A human-readable name: trimmed, bounded, no control characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    value = value.strip()
    if not value and not empty_ok:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidInput(f"{what} contains control characters")
    return value


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def aware(dt: datetime) -> datetime:
    """An instant as an aware UTC datetime (stores may hand back naive UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
