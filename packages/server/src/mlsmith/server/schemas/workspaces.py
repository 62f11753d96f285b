"""Workspaces, members, projects and experiments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mlsmith.core.domain import Experiment, Membership, Project, Role

NAME = Field(min_length=1, max_length=100)


class WorkspaceIn(BaseModel):
    name: str = NAME


class WorkspacePatch(BaseModel):
    name: str = NAME


class MemberIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role = Role.MEMBER


class RolePatch(BaseModel):
    role: Role


class MemberOut(BaseModel):
    user_id: str
    email: str | None = None
    display_name: str | None = None
    role: Role
    joined_at: datetime

    @classmethod
    def from_domain(cls, m) -> MemberOut:
        """From a ``workspaces.Member`` (with the user's email) or a bare ``Membership``."""
        if isinstance(m, Membership):
            return cls(user_id=m.user_id, role=Role(m.role), joined_at=m.created_at)
        return cls(
            user_id=m.user_id,
            email=m.email,
            display_name=m.display_name,
            role=Role(m.role),
            joined_at=m.joined_at,
        )


class ProjectIn(BaseModel):
    name: str = NAME
    description: str = Field(default="", max_length=2000)


class ProjectPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class ProjectOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    description: str
    created_at: datetime

    @classmethod
    def from_domain(cls, p: Project) -> ProjectOut:
        return cls(
            id=p.id,
            workspace_id=p.workspace_id,
            name=p.name,
            description=p.description,
            created_at=p.created_at,
        )


class ExperimentIn(BaseModel):
    name: str = NAME
    target: str = Field(min_length=1, max_length=255)
    task: str = Field(default="auto", max_length=32)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="default run options: metric, folds, time_budget_s, seed, tune_top_k, candidates",
    )


class ExperimentPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    target: str | None = Field(default=None, min_length=1, max_length=255)
    task: str | None = Field(default=None, max_length=32)
    settings: dict[str, Any] | None = None


class ExperimentOut(BaseModel):
    id: str
    workspace_id: str
    project_id: str
    name: str
    target: str
    task: str
    settings: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_domain(cls, e: Experiment) -> ExperimentOut:
        return cls(
            id=e.id,
            workspace_id=e.workspace_id,
            project_id=e.project_id,
            name=e.name,
            target=e.target,
            task=e.task,
            settings=dict(e.settings),
            created_at=e.created_at,
        )
