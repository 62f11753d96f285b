"""Who is acting and in which workspace. Every service call is scoped; objects of other workspaces
are reported as NotFound, exactly like missing ones, so that ids reveal nothing."""

from __future__ import annotations

from dataclasses import dataclass

from mlsmith.core.domain.identity import Role
from mlsmith.core.errors import AlreadyExists, NotFound


@dataclass(frozen=True, slots=True)
class Scope:
    workspace_id: str
    user_id: str | None = None  # None: the embedded (single-user) library and CLI
    role: Role | None = None  # the caller's role in the workspace; None: embedded (unrestricted)

    def check(self, obj: object, kind: str, obj_id: str) -> None:
        if getattr(obj, "workspace_id", None) != self.workspace_id:
            raise NotFound(f"{kind} {obj_id!r} not found", kind=kind, id=obj_id)


def default_scope(backends) -> Scope:
    """The embedded default: the workspace named by settings (created on first use)."""
    from mlsmith.core.domain import Workspace

    name = backends.settings.workspace
    with backends.metadata.unit_of_work() as uow:
        try:
            return Scope(uow.workspaces.get_by_name(name).id)
        except NotFound:
            pass
    try:
        with backends.metadata.unit_of_work() as uow:
            ws = Workspace(name=name)
            uow.workspaces.add(ws)
            return Scope(ws.id)
    except AlreadyExists:  # another process created it between our two transactions
        with backends.metadata.unit_of_work() as uow:
            return Scope(uow.workspaces.get_by_name(name).id)
