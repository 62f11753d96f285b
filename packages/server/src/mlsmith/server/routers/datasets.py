"""Datasets: streamed upload, listing, preview, delete. Validation, limits and authorization are
decided in core (``datasets.ingest_upload`` and ``access``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Response, UploadFile

from mlsmith.core.domain import Role
from mlsmith.core.services import access, datasets
from mlsmith.server.deps import BackendsDep, PageDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut, PageOut
from mlsmith.server.schemas.datasets import DatasetOut, PreviewOut
from mlsmith.server.security import permission

router = APIRouter(tags=["datasets"], responses=ERRORS)
Id = Annotated[str, Path(max_length=64)]
UPLOAD_ERRORS = {
    413: {"model": ErrorOut, "description": "the file exceeds the upload cap"},
    415: {"model": ErrorOut, "description": "not a .csv/.tsv text table"},
}


@router.post(
    "/workspaces/{workspace_id}/datasets",
    status_code=201,
    dependencies=[permission("datasets:write")],
    responses=UPLOAD_ERRORS,
)
def upload_dataset(
    workspace_id: Id,
    backends: BackendsDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="a .csv or .tsv file (UTF-8)")],
) -> DatasetOut:
    """Multipart upload (field ``file``). The request body arrives spooled to a temporary file, and
    the service reads it in chunks: the cap counts the bytes read and the sha256 is computed in the
    same pass."""
    scope = access.scope_in(backends, principal, workspace_id, Role.MEMBER)
    ds = datasets.ingest_upload(
        backends,
        scope,
        file.file,
        filename=file.filename,
        max_bytes=backends.settings.max_upload_bytes,
    )
    return DatasetOut.from_domain(ds)


@router.get("/workspaces/{workspace_id}/datasets", dependencies=[permission("datasets:read")])
def list_datasets(
    workspace_id: Id, backends: BackendsDep, principal: PrincipalDep, page: PageDep
) -> PageOut[DatasetOut]:
    scope = access.scope_in(backends, principal, workspace_id)
    items = datasets.list_datasets(backends, scope, limit=page.limit, offset=page.offset)
    return PageOut(
        items=[DatasetOut.from_domain(d) for d in items], limit=page.limit, offset=page.offset
    )


@router.get("/datasets/{dataset_id}", dependencies=[permission("datasets:read")])
def get_dataset(dataset_id: Id, backends: BackendsDep, principal: PrincipalDep) -> DatasetOut:
    scope = access.scope_for_object(backends, principal, "dataset", dataset_id)
    return DatasetOut.from_domain(datasets.get(backends, scope, dataset_id))


@router.get("/datasets/{dataset_id}/preview", dependencies=[permission("datasets:read")])
def preview_dataset(
    dataset_id: Id,
    backends: BackendsDep,
    principal: PrincipalDep,
    rows: Annotated[int, Query(ge=0, le=10_000, description="capped by the server")] = 20,
) -> PreviewOut:
    scope = access.scope_for_object(backends, principal, "dataset", dataset_id)
    return PreviewOut.model_validate(datasets.preview(backends, scope, dataset_id, rows))


@router.delete(
    "/datasets/{dataset_id}",
    status_code=204,
    dependencies=[permission("datasets:write")],
    responses={409: {"model": ErrorOut, "description": "a queued or running run uses it"}},
)
def delete_dataset(dataset_id: Id, backends: BackendsDep, principal: PrincipalDep) -> Response:
    scope = access.scope_for_object(backends, principal, "dataset", dataset_id, Role.MEMBER)
    datasets.delete(backends, scope, dataset_id)
    return Response(status_code=204)
