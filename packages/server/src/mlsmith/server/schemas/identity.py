"""Setup, authentication, the caller, API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mlsmith.core.domain import ApiKey, User, Workspace

EMAIL = Field(min_length=3, max_length=320)
PASSWORD = Field(min_length=1, max_length=1024)  # the length rules (12..1024) are core's


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    is_admin: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def from_domain(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            email=u.email,
            display_name=u.display_name,
            is_admin=u.is_admin,
            disabled=u.disabled,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
        )


class WorkspaceOut(BaseModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, ws: Workspace) -> WorkspaceOut:
        return cls(id=ws.id, name=ws.name, created_at=ws.created_at)


class SetupStatusOut(BaseModel):
    bootstrapped: bool
    registration_enabled: bool


class BootstrapIn(BaseModel):
    email: str = EMAIL
    password: str = PASSWORD
    workspace_name: str = Field(default="default", min_length=1, max_length=100)
    display_name: str = Field(default="", max_length=200)


class BootstrapOut(BaseModel):
    user: UserOut
    workspace: WorkspaceOut


class RegisterIn(BaseModel):
    email: str = EMAIL
    password: str = PASSWORD
    display_name: str = Field(default="", max_length=200)


class LoginIn(BaseModel):
    email: str = EMAIL
    password: str = PASSWORD


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="lifetime of the access token in seconds")

    @classmethod
    def from_domain(cls, pair) -> TokenPairOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class LogoutIn(BaseModel):
    refresh_token: str | None = Field(
        default=None,
        max_length=256,
        description="end this session only; without it every session of the user ends",
    )


class PasswordIn(BaseModel):
    old_password: str = PASSWORD
    new_password: str = PASSWORD


class MeOut(BaseModel):
    user: UserOut
    via: str = Field(description="token or api_key")
    workspaces: list[WorkspaceOut]


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    workspace_id: str | None = Field(
        default=None, max_length=64, description="bind the key to one workspace"
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    id: str
    key_id: str = Field(description="public part of the key, e.g. mls_3f9c2a1b7d4e")
    name: str
    workspace_id: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, k: ApiKey) -> ApiKeyOut:
        return cls(
            id=k.id,
            key_id=k.key_id,
            name=k.name,
            workspace_id=k.workspace_id,
            scopes=list(k.scopes),
            created_at=k.created_at,
            expires_at=k.expires_at,
            last_used_at=k.last_used_at,
            revoked_at=k.revoked_at,
        )


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the whole key: shown this once, never again")
