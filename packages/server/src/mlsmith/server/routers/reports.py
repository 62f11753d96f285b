"""EDA reports: start a dataset profile (202), read its status and JSON result, read its HTML page
under a restrictive Content-Security-Policy. Authorization and verification are decided in core
(``access`` and ``profiling``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from mlsmith.core.domain import Role
from mlsmith.core.services import access, profiling
from mlsmith.server.deps import BackendsDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut
from mlsmith.server.schemas.reports import ProfileIn, ReportOut
from mlsmith.server.security import permission

router = APIRouter(tags=["reports"], responses=ERRORS)
Id = Annotated[str, Path(max_length=64)]
# The page holds data from an uploaded file: no scripts, no external loads, no framing, no forms.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


@router.post(
    "/datasets/{dataset_id}/profile",
    status_code=202,
    dependencies=[permission("reports:write")],
)
def start_profile(
    dataset_id: Id,
    backends: BackendsDep,
    principal: PrincipalDep,
    body: Annotated[ProfileIn | None, Body()] = None,
) -> ReportOut:
    """Queue a profiling job of the dataset; poll ``GET /reports/{id}`` until it ends."""
    scope = access.scope_for_object(backends, principal, "dataset", dataset_id, Role.MEMBER)
    target = body.target if body is not None else None
    return ReportOut.from_domain(profiling.start_profile(backends, scope, dataset_id, target))


@router.get("/reports/{report_id}", dependencies=[permission("reports:read")])
def get_report(report_id: Id, backends: BackendsDep, principal: PrincipalDep) -> ReportOut:
    scope = access.scope_for_object(backends, principal, "report", report_id)
    return ReportOut.from_domain(profiling.get_report(backends, scope, report_id))


@router.get(
    "/reports/{report_id}/html",
    dependencies=[permission("reports:read")],
    response_class=Response,
    responses={
        200: {"content": {"text/html": {}}, "description": "the report page"},
        409: {"model": ErrorOut, "description": "not succeeded yet, or the page failed its check"},
    },
)
def get_report_html(report_id: Id, backends: BackendsDep, principal: PrincipalDep) -> Response:
    scope = access.scope_for_object(backends, principal, "report", report_id)
    page = profiling.read_html(backends, scope, report_id)
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": REPORT_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
