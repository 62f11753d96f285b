"""Operations: liveness, readiness and Prometheus metrics, at the root (not under /api/v1) where
probes and scrapers look for them. Public: they reveal no data, only health and counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from mlsmith.core.backends import Backends
from mlsmith.core.services import users_admin
from mlsmith.server.metrics import CONTENT_TYPE
from mlsmith.server.security import permission

root_router = APIRouter(tags=["ops"])


@root_router.get("/healthz", dependencies=[permission("public")])
def healthz() -> dict[str, str]:
    """Liveness: the process answers. No I/O."""
    return {"status": "ok"}


@root_router.get(
    "/readyz",
    dependencies=[permission("public")],
    responses={503: {"description": "a backend is unreachable"}},
)
def readyz(request: Request) -> JSONResponse:
    """Readiness: the metadata database and the blob store answer a ping."""
    backends: Backends | None = request.app.state.backends
    checks: dict[str, Any] = {}
    if backends is None:
        checks = {"db": "starting", "storage": "starting"}
    else:
        for name, ping in (("db", backends.metadata.ping), ("storage", backends.blobs.ping)):
            try:
                ping()
                checks[name] = "ok"
            except Exception as exc:  # any failure means not ready; the reason is only logged
                _log_failure(name, exc)
                checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@root_router.get("/metrics", dependencies=[permission("public")], response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)


def run_counts(backends: Backends) -> dict[str, int]:
    """Runs by status for the gauge, read at scrape time."""
    runs = users_admin.stats(backends)["runs"]
    return {status: n for status, n in runs.items() if status != "total"}


def _log_failure(name: str, exc: Exception) -> None:
    import structlog

    structlog.get_logger("mlsmith.server").warning(
        "readiness_check_failed", check=name, error_type=type(exc).__name__
    )
