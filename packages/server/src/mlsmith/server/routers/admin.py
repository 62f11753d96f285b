"""Platform administration (platform admins only: the ``admin:*`` permissions, checked again in
core): users, counts, recent log lines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from mlsmith.core.services import users_admin
from mlsmith.server.deps import BackendsDep, PageDep, PrincipalDep
from mlsmith.server.logs import RING_SIZE
from mlsmith.server.schemas.common import ERRORS, PageOut
from mlsmith.server.schemas.identity import UserOut
from mlsmith.server.security import permission

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERRORS)


class UserPatch(BaseModel):
    disabled: bool


class LogsOut(BaseModel):
    lines: list[dict[str, Any]]


@router.get("/users", dependencies=[permission("admin:users")])
def list_users(principal: PrincipalDep, backends: BackendsDep, page: PageDep) -> PageOut[UserOut]:
    users = users_admin.list_users(backends, principal, limit=page.limit, offset=page.offset)
    return PageOut(
        items=[UserOut.from_domain(u) for u in users], limit=page.limit, offset=page.offset
    )


@router.patch("/users/{user_id}", dependencies=[permission("admin:users")])
def set_disabled(
    body: UserPatch,
    principal: PrincipalDep,
    backends: BackendsDep,
    user_id: str = Path(max_length=64),
) -> UserOut:
    """Disable (every session ends at once) or re-enable a user."""
    return UserOut.from_domain(
        users_admin.set_disabled(backends, principal, user_id, body.disabled)
    )


@router.get("/stats", dependencies=[permission("admin:stats")])
def stats(principal: PrincipalDep, backends: BackendsDep) -> dict[str, Any]:
    return users_admin.stats(backends, principal)


@router.get("/logs", dependencies=[permission("admin:logs")])
def logs(
    request: Request,
    principal: PrincipalDep,
    n: int = Query(default=200, ge=1, le=RING_SIZE),
) -> LogsOut:
    """The last ``n`` log lines of this server process (an in-memory ring buffer)."""
    users_admin.require_admin(principal)
    return LogsOut(lines=request.app.state.log_buffer.tail(n))
