"""API keys of the caller: the whole key is in the create response only."""

from __future__ import annotations

from fastapi import APIRouter, Path

from mlsmith.core.services import api_keys
from mlsmith.server.deps import BackendsDep, PrincipalDep
from mlsmith.server.schemas.common import ERRORS
from mlsmith.server.schemas.identity import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from mlsmith.server.security import permission

router = APIRouter(prefix="/api-keys", tags=["api-keys"], responses=ERRORS)


@router.post("", status_code=201, dependencies=[permission("api_keys:write")])
def create_key(body: ApiKeyIn, principal: PrincipalDep, backends: BackendsDep) -> ApiKeyCreatedOut:
    key, plaintext = api_keys.create(
        backends,
        principal,
        name=body.name,
        workspace_id=body.workspace_id,
        expires_in_days=body.expires_in_days,
    )
    return ApiKeyCreatedOut(**ApiKeyOut.from_domain(key).model_dump(), key=plaintext)


@router.get("", dependencies=[permission("api_keys:read")])
def list_keys(principal: PrincipalDep, backends: BackendsDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.from_domain(k) for k in api_keys.list_keys(backends, principal)]


@router.delete("/{key_id}", dependencies=[permission("api_keys:write")])
def revoke_key(
    principal: PrincipalDep,
    backends: BackendsDep,
    key_id: str = Path(max_length=64),
) -> ApiKeyOut:
    """Revoke by the public key id (``mls_...``) or the row id; idempotent."""
    return ApiKeyOut.from_domain(api_keys.revoke(backends, principal, key_id))
