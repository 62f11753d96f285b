"""First-run setup: is the platform bootstrapped, and bootstrap it (once)."""

from __future__ import annotations

from fastapi import APIRouter

from mlsmith.core.services import identity
from mlsmith.server.deps import BackendsDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut
from mlsmith.server.schemas.identity import (
    BootstrapIn,
    BootstrapOut,
    SetupStatusOut,
    UserOut,
    WorkspaceOut,
)
from mlsmith.server.security import permission

router = APIRouter(prefix="/setup", tags=["setup"], responses={400: ERRORS[400]})


@router.get("/status", dependencies=[permission("public")])
def setup_status(backends: BackendsDep) -> SetupStatusOut:
    return SetupStatusOut(**identity.setup_status(backends))


@router.post(
    "/bootstrap",
    status_code=201,
    dependencies=[permission("public")],
    responses={409: {"model": ErrorOut, "description": "already set up"}},
)
def bootstrap(body: BootstrapIn, backends: BackendsDep) -> BootstrapOut:
    """The first platform admin and their workspace; refused (409) once any user exists. The
    password comes from the request: there is no default credential."""
    user, ws = identity.bootstrap(
        backends,
        email=body.email,
        password=body.password,
        workspace_name=body.workspace_name,
        display_name=body.display_name,
    )
    return BootstrapOut(user=UserOut.from_domain(user), workspace=WorkspaceOut.from_domain(ws))
