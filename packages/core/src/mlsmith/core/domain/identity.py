"""Identity and tenancy: users, workspace memberships with roles, API keys, refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mlsmith.core.domain.ids import new_id, utcnow


class Role(StrEnum):
    """Per-workspace role. Order matters: each role can do everything the ones below it can."""

    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"

    def at_least(self, other: Role) -> bool:
        order = [Role.VIEWER, Role.MEMBER, Role.ADMIN]
        return order.index(self) >= order.index(other)


@dataclass(slots=True)
class User:
    email: str  # stored lower-cased; unique
    password_hash: str
    display_name: str = ""
    is_admin: bool = False  # platform admin (the /admin routes), not a workspace role
    disabled: bool = False
    token_version: int = 0  # bumped on logout-all, password change, disable: older tokens die
    id: str = field(default_factory=lambda: new_id("usr"))
    created_at: datetime = field(default_factory=utcnow)
    last_login_at: datetime | None = None


@dataclass(slots=True)
class Membership:
    workspace_id: str
    user_id: str
    role: Role
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class ApiKey:
    user_id: str
    workspace_id: str | None  # None: every workspace the user belongs to
    name: str
    key_id: str  # the public part shown in listings, e.g. "mls_3f9c2a1b"
    secret_hash: str  # SHA-256 of the whole presented key; the key itself is shown once
    scopes: list[str] = field(default_factory=list)  # empty: the user's own permissions
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("key"))
    created_at: datetime = field(default_factory=utcnow)


class RefreshStatus(StrEnum):
    ACTIVE = "active"
    ROTATED = "rotated"  # used once; presenting it again revokes the whole family
    REVOKED = "revoked"


@dataclass(slots=True)
class RefreshToken:
    user_id: str
    family_id: str
    token_hash: str  # SHA-256 of the opaque 256-bit token
    expires_at: datetime  # idle expiry of this token
    family_expires_at: datetime  # absolute expiry of the family
    status: RefreshStatus = RefreshStatus.ACTIVE
    id: str = field(default_factory=lambda: new_id("rt"))
    created_at: datetime = field(default_factory=utcnow)
