"""Data sources: register (credentials encrypted in core), list, get, delete, and snapshot into a
dataset. Validation, encryption, the egress guard and authorization are decided in core
(``data_sources``, the connectors and ``access``); no response carries credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from mlsmith.core.domain import Role
from mlsmith.core.services import access, data_sources
from mlsmith.server.deps import BackendsDep, PageDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut, PageOut
from mlsmith.server.schemas.data_sources import DataSourceIn, DataSourceOut, SnapshotIn
from mlsmith.server.schemas.datasets import DatasetOut
from mlsmith.server.security import permission

router = APIRouter(tags=["data-sources"], responses=ERRORS)
Id = Annotated[str, Path(max_length=64)]


@router.post(
    "/workspaces/{workspace_id}/data-sources",
    status_code=201,
    dependencies=[permission("data_sources:write")],
    responses={409: {"model": ErrorOut, "description": "the name is taken in the workspace"}},
)
def create_data_source(
    workspace_id: Id, body: DataSourceIn, backends: BackendsDep, principal: PrincipalDep
) -> DataSourceOut:
    scope = access.scope_in(backends, principal, workspace_id, Role.MEMBER)
    source = data_sources.create(
        backends,
        scope,
        name=body.name,
        kind=body.kind,
        config=body.config,
        credentials=body.credentials,
    )
    return DataSourceOut.from_domain(source)


@router.get(
    "/workspaces/{workspace_id}/data-sources", dependencies=[permission("data_sources:read")]
)
def list_data_sources(
    workspace_id: Id, backends: BackendsDep, principal: PrincipalDep, page: PageDep
) -> PageOut[DataSourceOut]:
    scope = access.scope_in(backends, principal, workspace_id)
    items = data_sources.list_sources(backends, scope)[page.offset : page.offset + page.limit]
    return PageOut(
        items=[DataSourceOut.from_domain(s) for s in items], limit=page.limit, offset=page.offset
    )


@router.get("/data-sources/{source_id}", dependencies=[permission("data_sources:read")])
def get_data_source(source_id: Id, backends: BackendsDep, principal: PrincipalDep) -> DataSourceOut:
    scope = access.scope_for_object(backends, principal, "data_source", source_id)
    return DataSourceOut.from_domain(data_sources.get(backends, scope, source_id))


@router.delete(
    "/data-sources/{source_id}",
    status_code=204,
    dependencies=[permission("data_sources:write")],
)
def delete_data_source(source_id: Id, backends: BackendsDep, principal: PrincipalDep) -> Response:
    scope = access.scope_for_object(backends, principal, "data_source", source_id, Role.MEMBER)
    data_sources.delete(backends, scope, source_id)
    return Response(status_code=204)


@router.post(
    "/data-sources/{source_id}/snapshot",
    status_code=201,
    dependencies=[permission("data_sources:write")],
    responses={
        413: {"model": ErrorOut, "description": "the data exceeds the upload cap"},
        415: {"model": ErrorOut, "description": "the data is not a text table"},
        503: {"model": ErrorOut, "description": "the source cannot be reached"},
    },
)
def snapshot_data_source(
    source_id: Id, body: SnapshotIn, backends: BackendsDep, principal: PrincipalDep
) -> DatasetOut:
    """Read from the source (a query, an object key) and store the result as a new dataset."""
    scope = access.scope_for_object(backends, principal, "data_source", source_id, Role.MEMBER)
    return DatasetOut.from_domain(data_sources.snapshot(backends, scope, source_id, body.request))
