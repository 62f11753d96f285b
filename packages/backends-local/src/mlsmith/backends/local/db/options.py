"""Options of the SQL metadata store (``MLSMITH_DATABASE_OPTIONS__<NAME>``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DbOptions(BaseModel, extra="forbid"):
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=20, ge=0)
    pool_timeout_s: float = Field(default=30.0, gt=0)
    # SQLite: how long a writer waits for the write lock before failing.
    busy_timeout_ms: int = Field(default=5000, ge=0)
    # PostgreSQL: fail fast instead of queueing forever behind a lock or a runaway query.
    lock_timeout_ms: int = Field(default=5000, ge=0)
    statement_timeout_ms: int = Field(default=60000, ge=0)
    echo: bool = False
