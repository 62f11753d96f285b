"""Workspaces and their members. Authorization (membership, roles) is decided in core."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from mlsmith.core.services import workspaces
from mlsmith.server.deps import BackendsDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut
from mlsmith.server.schemas.identity import WorkspaceOut
from mlsmith.server.schemas.workspaces import (
    MemberIn,
    MemberOut,
    RolePatch,
    WorkspaceIn,
    WorkspacePatch,
)
from mlsmith.server.security import permission

router = APIRouter(prefix="/workspaces", tags=["workspaces"], responses=ERRORS)
WorkspaceId = Annotated[str, Path(max_length=64)]
UserId = Annotated[str, Path(max_length=64)]


@router.post(
    "",
    status_code=201,
    dependencies=[permission("workspaces:write")],
    responses={409: {"model": ErrorOut, "description": "the name is taken"}},
)
def create_workspace(
    body: WorkspaceIn, principal: PrincipalDep, backends: BackendsDep
) -> WorkspaceOut:
    return WorkspaceOut.from_domain(workspaces.create(backends, principal, body.name))


@router.get("", dependencies=[permission("workspaces:read")])
def list_workspaces(principal: PrincipalDep, backends: BackendsDep) -> list[WorkspaceOut]:
    return [WorkspaceOut.from_domain(w) for w in workspaces.list_for(backends, principal)]


@router.get("/{workspace_id}", dependencies=[permission("workspaces:read")])
def get_workspace(
    principal: PrincipalDep, backends: BackendsDep, workspace_id: WorkspaceId
) -> WorkspaceOut:
    return WorkspaceOut.from_domain(workspaces.get(backends, principal, workspace_id))


@router.patch("/{workspace_id}", dependencies=[permission("workspaces:write")])
def rename_workspace(
    body: WorkspacePatch,
    principal: PrincipalDep,
    backends: BackendsDep,
    workspace_id: WorkspaceId,
) -> WorkspaceOut:
    return WorkspaceOut.from_domain(workspaces.rename(backends, principal, workspace_id, body.name))


@router.delete("/{workspace_id}", status_code=204, dependencies=[permission("workspaces:write")])
def delete_workspace(
    principal: PrincipalDep, backends: BackendsDep, workspace_id: WorkspaceId
) -> Response:
    workspaces.delete(backends, principal, workspace_id)
    return Response(status_code=204)


@router.get("/{workspace_id}/members", dependencies=[permission("members:read")])
def list_members(
    principal: PrincipalDep, backends: BackendsDep, workspace_id: WorkspaceId
) -> list[MemberOut]:
    return [
        MemberOut.from_domain(m) for m in workspaces.list_members(backends, principal, workspace_id)
    ]


@router.post("/{workspace_id}/members", status_code=201, dependencies=[permission("members:write")])
def add_member(
    body: MemberIn, principal: PrincipalDep, backends: BackendsDep, workspace_id: WorkspaceId
) -> MemberOut:
    m = workspaces.add_member(backends, principal, workspace_id, body.email, body.role)
    return MemberOut.from_domain(m)


@router.patch("/{workspace_id}/members/{user_id}", dependencies=[permission("members:write")])
def set_role(
    body: RolePatch,
    principal: PrincipalDep,
    backends: BackendsDep,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> MemberOut:
    m = workspaces.set_role(backends, principal, workspace_id, user_id, body.role)
    return MemberOut.from_domain(m)


@router.delete(
    "/{workspace_id}/members/{user_id}", status_code=204, dependencies=[permission("members:write")]
)
def remove_member(
    principal: PrincipalDep,
    backends: BackendsDep,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Response:
    workspaces.remove_member(backends, principal, workspace_id, user_id)
    return Response(status_code=204)
