"""Identifier and clock helpers shared by every entity."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """A short, URL-safe, unguessable id such as ``run_3f9c2a1b7d4e5f60``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def utcnow() -> datetime:
    return datetime.now(UTC)
