"""Authorization against the owning workspace.

A workspace the caller may not see (missing, not a member, or outside the API key's binding) is
``NotFound``, worded the same in every case so that ids reveal nothing; a member whose role is too
low for the action gets ``PermissionDenied``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsmith.core.domain import Role
from mlsmith.core.errors import InvalidInput, NotFound, PermissionDenied
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends
    from mlsmith.core.services.principals import Principal

# kind -> repository attribute of the unit of work; every such entity carries its workspace_id
_REPOS = {
    "dataset": "datasets",
    "run": "runs",
    "model": "models",
    "deployment": "deployments",
    "report": "reports",
    "project": "projects",
    "experiment": "experiments",
    "data_source": "data_sources",
}
KINDS = tuple(_REPOS)


def _ws_not_found(workspace_id: str) -> NotFound:
    return NotFound(f"workspace {workspace_id!r} not found", kind="workspace", id=workspace_id)


def _obj_not_found(kind: str, obj_id: str) -> NotFound:
    return NotFound(f"{kind} {obj_id!r} not found", kind=kind, id=obj_id)


def scope_in(
    backends: Backends, principal: Principal, workspace_id: str, need: Role = Role.VIEWER
) -> Scope:
    key = principal.api_key
    if key is not None and key.workspace_id is not None and key.workspace_id != workspace_id:
        raise _ws_not_found(workspace_id)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        try:
            uow.workspaces.get(workspace_id)
            membership = uow.memberships.get(workspace_id, principal.user.id)
        except NotFound:
            raise _ws_not_found(workspace_id) from None
    role = Role(membership.role)
    if not role.at_least(need):
        raise PermissionDenied(
            f"this needs the {need.value} role in the workspace; you are {role.value}",
            need=need.value,
            role=role.value,
        )
    return Scope(workspace_id=workspace_id, user_id=principal.user.id, role=role)


def workspace_of(backends: Backends, kind: str, obj_id: str) -> str:
    repo = _REPOS.get(kind)
    if repo is None:
        raise InvalidInput(f"unknown object kind {kind!r}; one of {', '.join(KINDS)}", kind=kind)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        try:
            return getattr(uow, repo).get(obj_id).workspace_id
        except NotFound:
            raise _obj_not_found(kind, obj_id) from None


def scope_for_object(
    backends: Backends, principal: Principal, kind: str, obj_id: str, need: Role = Role.VIEWER
) -> Scope:
    workspace_id = workspace_of(backends, kind, obj_id)
    try:
        return scope_in(backends, principal, workspace_id, need)
    except NotFound:
        raise _obj_not_found(kind, obj_id) from None
