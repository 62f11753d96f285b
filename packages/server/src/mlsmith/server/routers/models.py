"""Model registry: promote a run, list and read models and versions, move aliases. Authorization
and validation live in core (``access``, ``registry``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from mlsmith.core.domain import Role
from mlsmith.core.services import access, registry
from mlsmith.server.deps import BackendsDep, PageDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut, PageOut
from mlsmith.server.schemas.models import AliasIn, ModelOut, ModelVersionOut, PromoteIn
from mlsmith.server.security import permission

router = APIRouter(tags=["models"], responses=ERRORS)
Id = Annotated[str, Path(max_length=64)]


def _version_out(rv: registry.ResolvedVersion) -> ModelVersionOut:
    aliases = {a: rv.version.version for a in rv.aliases}
    return ModelVersionOut.from_domain(rv.model, rv.version, aliases)


@router.post(
    "/runs/{run_id}/promote",
    status_code=201,
    dependencies=[permission("models:write")],
    responses={409: {"model": ErrorOut, "description": "the run has not succeeded"}},
)
def promote_run(
    run_id: Id, body: PromoteIn, backends: BackendsDep, principal: PrincipalDep
) -> ModelVersionOut:
    scope = access.scope_for_object(backends, principal, "run", run_id, Role.MEMBER)
    return _version_out(registry.promote(backends, scope, run_id, body.name, alias=body.alias))


@router.get("/workspaces/{workspace_id}/models", dependencies=[permission("models:read")])
def list_models(
    workspace_id: Id, backends: BackendsDep, principal: PrincipalDep, page: PageDep
) -> PageOut[ModelOut]:
    scope = access.scope_in(backends, principal, workspace_id)
    items = registry.list_models(backends, scope, limit=page.limit, offset=page.offset)
    return PageOut(
        items=[ModelOut.from_domain(m, vs, al) for m, vs, al in items],
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/models/{model_id}", dependencies=[permission("models:read")])
def get_model(model_id: Id, backends: BackendsDep, principal: PrincipalDep) -> ModelOut:
    scope = access.scope_for_object(backends, principal, "model", model_id)
    return ModelOut.from_domain(*registry.get_model(backends, scope, model_id))


@router.get("/models/{model_id}/versions", dependencies=[permission("models:read")])
def list_versions(
    model_id: Id, backends: BackendsDep, principal: PrincipalDep
) -> list[ModelVersionOut]:
    scope = access.scope_for_object(backends, principal, "model", model_id)
    model, versions, aliases = registry.get_model(backends, scope, model_id)
    return [
        ModelVersionOut.from_domain(model, v, aliases)
        for v in sorted(versions, key=lambda v: v.version)
    ]


@router.put("/models/{model_id}/aliases/{alias}", dependencies=[permission("models:write")])
def set_alias(
    model_id: Id,
    alias: Annotated[str, Path(max_length=63)],
    body: AliasIn,
    backends: BackendsDep,
    principal: PrincipalDep,
) -> ModelVersionOut:
    scope = access.scope_for_object(backends, principal, "model", model_id, Role.MEMBER)
    return _version_out(registry.set_alias_by_id(backends, scope, model_id, alias, body.version))
