"""Deployments: CRUD under workspaces, stats, and the predict endpoint.

The predict route is ``public`` at the route level because who may call it is decided by the
deployment's own auth mode, in core (``deployments.authorize_call``). Its hot path makes no
database writes: the deployment row comes from a short cache, an alias is resolved per call, the
pipeline is cached by run id, and counters live in process (``deployment_stats``).
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mlsmith.core.domain import AuthMode, Role
from mlsmith.core.errors import (
    InvalidInput,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
)
from mlsmith.core.services import access, deployment_stats, deployments
from mlsmith.server.deps import BackendsDep, OptionalPrincipalDep, PrincipalDep, SettingsDep
from mlsmith.server.schemas.common import ERRORS, ErrorOut
from mlsmith.server.schemas.deployments import (
    DeploymentIn,
    DeploymentOut,
    DeploymentPatch,
    PredictIn,
    PredictOut,
    StatsOut,
)
from mlsmith.server.security import grants, permission

router = APIRouter(tags=["deployments"], responses=ERRORS)
PREDICT_PERMISSION = "deployments:predict"  # what a scoped API key needs to call predict
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")
_SCALARS = (str, int, float, bool, type(None))


def _out(backends, d) -> DeploymentOut:
    return DeploymentOut.from_domain(d, deployments.model_name(backends, d))


@router.post(
    "/workspaces/{workspace_id}/deployments",
    status_code=201,
    dependencies=[permission("deployments:write")],
    responses={409: {"model": ErrorOut, "description": "the slug is taken"}},
)
def create_deployment(
    workspace_id: str, body: DeploymentIn, backends: BackendsDep, principal: PrincipalDep
) -> DeploymentOut:
    scope = access.scope_in(backends, principal, workspace_id, Role.MEMBER)
    dep = deployments.create(
        backends,
        scope,
        slug=body.slug,
        model_name=body.model,
        version=body.version,
        alias=body.alias,
        auth_mode=body.auth_mode,
        created_by=principal.user.id,
    )
    return _out(backends, dep)


@router.get("/workspaces/{workspace_id}/deployments", dependencies=[permission("deployments:read")])
def list_deployments(
    workspace_id: str, backends: BackendsDep, principal: PrincipalDep
) -> list[DeploymentOut]:
    scope = access.scope_in(backends, principal, workspace_id)
    return [_out(backends, d) for d in deployments.list_deployments(backends, scope)]


@router.get("/deployments/{slug}", dependencies=[permission("deployments:read")])
def get_deployment(slug: str, backends: BackendsDep, principal: PrincipalDep) -> DeploymentOut:
    scope = deployments.scope_for(backends, principal, slug)
    return _out(backends, deployments.get_by_slug(backends, scope, slug))


@router.patch("/deployments/{slug}", dependencies=[permission("deployments:write")])
def update_deployment(
    slug: str, body: DeploymentPatch, backends: BackendsDep, principal: PrincipalDep
) -> DeploymentOut:
    scope = deployments.scope_for(backends, principal, slug, Role.MEMBER)
    dep = deployments.update(
        backends, scope, slug, version=body.version, alias=body.alias, auth_mode=body.auth_mode
    )
    return _out(backends, dep)


@router.delete(
    "/deployments/{slug}", status_code=204, dependencies=[permission("deployments:write")]
)
def delete_deployment(slug: str, backends: BackendsDep, principal: PrincipalDep) -> Response:
    scope = deployments.scope_for(backends, principal, slug, Role.MEMBER)
    deployments.delete(backends, scope, slug)
    return Response(status_code=204)


@router.get("/deployments/{slug}/stats", dependencies=[permission("deployments:read")])
def deployment_stats_route(slug: str, backends: BackendsDep, principal: PrincipalDep) -> StatsOut:
    scope = deployments.scope_for(backends, principal, slug)
    dep = deployments.get_by_slug(backends, scope, slug)
    return StatsOut.from_domain(slug, deployment_stats.snapshot(dep.id))


@router.post(
    "/deployments/{slug}/predict",
    dependencies=[permission("public")],  # the deployment's auth mode decides, in core
    response_model=PredictOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PredictIn.model_json_schema()},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    responses={413: {"description": "body too large"}, 415: {"description": "not JSON/CSV"}},
)
async def predict(
    slug: str,
    request: Request,
    backends: BackendsDep,
    settings: SettingsDep,
    principal: OptionalPrincipalDep,
) -> JSONResponse:
    """Predict with JSON ``{"rows": [{column: value}, ...]}`` (or a bare list of rows) or a CSV
    body with a header line."""
    dep = await run_in_threadpool(_authorized, backends, slug, principal)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    observe = _prometheus(request.app).observer(slug)
    with deployment_stats.track(dep.id, also=observe) as call:
        if ctype not in JSON_TYPES + CSV_TYPES:
            raise UnsupportedMediaType(
                "send application/json or text/csv", content_type=ctype or None
            )
        body = await request.body()  # the body-limit middleware caps what is received
        if len(body) > settings.max_body_bytes:
            raise PayloadTooLarge(
                f"request body exceeds {settings.max_body_bytes} bytes",
                limit=settings.max_body_bytes,
            )
        out = await run_in_threadpool(_predict, backends, dep, ctype, body)
        call.rows = len(out["predictions"])
    return JSONResponse(out)


def _authorized(backends, slug: str, principal):
    dep = deployments.lookup(backends, slug)
    deployments.authorize_call(backends, dep, principal)
    key = principal.api_key if principal is not None else None
    scoped = dep.auth_mode != AuthMode.PUBLIC and key is not None and key.scopes
    if scoped and not any(grants(s, PREDICT_PERMISSION) for s in key.scopes):
        raise PermissionDenied(
            "the API key's scopes do not allow this", permission=PREDICT_PERMISSION
        )
    return dep


def _predict(backends, dep, ctype: str, body: bytes) -> dict[str, Any]:
    df = _csv_frame(body) if ctype in CSV_TYPES else _json_frame(body)
    frame, warnings, mv = deployments.predict(backends, dep, df)
    out: dict[str, Any] = {
        "model": deployments.model_name(backends, dep),
        "version": mv.version,
        "predictions": frame["prediction"].tolist(),
        "warnings": warnings,
    }
    proba = [c for c in frame.columns if str(c).startswith("proba_")]
    if proba:
        labels = [str(c)[len("proba_") :] for c in proba]
        out["probabilities"] = [
            dict(zip(labels, row, strict=True)) for row in frame[proba].to_numpy().tolist()
        ]
    return out


def _json_frame(body: bytes) -> pd.DataFrame:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "request body is not valid JSON") from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput('expected {"rows": [{column: value}, ...]} or a list of such rows')
    if not rows:
        raise InvalidInput("no rows to predict")
    for i, row in enumerate(rows):
        bad = [k for k, v in row.items() if not isinstance(v, _SCALARS)]
        if bad:
            raise InvalidInput(
                f"row {i}: values must be strings, numbers, booleans or null", columns=bad[:10]
            )
    return pd.DataFrame.from_records(rows)


def _csv_frame(body: bytes) -> pd.DataFrame:
    try:
        df = pd.read_csv(io.BytesIO(body), encoding="utf-8", encoding_errors="strict")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise InvalidInput(f"the CSV body could not be read: {type(e).__name__}") from None
    if df.empty:
        raise InvalidInput("no rows to predict")
    return df


class _Prometheus:
    """Per-deployment serving metrics in the app's Prometheus registry (per process, like the
    counters behind ``/stats``), labelled by slug."""

    def __init__(self, registry) -> None:
        from prometheus_client import Counter, Histogram

        self.calls = Counter(
            "mlsmith_deployment_predictions",
            "Predict calls by deployment and outcome",
            ["deployment", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "mlsmith_deployment_predict_duration_seconds",
            "Predict latency by deployment (inside the handler)",
            ["deployment"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )

    def observer(self, slug: str):
        def observe(seconds: float, ok: bool) -> None:
            self.calls.labels(slug, "ok" if ok else "error").inc()
            self.latency.labels(slug).observe(seconds)

        return observe


_prom_lock = threading.Lock()


def _prometheus(app) -> _Prometheus:
    prom = getattr(app.state, "deployment_metrics", None)
    if prom is None:
        with _prom_lock:
            prom = getattr(app.state, "deployment_metrics", None)
            if prom is None:
                prom = app.state.deployment_metrics = _Prometheus(app.state.metrics.registry)
    return prom
