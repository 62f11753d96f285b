"""Translate driver errors into ``mlsmith.core.errors`` where they happen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from mlsmith.core.errors import AlreadyExists, BackendUnavailable, Conflict, NotFound

# SQLSTATE codes (PostgreSQL) and message fragments (SQLite) of integrity violations.
_UNIQUE = ("23505", "UNIQUE constraint failed")
_FOREIGN_KEY = ("23503", "FOREIGN KEY constraint failed")


def _sqlstate(exc: sa.exc.DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", "") or "")


def _matches(exc: sa.exc.DBAPIError, kind: tuple[str, str]) -> bool:
    return _sqlstate(exc) == kind[0] or kind[1] in str(exc.orig)


def translate(exc: sa.exc.SQLAlchemyError) -> Exception:
    """The core error for a SQLAlchemy/driver error (without its SQL or parameters)."""
    if isinstance(exc, sa.exc.IntegrityError):
        if _matches(exc, _UNIQUE):
            return AlreadyExists("the record already exists")
        if _matches(exc, _FOREIGN_KEY):
            return NotFound("a record it refers to does not exist")
        return Conflict("the change violates a database constraint")
    if isinstance(exc, sa.exc.DBAPIError):
        kind = type(exc.orig).__name__
        return BackendUnavailable(f"metadata database unavailable ({kind})", driver_error=kind)
    return BackendUnavailable(f"metadata database error ({type(exc).__name__})")


@contextmanager
def db_errors() -> Iterator[None]:
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        raise translate(exc) from exc
