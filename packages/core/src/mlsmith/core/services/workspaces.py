"""Workspaces and their members. Reading needs membership, changing needs the ADMIN role; a
workspace always keeps at least one admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mlsmith.core.domain import Membership, Role, Workspace
from mlsmith.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from mlsmith.core.services.access import scope_in
from mlsmith.core.services.credentials import clean_name, normalize_email
from mlsmith.core.services.identity import WORKSPACE_NAME_MAX

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends
    from mlsmith.core.services.principals import Principal


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    display_name: str
    role: Role
    joined_at: datetime


def parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {role!r}; choose one of {choices}", role=role) from None


def _name(name: str) -> str:
    return clean_name(name, what="workspace name", max_len=WORKSPACE_NAME_MAX)


def create(backends: Backends, principal: Principal, name: str) -> Workspace:
    """A new workspace with the caller as its ADMIN. A workspace-bound API key cannot create one
    (it could not see it)."""
    if principal.api_key is not None and principal.api_key.workspace_id is not None:
        raise PermissionDenied("a workspace-bound API key cannot create workspaces")
    ws = Workspace(name=_name(name))
    with backends.metadata.unit_of_work() as uow:
        uow.workspaces.add(ws)  # AlreadyExists when the name is taken
        uow.memberships.add(
            Membership(workspace_id=ws.id, user_id=principal.user.id, role=Role.ADMIN)
        )
    return ws


def list_for(backends: Backends, principal: Principal) -> list[Workspace]:
    """The workspaces the caller is a member of (only the bound one for a bound API key)."""
    bound = principal.api_key.workspace_id if principal.api_key is not None else None
    out = []
    with backends.metadata.unit_of_work() as uow:
        for m in uow.memberships.list_for_user(principal.user.id):
            if bound is not None and m.workspace_id != bound:
                continue
            try:
                out.append(uow.workspaces.get(m.workspace_id))
            except NotFound:
                continue
    return out


def get(backends: Backends, principal: Principal, workspace_id: str) -> Workspace:
    scope_in(backends, principal, workspace_id)
    with backends.metadata.unit_of_work() as uow:
        return uow.workspaces.get(workspace_id)


def rename(backends: Backends, principal: Principal, workspace_id: str, name: str) -> Workspace:
    name = _name(name)
    scope_in(backends, principal, workspace_id, Role.ADMIN)
    with backends.metadata.unit_of_work() as uow:
        ws = uow.workspaces.get(workspace_id)
        ws.name = name
        uow.workspaces.save(ws)  # AlreadyExists when the name is taken
    return ws


def delete(backends: Backends, principal: Principal, workspace_id: str) -> None:
    """Delete an empty workspace (ADMIN). Conflict while it holds anything: runs, models,
    datasets, deployments, projects or data sources must be deleted first."""
    scope_in(backends, principal, workspace_id, Role.ADMIN)
    with backends.metadata.unit_of_work() as uow:
        held = {
            "runs": len(uow.runs.list(workspace_id, limit=1)),
            "models": len(uow.models.list(workspace_id)),
            "datasets": len(uow.datasets.list(workspace_id, limit=1)),
            "deployments": len(uow.deployments.list(workspace_id)),
            "projects": len(uow.projects.list(workspace_id, limit=1)),
            "data_sources": len(uow.data_sources.list(workspace_id)),
        }
        nonempty = [k for k, n in held.items() if n]
        if nonempty:
            raise Conflict(
                f"workspace still holds {', '.join(nonempty)}; delete them first",
                holds=nonempty,
            )
        for m in uow.memberships.list_for_workspace(workspace_id):
            uow.memberships.remove(workspace_id, m.user_id)
        uow.workspaces.delete(workspace_id)


def list_members(backends: Backends, principal: Principal, workspace_id: str) -> list[Member]:
    scope_in(backends, principal, workspace_id)
    with backends.metadata.unit_of_work() as uow:
        out = []
        for m in uow.memberships.list_for_workspace(workspace_id):
            try:
                u = uow.users.get(m.user_id)
            except NotFound:
                continue
            out.append(Member(u.id, u.email, u.display_name, Role(m.role), m.created_at))
    return out


def add_member(
    backends: Backends, principal: Principal, workspace_id: str, email: str, role: str | Role
) -> Membership:
    role = parse_role(role)
    email = normalize_email(email)
    scope_in(backends, principal, workspace_id, Role.ADMIN)
    with backends.metadata.unit_of_work() as uow:
        try:
            user = uow.users.get_by_email(email)
        except NotFound:
            raise NotFound("no user with that email", kind="user") from None
        m = Membership(workspace_id=workspace_id, user_id=user.id, role=role)
        try:
            uow.memberships.add(m)
        except AlreadyExists:
            raise AlreadyExists("that user is already a member", user_id=user.id) from None
    return m


def set_role(
    backends: Backends, principal: Principal, workspace_id: str, user_id: str, role: str | Role
) -> Membership:
    role = parse_role(role)
    scope_in(backends, principal, workspace_id, Role.ADMIN)
    with backends.metadata.unit_of_work() as uow:
        current = _membership(uow, workspace_id, user_id)
        if Role(current.role) is Role.ADMIN and role is not Role.ADMIN:
            _keep_an_admin(uow, workspace_id, user_id)
        uow.memberships.set_role(workspace_id, user_id, role.value)
        return uow.memberships.get(workspace_id, user_id)


def remove_member(
    backends: Backends, principal: Principal, workspace_id: str, user_id: str
) -> None:
    """ADMIN removes anyone; any member may leave (remove themselves). Access ends at once: roles
    are read on every request, never carried in tokens."""
    need = Role.VIEWER if user_id == principal.user.id else Role.ADMIN
    scope_in(backends, principal, workspace_id, need)
    with backends.metadata.unit_of_work() as uow:
        current = _membership(uow, workspace_id, user_id)
        if Role(current.role) is Role.ADMIN:
            _keep_an_admin(uow, workspace_id, user_id)
        uow.memberships.remove(workspace_id, user_id)


def _membership(uow, workspace_id: str, user_id: str) -> Membership:
    try:
        return uow.memberships.get(workspace_id, user_id)
    except NotFound:
        raise NotFound(f"member {user_id!r} not found", kind="member", id=user_id) from None


def _keep_an_admin(uow, workspace_id: str, leaving: str) -> None:
    admins = [
        m
        for m in uow.memberships.list_for_workspace(workspace_id)
        if Role(m.role) is Role.ADMIN and m.user_id != leaving
    ]
    if not admins:
        raise Conflict("a workspace needs at least one admin; appoint another admin first")
