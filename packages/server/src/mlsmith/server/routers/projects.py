"""Projects (in a workspace) and their experiments. Authorization is decided in core."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from mlsmith.core.services import projects
from mlsmith.server.deps import BackendsDep, PageDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut, PageOut
from mlsmith.server.schemas.workspaces import (
    ExperimentIn,
    ExperimentOut,
    ExperimentPatch,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
)
from mlsmith.server.security import permission

router = APIRouter(tags=["projects"], responses=ERRORS)
Id = Annotated[str, Path(max_length=64)]


@router.post(
    "/workspaces/{workspace_id}/projects",
    status_code=201,
    dependencies=[permission("projects:write")],
    responses={409: {"model": ErrorOut, "description": "the name is taken"}},
)
def create_project(
    body: ProjectIn, principal: PrincipalDep, backends: BackendsDep, workspace_id: Id
) -> ProjectOut:
    p = projects.create_project(backends, principal, workspace_id, body.name, body.description)
    return ProjectOut.from_domain(p)


@router.get("/workspaces/{workspace_id}/projects", dependencies=[permission("projects:read")])
def list_projects(
    principal: PrincipalDep, backends: BackendsDep, page: PageDep, workspace_id: Id
) -> PageOut[ProjectOut]:
    items = projects.list_projects(
        backends, principal, workspace_id, limit=page.limit, offset=page.offset
    )
    return PageOut(
        items=[ProjectOut.from_domain(p) for p in items], limit=page.limit, offset=page.offset
    )


@router.get("/projects/{project_id}", dependencies=[permission("projects:read")])
def get_project(principal: PrincipalDep, backends: BackendsDep, project_id: Id) -> ProjectOut:
    return ProjectOut.from_domain(projects.get_project(backends, principal, project_id))


@router.patch("/projects/{project_id}", dependencies=[permission("projects:write")])
def update_project(
    body: ProjectPatch, principal: PrincipalDep, backends: BackendsDep, project_id: Id
) -> ProjectOut:
    p = projects.update_project(
        backends, principal, project_id, name=body.name, description=body.description
    )
    return ProjectOut.from_domain(p)


@router.delete(
    "/projects/{project_id}", status_code=204, dependencies=[permission("projects:write")]
)
def delete_project(principal: PrincipalDep, backends: BackendsDep, project_id: Id) -> Response:
    projects.delete_project(backends, principal, project_id)
    return Response(status_code=204)


@router.post(
    "/projects/{project_id}/experiments",
    status_code=201,
    dependencies=[permission("experiments:write")],
    responses={409: {"model": ErrorOut, "description": "the name is taken"}},
)
def create_experiment(
    body: ExperimentIn, principal: PrincipalDep, backends: BackendsDep, project_id: Id
) -> ExperimentOut:
    e = projects.create_experiment(
        backends,
        principal,
        project_id,
        name=body.name,
        target=body.target,
        task=body.task,
        settings=body.settings,
    )
    return ExperimentOut.from_domain(e)


@router.get("/projects/{project_id}/experiments", dependencies=[permission("experiments:read")])
def list_experiments(
    principal: PrincipalDep, backends: BackendsDep, page: PageDep, project_id: Id
) -> PageOut[ExperimentOut]:
    items = projects.list_experiments(
        backends, principal, project_id, limit=page.limit, offset=page.offset
    )
    return PageOut(
        items=[ExperimentOut.from_domain(e) for e in items], limit=page.limit, offset=page.offset
    )


@router.get("/experiments/{experiment_id}", dependencies=[permission("experiments:read")])
def get_experiment(
    principal: PrincipalDep, backends: BackendsDep, experiment_id: Id
) -> ExperimentOut:
    return ExperimentOut.from_domain(projects.get_experiment(backends, principal, experiment_id))


@router.patch("/experiments/{experiment_id}", dependencies=[permission("experiments:write")])
def update_experiment(
    body: ExperimentPatch, principal: PrincipalDep, backends: BackendsDep, experiment_id: Id
) -> ExperimentOut:
    e = projects.update_experiment(
        backends,
        principal,
        experiment_id,
        name=body.name,
        target=body.target,
        task=body.task,
        settings=body.settings,
    )
    return ExperimentOut.from_domain(e)


@router.delete(
    "/experiments/{experiment_id}", status_code=204, dependencies=[permission("experiments:write")]
)
def delete_experiment(
    principal: PrincipalDep, backends: BackendsDep, experiment_id: Id
) -> Response:
    projects.delete_experiment(backends, principal, experiment_id)
    return Response(status_code=204)
