"""Platform administration (the /admin routes): users and platform-wide counts.

Only platform admins (``User.is_admin``) may call these; workspace roles do not count here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsmith.core.domain import RunStatus, User
from mlsmith.core.errors import Conflict, PermissionDenied
from mlsmith.core.services.identity import revoke_all_sessions

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends
    from mlsmith.core.services.principals import Principal

_PAGE = 500


def require_admin(principal: Principal) -> None:
    if not principal.user.is_admin:
        raise PermissionDenied("this needs a platform admin")


def list_users(
    backends: Backends, principal: Principal, *, limit: int = 100, offset: int = 0
) -> list[User]:
    require_admin(principal)
    limit = max(1, min(int(limit), backends.settings.max_page_size))
    with backends.metadata.unit_of_work() as uow:
        return uow.users.list(limit=limit, offset=max(0, int(offset)))


def set_disabled(backends: Backends, principal: Principal, user_id: str, disabled: bool) -> User:
    """Disabling ends every session of the user at once (token_version bump, refresh tokens
    revoked); API keys stop working while the user is disabled. Admins cannot disable themselves,
    so the platform never loses its last way in by accident."""
    require_admin(principal)
    if disabled and user_id == principal.user.id:
        raise Conflict("you cannot disable your own account")
    with backends.metadata.unit_of_work() as uow:
        user = uow.users.get(user_id)
        user.disabled = bool(disabled)
        uow.users.save(user)
        if disabled:
            revoke_all_sessions(uow, user_id)
        return uow.users.get(user_id)


def stats(backends: Backends, principal: Principal | None = None) -> dict[str, Any]:
    """Counts of users, workspaces, runs by status and models. Pass ``principal`` to have the
    platform-admin check made here."""
    if principal is not None:
        require_admin(principal)
    runs = {s.value: 0 for s in RunStatus}
    models = 0
    with backends.metadata.unit_of_work() as uow:
        users = uow.users.count()
        workspaces = uow.workspaces.list()
        for ws in workspaces:
            models += len(uow.models.list(ws.id))
            for status in RunStatus:
                runs[status.value] += _count_runs(uow, ws.id, status)
    return {
        "users": users,
        "workspaces": len(workspaces),
        "runs": {"total": sum(runs.values()), **runs},
        "models": models,
    }


def _count_runs(uow, workspace_id: str, status: RunStatus) -> int:
    n, offset = 0, 0
    while True:
        page = uow.runs.list(workspace_id, status=status, limit=_PAGE, offset=offset)
        n += len(page)
        if len(page) < _PAGE:
            return n
        offset += _PAGE
