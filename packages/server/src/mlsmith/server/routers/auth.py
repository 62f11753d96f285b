"""Sessions: register, login, refresh (rotating), logout, the caller, password change."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mlsmith.core.services import identity, workspaces
from mlsmith.server.deps import BackendsDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut
from mlsmith.server.schemas.identity import (
    LoginIn,
    LogoutIn,
    MeOut,
    PasswordIn,
    RefreshIn,
    RegisterIn,
    TokenPairOut,
    UserOut,
    WorkspaceOut,
)
from mlsmith.server.security import permission

router = APIRouter(prefix="/auth", tags=["auth"])
THROTTLED = {429: {"model": ErrorOut, "description": "too many attempts; see Retry-After"}}


@router.post("/register", status_code=201, dependencies=[permission("public")], responses=ERRORS)
def register(body: RegisterIn, backends: BackendsDep) -> UserOut:
    """Self-registration, when the platform enables it (403 otherwise)."""
    user = identity.register(
        backends, email=body.email, password=body.password, display_name=body.display_name
    )
    return UserOut.from_domain(user)


@router.post("/login", dependencies=[permission("public")], responses={**ERRORS, **THROTTLED})
def login(body: LoginIn, request: Request, backends: BackendsDep) -> TokenPairOut:
    # The address of the connection (the proxy's, unless uvicorn is told to trust its headers),
    # never a client-supplied header: throttling must not be dodged by lying about it.
    client = request.client.host if request.client else ""
    pair = identity.login(backends, email=body.email, password=body.password, client=client)
    return TokenPairOut.from_domain(pair)


@router.post("/refresh", dependencies=[permission("public")], responses=ERRORS)
def refresh(body: RefreshIn, backends: BackendsDep) -> TokenPairOut:
    """Rotate: the presented refresh token is spent; presenting it again revokes its family."""
    return TokenPairOut.from_domain(identity.refresh(backends, body.refresh_token))


@router.post(
    "/logout", status_code=204, dependencies=[permission("account:write")], responses=ERRORS
)
def logout(
    principal: PrincipalDep, backends: BackendsDep, body: LogoutIn | None = None
) -> Response:
    identity.logout(backends, principal, body.refresh_token if body else None)
    return Response(status_code=204)


@router.get("/me", dependencies=[permission("account:read")], responses=ERRORS)
def me(principal: PrincipalDep, backends: BackendsDep) -> MeOut:
    return MeOut(
        user=UserOut.from_domain(principal.user),
        via=principal.via,
        workspaces=[WorkspaceOut.from_domain(w) for w in workspaces.list_for(backends, principal)],
    )


@router.post(
    "/password",
    status_code=204,
    dependencies=[permission("account:write")],
    responses={**ERRORS, **THROTTLED},
)
def change_password(body: PasswordIn, principal: PrincipalDep, backends: BackendsDep) -> Response:
    """Every session ends (sign in again with the new password)."""
    identity.change_password(backends, principal, body.old_password, body.new_password)
    return Response(status_code=204)
