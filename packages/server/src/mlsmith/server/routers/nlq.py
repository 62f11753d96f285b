"""Natural-language queries: not configured yet. The route exists so clients can discover the
contract; it answers 501 with a structured description of it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mlsmith.server.deps import PrincipalDep
from mlsmith.server.schemas.common import ERRORS
from mlsmith.server.security import permission

router = APIRouter(tags=["nlq"], responses=ERRORS)


class NlqIn(BaseModel):
    workspace_id: str = Field(max_length=64)
    question: str = Field(min_length=1, max_length=2000)


CONTRACT = {
    "request": {"workspace_id": "id of a workspace you can read", "question": "plain text"},
    "response": {
        "sql": "a read-only query over the workspace's catalog (runs, datasets, models)",
        "plan": "the steps the query answers, in words",
        "rows": "the result rows (bounded)",
    },
    "status": "no language model is configured on this server",
}


@router.post(
    "/nlq",
    dependencies=[permission("nlq:query")],
    status_code=501,
    responses={501: {"description": "not configured"}},
)
def nlq(body: NlqIn, principal: PrincipalDep) -> JSONResponse:
    """Question in, SQL and plan out (placeholder)."""
    return JSONResponse(
        {
            "code": "not_configured",
            "message": "natural-language queries are not configured on this server",
            "details": {"contract": CONTRACT},
        },
        status_code=501,
    )
